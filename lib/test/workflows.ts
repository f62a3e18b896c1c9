// `introspectWorkflow` and `introspectWorkflowInstance` of `cloudflare:test`:
// introspectors that mock the steps of Workflow instances and wait for their
// results and statuses, with the names and signatures of Cloudflare's Vitest
// integration.

import type { InstanceStatus, Workflow, WorkflowInstance } from "../bindings/workflow.ts";
import { Workflow as WorkflowBinding } from "../bindings/workflow.ts";
import { deserializeValue } from "../serialize.ts";
import { workflowEngine } from "../env.ts";
import { callNative } from "../errors.ts";
import { forgetWorkflowRun } from "../workflow-runner.ts";
import type { Storage } from "../../index.js";
import { ensureMocks, onBeforeCreate, removeMocks, selectorKey, type InstanceMocks, type StepSelector } from "../workflow-mocks.ts";

/** Real time between two reads of an instance while a test waits on it, in milliseconds. */
const POLL_INTERVAL_MS = 5;

type Status = InstanceStatus["status"];

const FINISHED: ReadonlySet<Status> = new Set(["complete", "errored", "terminated"]);

/** The object `modify` and `modifyAll` callbacks receive. */
export class WorkflowInstanceModifier {
  readonly #mocks: InstanceMocks;

  constructor(mocks: InstanceMocks) {
    this.#mocks = mocks;
  }

  /** Makes `step.sleep` and `step.sleepUntil` return at once: all of them, or the chosen ones. */
  async disableSleeps(steps?: StepSelector[]): Promise<void> {
    this.#mocks.sleepsDisabled = chooseSteps(this.#mocks.sleepsDisabled, steps, "disableSleeps");
  }

  /** Makes the retries of failing `step.do` calls run without their delay: all of them, or the chosen ones. */
  async disableRetryDelays(steps?: StepSelector[]): Promise<void> {
    this.#mocks.retryDelaysDisabled = chooseSteps(this.#mocks.retryDelaysDisabled, steps, "disableRetryDelays");
  }

  /** Makes the chosen `step.do` return `stepResult` without running its callback. */
  async mockStepResult(step: StepSelector, stepResult: unknown): Promise<void> {
    this.#mocks.results.set(selectorKey(step, "mockStepResult"), stepResult);
  }

  /** Makes the chosen `step.do` throw `error` on its next `times` attempts, or on every attempt. */
  async mockStepError(step: StepSelector, error: Error, times?: number): Promise<void> {
    if (!(error instanceof Error)) throw new TypeError("mockStepError() needs an Error to throw.");
    this.#mocks.errors.set(selectorKey(step, "mockStepError"), { error, times: checkTimes(times, "mockStepError") });
  }

  /** Makes the chosen `step.do` time out on its next `times` attempts, or on every attempt. */
  async forceStepTimeout(step: StepSelector, times?: number): Promise<void> {
    this.#mocks.timeouts.set(selectorKey(step, "forceStepTimeout"), { times: checkTimes(times, "forceStepTimeout") });
  }

  /** Delivers an event to the instance's first `step.waitForEvent` of the event's type. */
  async mockEvent(event: { type: string; payload: unknown }): Promise<void> {
    if (typeof event?.type !== "string") throw new TypeError('mockEvent() needs an event with a string "type".');
    this.#mocks.events.push({ type: event.type, payload: event.payload });
  }

  /** Makes the chosen `step.waitForEvent` time out at once. */
  async forceEventTimeout(step: StepSelector): Promise<void> {
    this.#mocks.eventTimeouts.add(selectorKey(step, "forceEventTimeout"));
  }
}

function chooseSteps(current: Set<string> | "all" | null, steps: StepSelector[] | undefined, method: string): Set<string> | "all" {
  if (steps === undefined) return "all";
  if (!Array.isArray(steps)) throw new TypeError(`${method}() takes an array of step selectors, or nothing for every step.`);
  if (current === "all") return "all";
  const chosen = current ?? new Set<string>();
  for (const step of steps) chosen.add(selectorKey(step, method));
  return chosen;
}

function checkTimes(times: number | undefined, method: string): number {
  if (times === undefined) return Number.POSITIVE_INFINITY;
  if (!Number.isInteger(times) || times < 1) throw new TypeError(`${method}(): times must be a whole number of 1 or more, got ${String(times)}.`);
  return times;
}

/** Waits one poll interval of real time. */
function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
}

/** Introspects one instance: mocks its steps and waits for its results. */
export class WorkflowInstanceIntrospector {
  readonly #workflow: Workflow;
  readonly #storage: Storage;
  readonly #id: string;
  readonly #mocks: InstanceMocks;

  constructor(workflow: Workflow, storage: Storage, id: string) {
    this.#workflow = workflow;
    this.#storage = storage;
    this.#id = id;
    this.#mocks = ensureMocks(workflow.name, id);
  }

