// `startWorker`: the programmatic API behind `bunflare dev`. It resolves the
// configs, opens storage once, builds each Worker's `env`, loads the Workers
// and serves the first one. The others are reached through service bindings.

import { basename, dirname, resolve } from "node:path";
import { ConfigError, loadConfig, runBuild, type WorkerConfig } from "./config.ts";
import { buildEnv, openStorage, queueBroker, replaceEnv, workflowEngine } from "./env.ts";
import { checkWorkerReferences, WorkerInstance, WorkerRegistry } from "./workers.ts";
import { applyDurableObjectMigrations } from "./bindings/durable-object.ts";
import { startCronTriggers } from "./cron.ts";
import { startQueueConsumers } from "./queue-consumer.ts";
import { startWorkflows } from "./workflow-runner.ts";
import { waitUntilSettled } from "./execution-context.ts";
import { WorkerRuntime, type ScheduledResult } from "./runtime.ts";
import { createRequestHandler, serveWorker, type WorkerServer } from "./dev/server.ts";
import { S3Endpoint } from "./dev/s3.ts";
import { watchSources, type WatchedFiles } from "./dev/watch.ts";
import { log } from "./log.ts";

export interface StartWorkerOptions {
  /**
   * A resolved config, or the path of a wrangler config file (`--config`).
   * With several, the first Worker serves HTTP and the others run beside it.
   */
  config?: WorkerConfig | string | (WorkerConfig | string)[];
  /** Directory searched for the config and used to resolve relative paths (default: process.cwd()). */
  cwd?: string;
  /** The wrangler environment (`--env`). */
  env?: string;
  /** TCP port (default 0, a free port). */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  ip?: string;
  /** Local state directory (`--persist-to`, default `.bunflare` beside the config). */
  persistTo?: string;
  /** Vars overlaid on the config's (`--var KEY:VALUE`). */
  vars?: Record<string, string>;
  /** The entry module, overriding the config's `main`. */
  script?: string;
  /** Reload when the Worker's sources change (default false; `bunflare dev` turns it on). */
  watch?: boolean;
  /** Fire `triggers.crons` on schedule (default true; `bunflare dev --no-crons` turns it off). */
  crons?: boolean;
}

export interface WorkerHandle {
  /** The server's URL, e.g. `http://127.0.0.1:8787/`. */
  url: URL;
  /** The resolved config the Worker runs with. */
  config: WorkerConfig;
  /** Every Worker of this process, the served one included, by name. */
  workers: WorkerRegistry;
  /** The `env` object handlers receive (the same object as `cloudflare:workers`'s `env`). */
  env: Record<string, unknown>;
  /** Dispatches a request in-process, exactly as the server would (logged; a throw becomes a 500). */
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
  /** Dispatches a scheduled event for `cron`. */
  scheduled(cron?: string, scheduledTime?: number): Promise<ScheduledResult>;
  /** Rebuilds (when configured) and re-imports the Worker without reopening storage. */
  reload(): Promise<void>;
  /** Resolves when every `waitUntil` promise so far has settled. */
  waitUntilSettled(): Promise<void>;
  /** Stops the server, the watcher, the queue consumers and the cron triggers; storage stays open for the process. */
  stop(): Promise<void>;
}

/** Error for a listen port that another socket already uses; `code` is "EADDRINUSE", as in Node. */
export class PortInUseError extends Error {
  readonly code = "EADDRINUSE";

  constructor(
    readonly port: number,
    readonly ip: string,
  ) {
    super(`Port ${port} on ${ip} is already in use`);
    this.name = "PortInUseError";
  }
}

