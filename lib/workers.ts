// Several Workers in one process: each Worker's routing (assets, then the
// Worker, or the Worker first), and the registry that service bindings,
// `ctx.exports` and Durable Object bindings resolve Worker names in.

import type { WorkerConfig } from "./config.ts";
import { ConfigError } from "./config.ts";
import { AssetServer } from "./assets/server.ts";
import { createServiceStub, type EntrypointTarget } from "./bindings/service.ts";
import type { WorkerRuntime } from "./runtime.ts";
import { attachLocalCf } from "./execution-context.ts";
import { missingMethodError } from "./rpc.ts";

/** The compatibility date from which `assets_navigation_prefers_asset_serving` is on by default. */
const NAVIGATION_PREFERS_ASSETS_DATE = "2025-04-01";

/** Returns whether `not_found_handling` may serve navigation requests before the Worker runs. */
function navigationPrefersAssets(config: WorkerConfig): boolean {
  if (config.compatibilityFlags.includes("assets_navigation_has_no_effect")) return false;
  if (config.compatibilityFlags.includes("assets_navigation_prefers_asset_serving")) return true;
  return (config.compatibilityDate ?? "") >= NAVIGATION_PREFERS_ASSETS_DATE;
}

/** Asset servers by directory and options, shared by a Worker's router and its `env.ASSETS`. */
const assetServers = new Map<string, AssetServer>();

/** Returns the asset server for a config's `assets`, or null when it has none. */
export function assetServerFor(config: WorkerConfig): AssetServer | null {
  if (!config.assets) return null;
  const options = {
    directory: config.assets.directory,
    htmlHandling: config.assets.htmlHandling,
    notFoundHandling: config.assets.notFoundHandling,
    navigationPrefersAssets: navigationPrefersAssets(config),
  };
  const key = JSON.stringify(options);
  let server = assetServers.get(key);
  if (!server) {
    server = new AssetServer(options);
    assetServers.set(key, server);
  }
  return server;
}

/** Compiles `run_worker_first` patterns: `*` matches anything, a leading `!` excludes. */
function compileRunWorkerFirst(rules: boolean | string[]): (pathname: string) => boolean {
  if (typeof rules === "boolean") return () => rules;
  const toRegExp = (rule: string) =>
    new RegExp(`^${rule.split("*").map((part) => part.replace(/[-/\\^$+?.()|[\]{}]/g, "\\$&")).join(".*")}$`);
  const include = rules.filter((rule) => !rule.startsWith("!")).map(toRegExp);
  const exclude = rules.filter((rule) => rule.startsWith("!")).map((rule) => toRegExp(rule.slice(1)));
  // An exclusion wins over an inclusion, as production documents.
  return (pathname) => !exclude.some((regExp) => regExp.test(pathname)) && include.some((regExp) => regExp.test(pathname));
}

/** One Worker of the process: its config, env, loaded code (none for an assets-only Worker) and assets. */
export class WorkerInstance {
  readonly assets: AssetServer | null;
  readonly #runsWorkerFirst: (pathname: string) => boolean;

  constructor(
    readonly config: WorkerConfig,
    readonly env: Record<string, unknown>,
    readonly runtime: WorkerRuntime | null,
  ) {
    this.assets = assetServerFor(config);
    this.#runsWorkerFirst = compileRunWorkerFirst(config.assets?.runWorkerFirst ?? false);
  }

  get name(): string {
    return this.config.name;
  }

  /**
   * Dispatches a request as `fetch` does; without assets it hands the
   * runtime's settled Response straight back, which is the dev server's hot path.
   */
  dispatchFetch(request: Request): Response | Promise<Response> {
    if (!this.assets) return this.#runtimeOrThrow().dispatchFetch(request);
    return this.fetch(request);
  }

  /**
   * Routes a request as production routes one from the internet: assets
   * first (unless `run_worker_first` matches), then the Worker.
   */
  async fetch(request: Request, httpVersion = "HTTP/1.1"): Promise<Response> {
    const runtime = this.runtime;
    const assets = this.assets;
    if (!assets) return await this.#runtimeOrThrow().fetch(request, httpVersion);

    const pathname = new URL(request.url).pathname;
    if (runtime && this.#runsWorkerFirst(pathname)) return await runtime.fetch(request, httpVersion);

    // With a Worker behind the assets, a miss goes to the Worker, except that
    // a browser navigation may still get the SPA page or 404 page.
    const navigation = request.headers.get("sec-fetch-mode") === "navigate";
    const notFoundFallback = !runtime || (assets.options.navigationPrefersAssets && navigation);
    const response = assets.serve(request, { compress: true, notFoundFallback });
    if (response) return response;
    if (runtime) return await runtime.fetch(request, httpVersion);

    attachLocalCf(request, httpVersion);
    return new Response("Not Found", { status: 404 });
  }

  #runtimeOrThrow(): WorkerRuntime {
    if (!this.runtime) throw new Error(`Worker ${this.name} has neither a main module nor assets.`);
    return this.runtime;
  }
}

/** The Workers of one process by name; service bindings look their targets up here at call time. */
export class WorkerRegistry {
  readonly #workers = new Map<string, WorkerInstance>();

  add(instance: WorkerInstance): void {
    if (this.#workers.has(instance.name)) {
      throw new ConfigError(
        `Two configs define a Worker named "${instance.name}" (${this.#workers.get(instance.name)!.config.configPath} and ${instance.config.configPath}). Give each Worker its own name.`,
      );
    }
    this.#workers.set(instance.name, instance);
  }

  get(name: string): WorkerInstance | undefined {
    return this.#workers.get(name);
  }

