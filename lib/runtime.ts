// Loads a Worker module and dispatches events to it.
//
// A Worker is either a default-exported object with `fetch`, `scheduled` and
// `queue` methods called as `(event, env, ctx)`, or a default-exported class
// extending `WorkerEntrypoint`, constructed with `(ctx, env)` for each event
// and called as `(event)`.

import { dirname, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { WorkerConfig } from "./config.ts";
import { LocalExecutionContext, attachLocalCf } from "./execution-context.ts";
import { registerCloudflareModules, WORKER_ENTRYPOINT_BRAND } from "./plugin.ts";
import { installImageResizing } from "./bindings/image-resizing.ts";
import { log } from "./log.ts";
import { setDurableObjectExports } from "./bindings/durable-object.ts";
import { callReceiverMethod, readReceiverMember } from "./rpc.ts";

type HandlerName = "fetch" | "scheduled" | "queue";

type Handler = (...args: unknown[]) => unknown;

/** The default export, resolved once per load so later changes to the object do not affect dispatch. */
type Entrypoint =
  | { kind: "object"; target: object; handlers: Partial<Record<HandlerName, Handler>> }
  | { kind: "class"; target: new (ctx: unknown, env: unknown) => Record<string, unknown> };

/** The result of a `scheduled` event, as the `/cdn-cgi/handler/scheduled` route reports it. */
export interface ScheduledResult {
  outcome: "ok" | "exception";
  noRetry: boolean;
}

/** bunflare's own `lib/` directory: its modules stay loaded across reloads so class identities hold. */
const LIB_DIR = dirname(fileURLToPath(import.meta.url)) + sep;

/** Loads one Worker module and dispatches events to it, reloading it on request. */
export class WorkerRuntime {
  private entrypoint: Entrypoint | null = null;

  /** The loaded module's namespace, for named entrypoints. */
  private module: Record<string, unknown> = {};

  /** Builds `ctx.exports` for this Worker; set by the registry that knows how to make loopback stubs. */
  exportsFactory: ((runtime: WorkerRuntime) => Record<string, unknown>) | null = null;

  /** Incremented on every load, for log lines. */
  generation = 0;

  /**
   * Read an object default export's handlers at each dispatch instead of
   * once per load, so a test's `spyOn(worker, "queue")` is what events reach.
   * Off elsewhere, because the register preload replaces `fetch` on that object.
   */
  readHandlersAtDispatch = false;

  /** The `origin` of each fetch event's ExecutionContext, built once rather than per request. */
  private readonly fetchOrigin: string;

  constructor(
    readonly config: WorkerConfig,
    readonly env: Record<string, unknown>,
    readonly script: string,
  ) {
    this.fetchOrigin = `${config.name} fetch`;
  }

  /** Imports the Worker module (first load) and resolves its default export. */
  async load(): Promise<void> {
    registerCloudflareModules();
    installImageResizing();

    const module = (await import(this.script)) as Record<string, unknown>;
    this.entrypoint = resolveEntrypoint(module, this.script);
    this.module = module;
    setDurableObjectExports(module);
    this.generation += 1;
  }

  /**
   * Drops the Worker's own modules from Bun's module cache and imports the
   * entry again, so edited files and their importers evaluate anew. Storage and
   * the `env` object are untouched. On failure the previous module stays active.
   */
  async reload(): Promise<void> {
    clearModuleCache(this.moduleRoots());
    await this.load();
  }

  /**
   * Adopts an already-imported module namespace instead of importing one, for
   * the register preload where Bun itself imports the entry.
   */
  adopt(module: Record<string, unknown>): void {
    registerCloudflareModules();
    installImageResizing();
    this.entrypoint = resolveEntrypoint(module, this.script);
    this.module = module;
    setDurableObjectExports(module);
    this.generation += 1;
  }

  /** Returns one export of the loaded module, such as a Durable Object class. */
  exportedValue(name: string): unknown {
    return this.module[name];
  }

  /** Names of the module's exports that are `WorkerEntrypoint` classes, plus "default" when the default export handles events. */
  entrypointNames(): string[] {
    const names = Object.keys(this.module).filter((name) => name !== "default" && isEntrypointClass(this.module[name]));
    return this.entrypoint ? ["default", ...names] : names;
  }

  /**
   * Dispatches a fetch event to a named entrypoint, or to the default export
   * when `entrypoint` is null, with `props` as `ctx.props`. Service bindings call this.
   */
  async fetchEntrypoint(entrypoint: string | null, request: Request, props: unknown = {}): Promise<Response> {
    if (entrypoint === null || entrypoint === "default") return this.fetch(request, "HTTP/1.1", props);

    attachLocalCf(request, "HTTP/1.1");
    const instance = this.instantiate(entrypoint, props, "fetch");
    const handler = instance.fetch;
    if (typeof handler !== "function") throw new Error(`Entrypoint "${entrypoint}" of ${this.config.name} does not export a fetch() method.`);
    const response = await handler.call(instance, request);
    if (!(response instanceof Response)) {
      throw new TypeError("Incorrect type for Promise: the Promise did not resolve to 'Response'.");
    }
    return response;
  }

  /**
   * Calls an RPC method on a fresh instance of an entrypoint class, as
   * production does for each call on a service binding. `args` are already
   * cloned by the caller's stub; the result is returned uncloned.
   */
  async callEntrypoint(entrypoint: string | null, method: string, args: unknown[], props: unknown = {}): Promise<unknown> {
    const instance = this.instantiate(entrypoint ?? "default", props, method);
    return await callReceiverMethod(instance, method, args);
  }

  /** Reads a property (or a method, bound) of a fresh instance of an entrypoint class, for an RPC property read. */
  readEntrypointMember(entrypoint: string | null, name: string, props: unknown = {}): unknown {
    const instance = this.instantiate(entrypoint ?? "default", props, name);
    return readReceiverMember(instance, name);
  }

  /** Constructs the entrypoint class `name` (a named export, or "default") for one event. */
  private instantiate(name: string, props: unknown, purpose: string): Record<string, unknown> {
    const target = name === "default" ? this.module.default : this.module[name];
    if (!isEntrypointClass(target)) {
      throw new TypeError(
        name === "default"
          ? `The RPC receiver does not implement the method "${purpose}". The default export of ${this.config.name} is not a class extending WorkerEntrypoint.`
          : `Worker ${this.config.name} has no entrypoint named "${name}": export a class extending WorkerEntrypoint under that name.`,
      );
    }
    const ctx = this.context(props, `${this.config.name} ${name}.${purpose}`);
    return new (target as new (ctx: unknown, env: unknown) => Record<string, unknown>)(ctx, this.env);
  }

  /** Creates the execution context of one event, with `ctx.exports` filled when the registry provides it. */
  private context(props: unknown, origin: string): LocalExecutionContext {
    const ctx = new LocalExecutionContext(props, origin);
    if (this.exportsFactory) {
      // The stubs depend only on the loaded module, so they are built once per load, not per event.
      if (this.exportsCache?.generation !== this.generation) {
        this.exportsCache = { generation: this.generation, exports: this.exportsFactory(this) };
      }
      Object.assign(ctx.exports, this.exportsCache.exports);
    }
    return ctx;
  }

  /** The `ctx.exports` stubs of the current load. */
  private exportsCache: { generation: number; exports: Record<string, unknown> } | null = null;

  /**
   * Dispatches a fetch event, with `props` as `ctx.props`; the handler's
   * error (thrown or rejected) propagates to the caller as a rejection.
   */
  fetch(request: Request, httpVersion = "HTTP/1.1", props: unknown = {}): Promise<Response> {
    return Promise.resolve(this.dispatchFetch(request, httpVersion, props));
  }

  /**
   * Dispatches a fetch event and returns the Response itself when the handler
   * produced it without waiting: a plain Response, or a promise that is
   * already fulfilled (an async handler that never awaited). Otherwise it
   * returns a promise, which rejects with the handler's error; it never throws.
   */
  // This is the dev server's hot path. Bun.serve sends a Response returned
  // synchronously at once, whereas a promise costs it a trip through the
  // microtask queue, so settled results skip the .then() chain. It uses one
  // .then() rather than async/await layers, each of which adds promise jobs.
  dispatchFetch(request: Request, httpVersion = "HTTP/1.1", props: unknown = {}): Response | Promise<Response> {
    attachLocalCf(request, httpVersion);
    const ctx = this.context(props, this.fetchOrigin);

    let result: unknown;
    try {
      result = this.invoke("fetch", request, ctx);
    } catch (error) {
      return Promise.reject(this.fetchFailed(error, ctx));
    }

    if (result instanceof Promise) {
      if (Bun.peek.status(result) !== "fulfilled") {
        return result.then(toResponse, (error: unknown) => {
          throw this.fetchFailed(error, ctx);
        });
      }
      result = Bun.peek(result);
    }

    if (result instanceof Response) return result;
    return Promise.reject(notAResponse());
  }

  /** Logs that a pass-through had no origin, then returns the handler's error for rethrowing. */
  private fetchFailed(error: unknown, ctx: LocalExecutionContext): unknown {
    if (ctx.passThrough) {
      log.warn("passThroughOnException() has no origin to forward to locally; returning the error", {
        worker: this.config.name,
      });
    }
    return error;
  }

  /** Dispatches a scheduled event and reports its outcome; the handler's error is logged. */
  async scheduled(cron: string, scheduledTime = Date.now()): Promise<ScheduledResult> {
    let noRetry = false;
    const controller = {
      cron,
      scheduledTime,
      noRetry: () => {
        noRetry = true;
      },
    };
    const ctx = this.context({}, `${this.config.name} scheduled`);

    try {
      await this.invoke("scheduled", controller, ctx);
      return { outcome: "ok", noRetry };
    } catch (error) {
      log.error("scheduled handler threw", { worker: this.config.name, cron, error: String(error) });
      return { outcome: "exception", noRetry };
    }
  }

  /** Dispatches a queue batch; the handler's error propagates so the queue engine can retry. */
  async queue(batch: unknown): Promise<void> {
    const ctx = this.context({}, `${this.config.name} queue`);
    await this.invoke("queue", batch, ctx);
  }

  /** Calls the handler and returns what it returned, which may be a promise; throws if there is no handler. */
  private invoke(name: HandlerName, event: unknown, ctx: LocalExecutionContext): unknown {
    const entrypoint = this.entrypoint;
    if (!entrypoint) throw new Error(`Worker ${this.config.name} is not loaded`);

    if (entrypoint.kind === "object") {
      const handler = this.readHandlersAtDispatch ? currentHandler(entrypoint.target, name) : entrypoint.handlers[name];
      if (!handler) throw new Error(`Handler does not export a ${name}() function.`);
      return handler.call(entrypoint.target, event, this.env, ctx);
    }

    const instance = new entrypoint.target(ctx, this.env);
    const handler = instance[name];
    if (typeof handler !== "function") throw new Error(`Handler does not export a ${name}() function.`);
    return handler.call(instance, event);
  }

  /** Directories whose modules belong to the Worker: the entry's folder, the config's and the build's watch dirs. */
  private moduleRoots(): string[] {
    const roots = [dirname(this.script), this.config.rootDir, ...(this.config.build?.watchDir ?? [])];
    return roots.map((root) => (root.endsWith(sep) ? root : root + sep));
  }
}

/** Returns the handler `name` of an object default export as it is now, or undefined. */
function currentHandler(target: object, name: HandlerName): Handler | undefined {
  const value = (target as Record<string, unknown>)[name];
  return typeof value === "function" ? (value as Handler) : undefined;
}

/** Returns whether `value` is a class extending `WorkerEntrypoint`. */
function isEntrypointClass(value: unknown): boolean {
  return typeof value === "function" && Boolean((value as unknown as Record<symbol, unknown>)[WORKER_ENTRYPOINT_BRAND]);
}

/** Checks that a fetch handler resolved to a Response, with workerd's message when not. */
function toResponse(response: unknown): Response {
  if (!(response instanceof Response)) throw notAResponse();
  return response;
}

function notAResponse(): TypeError {
  return new TypeError("Incorrect type for Promise: the Promise did not resolve to 'Response'.");
}

/** Resolves the module's default export into an entrypoint, or throws naming what is wrong. */
function resolveEntrypoint(module: Record<string, unknown>, script: string): Entrypoint {
  const exported = module.default;

  if (typeof exported === "function" && (exported as unknown as Record<symbol, unknown>)[WORKER_ENTRYPOINT_BRAND]) {
    return { kind: "class", target: exported as Extract<Entrypoint, { kind: "class" }>["target"] };
  }

  if (typeof exported === "object" && exported !== null) {
    const handlers: Partial<Record<HandlerName, Handler>> = {};
    for (const name of ["fetch", "scheduled", "queue"] as const) {
      const value = (exported as Record<string, unknown>)[name];
      if (typeof value === "function") handlers[name] = value as Handler;
    }
    return { kind: "object", target: exported, handlers };
  }

  if (exported === undefined) {
    throw new TypeError(
      `${script} has no default export. Export an object with a fetch() method or a class extending WorkerEntrypoint; service-worker syntax (addEventListener) is not supported.`,
    );
  }
  throw new TypeError(
    `The default export of ${script} is a ${typeof exported}. Export an object with a fetch() method or a class extending WorkerEntrypoint.`,
  );
}

/**
 * Removes cached modules under `roots` (outside node_modules and outside
 * bunflare's `lib/`) from Bun's module cache, so the next import evaluates them again.
 */
function clearModuleCache(roots: string[]): void {
  const cache = require.cache as Record<string, unknown>;
  for (const path of Object.keys(cache)) {
    if (path.startsWith(LIB_DIR) || path.includes(`${sep}node_modules${sep}`)) continue;
    if (roots.some((root) => path.startsWith(root))) delete cache[path];
  }
}
