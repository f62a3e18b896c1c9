// The Durable Object binding: `DurableObjectNamespace`, `DurableObjectId`
// and stubs, as the Workers runtime exposes them.
//
// Each namespace (a class) keeps one `ObjectHost` per object id in this
// process. The host constructs the instance lazily and runs every event
// through the input and output gates (lib/durable-object/instance.ts).
// Stubs speak `fetch` and RPC (lib/rpc.ts).

import { createHash, randomBytes } from "node:crypto";
import type { Storage } from "../../index.js";
import { callNative } from "../errors.ts";
import { describeError } from "../execution-context.ts";
import { log } from "../log.ts";
import { native } from "../native.ts";
import { createStub, callReceiverMethod, readReceiverMember, settleForCaller } from "../rpc.ts";
import { ObjectHost, type DurableObjectClass, type DurableObjectState, type ObjectContext } from "../durable-object/instance.ts";
import "../durable-object/storage.ts";
import { registerScheduledHandler } from "../scheduler.ts";

/** Jurisdictions production accepts for `newUniqueId` and `jurisdiction()`. */
const JURISDICTIONS = new Set(["eu", "fedramp", "fedramp-high"]);

/** Bytes of an id derived from the name or chosen at random; the rest tie the id to its namespace. */
const ID_BODY_BYTES = 24;

/** The exports of the loaded Worker module, where classes are looked up by name. */
let workerExports: Record<string, unknown> = {};

/**
 * Every object host in this process: by data directory, class name, then
 * id. Namespaces rebuilt on reload find the same hosts, so each object has
 * one instance and one open file however often env is rebuilt.
 */
const hostTables = new Map<Storage, Map<string, Map<string, ObjectHost>>>();

function hostsOf(storage: Storage, className: string): Map<string, ObjectHost> {
  let byClass = hostTables.get(storage);
  if (!byClass) {
    byClass = new Map();
    hostTables.set(storage, byClass);
  }
  let hosts = byClass.get(className);
  if (!hosts) {
    hosts = new Map();
    byClass.set(className, hosts);
  }
  return hosts;
}

/**
 * Records the loaded Worker's exports, so objects are constructed from its
 * classes. Active objects are evicted, because production restarts every
 * object when new code is deployed.
 */
export function setDurableObjectExports(exports: Record<string, unknown>): void {
  workerExports = exports;
  evictAllDurableObjects();
}

/** Evicts the object behind `stubOrId` now, as an idle eviction would; for tests. */
export function evictDurableObject(stubOrId: DurableObjectStub | DurableObjectId): void {
  const id = stubOrId instanceof DurableObjectId ? stubOrId : (stubOrId as DurableObjectStub).id;
  for (const byClass of hostTables.values()) byClass.get(id._className)?.get(id.toString())?.evict();
}

/** Evicts every object in this process, committing their pending writes. */
export function evictAllDurableObjects(): void {
  for (const byClass of hostTables.values()) {
    for (const hosts of byClass.values()) {
      for (const host of [...hosts.values()]) host.evict();
    }
  }
}

/** The host behind each stub, for the test helpers that run code inside an object. */
const stubHosts = new WeakMap<object, ObjectHost>();

/** The context behind each namespace, for `listDurableObjectIds`. */
const namespaceContexts = new WeakMap<DurableObjectNamespace, ObjectContext>();

/** Returns the host behind `stub`, or throws the TypeError `helper` raises for anything else. */
function hostOfStub(stub: unknown, helper: string): ObjectHost {
  const host = typeof stub === "object" && stub !== null ? stubHosts.get(stub) : undefined;
  if (!host) throw new TypeError(`Failed to execute '${helper}': parameter 1 is not of type 'DurableObjectStub'.`);
  return host;
}

/** Runs `callback(instance, ctx)` inside the object behind `stub`, as one event through its gates. */
export async function runInDurableObject<T>(stub: unknown, callback: (instance: any, state: DurableObjectState) => T | Promise<T>): Promise<T> {
  const host = hostOfStub(stub, "runInDurableObject");
  if (typeof callback !== "function") {
    throw new TypeError("Failed to execute 'runInDurableObject': parameter 2 is not of type 'function'.");
  }
  return await host.runInside(callback);
}

/**
 * Runs the pending alarm of the object behind `stub` now, deleting it first,
 * and resolves to whether there was one. A throwing `alarm()` rejects here
 * and is not retried.
 */
