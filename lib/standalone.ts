// Bindings that need no Worker and no config, for unit tests of code that
// takes a binding as a parameter:
//
//   import { createKV, createD1 } from "bunflare";
//   const kv = createKV();
//
// Every binding lives in one temporary data directory per process, removed
// when the process exits. Each call without a name gets a fresh namespace or
// database, so two calls never share data.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import type { Storage } from "../index.js";
import { native } from "./native.ts";
import { createKVNamespace, type KVNamespace } from "./bindings/kv.ts";
import { createD1Database, type D1Database } from "./bindings/d1.ts";
import { createCacheStorage, type CacheStorage } from "./bindings/cache.ts";
import { createQueue, type WorkerQueue } from "./bindings/queue.ts";
import { queueBroker } from "./env.ts";
import { log } from "./log.ts";

let standaloneStorage: Storage | null = null;

/** Returns the process's temporary storage, creating it (and its cleanup at exit) on first use. */
function storage(): Storage {
  if (standaloneStorage) return standaloneStorage;
  const dir = mkdtempSync(join(tmpdir(), "bunflare-standalone-"));
  standaloneStorage = native.Storage.open(dir);
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  log.debug("standalone bindings opened", { dir });
  return standaloneStorage;
}

/** Creates a KV namespace; without an id, a fresh one. */
export function createKV(namespaceId: string = `kv-${randomUUID()}`): KVNamespace {
  return createKVNamespace(storage(), namespaceId);
}

/** Creates a D1 database; without a name, a fresh one. */
export function createD1(databaseName: string = `d1-${randomUUID()}`): D1Database {
  return createD1Database(storage(), databaseName);
}

/** Creates a `CacheStorage` like the global `caches`, over the standalone storage. */
export function createCaches(): CacheStorage {
  return createCacheStorage(storage());
}

/**
 * Creates a queue producer; without a name, for a fresh queue. Nothing
 * consumes it, so sent messages stay in storage.
 */
export function createQueueProducer<Body = unknown>(queueName: string = `queue-${randomUUID()}`): WorkerQueue<Body> {
  return createQueue(queueBroker(storage()), queueName) as WorkerQueue<Body>;
}
