// bunflare's public API: start a Worker programmatically, build bindings
// directly, and the types every entry point shares.

export { PortInUseError, startWorker, type StartWorkerOptions, type WorkerHandle } from "./worker.ts";
export { WorkerRuntime, type ScheduledResult } from "./runtime.ts";
export { buildEnv, openStorage, queueBroker, workerEnv } from "./env.ts";
export { registerCloudflareModules } from "./plugin.ts";
export { createKVNamespace } from "./bindings/kv.ts";
export { createD1Database } from "./bindings/d1.ts";
export { createCacheStorage, installCaches, Cache, CacheStorage } from "./bindings/cache.ts";
export { AssetsBinding } from "./bindings/assets.ts";
export { createServiceStub, type EntrypointTarget } from "./bindings/service.ts";
export { WorkerRegistry, WorkerInstance } from "./workers.ts";
export { createQueue, WorkerQueue, MessageBatch, Message } from "./bindings/queue.ts";
export { startQueueConsumers } from "./queue-consumer.ts";
export { startCronTriggers } from "./cron.ts";
export { createKV, createD1, createCaches, createQueueProducer } from "./standalone.ts";
export { registerScheduledHandler, stopScheduler } from "./scheduler.ts";
export {
  createDurableObjectNamespace,
  applyDurableObjectMigrations,
  evictDurableObject,
  evictAllDurableObjects,
  DurableObjectNamespace,
  DurableObjectId,
  type DurableObjectStub,
} from "./bindings/durable-object.ts";
export { RpcTarget } from "./rpc.ts";
export { createImagesBinding, ImagesBinding, ImageTransformer, ImagesError } from "./bindings/images.ts";
export { createR2Bucket } from "./bindings/r2.ts";
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
  DurableObjectBinding,
  DurableObjectMigration,
  ImagesBinding as ImagesBindingConfig,
  R2BucketBinding,
  BuildConfig,
} from "./config.ts";
