// The register preload: `bun --preload bunflare/register ./src/index.ts`
// runs a Worker with Bun as the only tool.
//
// The preload registers the `cloudflare:*` modules, loads the wrangler config
// from the working directory, builds `env`, and serves the entry module's
// default export on 127.0.0.1 once the entry has finished evaluating. The
// port comes from BUNFLARE_PORT, then PORT, then 8787.
//
// Bun itself serves an entry whose default export is an object with `fetch`,
// right after the entry evaluates. In that case the preload starts no server
// of its own, so exactly one server runs. Instead it swaps the object's
// `fetch` for the bunflare handler (env, ctx, request log, error page) and
// sets `port` and `hostname`, and Bun's server dispatches through bunflare.
// Bun does not serve a class default export, so the preload serves that itself.
//
// NOTE: there is no reload on file changes here; run `bun --watch` with the
// preload, or use `bunflare dev`. Code that calls the default export's
// `fetch` directly also goes through the bunflare handler.

import { plugin } from "bun";
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { ConfigError, loadConfig, logSecretSources } from "./config.ts";
import { buildEnv, openStorage, queueBroker, replaceEnv, workflowEngine } from "./env.ts";
import { startCronTriggers } from "./cron.ts";
import { startQueueConsumers } from "./queue-consumer.ts";
import { startWorkflows } from "./workflow-runner.ts";
import { registerCloudflareModules } from "./plugin.ts";
import { WorkerRuntime } from "./runtime.ts";
import { createRequestHandler, serveWorker, upgradingFetch, websocketHandlers } from "./dev/server.ts";
import { log } from "./log.ts";

/** Called by the line appended to the entry module, with the entry's own namespace. */
const ENTRY_HOOK = Symbol.for("bunflare.registerEntryLoaded");

/** Loader for each source extension the entry may have. */
const LOADERS: Record<string, "ts" | "tsx" | "js" | "jsx"> = {
  ".ts": "ts", ".mts": "ts", ".cts": "ts", ".tsx": "tsx", ".js": "js", ".mjs": "js", ".cjs": "js", ".jsx": "jsx",
};

/** The line Bun's entry wrapper prints through console.debug after it serves the default export. */
const BUN_STARTED_LINE = /^Started (development )?server: /;

/**
 * Prints bunflare's ready line in place of Bun's "Started server: …" line,
 * so one line announces the server. Bun starts its server once the entry's
 * evaluation settles, after the entry hook returns.
 */
// NOTE: this relies on Bun 1.4.5's entry wrapper printing that line with
// console.debug right after Bun.serve. If a Bun version prints it some other
// way, the timer still prints the ready line and Bun's line shows as well.
function replaceBunStartedLine(printReady: () => void): void {
  const debug = console.debug;
  let printed = false;
  const finish = () => {
    console.debug = debug;
    if (!printed) printReady();
    printed = true;
  };

  console.debug = (...args: unknown[]) => {
    if (typeof args[0] === "string" && BUN_STARTED_LINE.test(args[0])) return finish();
    debug.apply(console, args);
  };

  // The wrapper's console.debug call runs in the microtask after the entry
  // settles, so by this timer Bun has listened or has failed to.
  setTimeout(finish, 0);
}

function registerEntry(): void {
  registerCloudflareModules();

  // Bun.main is the entry from the command line (process.argv[1]), resolved as Bun loads it.
  const entry = Bun.main;
  let config;
  try {
    config = loadConfig({ cwd: process.cwd() });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`✘ ${error.message}`);
    process.exit(1);
  }

  logSecretSources(config);
  const storage = openStorage(config.persistTo);
  const env = replaceEnv(buildEnv(config, storage));
  const runtime = new WorkerRuntime(config, env, entry);
  const port = Number(process.env.BUNFLARE_PORT ?? process.env.PORT ?? 8787);
  const hostname = "127.0.0.1";

  (globalThis as Record<symbol, unknown>)[ENTRY_HOOK] = (namespace: Record<string, unknown>) => {
    runtime.adopt(namespace);
    const broker = queueBroker(storage);
    startQueueConsumers(runtime, broker, config.queueConsumers);
    startCronTriggers(runtime, config.crons);
    startWorkflows(runtime, workflowEngine(storage), config.workflows);
    const handler = createRequestHandler(runtime, { broker, scheduled: (cron, time) => runtime.scheduled(cron, time) });
    const exported = namespace.default as Record<string, unknown> | undefined;

    if (typeof exported === "object" && exported !== null && typeof exported.fetch === "function") {
      // Bun serves this object itself after the entry evaluates, so its
      // requests are routed through bunflare instead of a second server.
      if (!Object.isExtensible(exported) || Object.isFrozen(exported)) {
        console.error(
          `✘ The default export of ${entry} is frozen, so bunflare cannot route Bun's server through env and ctx. Export a plain object.`,
        );
        process.exit(1);
      }
      exported.fetch = upgradingFetch(handler);
      exported.websocket = websocketHandlers;
      exported.port = port;
      exported.hostname = hostname;
      exported.development = false;
      // Bun 1.4.5 sets SO_REUSEPORT when development is off, which would let a second process share a taken port.
      exported.reusePort = false;

      replaceBunStartedLine(() => log.info(`Ready on http://${hostname}:${port}/`, { worker: config.name }));
    } else {
      serveWorker(handler, { port, ip: hostname });
      log.info(`Ready on http://${hostname}:${port}/`, { worker: config.name });
    }
  };

  // Appends a self-import and a call to the hook at the end of the entry
  // module, so the hook runs after the entry's last statement (and after any
  // top-level await) but before Bun decides whether to serve the default export.
  const entryPattern = new RegExp(`^${entry.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  plugin({
    name: "bunflare:register-entry",
    setup(build) {
      build.onLoad({ filter: entryPattern }, (args) => {
        const source = readFileSync(args.path, "utf8");
        const hook = `\nimport * as __bunflareEntry from ${JSON.stringify(args.path)};\nglobalThis[Symbol.for("bunflare.registerEntryLoaded")](__bunflareEntry);\n`;
        return { contents: source + hook, loader: LOADERS[extname(args.path)] ?? "ts" };
      });
    },
  });
}

registerEntry();
