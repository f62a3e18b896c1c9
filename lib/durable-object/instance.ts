// One Durable Object in this process: its instance, `ctx`, storage, and
// production's concurrency rules.
//
// Input gate: while a storage operation's turn runs (from the operation
// until the microtask queue drains), and while `blockConcurrencyWhile` runs,
// new events (requests, RPC calls) wait in a queue. Awaiting anything else
// (a `fetch`, a timer) ends the turn, so events interleave there, as in
// production.
//
// Output gate and write coalescing: writes go into the object's implicit
// transaction, which is committed once per turn, in a `setImmediate`
// callback that runs after the microtask queue drains. A response or RPC
// result waits for that commit, so nothing leaves the object before the
// writes made before it are durable.

import type { DurableObjectStore, Storage } from "../../index.js";
import { callNative } from "../errors.ts";
import { trackWaitUntil, describeError } from "../execution-context.ts";
import { log } from "../log.ts";
import { native } from "../native.ts";
import { DurableObjectStorage, type StorageHost } from "./storage.ts";
import { Hibernation } from "./hibernation.ts";
import { WorkerWebSocket as WebSocketClass, type WebSocketRequestResponsePair, type WorkerWebSocket } from "../websocket.ts";

/** How long an object may sit idle before it is evicted, in milliseconds. */
// Production evicts an idle object after 70 to 140 seconds without events
// (Cloudflare's Durable Object lifecycle page); this uses the lower bound.
export const IDLE_EVICTION_MS = 70_000;

/** How long an object whose only activity is hibernatable WebSockets stays in memory, in milliseconds. */
// Production hibernates such an object after 10 seconds without events
// (Cloudflare's Durable Object lifecycle page).
export const HIBERNATION_IDLE_MS = 10_000;

/** A Durable Object class as user code exports it. */
export type DurableObjectClass = new (state: DurableObjectState, env: Record<string, unknown>) => object;

/** The namespace's side of an object: class, storage and env. */
export interface ObjectContext {
  className: string;
  /** The key ids derive from; it stays the same when the class is renamed. */
  namespaceKey: string;
  storage: Storage;
  /** Whether `deleteAll()` deletes the alarm too, as production does from compatibility date 2026-02-24. */
  deleteAllDeletesAlarm: boolean;
  /** Returns the class exported by the loaded Worker, or throws when it is missing. */
  resolveClass(): DurableObjectClass;
  env(): Record<string, unknown>;
}

/** The namespace's `DurableObjectId`, as `ctx.id` exposes it. */
export interface ObjectIdLike {
  toString(): string;
  readonly name?: string;
}

/** `ctx` of a Durable Object. */
export class DurableObjectState {
  readonly id: ObjectIdLike;
  readonly storage: DurableObjectStorage;
  readonly #host: ObjectHost;

  /** @internal Built by the object's host. */
  constructor(host: ObjectHost, id: ObjectIdLike, storage: DurableObjectStorage) {
    this.#host = host;
    this.id = id;
    this.storage = storage;
  }

  /** Holds every new event until `callback` settles; a rejection resets the object. */
  blockConcurrencyWhile<T>(callback: () => Promise<T> | T): Promise<T> {
    return this.#host.blockConcurrencyWhile(callback);
  }

  /** Keeps work running after the response; its rejection is logged. */
  waitUntil(promise: Promise<unknown>): void {
    trackWaitUntil(promise, `durable object ${this.#host.className} ${this.id}`);
  }

  /** Accepts a WebSocket with the hibernation API: its events go to `webSocketMessage`, `webSocketClose` and `webSocketError`. */
  acceptWebSocket(ws: WorkerWebSocket, tags?: string[]): void {
    this.#host.hibernation.accept(ws, tags);
  }

  /** Returns the connected hibernatable WebSockets, those with `tag` when one is given. */
  getWebSockets(tag?: string): WorkerWebSocket[] {
    return this.#host.hibernation.getWebSockets(tag);
  }

  /** Returns the tags `ws` was accepted with. */
  getTags(ws: WorkerWebSocket): string[] {
    return this.#host.hibernation.getTags(ws);
  }

  /** Sets the message that gets an automatic reply without waking the object; no argument removes it. */
  setWebSocketAutoResponse(pair?: WebSocketRequestResponsePair): void {
    this.#host.hibernation.setAutoResponse(pair);
  }

  getWebSocketAutoResponse(): WebSocketRequestResponsePair | null {
    return this.#host.hibernation.getAutoResponse();
  }