  /** Applies the mocks `fn` sets on the instance's steps; call it before the instance runs them. */
  async modify(fn: (m: WorkflowInstanceModifier) => Promise<void> | void): Promise<WorkflowInstanceIntrospector> {
    await fn(new WorkflowInstanceModifier(this.#mocks));
    return this;
  }

  /** Waits until the chosen `step.do` has completed and returns its result. */
  // NOTE: rejects once the instance has finished without the step
  // completing; the Vitest integration documents no behaviour for that case.
  async waitForStepResult(step: StepSelector): Promise<unknown> {
    const key = selectorKey(step, "waitForStepResult");
    const count = step.index ?? 1;
    for (;;) {
      const steps = this.#engineSteps();
      const record = steps.find((row) => row.kind === "do" && row.name === step.name && row.count === count);
      if (record?.status === "complete") return record.output ? deserializeValue(record.output) : undefined;

      const status = await this.#readStatus();
      if (status && FINISHED.has(status.status)) {
        throw new Error(`Workflow instance ${this.#id} is ${status.status}, and step ${key} never completed.`);
      }
      await pause();
    }
  }

  /** Waits until the instance reaches `status`; rejects when it finishes with another one. */
  async waitForStatus(status: Status): Promise<void> {
    for (;;) {
      const current = await this.#readStatus();
      if (current?.status === status) return;
      if (current && FINISHED.has(current.status)) {
        const reason = current.error ? `: ${current.error.name}: ${current.error.message}` : "";
        throw new Error(`Workflow instance ${this.#id} is ${current.status}, not ${status}${reason}`);
      }
      await pause();
    }
  }

  /** Returns the output of the completed instance. */
  async getOutput(): Promise<unknown> {
    const status = await this.#instance().then((instance) => instance.status());
    if (status.status !== "complete") throw new Error(`Workflow instance ${this.#id} is ${status.status}, so it has no output.`);
    return status.output;
  }

  /** Returns the `{ name, message }` error of the errored instance. */
  async getError(): Promise<{ name: string; message: string }> {
    const status = await this.#instance().then((instance) => instance.status());
    if (status.status !== "errored" || !status.error) throw new Error(`Workflow instance ${this.#id} is ${status.status}, so it has no error.`);
    return status.error;
  }

  /**
   * Removes the mocks, stops the instance's run and deletes the instance
   * with its steps, so a later test can create the same id again.
   */
  async dispose(): Promise<void> {
    removeMocks(this.#workflow.name, this.#id);
    const engine = workflowEngine(this.#storage);
    forgetWorkflowRun(engine, this.#workflow.name, this.#id);
    callNative(() => engine.remove(this.#workflow.name, this.#id));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  #instance(): Promise<WorkflowInstance> {
    return this.#workflow.get(this.#id);
  }

  /** Returns the status, or null while the instance does not exist yet. */
  async #readStatus(): Promise<InstanceStatus | null> {
    if (!workflowEngine(this.#storage).exists(this.#workflow.name, this.#id)) return null;
    return await (await this.#instance()).status();
  }

  #engineSteps() {
    const engine = workflowEngine(this.#storage);
    if (!engine.exists(this.#workflow.name, this.#id)) return [];
    return engine.steps(this.#workflow.name, this.#id);
  }
}

/** Introspects every instance of a Workflow created after it: `modifyAll` mocks apply to each. */
export class WorkflowIntrospector {
  readonly #callbacks: ((m: WorkflowInstanceModifier) => Promise<void> | void)[] = [];
  readonly #instances: WorkflowInstanceIntrospector[] = [];
  readonly #removeHook: () => void;

  constructor(workflow: Workflow, storage: Storage) {
    this.#removeHook = onBeforeCreate(workflow.name, async (id) => {
      const introspector = new WorkflowInstanceIntrospector(workflow, storage, id);
      this.#instances.push(introspector);
      for (const callback of this.#callbacks) await introspector.modify(callback);
    });
  }

  /** Applies the mocks `fn` sets to every instance created from now on. */
  async modifyAll(fn: (m: WorkflowInstanceModifier) => Promise<void> | void): Promise<void> {
    this.#callbacks.push(fn);
  }

  /** Returns an introspector for each instance created since `introspectWorkflow`. */
  get(): WorkflowInstanceIntrospector[] {
    return [...this.#instances];
  }

  /** Stops introspecting new instances and disposes the introspector of each one created. */
  async dispose(): Promise<void> {
    this.#removeHook();
    this.#callbacks.length = 0;
    await Promise.all(this.#instances.splice(0).map((instance) => instance.dispose()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}

function checkWorkflow(workflow: unknown, helper: string): Workflow {
  if (!(workflow instanceof WorkflowBinding)) {
    throw new TypeError(`${helper}() needs a Workflow binding from env, got ${workflow === null ? "null" : typeof workflow}.`);
  }
  return workflow;
}

/** Creates the introspector of the instance `instanceId` of `workflow`, which may not exist yet. */
export async function introspectWorkflowInstance(storage: Storage, workflow: unknown, instanceId: string): Promise<WorkflowInstanceIntrospector> {
  const binding = checkWorkflow(workflow, "introspectWorkflowInstance");
  if (typeof instanceId !== "string" || instanceId === "") {
    throw new TypeError("introspectWorkflowInstance() needs an instance id string.");
  }
  return new WorkflowInstanceIntrospector(binding, storage, instanceId);
}

/** Creates an introspector for every instance of `workflow` created from now on. */
export async function introspectWorkflow(storage: Storage, workflow: unknown): Promise<WorkflowIntrospector> {
  return new WorkflowIntrospector(checkWorkflow(workflow, "introspectWorkflow"), storage);
}
