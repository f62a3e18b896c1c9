// The state behind `bun test` with the `bunflare/test` preload: the Worker's
// config, its storage, its runtime (loaded on first use) and the queue
// consumers, with the operations `cloudflare:test` builds on.
//
// Storage is in memory and private to the process, so test files that
// `bun test --parallel` runs in other processes never see it. Within one
// process, `startFile` puts it back before each test file to the state the
// preload files left: empty, or with what a setup preload (migrations) wrote.

import type { Storage, StorageSnapshot } from "../../index.js";
import type { WorkerConfig } from "../config.ts";
import { buildEnv, queueBroker, replaceEnv, workerEnv, workflowEngine } from "../env.ts";
import { evictAllDurableObjects, resumeAllDurableObjectAlarms } from "../bindings/durable-object.ts";
import { resetWorkflowRuns, startWorkflows } from "../workflow-runner.ts";
import { clearWorkflowMocks } from "../workflow-mocks.ts";
import { native } from "../native.ts";
import { WorkerRuntime, type ScheduledResult } from "../runtime.ts";
import { startQueueConsumers } from "../queue-consumer.ts";
import { waitUntilSettled } from "../execution-context.ts";
import { log } from "../log.ts";

/** Real time `settle` waits for due deliveries before it gives up, in milliseconds. */
const SETTLE_TIMEOUT_MS = 10_000;

/** Consecutive idle event-loop turns after which the scheduler counts as settled. */
const SETTLE_IDLE_TURNS = 2;

/** One test process's Worker, storage and clock. */
export class TestHarness {
  readonly storage: Storage;

  readonly runtime: WorkerRuntime | null;

  /** Queue handler calls that have not returned yet. */
  #queueCallsRunning = 0;

  #loading: Promise<WorkerRuntime> | null = null;

  /** Storage as the preload files left it, taken when the first test file starts. */
  #baseline: StorageSnapshot | null = null;

  /** Storage before the current file's first test, for `rollbackAfterEach`. */
  #rollbackPoint: StorageSnapshot | null = null;

  constructor(readonly config: WorkerConfig | null) {
    // NOTE: test storage lives in memory, unlike `bunflare dev`'s files, so
    // SQLite's file-level behaviour (WAL, other processes) is not exercised.
    this.storage = native.Storage.open(null);
    const env = config ? replaceEnv(buildEnv(config, this.storage)) : workerEnv;
    this.runtime = config?.main ? new WorkerRuntime(config, env, config.main) : null;
    // Tests spy on handlers (`spyOn(worker, "queue")`) after the Worker has loaded.
    if (this.runtime) this.runtime.readHandlersAtDispatch = true;

    if (config && this.runtime) {
      const runtime = this.runtime;
      // Consumers are registered now, so a message sent before the Worker
      // is loaded is still delivered; delivery loads the Worker first.
      startQueueConsumers(
        {
          config,
          queue: async (batch) => {
            this.#queueCallsRunning += 1;
            try {
              await this.load();
              await runtime.queue(batch);
            } finally {
              this.#queueCallsRunning -= 1;
            }
          },
        },
        queueBroker(this.storage),
        config.queueConsumers,
      );
    }
  }