/** Resolves the configs, loads every Worker and serves the first. */
export async function startWorker(options: StartWorkerOptions = {}): Promise<WorkerHandle> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const configs = resolveConfigs(options, cwd);
  const config = configs[0]!;
  // Only the served Worker takes the script argument; the others use their own main.
  const scripts = configs.map((each, index) => (index === 0 && options.script ? resolve(cwd, options.script) : each.main));
  if (!scripts[0] && !config.assets) {
    throw new ConfigError(
      `No entry module for ${config.name}: set "main" in ${config.configPath ?? "a wrangler config"} or pass a script`,
      config.configPath,
      null,
      "main",
    );
  }

  for (const each of configs) if (each.build) await runBuild(each);

  // NOTE: every Worker shares the first one's local state directory, so a
  // secondary Worker's KV or D1 data is not where it would be if run alone.
  const storage = openStorage(config.persistTo);
  checkWorkerReferences(configs);

  // A Durable Object binding with `script_name` opens its namespace while its
  // own Worker's env is built, which may come before the defining Worker's,
  // so every Worker's classes are created first.
  // NOTE: applied tags are recorded per state directory, not per Worker, so
  // when two Workers both use a tag such as "v1", only the first one's
  // migration with that tag is applied here. Class names are shared the same
  // way. Production keeps both per script.
  for (const each of configs) {
    if (each.migrations.length > 0) applyDurableObjectMigrations(storage, each.migrations);
  }

  const registry = new WorkerRegistry();
  const instances = configs.map((each, index) => {
    const env = buildEnv(each, storage, registry);
    const script = scripts[index] ?? null;
    const runtime = script ? new WorkerRuntime(each, index === 0 ? replaceEnv(env) : env, script) : null;
    if (runtime) runtime.exportsFactory = (loaded) => registry.loopbackExports(loaded);
    const instance = new WorkerInstance(each, runtime?.env ?? env, runtime);
    registry.add(instance);
    return instance;
  });

  for (const instance of instances) await instance.runtime?.load();
  registry.checkEntrypoints();
  registry.checkDurableObjectClasses();

  // Queue consumers and cron triggers call through each Worker's runtime, so
  // a reload changes the handlers they reach without registering them again.
  const broker = queueBroker(storage);
  const stopTimers: (() => void)[] = [];
  for (const instance of instances) {
    if (!instance.runtime) continue;
    stopTimers.push(startQueueConsumers(instance.runtime, broker, instance.config.queueConsumers));
    stopTimers.push(startWorkflows(instance.runtime, workflowEngine(storage), workflowsOf(instance.config, configs)));
    if (options.crons !== false) stopTimers.push(startCronTriggers(instance.runtime, instance.config.crons));
  }

  const primary = instances[0]!;
  const runScheduled = async (cron: string, scheduledTime?: number): Promise<ScheduledResult> => {
    if (!primary.runtime) throw new Error(`Worker ${config.name} has no main module to run a scheduled event.`);
    return await primary.runtime.scheduled(cron, scheduledTime);
  };
  const handler = createRequestHandler(primary, { broker, scheduled: runScheduled, s3: new S3Endpoint(storage, configs.flatMap((each) => each.r2Buckets.map((bucket) => bucket.bucketName))) });
  const port = options.port ?? 0;
  const ip = options.ip ?? "127.0.0.1";
  let server: WorkerServer;
  try {
    server = serveWorker(handler, { port, ip });
  } catch (error) {
    if ((error as { code?: string }).code === "EADDRINUSE") throw new PortInUseError(port, ip);
    throw error;
  }
  const url = new URL(`http://${formatHost(ip)}:${server.port}/`);

  // Re-reads a Worker's config into the same object, so its runtime and the
  // handle use the new settings. A ConfigError leaves the previous settings.
  // NOTE: wrangler restarts on a config change; here the entry module and the
  // watched folders stay as they were at start-up, so a new `main` or
  // `build.watch_dir` only takes effect after a restart.
  const reloadConfig = (instance: WorkerInstance) => {
    const index = instances.indexOf(instance);
    const next = resolveConfig(configOptionsAt(options, index), cwd);
    if (!(index === 0 && options.script !== undefined) && next.main !== instance.config.main) {
      log.warn(`"main" changed to ${next.main}; restart bunflare dev to load the new entry module`, { worker: instance.name });
    }
    Object.assign(instance.config, next);
  };

  // Reloads are serialised by each watcher; a manual reload() may overlap one, which only re-imports twice.
  // env is refilled before the import, so module-level code reads the new vars.
  const reload = async (instance: WorkerInstance, reason: string, configChanged: boolean) => {
    if (configChanged) reloadConfig(instance);
    if (instance.config.build) await runBuild(instance.config);
    const env = buildEnv(instance.config, storage, registry);
    if (instance === primary) replaceEnv(env);
    else Object.assign(instance.env, env);
    await instance.runtime?.reload();
    log.info(`Reloaded ${instance.name} after ${reason}`);
  };

  // Assets need no reload: they are read from disk on each request.
  const watchInstance = (instance: WorkerInstance, index: number) => {
    // A config passed as an object has no file to re-read.
    const given = configOptionsAt(options, index).config;
    const configFiles = typeof given === "object" ? null : watchedConfigFiles(instance.config);
    return watchSources({
      dirs: instance.config.build?.watchDir ?? [dirname(instance.runtime!.script)],
      files: configFiles ?? [],
      ignore: [config.persistTo, ...(instance.config.assets ? [instance.config.assets.directory] : [])],
      reload: (files) => {
        const configFile = configFiles ? files.find((file) => isWatchedFile(configFiles, file)) : undefined;
        return reload(instance, `a change to ${configFile ?? files[0]}`, configFile !== undefined);
      },
    });
  };

  const stopWatching = options.watch
    ? instances.filter((instance) => instance.runtime).map((instance) => watchInstance(instance, instances.indexOf(instance)))
    : [];

  return {
    url,
    config,
    workers: registry,
    env: primary.env,
    fetch: async (input, init) => handler(toRequest(input, init, url)),
    scheduled: (cron = config.crons[0] ?? "* * * * *", scheduledTime) => runScheduled(cron, scheduledTime),
    reload: () => reload(primary, "a reload() call", false),
    waitUntilSettled,
    stop: async () => {
      for (const stop of stopWatching) stop();
      for (const stop of stopTimers) stop();
      await server.stop(true);
    },
  };
}