  get names(): string[] {
    return [...this.#workers.keys()];
  }

  /** Creates the `env` member of a service binding: a stub that resolves its Worker on each call. */
  serviceStub(service: string, entrypoint: string | null, props: Record<string, unknown>): Record<string, unknown> {
    return createServiceStub(this.#target(service, entrypoint, props));
  }

  /** Creates `ctx.exports` for a Worker: one loopback stub per entrypoint it exports. */
  loopbackExports(runtime: WorkerRuntime): Record<string, unknown> {
    const exports: Record<string, unknown> = {};
    for (const name of runtime.entrypointNames()) {
      exports[name] = this.serviceStub(runtime.config.name, name === "default" ? null : name, {});
    }
    return exports;
  }

  /**
   * Returns the export `className` of Worker `scriptName`, the class a
   * Durable Object binding refers to (its own Worker's, or another's through
   * `script_name`). It is read at each construction, so reloads are picked up.
   */
  durableObjectClass(scriptName: string, className: string): unknown {
    return this.#running(scriptName, className).exportedValue(className);
  }

  /** Returns the env of Worker `scriptName`, which its Durable Objects are constructed with. */
  durableObjectEnv(scriptName: string, className: string): Record<string, unknown> {
    return this.#running(scriptName, className).env;
  }

  #running(scriptName: string, className: string): WorkerRuntime {
    const instance = this.#workers.get(scriptName);
    if (!instance?.runtime) {
      throw new ConfigError(`Durable Object ${className} refers to Worker "${scriptName}", which is not running: pass its config with another --config.`);
    }
    return instance.runtime;
  }

  /** Checks every service binding's entrypoint; call after every Worker is loaded. */
  checkEntrypoints(): void {
    for (const instance of this.#workers.values()) {
      for (const binding of instance.config.services) {
        if (binding.entrypoint === null) continue;
        const target = this.#workers.get(binding.service)!;
        const names = target.runtime?.entrypointNames() ?? [];
        if (!names.includes(binding.entrypoint)) {
          throw new ConfigError(
            `Service binding "${binding.binding}" of Worker "${instance.name}" refers to entrypoint "${binding.entrypoint}" of Worker "${binding.service}", which does not export it. ` +
              `Exported entrypoints: ${names.join(", ") || "none"}.`,
          );
        }
      }
    }
  }

  /**
   * Checks that every bound Durable Object class is exported by the Worker that
   * defines it, as a deploy does; call after every Worker is loaded. A Worker
   * without a main module is skipped, since it has nothing to export.
   */
  checkDurableObjectClasses(): void {
    for (const instance of this.#workers.values()) {
      for (const binding of instance.config.durableObjects) {
        if (binding.scriptName === null || binding.scriptName === instance.name) {
          if (!instance.runtime || typeof instance.runtime.exportedValue(binding.className) === "function") continue;
          throw new ConfigError(
            `Durable Object binding "${binding.binding}" refers to class ${binding.className}, which Worker "${instance.name}" does not export. Export the class from the entry module.`,
          );
        }
        if (typeof this.durableObjectClass(binding.scriptName, binding.className) === "function") continue;
        throw new ConfigError(
          `Durable Object binding "${binding.binding}" of Worker "${instance.name}" refers to class ${binding.className} of Worker "${binding.scriptName}", which does not export it.`,
        );
      }
    }
  }

  #target(service: string, entrypoint: string | null, props: Record<string, unknown>): EntrypointTarget {
    const resolve = (): WorkerInstance => {
      const instance = this.#workers.get(service);
      if (!instance) throw new Error(`Worker "${service}" is not running in this bunflare process.`);
      return instance;
    };
    return {
      label: entrypoint ? `${service}#${entrypoint}` : service,
      fetch: async (request) => {
        const instance = resolve();
        // The default entrypoint is reached as from the internet, assets included.
        if (entrypoint === null && Object.keys(props).length === 0) return await instance.fetch(request);
        if (!instance.runtime) throw new Error(`Worker "${service}" has no main module to call.`);
        return await instance.runtime.fetchEntrypoint(entrypoint, request, props);
      },
      get: async (name) => {
        const instance = resolve();
        if (!instance.runtime) return undefined;
        return await instance.runtime.readEntrypointMember(entrypoint, name, props);
      },
      call: async (method, args) => {
        const instance = resolve();
        if (!instance.runtime) throw missingMethodError(method);
        return await instance.runtime.callEntrypoint(entrypoint, method, args, props);
      },
    };
  }
}

/**
 * Checks that every service binding's Worker and every Durable Object
 * binding's `script_name` Worker is among `configs`, the Workers of this
 * process; call before building any env.
 */
// NOTE: wrangler starts anyway and fails the calls; bunflare stops at start-up
// so the missing --config is named at once.
export function checkWorkerReferences(configs: WorkerConfig[]): void {
  const names = configs.map((config) => config.name);
  const running = `Running: ${names.join(", ")}. Pass its config with another --config (or list it in bunflare.config.ts).`;
  for (const config of configs) {
    for (const binding of config.services) {
      if (names.includes(binding.service)) continue;
      throw new ConfigError(
        `Service binding "${binding.binding}" of Worker "${config.name}" refers to Worker "${binding.service}", which is not running. ${running}`,
      );
    }
    for (const binding of config.durableObjects) {
      if (binding.scriptName === null || names.includes(binding.scriptName)) continue;
      throw new ConfigError(
        `Durable Object binding "${binding.binding}" of Worker "${config.name}" refers to class ${binding.className} of Worker "${binding.scriptName}", which is not running. ${running}`,
      );
    }
  }
}
