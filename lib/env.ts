// Builds the `env` object a Worker receives, from the resolved config and the
// process's native storage.
//
// One `env` object exists per process. `import { env } from "cloudflare:workers"`
// and every handler receive that same object, so a reload refills it in place
// instead of replacing it; module-level references stay valid.

import type { Storage } from "../index.js";
import type { WorkerConfig } from "./config.ts";
import { native } from "./native.ts";
import { createKVNamespace } from "./bindings/kv.ts";
import { createD1Database } from "./bindings/d1.ts";
import { createR2Bucket } from "./bindings/r2.ts";
import { log } from "./log.ts";

/** The process-wide `env` object, shared by `cloudflare:workers` and every handler. */
// NOTE: two Workers started in one process share this object, and the last
// one started (or reloaded) fills it. Production runs one Worker per isolate.
export const workerEnv: Record<string, unknown> = {};

/** Storage handles by persist directory, opened once each and kept across reloads. */
const openStores = new Map<string, Storage>();

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

/**
 * Builds a fresh env object: vars as given (JSON values keep their type),
 * then KV, D1 and R2 bindings. Unsupported binding types log one warning each
 * and are left out instead of failing the start.
 */
export function buildEnv(config: WorkerConfig, storage: Storage): Record<string, unknown> {
  const env: Record<string, unknown> = { ...config.vars };

  for (const namespace of config.kvNamespaces) {
    env[namespace.binding] = createKVNamespace(storage, namespace.id);
  }

  for (const database of config.d1Databases) {
    env[database.binding] = createD1Database(storage, database.databaseName);
  }

  for (const bucket of config.r2Buckets) {
    env[bucket.binding] = createR2Bucket(storage, bucket.bucketName);
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
