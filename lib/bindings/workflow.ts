// The Workflows binding (`env.MY_WORKFLOW.create/createBatch/get`) and the
// `WorkflowInstance` handle it returns.
//
// Params, outputs and event payloads are serialized here with the
// structured clone serializer; ids, limits, statuses and storage live in
// the Rust engine (src/workflow.rs). The binding only records what should
// happen: the runner (lib/workflow-runner.ts) of the Worker that exports
// the class runs the instances when the scheduler wakes them.

import type { WorkflowEngine } from "../../index.js";
import { callNative, registerErrorClasses, translateError } from "../errors.ts";
import { deserializeValue, serializeValue } from "../serialize.ts";
import { beforeCreate } from "../workflow-mocks.ts";

// Production's instance errors are plain `Error`s; bad argument types are `TypeError`s.
registerErrorClasses({
  WORKFLOW_INVALID_ID: (message) => new Error(message),
  WORKFLOW_INVALID_NAME: (message) => new TypeError(message),
  WORKFLOW_ALREADY_EXISTS: (message) => new Error(message),
  WORKFLOW_NOT_FOUND: (message) => new Error(message),
  WORKFLOW_PAYLOAD_TOO_LARGE: (message) => new Error(message),
  WORKFLOW_BATCH_EMPTY: (message) => new Error(message),
  WORKFLOW_BATCH_TOO_LARGE: (message) => new Error(message),
  WORKFLOW_INVALID_EVENT_TYPE: (message) => new TypeError(message),
  WORKFLOW_INVALID_TRANSITION: (message) => new Error(message),
});

/** `create()` options: `retention` and `locationHint` are accepted and ignored locally. */
export interface WorkflowInstanceCreateOptions<Params = unknown> {
  id?: string;
  params?: Params;
  retention?: unknown;
  locationHint?: string;
}

/** `InstanceStatus`, as `instance.status()` returns it. */
export interface InstanceStatus {
  status: "queued" | "running" | "paused" | "errored" | "terminated" | "complete" | "waiting" | "waitingForPause" | "unknown";
  error?: { name: string; message: string };
  output?: unknown;
}

/** The object form of `createBatch`'s result. */
export interface WorkflowBatchCreateResult {
  created: WorkflowInstance[];
  errors: { index: number; id?: string; code: number; message: string }[];
}

/** Serializes params or a payload, turning a clone failure into production's error. */
function serializeArgument(value: unknown, what: string): Buffer {
  try {
    return serializeValue(value);
  } catch (error) {
    throw new TypeError(`${what} could not be serialized: ${(error as Error).message}`);
  }
}

/** A handle on one instance; every method reads or changes the instance's row in the engine. */
export class WorkflowInstance {
  constructor(
    private readonly engine: WorkflowEngine,
    private readonly workflow: string,
    readonly id: string,
  ) {}

  /** Pauses the instance; a running one stops at its next step. */
  async pause(): Promise<void> {
    callNative(() => this.engine.pause(this.workflow, this.id));
  }

  /** Resumes a paused instance. */
  async resume(): Promise<void> {
    callNative(() => this.engine.resume(this.workflow, this.id));
  }

  /** Terminates the instance; a sleeping or running one never continues. */
  // NOTE: `{ rollback: true }` is ignored: rollback handlers are not supported.
  async terminate(_options?: { rollback?: boolean }): Promise<void> {
    callNative(() => this.engine.terminate(this.workflow, this.id));
  }

  /** Restarts the instance from its first step, forgetting every step result. */
  // NOTE: `{ from }` (restarting from a given step) is not supported; the
  // instance always restarts from the beginning.
  async restart(_options?: unknown): Promise<void> {
    callNative(() => this.engine.restart(this.workflow, this.id));
  }

  /** Returns the status, with `output` once complete and `error` once errored. */
  async status(): Promise<InstanceStatus> {
    const record = callNative(() => this.engine.status(this.workflow, this.id));
    const status: InstanceStatus = { status: record.status as InstanceStatus["status"] };
    if (record.errorName != null) status.error = { name: record.errorName, message: record.errorMessage ?? "" };
    status.output = record.output ? deserializeValue(record.output) : null;
    return status;
  }

