// The `cloudflare:test` module: the helpers of Cloudflare's Vitest
// integration, under the same names and signatures, plus bunflare's
// `reset`, `rollbackAfterEach` and `advanceClock`.

import { afterEach, beforeEach } from "bun:test";
import { resolve } from "node:path";
import { serializeValue } from "../serialize.ts";
import { workerEnv, queueBroker } from "../env.ts";
import { native } from "../native.ts";
import { LocalExecutionContext, describeError } from "../execution-context.ts";
import { createServiceStub } from "../bindings/service.ts";
import { CONTENT_TYPE_CODES, MessageBatch, type QueueBatchCalls } from "../bindings/queue.ts";
import { applyD1Migrations as applyMigrations, readD1Migrations as readMigrations, type D1Migration } from "../d1-migrations.ts";
import type { D1Database } from "../bindings/d1.ts";
import { log } from "../log.ts";
import { FetchMock } from "./fetch-mock.ts";
import type { TestHarness } from "./harness.ts";
import {
  DurableObjectId,
  evictAllDurableObjects,
  evictDurableObject,
  listDurableObjectIds,
  runDurableObjectAlarm,
  runInDurableObject,
} from "../bindings/durable-object.ts";
import { introspectWorkflow, introspectWorkflowInstance } from "./workflows.ts";

/** An `ExecutionContext` that remembers its `waitUntil` promises for `waitOnExecutionContext`. */
export class TestExecutionContext extends LocalExecutionContext<unknown> {
  /** `waitUntil` promises not yet awaited by `waitOnExecutionContext`. */
  readonly waitUntilPromises: Promise<unknown>[] = [];

  constructor() {
    super({}, "test");
  }

  protected override recordWaitUntil(promise: Promise<unknown>): void {
    this.waitUntilPromises.push(Promise.resolve(promise));
    super.recordWaitUntil(promise);
  }
}

/** A message for `createMessageBatch` and `SELF.queue`, as the Vitest integration takes it. */
export interface TestQueueMessage<Body = unknown> {
  id: string;
  timestamp: Date;
  attempts: number;
  body: Body;
}

/** Production's `FetcherQueueResult`. */
export interface FetcherQueueResult extends QueueBatchCalls {
  outcome: "ok" | "exception";
}

/** Production's `ScheduledController`, as `createScheduledController` builds it. */
export interface TestScheduledController {
  readonly scheduledTime: number;
  readonly cron: string;
  noRetry(): void;
}

/** Creates an `ExecutionContext` to pass to a handler called directly. */
export function createExecutionContext(): TestExecutionContext {
  return new TestExecutionContext();
}

/**
 * Waits for every `waitUntil` promise of `ctx`, including ones added while
 * waiting. One rejection is thrown as is; several as an `AggregateError`.
 */
export async function waitOnExecutionContext(ctx: unknown): Promise<void> {
  if (!(ctx instanceof TestExecutionContext)) {
    throw new TypeError("waitOnExecutionContext() expects a context from createExecutionContext().");
  }
  const errors: unknown[] = [];
  while (ctx.waitUntilPromises.length > 0) {
    const results = await Promise.allSettled(ctx.waitUntilPromises.splice(0));
    for (const result of results) if (result.status === "rejected") errors.push(result.reason);
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, "Multiple waitUntil() promises rejected.");
}

/** Creates the controller a `scheduled()` handler receives; `scheduledTime` defaults to bunflare's clock. */
export function createScheduledController(options: { scheduledTime?: Date | number; cron?: string } = {}): TestScheduledController {
  const scheduledTime = options.scheduledTime === undefined ? native.clockNow() : Number(options.scheduledTime);
  if (!Number.isFinite(scheduledTime)) {
    throw new TypeError(`createScheduledController() expects scheduledTime to be a Date or a number, got ${String(options.scheduledTime)}.`);
  }
  return { scheduledTime, cron: options.cron ?? "", noRetry: () => {} };
}

/** Reads the `.sql` files of `migrationsPath` (relative to the working directory) in wrangler's order. */
export async function readD1Migrations(migrationsPath: string): Promise<D1Migration[]> {
  if (typeof migrationsPath !== "string") throw new TypeError("readD1Migrations() expects a folder path.");
  return readMigrations(resolve(migrationsPath));
}

/** Applies the migrations not yet recorded in `migrationsTableName` (default `d1_migrations`). */
export async function applyD1Migrations(db: D1Database, migrations: D1Migration[], migrationsTableName?: string): Promise<void> {
  if (!Array.isArray(migrations)) throw new TypeError("applyD1Migrations() expects the array readD1Migrations() returns.");
  await applyMigrations(db, migrations, migrationsTableName);
}