export async function runDurableObjectAlarm(stub: unknown): Promise<boolean> {
  const host = hostOfStub(stub, "runDurableObjectAlarm");
  return await host.runInside(async (instance, state) => {
    if ((await state.storage.getAlarm()) === null) return false;
    await state.storage.deleteAlarm();
    const handler = (instance as { alarm?: unknown }).alarm;
    if (typeof handler === "function") await handler.call(instance, { retryCount: 0, isRetry: false });
    return true;
  });
}

/** Returns the ids of the objects of `namespace` that have storage in this process's data directory. */
// NOTE: an object's storage opens when it is constructed, so an object that
// never read or wrote storage is listed too.
export async function listDurableObjectIds(namespace: unknown): Promise<DurableObjectId[]> {
  const context = namespace instanceof DurableObjectNamespace ? namespaceContexts.get(namespace) : undefined;
  if (!context) {
    throw new TypeError("Failed to execute 'listDurableObjectIds': parameter 1 is not of type 'DurableObjectNamespace'.");
  }
  const ids = callNative(() => native.listDurableObjectIds(context.storage, context.className));
  return ids.map((hex) => new DurableObjectId(context.className, hex));
}

/**
 * Schedules again the stored alarms of every bound class of `storage`,
 * after a test harness put its storage back to an earlier state.
 */
export function resumeAllDurableObjectAlarms(storage: Storage): void {
  for (const context of alarmContexts.get(storage)?.values() ?? []) {
    callNative(() => native.resumeDurableObjectAlarms(storage, context.className));
  }
}

/** Returns the host of object `id`, creating it on first use. */
function hostFor(context: ObjectContext, id: DurableObjectId): ObjectHost {
  const hosts = hostsOf(context.storage, context.className);
  const key = id.toString();
  let host = hosts.get(key);
  if (!host) {
    // Hosts stay in the table after eviction: stubs made earlier keep
    // pointing at them, and one host per id keeps one instance per id.
    host = new ObjectHost(context, id);
    hosts.set(key, host);
  }
  return host;
}

/**
 * The newest namespace context of each bound class, by storage: alarms
 * construct their objects from it, since an alarm fires with no stub.
 */
const alarmContexts = new Map<Storage, Map<string, ObjectContext>>();

/** Routes the alarms of `context`'s class to its objects and schedules the stored ones. */
function resumeAlarms(context: ObjectContext): void {
  let byClass = alarmContexts.get(context.storage);
  const prefix = callNative(() => native.resumeDurableObjectAlarms(context.storage, context.className));
  if (!byClass) {
    const classes = new Map<string, ObjectContext>();
    byClass = classes;
    alarmContexts.set(context.storage, classes);
    registerScheduledHandler("alarm", prefix, (key, due) => fireAlarm(classes, key, due));
  }
  byClass.set(context.className, context);
}

/**
 * Runs one object's `alarm()` through its input gate, then reports the
 * outcome to the engine, which deletes the alarm, keeps one set during the
 * handler, or schedules a retry.
 */
