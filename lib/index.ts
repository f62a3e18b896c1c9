// bunflare's public API: start a Worker programmatically, build bindings
// directly, and the types every entry point shares.

export { startWorker, type StartWorkerOptions, type WorkerHandle } from "./worker.ts";
export { WorkerRuntime, type ScheduledResult } from "./runtime.ts";
export { buildEnv, openStorage, queueBroker, workerEnv } from "./env.ts";
export { registerCloudflareModules } from "./plugin.ts";
export { createKVNamespace } from "./bindings/kv.ts";
export { createD1Database } from "./bindings/d1.ts";
export { createCacheStorage, installCaches, Cache, CacheStorage } from "./bindings/cache.ts";
export { AssetsBinding } from "./bindings/assets.ts";
export { createServiceStub, setRpcCodec, type EntrypointTarget, type RpcCodec } from "./bindings/service.ts";
export { WorkerRegistry, WorkerInstance } from "./workers.ts";
export { createQueue, WorkerQueue, MessageBatch, Message } from "./bindings/queue.ts";
export { startQueueConsumers } from "./queue-consumer.ts";
export { startCronTriggers } from "./cron.ts";
export { createKV, createD1, createCaches, createQueueProducer } from "./standalone.ts";
export { registerScheduledHandler, stopScheduler } from "./scheduler.ts";
export { loadConfig, ConfigError } from "./config.ts";
export type {
  WorkerConfig,
  LoadConfigOptions,
  KVNamespaceBinding,
  D1DatabaseBinding,
  ServiceBinding,
  AssetsConfig,
  QueueProducerBinding,
  QueueConsumerConfig,
  BuildConfig,
} from "./config.ts";
