// Runs Workflow instances when the native scheduler wakes them.
//
// The engine schedules an instance (kind `workflow`, key
// `<engine>:<workflow>/<instance>`) when it is created, resumed, restarted
// or sent an event, and when a sleep, retry delay or timeout falls due. A
// wake-up either expires attempts of the run in progress or, when the run
// is suspended, starts a new run: the Workflow class is constructed with
// `(ctx, env)` and `run(event, step)` replays the completed steps.

import type { WorkflowEngine } from "../index.js";
import type { WorkflowBinding } from "./config.ts";
import { callNative } from "./errors.ts";
import { describeError, LocalExecutionContext } from "./execution-context.ts";
import { log } from "./log.ts";
import { native } from "./native.ts";
import { registerScheduledHandler } from "./scheduler.ts";
import { deserializeValue, serializeValue } from "./serialize.ts";
import { WorkflowRun, WorkflowStep } from "./workflow-step.ts";

/** The Worker that exports a Workflow's class; the runtime's `exportedValue` follows reloads. */
export interface WorkflowHost {
  readonly config: { name: string };
  readonly env: Record<string, unknown>;
  exportedValue(name: string): unknown;
}

interface WorkflowRoute {
  host: WorkflowHost;
  className: string;
}

/** The Workflows each engine runs here, by Workflow name. */
const routesByEngine = new Map<WorkflowEngine, Map<string, WorkflowRoute>>();

/** Runs in progress or suspended with an attempt still running, by scheduler key. */
const runs = new Map<string, WorkflowRun>();

/**
 * Runs the instances of the Workflows in `workflows` whose class this
 * Worker exports (no `script_name`, or its own name), and resumes those
 * that were active when the process last stopped. Returns the function that
 * stops running them.
 */
export function startWorkflows(host: WorkflowHost, engine: WorkflowEngine, workflows: WorkflowBinding[]): () => void {
  const local = workflows.filter((workflow) => workflow.scriptName === null || workflow.scriptName === host.config.name);
  if (local.length === 0) return () => {};

  let routes = routesByEngine.get(engine);
  if (!routes) {
    const engineRoutes = new Map<string, WorkflowRoute>();
    routes = engineRoutes;
    routesByEngine.set(engine, engineRoutes);
    registerScheduledHandler("workflow", engine.keyPrefix, (key) => {
      const slash = key.indexOf("/");
      const workflow = key.slice(0, slash);
      const route = engineRoutes.get(workflow);
      if (route) wake(engine, route, workflow, key.slice(slash + 1));
    });
  }

  for (const workflow of local) {
    routes.set(workflow.name, { host, className: workflow.className });
    const resumed = callNative(() => engine.attach(workflow.name));
    if (resumed > 0) log.info(`Resuming ${resumed} instance(s) of workflow ${workflow.name}`);
  }

  return () => {
    for (const workflow of local) {
      if (routes.get(workflow.name)?.host === host) routes.delete(workflow.name);
      engine.detach(workflow.name);
    }
  };
}

function runKey(engine: WorkflowEngine, workflow: string, id: string): string {
  return `${engine.keyPrefix}${workflow}/${id}`;
}

/** Handles one wake-up: expires timed-out attempts of a live run, or starts a new run. */
function wake(engine: WorkflowEngine, route: WorkflowRoute, workflow: string, id: string): void {
  const key = runKey(engine, workflow, id);
  const run = runs.get(key);
  if (run && (!run.suspended || run.pending > 0)) {
    run.expireAttempts(native.clockNow());
    // Other deadlines of the instance (a sleep beside a running attempt) stay scheduled.
    callNative(() => engine.rearm(workflow, id));
    return;
  }
  runs.delete(key);
  void execute(engine, route, workflow, id);
}

/** When a suspended run has no attempt left running, it is forgotten and the instance waits for its next deadline. */
function onIdle(run: WorkflowRun): void {
  const key = runKey(run.engine, run.workflow, run.id);
  if (runs.get(key) === run) runs.delete(key);
  if (!run.stopped) callNative(() => run.engine.rearm(run.workflow, run.id));
}

/** Runs the instance from its first step; completed steps return their persisted results. */
async function execute(engine: WorkflowEngine, route: WorkflowRoute, workflow: string, id: string): Promise<void> {
  const start = callNative(() => engine.beginRun(workflow, id));
  if (!start) return;

  const key = runKey(engine, workflow, id);
  const run = new WorkflowRun(engine, workflow, id, start.generation, onIdle);
  runs.set(key, run);

  const Entrypoint = route.host.exportedValue(route.className);
  if (typeof Entrypoint !== "function") {
    const message = `Worker ${route.host.config.name} does not export a class named "${route.className}" for workflow "${workflow}"`;
    runs.delete(key);
    callNative(() => engine.fail(workflow, id, start.generation, "Error", message));
    log.error(message, { workflow, instance: id });
    return;
  }

  const ctx = new LocalExecutionContext({}, `${route.host.config.name} workflow ${workflow}`);
  const event = {
    payload: deserializeValue(start.params),
    timestamp: new Date(start.createdAt),
    instanceId: id,
    workflowName: workflow,
  };

  let output: unknown;
  try {
    const instance = new (Entrypoint as new (ctx: unknown, env: unknown) => { run(event: unknown, step: WorkflowStep): unknown })(ctx, route.host.env);
    output = await instance.run(event, new WorkflowStep(run));
  } catch (error) {
    if (runs.get(key) === run) runs.delete(key);
    const { name, message } = error instanceof Error ? error : { name: "Error", message: String(error) };
    if (callNative(() => engine.finish(workflow, id, run.generation, undefined, name, message))) {
      log.error(`Workflow ${workflow} instance ${id} errored: ${describeError(error)}`, { workflow, instance: id });
    }
    return;
  }

  if (runs.get(key) === run) runs.delete(key);
  let bytes: Buffer;
  try {
    bytes = serializeValue(output);
  } catch {
    callNative(() => engine.fail(workflow, id, run.generation, "WorkflowFatalError", "The Workflow returned a value which is not serialisable"));
    return;
  }
  if (callNative(() => engine.finish(workflow, id, run.generation, bytes, undefined, undefined))) {
    log.info(`WORKFLOW ${workflow} ${id} complete`);
  }
}

/**
 * Stops every run in progress and drops its record, so a test file that creates
 * an instance with the id of an earlier file's instance starts a new run.
 */
export function resetWorkflowRuns(): void {
  for (const run of runs.values()) run.stopped = true;
  runs.clear();
}

/** Stops the run of one instance, if one is in progress, and drops its record; its next step call does nothing. */
export function forgetWorkflowRun(engine: WorkflowEngine, workflow: string, id: string): void {
  const key = runKey(engine, workflow, id);
  const run = runs.get(key);
  if (!run) return;
  run.stopped = true;
  runs.delete(key);
}