  /** Sends an event; a `waitForEvent` for its type receives it, even one that starts later. */
  async sendEvent({ type, payload }: { type: string; payload?: unknown }): Promise<void> {
    if (typeof type !== "string") throw new TypeError(`sendEvent() needs a string "type", got ${typeof type}`);
    const bytes = serializeArgument(payload, "Event payload");
    callNative(() => this.engine.sendEvent(this.workflow, this.id, type, bytes));
  }
}

/** `env.MY_WORKFLOW`: creates and finds the instances of one Workflow. */
export class Workflow<Params = unknown> {
  constructor(
    private readonly engine: WorkflowEngine,
    /** The Workflow's `name` from the config. */
    readonly name: string,
  ) {}

  /** Creates an instance (with a random UUID when no id is given) and queues its first run. */
  async create(options: WorkflowInstanceCreateOptions<Params> = {}): Promise<WorkflowInstance> {
    const id = options.id ?? crypto.randomUUID();
    if (typeof id !== "string") throw new TypeError(`Workflow instance id must be a string, got ${typeof id}`);
    const params = serializeArgument(options.params ?? {}, "Workflow params");
    await beforeCreate(this.name, [id]);
    callNative(() => this.engine.create(this.name, id, params));
    return new WorkflowInstance(this.engine, this.name, id);
  }

  /**
   * Creates up to 100 instances. The array form returns the instances that
   * were created and skips the rest (a duplicate id), as production does;
   * the object form (`{ instances }` or `{ count, params }`) also returns
   * each failure with its index.
   */
  async createBatch(batch: WorkflowInstanceCreateOptions<Params>[]): Promise<WorkflowInstance[]>;
  async createBatch(
    batch: { instances: WorkflowInstanceCreateOptions<Params>[] } | { count: number; params?: Params },
  ): Promise<WorkflowBatchCreateResult>;
  async createBatch(batch: unknown): Promise<WorkflowInstance[] | WorkflowBatchCreateResult> {
    const objectForm = !Array.isArray(batch);
    const entries = this.batchEntries(batch);
    const items = entries.map((entry) => ({
      id: entry.id,
      params: serializeArgument(entry.params ?? {}, "Workflow params"),
    }));
    const generated = entries.map(() => crypto.randomUUID());
    await beforeCreate(
      this.name,
      entries.map((entry, index) => (typeof entry.id === "string" ? entry.id : generated[index]!)),
    );
    const results = callNative(() => this.engine.createBatch(this.name, items, generated));

    const created = results.filter((result) => result.error == null).map((result) => new WorkflowInstance(this.engine, this.name, result.id));
    if (!objectForm) return created;

    const errors = results
      .filter((result) => result.error != null)
      .map((result) => {
        const error = translateError(new Error(result.error!)) as Error & { code?: string };
        // NOTE: production's numeric error codes are not documented; 409
        // (conflict) and 400 (bad request) stand in for them.
        return { index: result.index, id: result.id, code: error.code === "WORKFLOW_ALREADY_EXISTS" ? 409 : 400, message: error.message };
      });
    return { created, errors };
  }

  /** Returns a handle on an existing instance; an unknown id rejects with `instance.not_found`. */
  async get(id: string): Promise<WorkflowInstance> {
    if (typeof id !== "string") throw new TypeError(`Workflow instance id must be a string, got ${typeof id}`);
    if (!callNative(() => this.engine.exists(this.name, id))) throw new Error("instance.not_found");
    return new WorkflowInstance(this.engine, this.name, id);
  }

  private batchEntries(batch: unknown): WorkflowInstanceCreateOptions<Params>[] {
    if (Array.isArray(batch)) return batch as WorkflowInstanceCreateOptions<Params>[];
    if (typeof batch === "object" && batch !== null) {
      const form = batch as { instances?: unknown; count?: unknown; params?: Params };
      if (Array.isArray(form.instances)) return form.instances as WorkflowInstanceCreateOptions<Params>[];
      if (typeof form.count === "number" && Number.isInteger(form.count) && form.count >= 0) {
        return Array.from({ length: form.count }, () => ({ params: form.params }));
      }
    }
    throw new TypeError("createBatch() needs an array of instance options, { instances: [...] } or { count, params }");
  }
}

/** Creates the binding for the Workflow named `name` on `engine`. */
export function createWorkflow(engine: WorkflowEngine, name: string): Workflow {
  return new Workflow(engine, name);
}
