// The `bun test` preload (`preload = ["bunflare/test"]` in bunfig.toml).
//
// It reads the wrangler config from the working directory (or the file
// BUNFLARE_CONFIG names, and the environment CLOUDFLARE_ENV names), builds
// `env` over in-memory storage, and provides `cloudflare:workers` (with
// `env` and `exports`) and `cloudflare:test`. Each test file starts from
// the storage the preload files left (empty, or what a setup preload listed
// after this one wrote at its top level), system time on the clock and no
// fetch interceptors.
//
// Test files can import the same helpers from "bunflare/test" as from
// "cloudflare:test".

import { plugin } from "bun";
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { ConfigError, loadConfig, type WorkerConfig } from "../config.ts";
import { registerCloudflareModules, setExportsResolver } from "../plugin.ts";
import { log, setLogLevel } from "../log.ts";
import { TestHarness } from "./harness.ts";
import { FetchMock } from "./fetch-mock.ts";
import { createCloudflareTestModule, createLoopbackFetcher } from "./cloudflare-test.ts";
import { installImageResizing } from "../bindings/image-resizing.ts";

/** Bun's test file names: `*.test.*`, `*_test.*`, `*.spec.*` and `*_spec.*` with a JS or TS extension. */
const TEST_FILE = /[._](test|spec)\.[cm]?[jt]sx?$/;

/** The global function each test file calls first, through the line `onLoad` adds. */
const FILE_STARTED = Symbol.for("bunflare.testFileStarted");

const LOADERS: Record<string, "ts" | "tsx" | "js" | "jsx"> = {
  ".ts": "ts", ".mts": "ts", ".cts": "ts", ".tsx": "tsx", ".js": "js", ".mjs": "js", ".cjs": "js", ".jsx": "jsx",
};

/** Loads the wrangler config, or returns null (with a warning) when there is none to load. */
function loadTestConfig(): WorkerConfig | null {
  try {
    return loadConfig({ cwd: process.cwd(), config: process.env.BUNFLARE_CONFIG || undefined });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // A test run without a usable config still gets the modules, with an empty env.
    log.warn(`bunflare/test: env is empty because the config could not be loaded: ${error.message}`);
    return null;
  }
}

/** Resolves `exports.<name>` of `cloudflare:workers` to a loopback stub of that entrypoint. */
function exportsResolver(harness: TestHarness): (name: string) => unknown {
  const stubs = new Map<string, unknown>();
  return (name) => {
    let stub = stubs.get(name);
    if (!stub) {
      stub = createLoopbackFetcher(harness, name === "default" ? null : name);
      stubs.set(name, stub);
    }
    return stub;
  };
}

// Request logs and queue summaries would drown the test report; BUNFLARE_LOG still wins.
if (!process.env.BUNFLARE_LOG) setLogLevel("warn");

registerCloudflareModules();
installImageResizing();

const harness = new TestHarness(loadTestConfig());

// Durable Objects and Workflow instances are constructed from the Worker's
// exported classes, so the Worker is loaded up front when the config binds any.
const config = harness.config;
if (config && (config.durableObjects.length > 0 || config.workflows.length > 0) && harness.runtime) {
  await harness.load();
  harness.startWorkflows();
}
const outboundFetchMock = new FetchMock();
const testModule = createCloudflareTestModule(harness, outboundFetchMock);
setExportsResolver(exportsResolver(harness));

(globalThis as Record<symbol, unknown>)[FILE_STARTED] = () => {
  harness.startFile();
  outboundFetchMock.reset();
};

plugin({
  name: "bunflare:test",
  setup(build) {
    build.module("cloudflare:test", () => ({ loader: "object", exports: testModule }));

    // Adds a call to FILE_STARTED at the start of each test file's first
    // line, so line numbers in stack traces stay the user's. It runs after
    // the file's imports are evaluated and before its hooks and tests.
    // NOTE: storage written while a test file's imports evaluate (a module
    // that seeds KV at its top level) is wiped by this reset.
    build.onLoad({ filter: TEST_FILE }, (args) => {
      const source = readFileSync(args.path, "utf8");
      const call = `globalThis[Symbol.for("bunflare.testFileStarted")]?.(import.meta.path);`;
      // A shebang must stay first, so the call goes at the start of the second line instead.
      const contents = source.startsWith("#!") ? source.replace(/\n|$/, `\n${call}`) : call + source;
      return { contents, loader: LOADERS[extname(args.path)] ?? "ts" };
    });
  },
});

export const {
  env,
  SELF,
  fetchMock,
  createExecutionContext,
  waitOnExecutionContext,
  createScheduledController,
  createMessageBatch,
  getQueueResult,
  applyD1Migrations,
  readD1Migrations,
  reset,
  advanceClock,
  rollbackAfterEach,
  runInDurableObject,
  runDurableObjectAlarm,
  listDurableObjectIds,
  evictDurableObject,
  evictAllDurableObjects,
  introspectWorkflow,
  introspectWorkflowInstance,
} = testModule as Record<string, any>;
