// `WorkflowStep`, the `step` argument of a Workflow's `run(event, step)`,
// and `WorkflowRun`, the state of one run of one instance.
//
// Every step call first calls the engine (src/workflow.rs), in one
// synchronous napi call. A completed step returns its persisted result; a
// step that must wait (sleep, retry delay, event) suspends the run: its
// promise never settles, and the scheduler starts a new run, which replays
// the completed steps, when the wait is over.

import type { WorkflowEngine, WorkflowStepConfigInput, WorkflowStepOutcome } from "../index.js";
import { callNative } from "./errors.ts";
import { log } from "./log.ts";
import { deserializeValue, serializeValue } from "./serialize.ts";
import { covers, mocksFor, stepKey } from "./workflow-mocks.ts";

type Duration = string | number;

/** `WorkflowStepConfig`: retries, the per-attempt timeout and `sensitive`. */
export interface WorkflowStepConfig {
  retries?: {
    limit: number;
    delay: Duration | ((input: { ctx: WorkflowStepContext; error: Error }) => Duration | Promise<Duration>);
    backoff?: "constant" | "linear" | "exponential";
  };
  timeout?: Duration;
  sensitive?: "output";
}

/** The context a `step.do` callback receives for each attempt. */
export interface WorkflowStepContext {
  step: { name: string; count: number };
  attempt: number;
  config: WorkflowStepConfig;
}

/** `WorkflowStepEvent`: what `waitForEvent` resolves with. */
export interface WorkflowStepEvent<T = unknown> {
  payload: T;
  timestamp: Date;
  type: string;
}

/** An attempt in progress, failed by the scheduler when its timeout passes. */
interface LiveAttempt {
  deadline: number;
  expire(): void;
}

/** Builds the error a failed step or a timed-out wait throws, with production's name. */
function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** Returns whether `error` is a `NonRetryableError`, also a subclass that renamed itself. */
function isNonRetryable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === "NonRetryableError" || (error as { __brand?: string }).__brand === "NonRetryableError";
}

/** Converts a thrown value into the `{ name, message }` the engine records. */
function describe(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}

/** Converts a duration to the text the engine parses; other types become "" so the engine rejects them. */
function durationText(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return value;
  return "";
}

function configInput(config: WorkflowStepConfig): WorkflowStepConfigInput {
  const retries = config.retries;
  if (retries === undefined) return { hasRetries: false, timeout: durationText(config.timeout) };
  return {
    hasRetries: true,
    retriesLimit: typeof retries.limit === "number" ? retries.limit : Number.NaN,
    retriesDelay: typeof retries.delay === "function" ? "[dynamic]" : durationText(retries.delay) ?? "",
    retriesBackoff: retries.backoff,
    timeout: durationText(config.timeout),
  };
}

/** One run of one instance: its generation, its step counters and its attempts in progress. */
export class WorkflowRun {
  /** A step suspended the run: it waits for the scheduler to start a new one. */
  suspended = false;

  /** The run was terminated, restarted or failed: nothing it does is recorded any more. */
  stopped = false;

  /** Attempts whose callback is still running. */
  pending = 0;

  private readonly attempts = new Set<LiveAttempt>();

  private readonly counters = new Map<string, number>();

  constructor(
    readonly engine: WorkflowEngine,
    readonly workflow: string,
    readonly id: string,
    readonly generation: number,
    /** Called when the run is suspended and no attempt is running any more. */
    private readonly onIdle: (run: WorkflowRun) => void,
  ) {}

  /** Returns the occurrence of this step name in this run: 1 for the first call, 2 for the second. */
  nextCount(kind: string, name: string): number {
    const key = `${kind}\u0000${name}`;
    const count = (this.counters.get(key) ?? 0) + 1;
    this.counters.set(key, count);
    return count;
  }

  /** Suspends the calling step: the returned promise never settles, so the run stops here. */
  suspend<T>(stopped = false): Promise<T> {
    this.suspended = true;
    if (stopped) this.stopped = true;
    if (this.pending === 0) this.onIdle(this);
    return new Promise<T>(() => {});
  }

  /** Fails every attempt whose deadline is at or before `now` with production's timeout error. */
  expireAttempts(now: number): void {
    for (const attempt of this.attempts) {
      if (attempt.deadline <= now) {
        this.attempts.delete(attempt);
        attempt.expire();
      }
    }
  }

  /** Runs one attempt's callback, rejecting with `WorkflowTimeoutError` if the scheduler reports its deadline first. */
  async runAttempt<T>(callback: () => Promise<T>, deadline: number, timeoutMs: number): Promise<T> {
    this.pending += 1;
    try {
      return await new Promise<T>((resolve, reject) => {
        const live: LiveAttempt = {
          deadline,
          expire: () => reject(namedError("WorkflowTimeoutError", `Execution timed out after ${timeoutMs}ms`)),
        };
        this.attempts.add(live);
        Promise.resolve()
          .then(callback)
          .then(
            (value) => {
              this.attempts.delete(live);
              resolve(value);
            },
            (error: unknown) => {
              this.attempts.delete(live);
              reject(error);
            },
          );
      });
    } finally {
      this.pending -= 1;
    }
  }

