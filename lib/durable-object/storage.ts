// `ctx.storage` of a Durable Object: the KV API (async and, for SQLite-backed
// classes, the synchronous `kv`), `sql`, transactions, alarms and bookmarks,
// over one native `DurableObjectStore` (src/durable_object/).
//
// Values are structured-cloned with JavaScriptCore's serializer (`bun:jsc`),
// and the bytes go to Rust. Every write goes into the object's implicit
// SQLite transaction at once; the object's host (instance.ts) commits it at
// the end of the turn, and holds responses until then (the output gate).
// A JS-side cache of serialized values serves reads of recently written or
// read keys without a native call, as production's in-memory cache does.

import { deserialize, serialize } from "bun:jsc";
import type { DurableObjectStore } from "../../index.js";
import { callNative, registerErrorClasses } from "../errors.ts";
import { SqlStorage } from "./sql.ts";

registerErrorClasses({
  DO_KEY_TOO_LARGE: (message) => new RangeError(message),
  DO_VALUE_TOO_LARGE: (message) => new RangeError(message),
  DO_TOO_MANY_KEYS: (message) => new RangeError(message),
  DO_SQL_TOO_BIG: (message) => new Error(message),
  DO_SQL_ERROR: (message) => new Error(message),
  DO_SQL_NOT_ENABLED: (message) => new Error(message),
  DO_INVALID_VALUE: (message) => new TypeError(message),
  DO_INVALID_ID: (message) => new TypeError(message),
  DO_NO_MIGRATION: (message) => new Error(message),
  DO_MIGRATION: (message) => new Error(message),
  DO_INVALID_BOOKMARK: (message) => new Error(message),
  DO_INVALID_ALARM: (message) => new TypeError(message),
  DO_CLOSED: (message) => new Error(message),
});

/** Serialized values kept per object before the cache is cleared. */
// NOTE: production's cache is bounded by bytes and evicts least recently
// used entries; this one is cleared whole when it reaches this many keys.
const CACHE_MAX_ENTRIES = 16_384;

/** The hooks storage needs from the object that owns it. */
export interface StorageHost {
  /** Called on every storage operation: closes the input gate until the turn ends. */
  noteStorageOperation(): void;
  /** Called after a write: schedules the end-of-turn commit. */
  noteWrite(): void;
  /** Whether the object's class has an `alarm()` handler. */
  hasAlarmHandler(): boolean;
  /** Whether `deleteAll()` deletes the alarm too (compatibility date 2026-02-24 or later). */
  deleteAllDeletesAlarm(): boolean;
}

// NOTE: `allowConcurrency`, `allowUnconfirmed` and `noCache` are accepted
// and ignored: every operation closes the input gate, waits for the output
// gate and uses the cache.
export interface DurableObjectGetOptions {
  allowConcurrency?: boolean;
  noCache?: boolean;
}

export interface DurableObjectPutOptions {
  allowConcurrency?: boolean;
  allowUnconfirmed?: boolean;
  noCache?: boolean;
}

export interface DurableObjectListOptions extends DurableObjectGetOptions {
  start?: string;
  startAfter?: string;
  end?: string;
  prefix?: string;
  reverse?: boolean;
  limit?: number;
}

export interface DurableObjectSetAlarmOptions {
  allowConcurrency?: boolean;
  allowUnconfirmed?: boolean;
}

/** Structured-clones `value` into bytes for the engine; throws `DataCloneError` as production does. */
function toBytes(value: unknown): ArrayBufferLike {
  // Miniflare's wording; production rejects undefined values too.
  if (value === undefined) throw new TypeError("put() called with undefined value.");
  return serialize(value) as ArrayBufferLike;
}

function fromBytes(bytes: ArrayBufferLike | Uint8Array): unknown {
  return deserialize(bytes as ArrayBuffer);
}

/** The operations shared by `ctx.storage` and the `txn` a transaction closure receives. */
class StorageOperations {
  /** Serialized value by key; null records a key known to be absent. */
  protected readonly cache = new Map<string, ArrayBufferLike | Uint8Array | null>();

