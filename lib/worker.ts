// `startWorker`: the programmatic API behind `bunflare dev`. It resolves the
// config, opens storage once, builds `env`, loads the Worker and serves it.

import { basename, dirname, resolve } from "node:path";
import type { Server } from "bun";
import { ConfigError, loadConfig, runBuild, type WorkerConfig } from "./config.ts";
import { buildEnv, openStorage, replaceEnv } from "./env.ts";
import { waitUntilSettled } from "./execution-context.ts";
import { WorkerRuntime, type ScheduledResult } from "./runtime.ts";
import { createRequestHandler, serveWorker } from "./dev/server.ts";
import { watchSources, type WatchedFiles } from "./dev/watch.ts";
import { log } from "./log.ts";

export interface StartWorkerOptions {
  /** A resolved config, or the path of a wrangler config file (`--config`). */
  config?: WorkerConfig | string;
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
}

export interface WorkerHandle {
  /** The server's URL, e.g. `http://127.0.0.1:8787/`. */
  url: URL;
  /** The resolved config the Worker runs with. */
  config: WorkerConfig;
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
  /** Stops the server and the watcher; storage stays open for the process. */
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

/** Resolves the config, loads the Worker and serves it. */
export async function startWorker(options: StartWorkerOptions = {}): Promise<WorkerHandle> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const config = resolveConfig(options, cwd);
  const script = options.script ? resolve(cwd, options.script) : config.main;
  if (!script) {
    throw new ConfigError(
      `No entry module for ${config.name}: set "main" in ${config.configPath ?? "a wrangler config"} or pass a script`,
      config.configPath,
      null,
      "main",
    );
  }

  if (config.build) await runBuild(config);

  const storage = openStorage(config.persistTo);
  const env = replaceEnv(buildEnv(config, storage));
  const runtime = new WorkerRuntime(config, env, script);
  await runtime.load();

  const handler = createRequestHandler(runtime);
  const port = options.port ?? 0;
  const ip = options.ip ?? "127.0.0.1";
  let server: Server<undefined>;
  try {
    server = serveWorker(handler, { port, ip });
  } catch (error) {
    if ((error as { code?: string }).code === "EADDRINUSE") throw new PortInUseError(port, ip);
    throw error;
  }
  const url = new URL(`http://${formatHost(ip)}:${server.port}/`);

  // A config passed as an object has no file to re-read.
  const configFiles = typeof options.config === "object" ? null : watchedConfigFiles(config);

  // Re-reads the config into the same object, so the runtime and the handle
  // use the new settings. A ConfigError leaves the previous settings in place.
  // NOTE: wrangler restarts on a config change; here the entry module and the
  // watched folders stay as they were at start-up, so a new `main` or
  // `build.watch_dir` only takes effect after a restart.
  const reloadConfig = () => {
    const next = resolveConfig(options, cwd);
    if (options.script === undefined && next.main !== config.main) {
      log.warn(`"main" changed to ${next.main}; restart bunflare dev to load the new entry module`, { worker: config.name });
    }
    Object.assign(config, next);
  };

  // Reloads are serialised by the watcher; a manual reload() may overlap one, which only re-imports twice.
  // env is refilled before the import, so module-level code reads the new vars.
  const reload = async (reason: string, configChanged: boolean) => {
    if (configChanged) reloadConfig();
    if (config.build) await runBuild(config);
    replaceEnv(buildEnv(config, storage));
    await runtime.reload();
    log.info(`Reloaded ${config.name} after ${reason}`);
  };

  const reloadAfterChanges = (files: string[]) => {
    const configFile = configFiles ? files.find((file) => isWatchedFile(configFiles, file)) : undefined;
    return reload(`a change to ${configFile ?? files[0]}`, configFile !== undefined);
  };

  const stopWatching = options.watch
    ? watchSources({
        dirs: config.build?.watchDir ?? [dirname(script)],
        files: configFiles ?? [],
        ignore: [config.persistTo],
        reload: reloadAfterChanges,
      })
    : () => {};

  return {
    url,
    config,
    env,
    fetch: (input, init) => handler(toRequest(input, init, url)),
    scheduled: (cron = config.crons[0] ?? "* * * * *", scheduledTime) => runtime.scheduled(cron, scheduledTime),
    reload: () => reload("a reload() call", false),
    waitUntilSettled,
    stop: async () => {
      stopWatching();
      await server.stop(true);
    },
  };
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

function resolveConfig(options: StartWorkerOptions, cwd: string): WorkerConfig {
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