  /** Returns when `ws` last received the auto-response, or null. */
  getWebSocketAutoResponseTimestamp(ws: WorkerWebSocket): Date | null {
    return WebSocketClass._autoResponseTimestamp(ws);
  }

  setHibernatableWebSocketEventTimeout(timeoutMs?: number): void {
    this.#host.hibernation.setEventTimeout(timeoutMs);
  }

  getHibernatableWebSocketEventTimeout(): number | null {
    return this.#host.hibernation.getEventTimeout();
  }

  /** Resets the object: uncommitted writes are discarded and the next event constructs it anew. */
  abort(reason?: string): never {
    const error = new Error(reason ?? "Durable Object was aborted.");
    this.#host.reset(error);
    throw error;
  }
}

/** Runs one object's events through its gates, and constructs and evicts its instance. */
export class ObjectHost implements StorageHost {
  #instance: object | null = null;
  #state: DurableObjectState | null = null;
  #store: DurableObjectStore | null = null;

  /** Events waiting for the input gate to open. */
  readonly #queue: (() => void)[] = [];
  /** `blockConcurrencyWhile` callbacks running. */
  #blockers = 0;
  readonly #blockerWaiters: (() => void)[] = [];
  /** Set by a storage operation; cleared when the turn ends. */
  #storageTurn = false;
  /** Whether the implicit transaction contains writes that are not committed. */
  #dirty = false;
  #turnEndScheduled = false;
  /** Responses waiting for the pending commit (the output gate). */
  #commitWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  /** Events running now. */
  #running = 0;
  #idleTimer: ReturnType<typeof setTimeout> | null = null;
  /** The hibernatable WebSockets; they outlive the instance. */
  readonly hibernation: Hibernation = new Hibernation(this);

  constructor(
    private readonly context: ObjectContext,
    readonly id: ObjectIdLike,
  ) {}

  get className(): string {
    return this.context.className;
  }

  /**
   * Runs `callback(instance, ctx)` as one event of the object, through its
   * input and output gates; `runInDurableObject` of `cloudflare:test` uses it.
   */
  runInside<T>(callback: (instance: object, state: DurableObjectState) => T | Promise<T>): Promise<T> {
    return this.deliver((instance) => callback(instance, this.#state!));
  }

  /** Whether an instance is constructed now. */
  get isActive(): boolean {
    return this.#instance !== null;
  }

  /**
   * Delivers one event: waits for the input gate, runs `event` on the
   * instance (constructing it first if needed), then waits for the output gate.
   */
  deliver<T>(event: (instance: object) => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.#run(event).then(resolve, reject);
      };
      if (this.#gateClosed()) this.#queue.push(start);
      else start();
    });
  }

  async #run<T>(event: (instance: object) => T | Promise<T>): Promise<T> {
    this.#running += 1;
    this.#cancelIdleTimer();
    try {
      const instance = this.#ensureInstance();
      // A constructor's blockConcurrencyWhile holds its first event too.
      if (this.#blockers > 0) await new Promise<void>((resolve) => this.#blockerWaiters.push(resolve));

      let result: T;
      try {
        result = await event(instance);
      } catch (error) {
        await this.#outputGate();
        throw error;
      }
      await this.#outputGate();
      return result;
    } finally {
      this.#running -= 1;
      if (this.#running === 0) this.#startIdleTimer();
    }
  }

  #gateClosed(): boolean {
    return this.#blockers > 0 || this.#storageTurn;
  }

  #ensureInstance(): object {
    if (this.#instance) return this.#instance;

    const ObjectClass = this.context.resolveClass();
    const store = callNative(() => new native.DurableObjectStore(this.context.storage, this.context.className, String(this.id)));
    const state = new DurableObjectState(this, this.id, new DurableObjectStorage(store, this));
    this.#store = store;
    this.#state = state;
    try {
      this.#instance = new ObjectClass(state, this.context.env());
    } catch (error) {
      this.#closeStore("abort");
      throw error;
    }
    log.debug("durable object: constructed", { class: this.className, id: String(this.id) });
    return this.#instance;
  }

  // StorageHost

  noteStorageOperation(): void {
    this.#storageTurn = true;
    this.#scheduleTurnEnd();
  }

  noteWrite(): void {
    this.#dirty = true;
    this.#scheduleTurnEnd();
  }

  deleteAllDeletesAlarm(): boolean {
    return this.context.deleteAllDeletesAlarm;
  }