/** Builds the exports of `cloudflare:test` for one test process. */
export function createCloudflareTestModule(harness: TestHarness, fetchMock: FetchMock): Record<string, unknown> {
  const getQueueResult = async (batch: MessageBatch, ctx: unknown): Promise<FetcherQueueResult> => {
    if (!(batch instanceof MessageBatch)) throw new TypeError("getQueueResult() expects a batch from createMessageBatch().");
    await waitOnExecutionContext(ctx);
    return { outcome: "ok", ...batch.calls() };
  };

  return {
    env: workerEnv,
    SELF: createLoopbackFetcher(harness, null),
    fetchMock,
    createExecutionContext,
    waitOnExecutionContext,
    createScheduledController,
    createMessageBatch: <Body>(queueName: string, messages: TestQueueMessage<Body>[]) => createMessageBatch(harness, queueName, messages),
    getQueueResult,
    applyD1Migrations,
    readD1Migrations,
    reset: () => harness.reset(),
    advanceClock: (ms: number) => harness.advanceClock(ms),
    rollbackAfterEach: () => rollbackAfterEach(harness),
    runInDurableObject,
    runDurableObjectAlarm,
    listDurableObjectIds,
    evictDurableObject: async (stub: unknown, _options?: { webSockets?: "hibernate" | "close" }) => evictStub(stub),
    evictAllDurableObjects: async () => evictAllDurableObjects(),
    introspectWorkflow: (workflow: unknown) => introspectWorkflow(harness.storage, workflow),
    introspectWorkflowInstance: (workflow: unknown, instanceId: string) => introspectWorkflowInstance(harness.storage, workflow, instanceId),
  };
}

/** Evicts the object behind `stub`, committing its pending writes; its next event constructs it again. */
// NOTE: the Vitest integration's `{ webSockets: "close" }` option is
// ignored: hibernatable WebSockets always stay open across the eviction.
function evictStub(stub: unknown): void {
  const id = typeof stub === "object" && stub !== null ? (stub as { id?: unknown }).id : undefined;
  if (!(id instanceof DurableObjectId)) {
    throw new TypeError("Failed to execute 'evictDurableObject': parameter 1 is not of type 'DurableObjectStub'.");
  }
  evictDurableObject(stub as Parameters<typeof evictDurableObject>[0]);
}

/**
 * Rolls storage back after each test to its state before the file's first
 * test: what `beforeAll` set up stays, what a test wrote goes. Called in a
 * test file it applies to that file; called in a preload, to every file.
 */
function rollbackAfterEach(harness: TestHarness): void {
  beforeEach(() => harness.markRollbackPoint());
  afterEach(() => harness.rollBack());
}

/** Builds the batch a `queue()` handler receives from test messages. */
function createMessageBatch<Body>(harness: TestHarness, queueName: string, messages: TestQueueMessage<Body>[]): MessageBatch<Body> {
  if (typeof queueName !== "string") throw new TypeError("createMessageBatch() expects a queue name.");
  if (!Array.isArray(messages)) throw new TypeError("createMessageBatch() expects an array of messages.");
  return new MessageBatch<Body>(queueBroker(harness.storage), queueName, messages.map(toRecord));
}

function toRecord(message: TestQueueMessage, index: number) {
  if (typeof message !== "object" || message === null || typeof message.id !== "string") {
    throw new TypeError(`Message ${index} needs a string id, a timestamp Date, attempts and a body.`);
  }
  const timestamp = message.timestamp instanceof Date ? message.timestamp.getTime() : Number(message.timestamp);
  if (!Number.isFinite(timestamp)) throw new TypeError(`Message ${index} ("${message.id}") needs a valid timestamp Date.`);
  return {
    id: message.id,
    timestamp,
    attempts: message.attempts ?? 1,
    contentType: CONTENT_TYPE_CODES.v8,
    body: serializeValue(message.body),
  };
}

/**
 * Creates a loopback `Fetcher` to one entrypoint of the Worker under test
 * (`SELF` and `exports.default` for the default one): `fetch`, RPC, and for
 * the default entrypoint `scheduled` and `queue`.
 */
export function createLoopbackFetcher(harness: TestHarness, entrypoint: string | null): Record<string, unknown> {
  const name = harness.config?.name ?? "worker";
  const stub = createServiceStub({
    label: entrypoint ? `${name}#${entrypoint}` : name,
    fetch: async (request) => await (await harness.load()).fetchEntrypoint(entrypoint, request),
    get: async (member) => (await harness.load()).readEntrypointMember(entrypoint, member),
    call: async (method, args) => await (await harness.load()).callEntrypoint(entrypoint, method, args),
  });
  if (entrypoint !== null) return stub;

  const scheduled = async (options: { scheduledTime?: Date | number; cron?: string } = {}) => {
    const controller = createScheduledController(options);
    return await (await harness.load()).scheduled(controller.cron, controller.scheduledTime);
  };

  const queue = async (queueName: string, messages: TestQueueMessage[]): Promise<FetcherQueueResult> => {
    const batch = createMessageBatch(harness, queueName, messages);
    const runtime = await harness.load();
    try {
      await runtime.queue(batch);
      return { outcome: "ok", ...batch.calls() };
    } catch (error) {
      log.error(`Uncaught error in ${name} queue handler: ${describeError(error)}`, { queue: queueName });
      return { outcome: "exception", ...batch.calls() };
    }
  };

  return new Proxy(stub, {
    get(target, property, receiver) {
      if (property === "scheduled") return scheduled;
      if (property === "queue") return queue;
      return Reflect.get(target, property, receiver);
    },
  });
}