  /** Called after an attempt was recorded: a suspended run whose last attempt ended is idle. */
  attemptSettled(): void {
    if (this.suspended && this.pending === 0) this.onIdle(this);
  }
}

/** The `step` object of one run. */
export class WorkflowStep {
  readonly #run: WorkflowRun;

  constructor(run: WorkflowRun) {
    this.#run = run;
  }

  /** Runs `callback` once, durably: a completed step returns its persisted result on every later run. */
  async do<T>(name: string, configOrCallback: WorkflowStepConfig | ((ctx: WorkflowStepContext) => Promise<T>), maybeCallback?: (ctx: WorkflowStepContext) => Promise<T>): Promise<T> {
    const [config, callback] =
      typeof configOrCallback === "function" ? [{} as WorkflowStepConfig, configOrCallback] : [configOrCallback ?? {}, maybeCallback];
    if (typeof name !== "string") throw new TypeError(`step.do() needs a string name, got ${typeof name}`);
    if (typeof callback !== "function") throw new TypeError(`step.do("${name}") needs a callback function`);

    const run = this.#run;
    // A run the test helpers stopped (a storage reset, a disposed introspector) ends here, before it touches the engine.
    if (run.stopped) return run.suspend(true);
    const count = run.nextCount("do", name);
    const outcome = callNative(() => run.engine.stepDo(run.workflow, run.id, run.generation, name, count, configInput(config)));
    if (outcome.action !== "run") return this.#settle<T>(outcome);

    const ctx: WorkflowStepContext = { step: { name, count }, attempt: outcome.attempt, config };
    const attempt = this.#mockedAttempt(name, count, outcome.timeoutMs!) ?? (() => callback(ctx));
    let result: T;
    try {
      result = await run.runAttempt(attempt as () => Promise<T>, outcome.deadline!, outcome.timeoutMs!);
    } catch (error) {
      return await this.#attemptFailed<T>(name, count, ctx, config, error);
    }
    if (run.stopped) return run.suspend<T>(true);

    let output: Buffer;
    try {
      output = serializeValue(result);
    } catch {
      const message = `The execution of the Workflow instance was terminated, as the step "${name}" returned a value which is not serialisable`;
      callNative(() => run.engine.fail(run.workflow, run.id, run.generation, "WorkflowFatalError", message));
      log.error(`Workflow ${run.workflow} instance ${run.id} errored: ${message}`);
      run.attemptSettled();
      return run.suspend<T>(true);
    }

    const end = callNative(() =>
      run.engine.attemptEnd(run.workflow, run.id, run.generation, name, count, ctx.attempt, output, undefined, undefined, false, undefined),
    );
    run.attemptSettled();
    if (end.action === "complete") return result;
    return this.#settle<T>(end);
  }

  /**
   * Returns the attempt a test mocked for the `count`th step `name`: a
   * forced error, a forced timeout or a fixed result, or undefined.
   */
  #mockedAttempt(name: string, count: number, timeoutMs: number): (() => Promise<unknown>) | undefined {
    const mocks = mocksFor(this.#run.workflow, this.#run.id);
    if (!mocks) return undefined;
    const key = stepKey(name, count);

    const error = mocks.errors.get(key);
    if (error && error.times > 0) {
      error.times -= 1;
      return () => Promise.reject(error.error);
    }
    const timeout = mocks.timeouts.get(key);
    if (timeout && timeout.times > 0) {
      timeout.times -= 1;
      return () => Promise.reject(namedError("WorkflowTimeoutError", `Execution timed out after ${timeoutMs}ms`));
    }
    if (mocks.results.has(key)) {
      const value = mocks.results.get(key);
      return () => Promise.resolve(value);
    }
    return undefined;
  }