  /** Imports the Worker's main module once and returns its runtime. */
  async load(): Promise<WorkerRuntime> {
    const runtime = this.requireRuntime("call the Worker");
    this.#loading ??= runtime.load().then(
      () => runtime,
      (error: unknown) => {
        this.#loading = null;
        throw error;
      },
    );
    return await this.#loading;
  }

  /**
   * Runs the Workflow instances of the config's Workflows whose class the
   * Worker exports. Call it once the Worker is loaded, since a run
   * constructs the class from the Worker's exports.
   */
  startWorkflows(): void {
    if (!this.config || !this.runtime || this.config.workflows.length === 0) return;
    startWorkflows(this.runtime, workflowEngine(this.storage), this.config.workflows);
  }

  /** Returns the runtime, or throws naming the missing `main` when the config has none. */
  requireRuntime(purpose: string): WorkerRuntime {
    if (this.runtime) return this.runtime;
    const where = this.config?.configPath ?? `a wrangler config in ${process.cwd()} (or BUNFLARE_CONFIG)`;
    throw new Error(`Cannot ${purpose}: no Worker entry module. Set "main" in ${where}.`);
  }

  /**
   * Prepares storage for a new test file: back to the state the preload
   * files left, with the clock on system time.
   */
  startFile(): void {
    this.#baseline ??= this.storage.snapshot();
    this.#restore(this.#baseline);
    this.#rollbackPoint = null;
    clearWorkflowMocks();
    native.resetClock();
  }

  /**
   * Puts storage back to `snapshot`. Durable Objects are evicted first, so
   * each reopens its restored storage, and Workflow runs stop, so an
   * instance id used again starts a new run.
   */
  #restore(snapshot: StorageSnapshot): void {
    evictAllDurableObjects();
    resetWorkflowRuns();
    this.storage.restore(snapshot);
    resumeAllDurableObjectAlarms(this.storage);
  }

  /** Remembers storage before the file's first test; later calls in the same file do nothing. */
  markRollbackPoint(): void {
    this.#rollbackPoint ??= this.storage.snapshot();
  }

  /** Puts storage back to the point `markRollbackPoint` remembered. */
  rollBack(): void {
    if (this.#rollbackPoint) this.#restore(this.#rollbackPoint);
  }

  /** Empties storage and puts the clock back on system time. */
  reset(): void {
    evictAllDurableObjects();
    resetWorkflowRuns();
    this.storage.reset();
    native.resetClock();
  }

  /**
   * Moves the clock forward by `ms`, runs each cron trigger once if one of
   * its fire times fell in the jump, and waits until every queue delivery
   * that fell due has been handled.
   */
  // NOTE: only bunflare's clock moves; `Date.now()` and timers in the Worker
  // keep the system time. Crons run only here and through SELF.scheduled,
  // never on the wall clock, so no cron runs at a moment a test did not choose.
  async advanceClock(ms: number): Promise<number> {
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
      throw new TypeError(`advanceClock() expects a non-negative number of milliseconds, got ${String(ms)}.`);
    }
    const before = native.clockNow();
    const after = native.advanceClock(ms);
    await this.runDueCrons(before, after);
    await this.settle();
    return after;
  }

  /**
   * Runs each cron expression whose next fire time after `before` is at or
   * before `after`. A jump over several fire times runs the cron once, as
   * production skips the runs it missed.
   */
  private async runDueCrons(before: number, after: number): Promise<ScheduledResult[]> {
    const crons = this.config?.crons ?? [];
    if (crons.length === 0) return [];

    const runtime = await this.load();
    const results: ScheduledResult[] = [];
    for (const cron of crons) {
      const next = native.nextCronTime(cron, before);
      if (next !== null && next <= after) results.push(await runtime.scheduled(cron, next));
    }
    return results;
  }

  /** Waits until the scheduler has nothing due, no queue handler is running and every `waitUntil` has settled. */
  async settle(): Promise<void> {
    const giveUpAt = performance.now() + SETTLE_TIMEOUT_MS;
    let idleTurns = 0;
    while (idleTurns < SETTLE_IDLE_TURNS) {
      // A timer turn lets the scheduler's threadsafe call (which Bun runs before timers) arrive.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await waitUntilSettled();

      const busy = this.#queueCallsRunning > 0 || native.schedulerHasDueWork();
      idleTurns = busy ? 0 : idleTurns + 1;
      if (busy && performance.now() > giveUpAt) {
        throw new Error(
          `Queue deliveries were still running ${SETTLE_TIMEOUT_MS} ms after the clock moved; a queue() handler may never settle.`,
        );
      }
    }
    log.debug("test: scheduler settled");
  }
}
