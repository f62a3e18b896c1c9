// `startWorker`: the programmatic API behind `bunflare dev`. It resolves the
// config, opens storage once, builds `env`, loads the Worker and serves it.

import { dirname, resolve } from "node:path";
import type { Server } from "bun";
import { ConfigError, loadConfig, runBuild, type WorkerConfig } from "./config.ts";
import { buildEnv, openStorage, replaceEnv } from "./env.ts";
import { waitUntilSettled } from "./execution-context.ts";
import { WorkerRuntime, type ScheduledResult } from "./runtime.ts";
import { createRequestHandler, serveWorker } from "./dev/server.ts";
import { watchSources } from "./dev/watch.ts";
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
  const server: Server<undefined> = serveWorker(handler, { port: options.port ?? 0, ip: options.ip ?? "127.0.0.1" });
  const url = new URL(`http://${formatHost(options.ip ?? "127.0.0.1")}:${server.port}/`);

  // Reloads are serialised by the watcher; a manual reload() may overlap one, which only re-imports twice.
  const reload = async (reason: string) => {
    if (config.build) await runBuild(config);
    await runtime.reload();
    replaceEnv(buildEnv(config, storage));
    log.info(`Reloaded ${config.name} after ${reason}`);
  };

  const stopWatching = options.watch
    ? watchSources({
        dirs: config.build?.watchDir ?? [dirname(script)],
        ignore: [config.persistTo],
        reload: (file) => reload(`a change to ${file}`),
      })
    : () => {};

  return {
    url,
    config,
    env,
    fetch: async (input, init) => handler(toRequest(input, init, url)),
    scheduled: (cron = config.crons[0] ?? "* * * * *", scheduledTime) => runtime.scheduled(cron, scheduledTime),
    reload: () => reload("a reload() call"),
    waitUntilSettled,
    stop: async () => {
      stopWatching();
      await server.stop(true);
    },
  };
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
  });
}

function toRequest(input: Request | string | URL, init: RequestInit | undefined, base: URL): Request {
  if (input instanceof Request) return init ? new Request(input, init) : input;
  return new Request(new URL(input, base), init);
}

function formatHost(ip: string): string {
  return ip.includes(":") ? `[${ip}]` : ip;
}