async function fireAlarm(classes: Map<string, ObjectContext>, key: string, due: number): Promise<void> {
  const separator = key.lastIndexOf(":");
  const className = key.slice(0, separator);
  const hex = key.slice(separator + 1);
  const context = classes.get(className);
  if (!context) {
    log.warn("durable object: alarm of a class that no binding names; it stays stored", { class: className, id: hex });
    return;
  }

  const retryCount = callNative(() => native.beginDurableObjectAlarm(context.storage, className, hex, due));
  if (retryCount === null) return;

  const host = hostFor(context, new DurableObjectId(className, hex));
  let success = true;
  try {
    await host.deliver(async (instance) => {
      const handler = (instance as { alarm?: unknown }).alarm;
      if (typeof handler !== "function") throw new TypeError("Handler does not export an alarm() function.");
      await handler.call(instance, { retryCount, isRetry: retryCount > 0 });
    });
  } catch (error) {
    success = false;
    log.error(`Uncaught error in alarm() of ${className}: ${describeError(error)}`, { class: className, id: hex, retryCount });
  }

  const result = callNative(() => native.finishDurableObjectAlarm(context.storage, className, hex, due, success));
  if (result.outcome === "retry") {
    log.info("durable object: alarm will be retried", { class: className, id: hex, retryCount: result.retryCount, at: result.retryAt });
  } else if (result.outcome === "gave-up") {
    log.error("durable object: alarm dropped after its last retry", { class: className, id: hex, retries: result.retryCount });
  }
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** Computes the bytes that tie an id body to its namespace, so ids of other classes are rejected. */
function namespaceTag(namespaceKey: string, body: Uint8Array): Uint8Array {
  const hash = createHash("sha256").update(`bunflare-do-tag:${namespaceKey}:`).update(body).digest();
  return hash.subarray(0, 32 - ID_BODY_BYTES);
}

/** A Durable Object id: 64 hex digits, and the name it came from when there is one. */
export class DurableObjectId {
  readonly #hex: string;
  /** The name given to `idFromName` or `getByName`; absent for other ids, as in production. */
  readonly name?: string;
  /** @internal */
  readonly _className: string;

  /** @internal Built by a namespace. */
  constructor(className: string, hex: string, name?: string) {
    this._className = className;
    this.#hex = hex;
    if (name !== undefined) this.name = name;
  }

  toString(): string {
    return this.#hex;
  }

  equals(other: DurableObjectId): boolean {
    return other instanceof DurableObjectId && other.toString() === this.#hex;
  }

  toJSON(): string {
    return this.#hex;
  }
}

export interface DurableObjectNamespaceNewUniqueIdOptions {
  jurisdiction?: string;
}

export interface DurableObjectNamespaceGetDurableObjectOptions {
  locationHint?: string;
}

/** A stub: `fetch`, `id`, `name`, and any RPC method or property of the object. */
export type DurableObjectStub = Record<string, unknown> & {
  readonly id: DurableObjectId;
  readonly name?: string;
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
};

/** `env.<binding>` for a Durable Object class. */
export class DurableObjectNamespace {
  readonly #context: ObjectContext;
  readonly #jurisdiction: string | null;

  /** @internal Use `createDurableObjectNamespace`. */
  constructor(context: ObjectContext, jurisdiction: string | null = null) {
    this.#context = context;
    this.#jurisdiction = jurisdiction;
    namespaceContexts.set(this, context);
  }

  /** Returns the id for `name`: the same 64 hex digits in every run. */
  idFromName(name: string): DurableObjectId {
    const text = String(name);
    const digest = createHash("sha256")
      .update(`bunflare-do-name:${this.#context.namespaceKey}:${this.#jurisdiction ?? ""}:`)
      .update(text)
      .digest();
    return this.#makeId(digest.subarray(0, ID_BODY_BYTES), text);
  }

  /** Returns a new random id, optionally restricted to a jurisdiction. */
  newUniqueId(options?: DurableObjectNamespaceNewUniqueIdOptions): DurableObjectId {
    const jurisdiction = options?.jurisdiction ?? this.#jurisdiction;
    if (jurisdiction !== null && jurisdiction !== undefined) checkJurisdiction(jurisdiction);
    // NOTE: production encodes the jurisdiction in the id; a local id carries none.
    return this.#makeId(randomBytes(ID_BODY_BYTES), undefined);
  }

  /** Parses an id from its `toString()` form; rejects other strings and ids of other classes. */
  idFromString(id: string): DurableObjectId {
    const hex = String(id);
    callNative(() => native.validateDurableObjectId(hex));
    const bytes = Buffer.from(hex, "hex");
    const expected = namespaceTag(this.#context.namespaceKey, bytes.subarray(0, ID_BODY_BYTES));
    if (!Buffer.from(expected).equals(bytes.subarray(ID_BODY_BYTES))) {
      // NOTE: the wording is bunflare's; production rejects such ids with a TypeError too.
      throw new TypeError(`Invalid Durable Object ID: ${hex} is not an ID of class ${this.#context.className}`);
    }
    return new DurableObjectId(this.#context.className, hex.toLowerCase());
  }

  /** Returns a stub for `id`. The object is constructed on the stub's first call. */
  get(id: DurableObjectId, _options?: DurableObjectNamespaceGetDurableObjectOptions): DurableObjectStub {
    if (!(id instanceof DurableObjectId)) {
      throw new TypeError("Failed to execute 'get' on 'DurableObjectNamespace': parameter 1 is not of type 'DurableObjectId'.");
    }
    if (id._className !== this.#context.className) {
      throw new TypeError(`Invalid Durable Object ID: ${id} is not an ID of class ${this.#context.className}`);
    }
    // NOTE: locationHint has no effect locally; every object runs in this process.
    return makeStub(this.#host(id), id);
  }

  /** Returns a stub for the object named `name`: `get(idFromName(name))`. */
  getByName(name: string, options?: DurableObjectNamespaceGetDurableObjectOptions): DurableObjectStub {
    return this.get(this.idFromName(name), options);
  }

  /** Returns this namespace restricted to a jurisdiction; its names map to other ids. */
  jurisdiction(jurisdiction: string): DurableObjectNamespace {
    checkJurisdiction(jurisdiction);
    return new DurableObjectNamespace(this.#context, jurisdiction);
  }

  #makeId(body: Uint8Array, name: string | undefined): DurableObjectId {
    const bytes = new Uint8Array(32);
    bytes.set(body, 0);
    bytes.set(namespaceTag(this.#context.namespaceKey, body), ID_BODY_BYTES);
    return new DurableObjectId(this.#context.className, hexOf(bytes), name);
  }

  #host(id: DurableObjectId): ObjectHost {
    return hostFor(this.#context, id);
  }
}

function checkJurisdiction(jurisdiction: string): void {
  if (!JURISDICTIONS.has(jurisdiction)) {
    throw new TypeError(`Unknown jurisdiction "${jurisdiction}"; use one of ${[...JURISDICTIONS].join(", ")}.`);
  }
}

/** Builds the stub of one object: `fetch` delivers a request, other members are RPC. */
function makeStub(host: ObjectHost, id: DurableObjectId): DurableObjectStub {
  const fetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    return host.deliver(async (instance) => {
      const handler = (instance as { fetch?: unknown }).fetch;
      if (typeof handler !== "function") throw new TypeError("Handler does not export a fetch() function.");
      const response = await handler.call(instance, request);
      if (!(response instanceof Response)) {
        throw new TypeError("Incorrect type for Promise: the Promise did not resolve to 'Response'.");
      }
      return response;
    });
  };

  const remote = {
    get: (name: string) => host.deliver((instance) => settleForCaller(() => readReceiverMember(instance, name))),
    call: (name: string, args: unknown[]) => host.deliver((instance) => settleForCaller(() => callReceiverMethod(instance, name, args))),
  };

  // `name` is always the stub's own member, so an unnamed stub reads undefined rather than calling RPC.
  const own: Record<string, unknown> = { id, fetch, name: id.name };
  const stub = createStub(remote, own) as DurableObjectStub;
  stubHosts.set(stub, host);
  return stub;
}

/**
 * Opens the namespace of `className` for a binding. The class must have
 * been created by a config migration; otherwise production's deploy error
 * is thrown here. `env` is the env of the Worker that defines the class.
 * `exported` looks the class up when an object is constructed: by default
 * in the loaded Worker's exports, or in the Worker named `worker` when
 * several run in one process.
 */
export function createDurableObjectNamespace(
  storage: Storage,
  className: string,
  env: () => Record<string, unknown>,
  exported: () => unknown = () => workerExports[className],
  worker: string | null = null,
  compatibilityDate: string | null = null,
): DurableObjectNamespace {
  const info = callNative(() => native.durableObjectClassInfo(storage, className));
  log.debug("durable objects: namespace opened", { class: className, storage: info.storage, worker });
  const context: ObjectContext = {
    className,
    namespaceKey: info.namespaceKey,
    storage,
    env,
    // Production's deleteAll() deletes the alarm too from compatibility date 2026-02-24 on.
    deleteAllDeletesAlarm: compatibilityDate !== null && compatibilityDate >= DELETE_ALL_DELETES_ALARM_DATE,
    resolveClass: () => {
      const value = exported();
      if (typeof value !== "function") {
        const owner = worker === null ? "the Worker" : `Worker "${worker}"`;
        throw new Error(`Durable Object class "${className}" is not exported by ${owner}; export it from the entry module.`);
      }
      return value as DurableObjectClass;
    },
  };
  resumeAlarms(context);
  return new DurableObjectNamespace(context);
}

/** The compatibility date from which production's `deleteAll()` also deletes the alarm (Cloudflare changelog, 2026-02-24). */
const DELETE_ALL_DELETES_ALARM_DATE = "2026-02-24";

/** Applies the config's `migrations` to local state and returns the tags applied now. */
export function applyDurableObjectMigrations(storage: Storage, migrations: unknown[]): string[] {
  const applied = callNative(() => native.applyDurableObjectMigrations(storage, JSON.stringify(migrations)));
  if (applied.length > 0) log.info(`Applied Durable Object migrations ${applied.join(", ")}`);
  return applied;
}