  hasAlarmHandler(): boolean {
    return typeof (this.#instance as { alarm?: unknown } | null)?.alarm === "function";
  }

  #scheduleTurnEnd(): void {
    if (this.#turnEndScheduled) return;
    this.#turnEndScheduled = true;
    setImmediate(() => this.#endTurn());
  }

  /** Commits the turn's writes, releases the responses waiting on them, and opens the input gate. */
  #endTurn(): void {
    this.#turnEndScheduled = false;
    if (this.#dirty && this.#store) {
      try {
        // The commit waits while a transaction() closure is still open.
        const committed = this.#store.commit();
        if (committed || !this.#state?.storage._hasOpenTransaction) this.#dirty = false;
      } catch (error) {
        log.error("durable object: commit failed; resetting the object", {
          class: this.className,
          id: String(this.id),
          error: describeError(error),
        });
        this.#failCommitWaiters(error);
        this.reset(error);
      }
    } else if (!this.#store) {
      this.#dirty = false;
    }

    if (!this.#dirty) {
      const waiters = this.#commitWaiters;
      this.#commitWaiters = [];
      for (const waiter of waiters) waiter.resolve();
    }

    this.#storageTurn = false;
    this.#drain();
  }

  #failCommitWaiters(error: unknown): void {
    const waiters = this.#commitWaiters;
    this.#commitWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  #outputGate(): Promise<void> {
    if (!this.#dirty) return Promise.resolve();
    return new Promise((resolve, reject) => this.#commitWaiters.push({ resolve, reject }));
  }

  /** Starts queued events while the input gate is open. */
  #drain(): void {
    while (this.#queue.length > 0 && !this.#gateClosed()) this.#queue.shift()!();
  }

  /** Runs `callback` with the input gate closed; a rejection resets the object. */
  // NOTE: production also resets the object when the callback runs longer
  // than 30 seconds; here it may run as long as it likes.
  async blockConcurrencyWhile<T>(callback: () => Promise<T> | T): Promise<T> {
    this.#blockers += 1;
    try {
      return await callback();
    } catch (error) {
      this.reset(error);
      throw error;
    } finally {
      this.#blockers -= 1;
      if (this.#blockers === 0) {
        for (const resume of this.#blockerWaiters.splice(0)) resume();
        this.#drain();
      }
    }
  }

  /**
   * Resets the object after `abort()`, a failed `blockConcurrencyWhile` or a
   * failed commit: uncommitted writes are discarded and the next event
   * constructs a new instance. Events still running keep the old instance,
   * whose storage calls now fail.
   */
  reset(reason: unknown): void {
    log.warn("durable object: reset", { class: this.className, id: String(this.id), reason: describeError(reason) });
    this.#closeStore("abort");
    this.#instance = null;
    this.#state = null;
    this.#dirty = false;
    this.#storageTurn = false;
  }

  /**
   * Evicts the object as production does when it has been idle: pending
   * writes are committed, the file is closed and the instance dropped. The
   * next event constructs a new instance over the same storage.
   */
  evict(): void {
    this.#cancelIdleTimer();
    if (!this.#instance && !this.#store) return;
    this.#closeStore("close");
    this.#instance = null;
    this.#state = null;
    this.#dirty = false;
    for (const waiter of this.#commitWaiters.splice(0)) waiter.resolve();
    log.debug("durable object: evicted", { class: this.className, id: String(this.id) });
  }

  #closeStore(how: "close" | "abort"): void {
    const store = this.#store;
    this.#store = null;
    if (!store) return;
    try {
      if (how === "close") callNative(() => store.close());
      else callNative(() => store.abort());
    } catch (error) {
      log.error("durable object: closing storage failed", { class: this.className, id: String(this.id), error: describeError(error) });
    }
  }

  #startIdleTimer(): void {
    this.#cancelIdleTimer();
    // NOTE: an object with WebSockets accepted by the standard accept() is
    // evicted after the same idle time, but production keeps it in memory
    // while they are open. Their listeners keep running on the evicted instance.
    const idleMs = this.hibernation.hasSockets ? HIBERNATION_IDLE_MS : IDLE_EVICTION_MS;
    this.#idleTimer = setTimeout(() => {
      if (this.#running === 0 && this.#blockers === 0) this.evict();
    }, idleMs);
    // An idle object must not keep the process alive.
    this.#idleTimer.unref?.();
  }

  #cancelIdleTimer(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }
}