/** Returns the Workflows whose class `config`'s Worker exports, from its own config and the other Workers' `script_name` entries. */
function workflowsOf(config: WorkerConfig, configs: WorkerConfig[]): WorkerConfig["workflows"] {
  const own = config.workflows.filter((workflow) => workflow.scriptName === null || workflow.scriptName === config.name);
  const bound = configs.flatMap((other) => other.workflows.filter((workflow) => workflow.scriptName === config.name && other !== config));
  return [...own, ...bound.map((workflow) => ({ ...workflow, scriptName: null }))];
}

function resolveConfigs(options: StartWorkerOptions, cwd: string): WorkerConfig[] {
  const count = Array.isArray(options.config) ? Math.max(options.config.length, 1) : 1;
  return Array.from({ length: count }, (_, index) => resolveConfig(configOptionsAt(options, index), cwd));
}

/** Returns the options for the Worker at `index`: overrides (--var, --persist-to, a script) apply to the served Worker only, as in wrangler. */
function configOptionsAt(options: StartWorkerOptions, index: number): ConfigOptions {
  const config = Array.isArray(options.config) ? options.config[index] : options.config;
  if (index === 0) return { ...options, config };
  return { cwd: options.cwd, env: options.env, config, persistTo: options.persistTo };
}

/**
 * Lists the files whose change reloads the config: the wrangler config (and
 * the generated one it redirects to) and the secret files `loadLocalSecrets`
 * reads for this environment, whether they exist yet or not.
 */
function watchedConfigFiles(config: WorkerConfig): WatchedFiles[] {
  const env = config.environment;
  const secretNames = new Set([".dev.vars", ".env", ".env.local"]);
  if (env !== null) {
    for (const name of [`.dev.vars.${env}`, `.env.${env}`, `.env.${env}.local`]) secretNames.add(name);
  }

  const namesByDir = new Map<string, Set<string>>([[config.rootDir, secretNames]]);
  for (const path of [config.userConfigPath, config.configPath]) {
    if (path === null) continue;
    const names = namesByDir.get(dirname(path)) ?? new Set<string>();
    names.add(basename(path));
    namesByDir.set(dirname(path), names);
  }
  return [...namesByDir].map(([dir, names]) => ({ dir, matches: (name: string) => names.has(name) }));
}

function isWatchedFile(watched: WatchedFiles[], path: string): boolean {
  return watched.some(({ dir, matches }) => dirname(path) === dir && matches(basename(path)));
}

type ConfigOptions = Omit<StartWorkerOptions, "config"> & { config?: WorkerConfig | string };

function resolveConfig(options: ConfigOptions, cwd: string): WorkerConfig {
  if (typeof options.config === "object") {
    return {
      ...options.config,
      vars: { ...options.config.vars, ...options.vars },
      persistTo: options.persistTo ? resolve(cwd, options.persistTo) : options.config.persistTo,
    };
  }
  return loadConfig({
    cwd,
    config: options.config,
    env: options.env,
    vars: options.vars,
    persistTo: options.persistTo,
    script: options.script,
  });
}

function toRequest(input: Request | string | URL, init: RequestInit | undefined, base: URL): Request {
  if (input instanceof Request) return init ? new Request(input, init) : input;
  return new Request(new URL(input, base), init);
}

function formatHost(ip: string): string {
  return ip.includes(":") ? `[${ip}]` : ip;
}
