// `bunflare workflows list` and `bunflare workflows instances
// list|describe|terminate|pause|resume <workflow> [id]`: the local Workflow
// instances, on the same engine and data directory as the Worker's
// bindings. Commands that change an instance take effect in a running dev
// server at the instance's next step.

import type { Storage, WorkflowEngine } from "../../index.js";
// Importing the binding also registers the Workflow error classes used below.
import "../bindings/workflow.ts";
import type { WorkerConfig } from "../config.ts";
import { CONFIG_FLAGS_USAGE } from "./config-flags.ts";
import { commandOutput, parseCommandArgs, reportCommandError, UsageError } from "./command.ts";
import { workflowEngine } from "../env.ts";
import { callNative } from "../errors.ts";
import { deserializeValue } from "../serialize.ts";

export interface WorkflowsCommandContext {
  storage: Storage;
  config: WorkerConfig;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

const USAGE = `Usage: bunflare workflows <command> [options]

Commands:
  list                                     List the Workflows in the config and in local state
  instances list <workflow>                List a Workflow's instances, newest first
  instances describe <workflow> [id]       Show an instance's steps, attempts, timings and output (default: the newest)
  instances terminate <workflow> <id>      Terminate an instance
  instances pause <workflow> <id>          Pause an instance at its next step
  instances resume <workflow> <id>         Resume a paused instance

Options:
${CONFIG_FLAGS_USAGE}
`;

/** Runs `bunflare workflows <args>` and returns the exit code. */
export async function runWorkflowsCommand(args: string[], context: WorkflowsCommandContext): Promise<number> {
  const { stdout, stderr } = commandOutput(context);

  try {
    const { values, positionals } = parseCommandArgs(args, {});
    if (values.help) {
      stdout(USAGE);
      return 0;
    }

    const engine = workflowEngine(context.storage);
    const [command, subcommand, workflow, id, ...extra] = positionals;

    if (command === "list") {
      if (subcommand !== undefined) throw new UsageError(`Unexpected argument "${subcommand}" for list.`);
      stdout(`${JSON.stringify(listWorkflows(context.config, callNative(() => engine.workflows())), undefined, 2)}\n`);
      return 0;
    }
    if (command !== "instances") throw new UsageError(`Unknown workflows command "${command ?? ""}". Use list or instances.`);
    if (workflow === undefined) throw new UsageError(`instances ${subcommand ?? "<command>"} needs a <workflow> argument.`);
    if (extra.length > 0) throw new UsageError(`Unexpected argument "${extra[0]}".`);

    // An unknown name would otherwise list as empty, which reads like a Workflow with no instances.
    const known = listWorkflows(context.config, callNative(() => engine.workflows())).map((entry) => entry.name);
    if (!known.includes(workflow)) {
      const names = known.length === 0 ? "none in the config or local state" : known.join(", ");
      throw new Error(`Workflow "${workflow}" not found. Known workflows: ${names}.`);
    }
    if (id !== undefined && subcommand !== "list" && !callNative(() => engine.exists(workflow, id))) {
      throw new Error(`Instance "${id}" of workflow "${workflow}" not found (instance.not_found).`);
    }

    switch (subcommand) {
      case "list": {
        if (id !== undefined) throw new UsageError(`Unexpected argument "${id}" for instances list.`);
        const instances = callNative(() => engine.list(workflow)).map((instance) => ({
          id: instance.id,
          status: instance.status,
          created: iso(instance.createdAt),
          started: iso(instance.startedAt),
          ended: iso(instance.endedAt),
        }));
        stdout(`${JSON.stringify(instances, undefined, 2)}\n`);
        return 0;
      }
      case "describe": {
        const target = id ?? callNative(() => engine.list(workflow))[0]?.id;
        if (target === undefined) throw new UsageError(`Workflow "${workflow}" has no instances.`);
        stdout(`${JSON.stringify(describeInstance(engine, workflow, target), undefined, 2)}\n`);
        return 0;
      }
      // NOTE: a resume from here reaches a running dev server only when it
      // next restarts, because only that server's scheduler starts runs.
      case "terminate":
      case "pause":
      case "resume": {
        if (id === undefined) throw new UsageError(`instances ${subcommand} needs an <id> argument.`);
        callNative(() => engine[subcommand](workflow, id));
        const done = { terminate: "Terminated", pause: "Paused", resume: "Resumed" }[subcommand];
        stdout(`${done} instance "${id}" of workflow "${workflow}".\n`);
        return 0;
      }
      default:
        throw new UsageError(`Unknown workflows instances command "${subcommand ?? ""}". Use list, describe, terminate, pause or resume.`);
    }
  } catch (error) {
    return reportCommandError(error, stderr, USAGE);
  }
}

function iso(time: number | null | undefined): string | null {
  return time == null ? null : new Date(time).toISOString();
}

/** Converts a persisted value into one JSON can show (Maps as objects, Sets as arrays), or a note with its size. */
function printable(bytes: Buffer | null | undefined): unknown {
  if (!bytes) return null;
  try {
    const value = deserializeValue(bytes);
    if (value instanceof Map) return Object.fromEntries(value);
    if (value instanceof Set) return [...value];
    return value;
  } catch {
    return `<${bytes.length} bytes that cannot be shown>`;
  }
}

/** Returns an instance's status and each step with its attempts, timings and output. */
function describeInstance(engine: WorkflowEngine, workflow: string, id: string) {
  const status = callNative(() => engine.status(workflow, id));
  const summary = callNative(() => engine.list(workflow)).find((instance) => instance.id === id);
  const steps = callNative(() => engine.steps(workflow, id)).map((step) => {
    const attempts = JSON.parse(step.attempts) as { attempt: number; start: number; end: number | null; error: { name: string; message: string } | null }[];
    return {
      type: step.kind,
      name: step.name,
      count: step.count,
      status: step.status,
      start: iso(step.startedAt),
      end: iso(step.endedAt),
      wakeAt: iso(step.wakeAt),
      attempts: attempts.map((attempt) => ({
        attempt: attempt.attempt,
        start: iso(attempt.start),
        end: iso(attempt.end),
        durationMs: attempt.end === null ? null : attempt.end - attempt.start,
        error: attempt.error,
      })),
      output: printable(step.output),
      error: step.errorName == null ? null : { name: step.errorName, message: step.errorMessage ?? "" },
    };
  });
  return {
    id,
    status: status.status,
    created: iso(summary?.createdAt),
    started: iso(summary?.startedAt),
    ended: iso(summary?.endedAt),
    output: printable(status.output),
    error: status.errorName == null ? null : { name: status.errorName, message: status.errorMessage ?? "" },
    steps,
  };
}

/** Lists every Workflow named in the config or holding instances, with its binding, class and instance count. */
function listWorkflows(config: WorkerConfig, stored: { workflow: string; instances: number }[]) {
  const names = new Set<string>([...config.workflows.map((workflow) => workflow.name), ...stored.map((entry) => entry.workflow)]);
  return [...names].sort().map((name) => {
    const configured = config.workflows.find((workflow) => workflow.name === name);
    return {
      name,
      binding: configured?.binding ?? null,
      className: configured?.className ?? null,
      scriptName: configured?.scriptName ?? null,
      instances: stored.find((entry) => entry.workflow === name)?.instances ?? 0,
    };
  });
}
