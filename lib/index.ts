// bunflare's public API: start a Worker programmatically, build bindings
// directly, and the types every entry point shares.

export { startWorker, type StartWorkerOptions, type WorkerHandle } from "./worker.ts";
export { WorkerRuntime, type ScheduledResult } from "./runtime.ts";
export { buildEnv, openStorage, workerEnv } from "./env.ts";
export { registerCloudflareModules } from "./plugin.ts";
export { createKVNamespace } from "./bindings/kv.ts";
export { createD1Database } from "./bindings/d1.ts";
export { createR2Bucket } from "./bindings/r2.ts";
export { loadConfig, ConfigError } from "./config.ts";
export type {
  WorkerConfig,
  LoadConfigOptions,
  KVNamespaceBinding,
  D1DatabaseBinding,
  R2BucketBinding,
  BuildConfig,
} from "./config.ts";