  constructor(
    protected readonly store: DurableObjectStore,
    protected readonly host: StorageHost,
  ) {}

  get<T = unknown>(key: string, options?: DurableObjectGetOptions): Promise<T | undefined>;
  get<T = unknown>(keys: string[], options?: DurableObjectGetOptions): Promise<Map<string, T>>;
  get(keyOrKeys: string | string[], _options?: DurableObjectGetOptions): Promise<unknown> {
    return this.run(() => (Array.isArray(keyOrKeys) ? this.getMany(keyOrKeys.map(String)) : this.getSync(String(keyOrKeys))));
  }

  put<T>(key: string, value: T, options?: DurableObjectPutOptions): Promise<void>;
  put<T>(entries: Record<string, T>, options?: DurableObjectPutOptions): Promise<void>;
  put(keyOrEntries: string | Record<string, unknown>, valueOrOptions?: unknown, _options?: DurableObjectPutOptions): Promise<void> {
    return this.run(() => {
      if (typeof keyOrEntries === "object" && keyOrEntries !== null) this.putMany(keyOrEntries);
      else this.putSync(String(keyOrEntries), valueOrOptions);
    });
  }

  delete(key: string, options?: DurableObjectPutOptions): Promise<boolean>;
  delete(keys: string[], options?: DurableObjectPutOptions): Promise<number>;
  delete(keyOrKeys: string | string[], _options?: DurableObjectPutOptions): Promise<boolean | number> {
    return this.run(() => (Array.isArray(keyOrKeys) ? this.deleteMany(keyOrKeys.map(String)) : this.deleteSync(String(keyOrKeys))));
  }

  list<T = unknown>(options: DurableObjectListOptions = {}): Promise<Map<string, T>> {
    return this.run(() => this.listSync<T>(options));
  }