  /** Returns whether a test disabled the `count`th sleep named `name`. */
  #sleepDisabled(name: string, count: number): boolean {
    return covers(mocksFor(this.#run.workflow, this.#run.id)?.sleepsDisabled ?? null, stepKey(name, count));
  }

  /** Suspends the run for `duration` (milliseconds or "<n> <unit>"). */
  async sleep(name: string, duration: Duration): Promise<void> {
    const run = this.#run;
    // A run the test helpers stopped (a storage reset, a disposed introspector) ends here, before it touches the engine.
    if (run.stopped) return run.suspend(true);
    const count = run.nextCount("sleep", name);
    const text = this.#sleepDisabled(String(name), count) ? "0" : (durationText(duration) ?? "");
    const outcome = callNative(() => run.engine.stepSleep(run.workflow, run.id, run.generation, String(name), count, text, undefined));
    await this.#settle(outcome);
  }

  /** Suspends the run until `timestamp` (a Date or milliseconds since the epoch). */
  async sleepUntil(name: string, timestamp: Date | number): Promise<void> {
    const until = timestamp instanceof Date ? timestamp.getTime() : timestamp;
    if (typeof until !== "number") throw new TypeError(`step.sleepUntil("${name}") needs a Date or a number, got ${typeof timestamp}`);
    const run = this.#run;
    // A run the test helpers stopped (a storage reset, a disposed introspector) ends here, before it touches the engine.
    if (run.stopped) return run.suspend(true);
    const count = run.nextCount("sleep", name);
    const disabled = this.#sleepDisabled(String(name), count);
    const outcome = callNative(() =>
      run.engine.stepSleep(run.workflow, run.id, run.generation, String(name), count, disabled ? "0" : undefined, disabled ? undefined : until),
    );
    await this.#settle(outcome);
  }

  /** Waits for an event of `type` sent with `instance.sendEvent()`; rejects when `timeout` (default 24 hours) passes. */
  async waitForEvent<T = unknown>(name: string, options: { type: string; timeout?: Duration }): Promise<WorkflowStepEvent<T>> {
    if (typeof options?.type !== "string") throw new TypeError(`step.waitForEvent("${name}") needs a string "type"`);
    const run = this.#run;
    // A run the test helpers stopped (a storage reset, a disposed introspector) ends here, before it touches the engine.
    if (run.stopped) return run.suspend(true);
    const count = run.nextCount("waitForEvent", name);
    let timeout = durationText(options.timeout);
    const mocks = mocksFor(run.workflow, run.id);
    if (mocks) {
      // NOTE: a forced event timeout waits 1 ms, so its error says "after 1ms"
      // rather than the step's own timeout.
      if (mocks.eventTimeouts.has(stepKey(String(name), count))) timeout = "1";
      const index = mocks.events.findIndex((event) => event.type === options.type);
      if (index >= 0) {
        const [event] = mocks.events.splice(index, 1);
        callNative(() => run.engine.sendEvent(run.workflow, run.id, event!.type, serializeValue(event!.payload)));
      }
    }
    const outcome = callNative(() =>
      run.engine.stepWaitForEvent(run.workflow, run.id, run.generation, String(name), count, options.type, timeout),
    );
    if (outcome.action !== "cached") return this.#settle(outcome);
    return {
      payload: (outcome.output ? deserializeValue(outcome.output) : undefined) as T,
      timestamp: new Date(outcome.eventTimestamp ?? 0),
      type: outcome.eventType ?? options.type,
    };
  }

  /** Reports a failed attempt; the engine decides between a retry (suspend) and failing the step. */
  async #attemptFailed<T>(name: string, count: number, ctx: WorkflowStepContext, config: WorkflowStepConfig, error: unknown): Promise<T> {
    const run = this.#run;
    const nonRetryable = isNonRetryable(error);
    const { name: errorName, message } = describe(error);

    // A delay function decides the next delay from the error, as production's dynamic delays do.
    let retryDelay: string | undefined;
    const delay = config.retries?.delay;
    // NOTE: a failure forced by mockStepError or forceStepTimeout is retried
    // at once, an assumption drawn from the Vitest integration's examples,
    // which expect such retries to finish within a test's 5-second timeout.
    const mocks = mocksFor(run.workflow, run.id);
    const key = stepKey(name, count);
    const mockedFailure = (mocks?.errors.has(key) ?? false) || (mocks?.timeouts.has(key) ?? false);
    if (mockedFailure || covers(mocks?.retryDelaysDisabled ?? null, key)) {
      retryDelay = "0";
    } else if (typeof delay === "function" && !nonRetryable) {
      retryDelay = durationText(await delay({ ctx, error: error instanceof Error ? error : new Error(String(error)) }));
    }

    const end = callNative(() =>
      run.engine.attemptEnd(run.workflow, run.id, run.generation, name, count, ctx.attempt, undefined, errorName, message, nonRetryable, retryDelay),
    );
    run.attemptSettled();
    if (end.action === "failed") throw error;
    if (end.action === "suspend") {
      log.info(`Workflow ${run.workflow} instance ${run.id}: step "${name}" attempt ${ctx.attempt} failed, retrying: ${errorName}: ${message}`);
    }
    return this.#settle<T>(end);
  }

  /** Turns an engine outcome other than `run` into the step's result, error or suspension. */
  #settle<T>(outcome: WorkflowStepOutcome): Promise<T> {
    const run = this.#run;
    switch (outcome.action) {
      case "cached":
        return Promise.resolve((outcome.output ? deserializeValue(outcome.output) : undefined) as T);
      case "failed":
        return Promise.reject(namedError(outcome.errorName ?? "Error", outcome.errorMessage ?? ""));
      case "fatal":
        log.error(`Workflow ${run.workflow} instance ${run.id} errored: ${outcome.errorMessage}`);
        run.stopped = true;
        return Promise.reject(namedError(outcome.errorName ?? "WorkflowFatalError", outcome.errorMessage ?? ""));
      case "stale":
        return run.suspend<T>(true);
      default:
        return run.suspend<T>();
    }
  }
}
