// Builds the `env` object a Worker receives, from the resolved config and the
// process's native storage.
//
// One `env` object exists per process. `import { env } from "cloudflare:workers"`
// and every handler receive that same object, so a reload refills it in place
// instead of replacing it; module-level references stay valid.

import type { QueueBroker, Storage, WorkflowEngine } from "../index.js";
import type { WorkerConfig } from "./config.ts";
import { native } from "./native.ts";
import { createKVNamespace } from "./bindings/kv.ts";
import { createD1Database } from "./bindings/d1.ts";
import { installCaches } from "./bindings/cache.ts";
import { AssetsBinding } from "./bindings/assets.ts";
import { assetServerFor, type WorkerRegistry } from "./workers.ts";
import { createQueue } from "./bindings/queue.ts";
import { applyDurableObjectMigrations, createDurableObjectNamespace } from "./bindings/durable-object.ts";
import { createImagesBinding } from "./bindings/images.ts";
import { createR2Bucket } from "./bindings/r2.ts";
import { createWorkflow } from "./bindings/workflow.ts";
import { log } from "./log.ts";

/** The process-wide `env` object, shared by `cloudflare:workers` and every handler. */
// NOTE: two Workers started in one process share this object, and the last
// one started (or reloaded) fills it. Production runs one Worker per isolate.
export const workerEnv: Record<string, unknown> = {};

/** Storage handles by persist directory, opened once each and kept across reloads. */
const openStores = new Map<string, Storage>();

/** One queue engine per storage, shared by producers, consumers, the pull endpoints and the CLI. */
const brokers = new WeakMap<Storage, QueueBroker>();

/** One Workflows engine per storage, shared by the bindings, the runners and the CLI. */
const workflowEngines = new WeakMap<Storage, WorkflowEngine>();

/** Binding types already warned about, so each unsupported type is reported once per process. */
const warnedBindingTypes = new Set<string>();

/** Returns the native storage for `persistTo`, opening it on first use; null opens an in-memory store. */
export function openStorage(persistTo: string | null): Storage {
  const key = persistTo ?? ":memory:";
  let storage = openStores.get(key);
  if (!storage) {
    storage = native.Storage.open(persistTo);
    openStores.set(key, storage);
    log.info(`Local state in ${persistTo ?? "memory"}`);
  }
  return storage;
}

/** Returns the queue engine of `storage`, creating it on first use. */
export function queueBroker(storage: Storage): QueueBroker {
  let broker = brokers.get(storage);
  if (!broker) {
    broker = new native.QueueBroker(storage);
    brokers.set(storage, broker);
  }
  return broker;
}

/** Returns the Workflows engine of `storage`, creating it on first use. */
export function workflowEngine(storage: Storage): WorkflowEngine {
  let engine = workflowEngines.get(storage);
  if (!engine) {
    engine = new native.WorkflowEngine(storage);
    workflowEngines.set(storage, engine);
  }
  return engine;
}

/**
 * Builds a fresh env object: vars as given (JSON values keep their type),
 * then KV, D1, R2, queue producer, Workflow, assets, service, Images and
 * Durable Object bindings (after applying `migrations`). Unsupported binding
 * types log one warning each and are left out instead of failing the start.
 * Service bindings and Durable Object bindings with another Worker's
 * `script_name` need the `registry` of running Workers; without one they are
 * left out.
 */
export function buildEnv(config: WorkerConfig, storage: Storage, registry?: WorkerRegistry): Record<string, unknown> {
  const env: Record<string, unknown> = { ...config.vars };

  // `caches` is a global in production, not a binding, but it needs the same storage.
  installCaches(storage);

  for (const namespace of config.kvNamespaces) {
    env[namespace.binding] = createKVNamespace(storage, namespace.id);
  }

  for (const database of config.d1Databases) {
    env[database.binding] = createD1Database(storage, database.databaseName);
  }

  const assets = assetServerFor(config);
  if (assets && config.assets?.binding) env[config.assets.binding] = new AssetsBinding(assets);

  for (const service of config.services) {
    if (registry) {
      env[service.binding] = registry.serviceStub(service.service, service.entrypoint, service.props);
    } else {
      log.warn(`Service binding "${service.binding}" needs the Worker "${service.service}" running beside this one; run both with bunflare dev`, {
        worker: config.name,
      });
    }
  }

  for (const producer of config.queueProducers) {
    env[producer.binding] = createQueue(queueBroker(storage), producer.queue, producer.deliveryDelay);
  }

  if (config.migrations.length > 0) applyDurableObjectMigrations(storage, config.migrations);
  for (const object of config.durableObjects) {
    const owner = object.scriptName ?? config.name;
    if (registry) {
      // Objects are constructed from the owning Worker's class with its env,
      // so a class bound from two Workers has one instance per id.
      env[object.binding] = createDurableObjectNamespace(
        storage,
        object.className,
        () => registry.durableObjectEnv(owner, object.className),
        () => registry.durableObjectClass(owner, object.className),
        owner,
        // NOTE: a class bound from another Worker follows the binding Worker's
        // compatibility date for deleteAll(), not its own Worker's.
        config.compatibilityDate,
      );
    } else if (owner === config.name) {
      env[object.binding] = createDurableObjectNamespace(
        storage,
        object.className,
        () => workerEnv,
        undefined,
        null,
        config.compatibilityDate,
      );
    } else {
      log.warn(`Durable Object binding ${object.binding} names class ${object.className} of Worker "${owner}", which runs only under bunflare dev with its config; it is missing from env`, {
        worker: config.name,
      });
    }
  }

  if (config.images) {
    env[config.images.binding] = createImagesBinding(config.images.binding);
  }

  for (const bucket of config.r2Buckets) {
    env[bucket.binding] = createR2Bucket(storage, bucket.bucketName);
  }

  // The binding only talks to the engine; the Worker that exports the class runs the instances.
  for (const workflow of config.workflows) {
    env[workflow.binding] = createWorkflow(workflowEngine(storage), workflow.name);
  }

  for (const key of config.unsupportedBindings) {
    if (warnedBindingTypes.has(key)) continue;
    warnedBindingTypes.add(key);
    log.warn(`bunflare does not support "${key}" bindings yet; they are missing from env`, { worker: config.name });
  }

  return env;
}

/** Replaces the contents of the shared `workerEnv` with `next`, keeping its identity. */
export function replaceEnv(next: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(workerEnv)) delete workerEnv[key];
  Object.assign(workerEnv, next);
  return workerEnv;
}