  /** Runs a storage operation as production's async API does: a promise, with the input gate closed. */
  protected run<T>(operation: () => T): Promise<T> {
    this.host.noteStorageOperation();
    try {
      return Promise.resolve(operation());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** @internal */
  getSync(key: string): unknown {
    let bytes = this.cache.get(key);
    if (bytes === undefined) {
      bytes = callNative(() => this.store.get(key));
      this.remember(key, bytes);
    }
    return bytes === null ? undefined : fromBytes(bytes);
  }

  private getMany(keys: string[]): Map<string, unknown> {
    const entries = callNative(() => this.store.getMany(keys));
    const result = new Map<string, unknown>();
    for (let i = 0; i < entries.keys.length; i++) result.set(entries.keys[i]!, fromBytes(entries.values[i]!));
    return result;
  }

  /** @internal */
  putSync(key: string, value: unknown): void {
    const bytes = toBytes(value);
    callNative(() => this.store.put(key, new Uint8Array(bytes)));
    this.remember(key, bytes);
    this.host.noteWrite();
  }

  private putMany(entries: Record<string, unknown>): void {
    const keys = Object.keys(entries);
    const values = keys.map((key) => new Uint8Array(toBytes(entries[key])));
    callNative(() => this.store.putMany(keys, values));
    keys.forEach((key, index) => this.remember(key, values[index]!));
    this.host.noteWrite();
  }

  /** @internal */
  deleteSync(key: string): boolean {
    const existed = callNative(() => this.store.delete(key));
    this.remember(key, null);
    this.host.noteWrite();
    return existed;
  }

  private deleteMany(keys: string[]): number {
    const count = callNative(() => this.store.deleteMany(keys));
    for (const key of keys) this.remember(key, null);
    this.host.noteWrite();
    return count;
  }

  /** @internal */
  listSync<T>(options: DurableObjectListOptions): Map<string, T> {
    const { start, startAfter, end, prefix, reverse, limit } = checkListOptions(options);
    const entries = callNative(() => this.store.list(start, startAfter, end, prefix, reverse, limit));
    const result = new Map<string, T>();
    for (let i = 0; i < entries.keys.length; i++) result.set(entries.keys[i]!, fromBytes(entries.values[i]!) as T);
    return result;
  }

  protected remember(key: string, bytes: ArrayBufferLike | Uint8Array | null): void {
    if (this.cache.size >= CACHE_MAX_ENTRIES && !this.cache.has(key)) this.cache.clear();
    this.cache.set(key, bytes);
  }
}

/** Checks the option types production checks; bounds and limits go to the engine as given. */
function checkListOptions(options: DurableObjectListOptions): DurableObjectListOptions {
  if (typeof options !== "object" || options === null) throw new TypeError("list() options must be an object.");
  if (options.limit !== undefined && (typeof options.limit !== "number" || !(options.limit > 0))) {
    throw new TypeError("List limit must be positive.");
  }
  if (options.start !== undefined && options.startAfter !== undefined) {
    throw new TypeError("list() cannot be called with both start and startAfter values.");
  }
  return {
    start: options.start === undefined ? undefined : String(options.start),
    startAfter: options.startAfter === undefined ? undefined : String(options.startAfter),
    end: options.end === undefined ? undefined : String(options.end),
    prefix: options.prefix === undefined ? undefined : String(options.prefix),
    reverse: Boolean(options.reverse),
    limit: options.limit === undefined ? undefined : Math.floor(options.limit),
  };
}

/** The `txn` argument of `transaction()`: the storage API plus `rollback()`. */
export class DurableObjectTransaction extends StorageOperations {
  /** @internal Set by `rollback()`. */
  rolledBack = false;

  /** @internal Built by `DurableObjectStorage.transaction`. */
  constructor(store: DurableObjectStore, host: StorageHost, private readonly parent: DurableObjectStorage) {
    super(store, host);
  }

  /** Discards this transaction's writes when its closure returns. */
  rollback(): void {
    this.rolledBack = true;
  }

  protected override remember(key: string, bytes: ArrayBufferLike | Uint8Array | null): void {
    super.remember(key, bytes);
    this.parent._forget(key);
  }

  getAlarm(): Promise<number | null> {
    return this.parent.getAlarm();
  }

  setAlarm(scheduledTime: number | Date, options?: DurableObjectSetAlarmOptions): Promise<void> {
    return this.parent.setAlarm(scheduledTime, options);
  }

  deleteAlarm(options?: DurableObjectSetAlarmOptions): Promise<void> {
    return this.parent.deleteAlarm(options);
  }
}

/** `ctx.storage`. */
export class DurableObjectStorage extends StorageOperations {
  #sql: SqlStorage | null = null;
  #kv: SyncKvStorage | null = null;
  #openTransactions = 0;

  /** @internal Built by the object's host. */
  constructor(store: DurableObjectStore, host: StorageHost) {
    super(store, host);
  }

  /** The SQL API of a SQLite-backed class. */
  get sql(): SqlStorage {
    if (!this.store.sqlite) callNative(() => this.store.sqlExec("SELECT 1"));
    this.#sql ??= new SqlStorage(this.store, this.host);
    return this.#sql;
  }

  /** The synchronous KV API of a SQLite-backed class. */
  get kv(): SyncKvStorage {
    if (!this.store.sqlite) callNative(() => this.store.sqlExec("SELECT 1"));
    this.#kv ??= new SyncKvStorage(this);
    return this.#kv;
  }

  /**
   * Deletes every key and, on SQLite-backed classes, every table. The alarm
   * goes too when the compatibility date is 2026-02-24 or later.
   */
  deleteAll(_options?: DurableObjectPutOptions): Promise<void> {
    return this.run(() => {
      callNative(() => this.store.deleteAll(this.host.deleteAllDeletesAlarm()));
      this.cache.clear();
      this.host.noteWrite();
    });
  }

  /**
   * Runs `closure` in a transaction: its writes commit together when it
   * resolves, and are discarded when it throws or calls `txn.rollback()`.
   */
  // NOTE: transactions are SQLite savepoints on the object's one
  // connection, so writes made by other events while a transaction closure
  // awaits other I/O land inside it, and overlapping transactions must end
  // in the reverse order of their start.
  async transaction<T>(closure: (txn: DurableObjectTransaction) => Promise<T>): Promise<T> {
    this.host.noteStorageOperation();
    const depth = callNative(() => this.store.beginTransaction());
    this.#openTransactions += 1;
    const txn = new DurableObjectTransaction(this.store, this.host, this);
    let result: T;
    try {
      result = await closure(txn);
    } catch (error) {
      this.#endTransaction(depth, false);
      throw error;
    }
    this.#endTransaction(depth, !txn.rolledBack);
    return result;
  }

  /** Runs `closure` synchronously in a transaction that covers KV and SQL writes (SQLite-backed classes). */
  transactionSync<T>(closure: () => T): T {
    if (!this.store.sqlite) callNative(() => this.store.sqlExec("SELECT 1"));
    this.host.noteStorageOperation();
    const depth = callNative(() => this.store.beginTransaction());
    this.#openTransactions += 1;
    let result: T;
    try {
      result = closure();
    } catch (error) {
      this.#endTransaction(depth, false);
      throw error;
    }
    this.#endTransaction(depth, true);
    return result;
  }

  #endTransaction(depth: number, commit: boolean): void {
    this.#openTransactions -= 1;
    callNative(() => this.store.endTransaction(depth, commit));
    // Rolled-back writes may sit in the cache; dropping it is always correct.
    if (!commit) this.cache.clear();
    this.host.noteWrite();
  }

  /** Resolves once every write made so far is durable. */
  sync(): Promise<void> {
    return this.run(() => {
      callNative(() => this.store.commit());
    });
  }

  getAlarm(_options?: DurableObjectGetOptions): Promise<number | null> {
    return this.run(() => callNative(() => this.store.getAlarm()) ?? null);
  }

  setAlarm(scheduledTime: number | Date, _options?: DurableObjectSetAlarmOptions): Promise<void> {
    return this.run(() => {
      if (!this.host.hasAlarmHandler()) {
        throw new TypeError("Your Durable Object class must have an alarm() handler in order to call setAlarm()");
      }
      const time = scheduledTime instanceof Date ? scheduledTime.getTime() : scheduledTime;
      if (typeof time !== "number") callNative(() => this.store.setAlarm(Number.NaN));
      callNative(() => this.store.setAlarm(time));
    });
  }

  deleteAlarm(_options?: DurableObjectSetAlarmOptions): Promise<void> {
    return this.run(() => callNative(() => this.store.setAlarm(null)));
  }

  /** Returns a bookmark for the current state (SQLite-backed classes). */
  getCurrentBookmark(): Promise<string> {
    return this.run(() => callNative(() => this.store.currentBookmark()));
  }

  /** Returns the bookmark of the newest local snapshot at or before `timestamp`. */
  getBookmarkForTime(timestamp: number | Date): Promise<string> {
    const time = timestamp instanceof Date ? timestamp.getTime() : Number(timestamp);
    return this.run(() => callNative(() => this.store.bookmarkForTime(time)));
  }

  /** Restores `bookmark` when the object next starts; returns a bookmark that undoes the restore. */
  onNextSessionRestoreBookmark(bookmark: string): Promise<string> {
    return this.run(() => callNative(() => this.store.restoreOnNextOpen(String(bookmark))));
  }

  /** @internal Whether a `transaction()` closure is still running, which holds the commit back. */
  get _hasOpenTransaction(): boolean {
    return this.#openTransactions > 0;
  }

  /** @internal Drops a key that a transaction wrote, so the next read asks the engine. */
  _forget(key: string): void {
    this.cache.delete(key);
  }
}

/** `ctx.storage.kv`: the synchronous KV API of SQLite-backed classes. */
export class SyncKvStorage {
  constructor(private readonly storage: DurableObjectStorage) {}

  get<T = unknown>(key: string): T | undefined {
    return this.storage.getSync(String(key)) as T | undefined;
  }

  put<T>(key: string, value: T): void {
    this.storage.putSync(String(key), value);
  }

  delete(key: string): boolean {
    return this.storage.deleteSync(String(key));
  }

  *list<T = unknown>(options: DurableObjectListOptions = {}): IterableIterator<[string, T]> {
    yield* this.storage.listSync<T>(options);
  }
}
