import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, type WorkerHandle } from "../lib/worker.ts";
import type { Workflow, WorkflowInstance } from "../lib/bindings/workflow.ts";
import type { WorkflowStep } from "../lib/workflow-step.ts";
import { createWorkflow } from "../lib/bindings/workflow.ts";
import { ConfigError } from "../lib/config.ts";
import { workflowEngine } from "../lib/env.ts";
import { native } from "../lib/native.ts";
import { NonRetryableError } from "../lib/plugin.ts";
import { killChildren, workerDir, wranglerConfig, until, rejection, expectError } from "./fixtures.ts";

type RunFunction = (event: { payload: unknown; instanceId: string; timestamp: Date; workflowName: string }, step: WorkflowStep) => unknown;

/** The run() each test Workflow calls, by Worker name. */
const runs = globalThis as unknown as Record<string, RunFunction>;

let nextWorker = 0;
const running: WorkerHandle[] = [];

afterEach(async () => {
  for (const worker of running.splice(0)) await worker.stop();
  native.resetClock();
  await killChildren();
});

/** Starts a Worker with one Workflow (binding FLOW) whose run() calls `run`. */
async function startFlow(run: RunFunction, persistTo?: string): Promise<{ worker: WorkerHandle; flow: Workflow; name: string }> {
  const name = `flow-${process.pid}-${nextWorker++}`;
  runs[name] = run;
  const dir = workerDir({
    "wrangler.jsonc": wranglerConfig({ name, workflows: [{ binding: "FLOW", name, class_name: "Flow" }] }),
    "src/index.ts": `import { WorkflowEntrypoint } from "cloudflare:workers";
export class Flow extends WorkflowEntrypoint { run(event, step) { return globalThis[${JSON.stringify(name)}](event, step, this.env); } }
export default { fetch() { return new Response("ok"); } };`,
  });
  const worker = await startWorker({ cwd: dir, persistTo: persistTo ?? join(dir, ".bunflare") });
  running.push(worker);
  return { worker, flow: worker.env.FLOW as Workflow, name };
}

// Every wait below polls for a state, so the deadlines only bound a stuck run. They are
// long because a loaded 2-core CI machine can take seconds to start a Worker.
setDefaultTimeout(60_000);

async function statusOf(instance: WorkflowInstance): Promise<string> {
  return (await instance.status()).status;
}

async function waitForStatus(instance: WorkflowInstance, status: string): Promise<void> {
  let last = "";
  try {
    await until(async () => (last = await statusOf(instance)) === status, `status ${status}`);
  } catch {
    throw new Error(`instance ${instance.id} stayed ${last}, expected ${status}`);
  }
}

/** A promise with its resolve function, to hold a step until the test releases it. */
function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

function openFlow(name = "standalone"): Workflow {
  const storage = native.Storage.open(mkdtempSync(join(tmpdir(), "bunflare-workflow-")));
  return createWorkflow(workflowEngine(storage), name);
}

describe("instances", () => {
  test("create rejects an invalid id", async () => {
    const flow = openFlow();
    for (const id of ["", "-x", "a b", "a/b", "x".repeat(101)]) {
      await expectError(
        flow.create({ id }),
        Error,
        `Workflow instance has invalid id ${JSON.stringify(id)}: use 1 to 100 letters, digits, '-' and '_', not starting with '-'`,
      );
    }
  });

  test("create rejects a duplicate id", async () => {
    const flow = openFlow();
    await flow.create({ id: "order-1" });
    await expectError(flow.create({ id: "order-1" }), Error, 'instance.already_exists: an instance with id "order-1" already exists');
  });

  test("create rejects params over 1 MiB", async () => {
    const error = await rejection(openFlow().create({ params: "x".repeat(1_048_576) }));
    expect(error.constructor).toBe(Error);
    expect(error.message).toMatch(/^Instance params of \d+ bytes exceeds the limit of 1048576 bytes$/);
  });

  test("create rejects params that cannot be cloned", async () => {
    await expectError(openFlow().create({ params: { run() {} } }), TypeError, "Workflow params could not be serialized: The object can not be cloned.");
  });

  test("create without id uses a UUID", async () => {
    const instance = await openFlow().create();
    expect(instance.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(await instance.status()).toEqual({ status: "queued", output: null });
  });

  test("get rejects an unknown id", async () => {
    await expectError(openFlow().get("missing"), Error, "instance.not_found");
  });

  test("get returns an existing instance", async () => {
    const flow = openFlow();
    await flow.create({ id: "known" });
    const instance = await flow.get("known");
    expect(instance.id).toBe("known");
    expect(await statusOf(instance)).toBe("queued");
  });

  test("createBatch array form skips duplicates", async () => {
    const flow = openFlow();
    await flow.create({ id: "taken" });
    const created = await flow.createBatch([{ id: "a" }, { id: "taken" }, { id: "b", params: { n: 2 } }]);
    expect(created.map((instance) => instance.id)).toEqual(["a", "b"]);
  });

  test("createBatch object form reports errors", async () => {
    const flow = openFlow();
    await flow.create({ id: "taken" });
    const result = await flow.createBatch({ instances: [{ id: "taken" }, { id: "fresh" }, { id: "bad id" }] });
    expect(result.created.map((instance) => instance.id)).toEqual(["fresh"]);
    expect(result.errors).toEqual([
      { index: 0, id: "taken", code: 409, message: 'instance.already_exists: an instance with id "taken" already exists' },
      {
        index: 2,
        id: "bad id",
        code: 400,
        message: `Workflow instance has invalid id "bad id": use 1 to 100 letters, digits, '-' and '_', not starting with '-'`,
      },
    ]);
    const counted = await flow.createBatch({ count: 3, params: { n: 1 } });
    expect(counted.created.length).toBe(3);
  });

  test("createBatch rejects empty and oversized batches", async () => {
    const flow = openFlow();
    await expectError(flow.createBatch([]), Error, "WorkflowError: batchCreate should have at least 1 instance");
    const batch = Array.from({ length: 101 }, (_, i) => ({ id: `i${i}` }));
    await expectError(flow.createBatch(batch), Error, "WorkflowError: batchCreate received 101 instances, over the limit of 100");
  });

  test("sendEvent rejects an invalid type", async () => {
    const instance = await openFlow().create({ id: "events" });
    await expectError(
      instance.sendEvent({ type: "a b", payload: 1 }),
      TypeError,
      `Event type "a b" is invalid: use 1 to 100 letters, digits, '-', '_' and '.'`,
    );
  });

  test("sendEvent rejects a payload over 1 MiB", async () => {
    const instance = await openFlow().create({ id: "big-event" });
    const error = await rejection(instance.sendEvent({ type: "go", payload: "x".repeat(1_048_576) }));
    expect(error.message).toMatch(/^Event payload of \d+ bytes exceeds the limit of 1048576 bytes$/);
  });

  test("terminate rejects a finished instance", async () => {
    const instance = await openFlow().create({ id: "done" });
    await instance.terminate();
    expect(await statusOf(instance)).toBe("terminated");
    await expectError(instance.terminate(), Error, 'Cannot terminate instance "done" because it is terminated');
    await expectError(instance.resume(), Error, 'Cannot resume instance "done" because it is terminated');
  });
});

describe("execution", () => {
  test("steps run and output completes the instance", async () => {
    const hold = gate();
    const { flow } = await startFlow(async (event, step) => {
      const first = await step.do("first", async () => {
        await hold.promise;
        return { n: (event.payload as { n: number }).n + 1 };
      });
      const second = await step.do("second", async () => first.n * 10);
      return { second, instanceId: event.instanceId, isDate: event.timestamp instanceof Date };
    });

    const instance = await flow.create({ id: "basic", params: { n: 1 } });
    expect(await statusOf(instance)).toBe("queued");
    await waitForStatus(instance, "running");
    hold.open();
    await waitForStatus(instance, "complete");
    expect(await instance.status()).toEqual({ status: "complete", output: { second: 20, instanceId: "basic", isDate: true } });
  });

  test("run error marks the instance errored", async () => {
    const { flow } = await startFlow(async () => {
      throw new RangeError("bad order");
    });
    const instance = await flow.create({ id: "broken" });
    await waitForStatus(instance, "errored");
    expect(await instance.status()).toEqual({ status: "errored", error: { name: "RangeError", message: "bad order" }, output: null });
  });

  test("duplicate step names are separate steps", async () => {
    let calls = 0;
    const { flow } = await startFlow(async (_event, step) => {
      const a = await step.do("same", async () => ++calls);
      const b = await step.do("same", async () => ++calls);
      await step.sleep("pause", "1 minute");
      return [a, b];
    });
    const instance = await flow.create({ id: "dupes" });
    await waitForStatus(instance, "waiting");
    native.advanceClock(60_000);
    await waitForStatus(instance, "complete");
    expect((await instance.status()).output).toEqual([1, 2]);
    expect(calls).toBe(2);
  });

  test("completed steps are replayed after a sleep", async () => {
    const calls: string[] = [];
    const { flow } = await startFlow(async (_event, step) => {
      const value = await step.do("fetch", async () => {
        calls.push("fetch");
        return new Map([["k", new Date(5)]]);
      });
      await step.sleep("nap", 30_000);
      calls.push("after sleep");
      return value;
    });
    const instance = await flow.create({ id: "replay" });
    await waitForStatus(instance, "waiting");
    expect(calls).toEqual(["fetch"]);
    native.advanceClock(30_000);
    await waitForStatus(instance, "complete");
    expect(calls).toEqual(["fetch", "after sleep"]);
    expect((await instance.status()).output).toEqual(new Map([["k", new Date(5)]]));
  });

  test("sleepUntil wakes at the given time", async () => {
    const { flow } = await startFlow(async (_event, step) => {
      await step.sleepUntil("until", new Date(native.clockNow() + 3_600_000));
      return "woke";
    });
    const instance = await flow.create({ id: "until" });
    await waitForStatus(instance, "waiting");
    native.advanceClock(3_600_000);
    await waitForStatus(instance, "complete");
  });

  test("sleep rejects a bad duration", async () => {
    const { flow } = await startFlow(async (_event, step) => {
      await step.sleep("bad", "3 fortnights" as "1 second");
    });
    const instance = await flow.create({ id: "bad-sleep" });
    await waitForStatus(instance, "errored");
    expect((await instance.status()).error).toEqual({
      name: "TypeError",
      message: 'Invalid sleep duration "3 fortnights": use milliseconds or "<number> <unit>", up to 365 days',
    });
  });

  test("result that cannot be cloned fails the instance", async () => {
    const { flow } = await startFlow(async (_event, step) => {
      await step.do("function", async () => () => 1);
    });
    const instance = await flow.create({ id: "unclonable" });
    await waitForStatus(instance, "errored");
    expect((await instance.status()).error).toEqual({
      name: "WorkflowFatalError",
      message: 'The execution of the Workflow instance was terminated, as the step "function" returned a value which is not serialisable',
    });
  });

  test("step result over 1 MiB fails the step", async () => {
    const { flow } = await startFlow(async (_event, step) => {
      await step.do("huge", async () => "x".repeat(1_048_576));
    });
    const instance = await flow.create({ id: "huge" });
    await waitForStatus(instance, "errored");
    const error = (await instance.status()).error!;
    expect(error.name).toBe("WorkflowFatalError");
    expect(error.message).toMatch(/^Value returned from step "huge" is \d+ bytes, over the limit of 1048576 bytes$/);
  });

  test("step name over 256 characters fails the instance", async () => {
    const name = "s".repeat(257);
    const { flow } = await startFlow(async (_event, step) => {
      await step.do(name, async () => 1);
    });
    const instance = await flow.create({ id: "long-name" });
    await waitForStatus(instance, "errored");
    expect((await instance.status()).error).toEqual({
      name: "WorkflowFatalError",
      message: `Step name "${name}" exceeds max length (256 chars) or invalid characters found`,
    });
  });

  test("invalid step config fails the instance", async () => {
    const { flow } = await startFlow(async (_event, step) => {
      await step.do("configured", { retries: { limit: 1, delay: 10, backoff: "random" as "linear" } }, async () => 1);
    });
    const instance = await flow.create({ id: "bad-config" });
    await waitForStatus(instance, "errored");
    expect((await instance.status()).error).toEqual({
      name: "WorkflowFatalError",
      message: 'Step config for "configured" is invalid: retries.backoff must be "constant", "linear" or "exponential", got "random"',
    });
  });

  test("step count limit fails the instance", async () => {
    const { flow } = await startFlow(async (_event, step) => {
      for (let i = 0; i <= 10_000; i++) await step.do(`step ${i}`, async () => i);
    });
    const instance = await flow.create({ id: "many-steps" });
    await until(async () => (await statusOf(instance)) === "errored", "the step limit");
    expect((await instance.status()).error).toEqual({
      name: "WorkflowFatalError",
      message: "The limit of 10000 steps has been reached. This limit can be changed in your worker configuration.",
    });
  });
});

describe("retries", () => {
  /** Reads the attempts and the retry deadline of the instance's only step. */
  function stepOf(worker: WorkerHandle, workflow: string, id: string) {
    const step = workflowEngine(native.Storage.open(worker.config.persistTo)).steps(workflow, id)[0]!;
    return { ...step, attempts: JSON.parse(step.attempts) as { attempt: number; start: number; end: number | null; error: { name: string; message: string } | null }[] };
  }

  for (const [backoff, expected] of [
    ["constant", [1000, 1000, 1000]],
    ["linear", [1000, 2000, 3000]],
    ["exponential", [1000, 2000, 4000]],
  ] as const) {
    test(`${backoff} backoff delays retries`, async () => {
      let attempts = 0;
      const { worker, flow, name } = await startFlow(async (_event, step) => {
        return await step.do("flaky", { retries: { limit: 3, delay: "1 second", backoff } }, async (ctx) => {
          attempts++;
          if (ctx.attempt <= 3) throw new Error(`attempt ${ctx.attempt} failed`);
          return ctx.attempt;
        });
      });
      const instance = await flow.create({ id: `retry-${backoff}` });

      for (let failed = 1; failed <= 3; failed++) {
        await until(() => attempts === failed && stepOf(worker, name, instance.id).status === "retrying", `attempt ${failed}`);
        const step = stepOf(worker, name, instance.id);
        const last = step.attempts.at(-1)!;
        expect(last.error).toEqual({ name: "Error", message: `attempt ${failed} failed` });
        expect(step.wakeAt! - last.end!).toBe(expected[failed - 1]!);
        expect(await statusOf(instance)).toBe("waiting");
        native.advanceClock(expected[failed - 1]!);
      }

      await waitForStatus(instance, "complete");
      expect((await instance.status()).output).toBe(4);
      expect(stepOf(worker, name, instance.id).attempts.length).toBe(4);
    });
  }

  test("retry limit fails the step with its last error", async () => {
    let attempts = 0;
    const { flow } = await startFlow(async (_event, step) => {
      await step.do("doomed", { retries: { limit: 2, delay: 0, backoff: "constant" } }, async () => {
        attempts++;
        throw new TypeError(`failure ${attempts}`);
      });
    });
    const instance = await flow.create({ id: "doomed" });
    await waitForStatus(instance, "errored");
    expect(attempts).toBe(3);
    expect((await instance.status()).error).toEqual({ name: "TypeError", message: "failure 3" });
  });

  test("NonRetryableError fails at once", async () => {
    let attempts = 0;
    const { flow } = await startFlow(async (_event, step) => {
      await step.do("final", { retries: { limit: 5, delay: 0 } }, async () => {
        attempts++;
        throw new NonRetryableError("card declined");
      });
    });
    const instance = await flow.create({ id: "non-retryable" });
    await waitForStatus(instance, "errored");
    expect(attempts).toBe(1);
    expect((await instance.status()).error).toEqual({ name: "NonRetryableError", message: "card declined" });
  });

  test("NonRetryableError with empty message fails at once", async () => {
    let attempts = 0;
    const { flow } = await startFlow(async (_event, step) => {
      await step.do("final", async () => {
        attempts++;
        throw new NonRetryableError("");
      });
    });
    const instance = await flow.create({ id: "non-retryable-empty" });
    await waitForStatus(instance, "errored");
    expect(attempts).toBe(1);
    expect((await instance.status()).error).toEqual({ name: "NonRetryableError", message: "" });
  });

  test("caught step failure lets the run continue", async () => {
    const { flow } = await startFlow(async (_event, step) => {
      try {
        await step.do("fails", { retries: { limit: 0, delay: 0 } }, async () => {
          throw new Error("expected");
        });
      } catch (error) {
        return `caught ${(error as Error).message}`;
      }
    });
    const instance = await flow.create({ id: "caught" });
    await waitForStatus(instance, "complete");
    expect((await instance.status()).output).toBe("caught expected");
  });

  test("attempt timeout fails the attempt", async () => {
    const { flow } = await startFlow(async (_event, step) => {
      await step.do("slow", { retries: { limit: 0, delay: 0 }, timeout: "1 second" }, () => new Promise(() => {}));
    });
    const instance = await flow.create({ id: "slow" });
    await waitForStatus(instance, "running");
    native.advanceClock(1_000);
    await waitForStatus(instance, "errored");
    expect((await instance.status()).error).toEqual({ name: "WorkflowTimeoutError", message: "Execution timed out after 1000ms" });
  });

  test("delay function sets the retry delay", async () => {
    let attempts = 0;
    const { worker, flow, name } = await startFlow(async (_event, step) => {
      return await step.do("dynamic", { retries: { limit: 1, delay: ({ error }) => (error.message === "slow down" ? "5 seconds" : 0) } }, async () => {
        attempts++;
        if (attempts === 1) throw new Error("slow down");
        return "ok";
      });
    });
    const instance = await flow.create({ id: "dynamic" });
    await until(() => attempts === 1 && stepOf(worker, name, instance.id).status === "retrying", "first attempt");
    const step = stepOf(worker, name, instance.id);
    expect(step.wakeAt! - step.attempts[0]!.end!).toBe(5_000);
    native.advanceClock(5_000);
    await waitForStatus(instance, "complete");
  });
});

describe("events", () => {
  test("waitForEvent receives a later event", async () => {
    const { flow } = await startFlow(async (_event, step) => {
      const event = await step.waitForEvent<{ approved: boolean }>("approval", { type: "approval", timeout: "1 hour" });
      return { payload: event.payload, type: event.type, isDate: event.timestamp instanceof Date };
    });
    const instance = await flow.create({ id: "approve" });
    await waitForStatus(instance, "waiting");
    await instance.sendEvent({ type: "approval", payload: { approved: true } });
    await waitForStatus(instance, "complete");
    expect((await instance.status()).output).toEqual({ payload: { approved: true }, type: "approval", isDate: true });
  });

  test("event sent before the wait is kept", async () => {
    const { flow } = await startFlow(async (_event, step) => {
      await step.sleep("first", "1 minute");
      return (await step.waitForEvent("early", { type: "early" })).payload;
    });
    const instance = await flow.create({ id: "early" });
    await waitForStatus(instance, "waiting");
    await instance.sendEvent({ type: "early", payload: "kept" });
    native.advanceClock(60_000);
    await waitForStatus(instance, "complete");
    expect((await instance.status()).output).toBe("kept");
  });

  test("wait timeout throws and a later wait still receives", async () => {
    const { worker, flow, name } = await startFlow(async (_event, step) => {
      let timedOut = "";
      try {
        await step.waitForEvent("first", { type: "signal", timeout: "10 minutes" });
      } catch (error) {
        timedOut = `${(error as Error).name}: ${(error as Error).message}`;
      }
      const second = await step.waitForEvent("second", { type: "signal", timeout: "10 minutes" });
      return { timedOut, payload: second.payload };
    });
    const instance = await flow.create({ id: "timeouts" });
    await waitForStatus(instance, "waiting");
    native.advanceClock(600_000);
    // The first wait times out on the scheduler thread, later than advanceClock returns. An
    // event sent before that would satisfy the first wait, so wait for the second one's row.
    const steps = () => workflowEngine(native.Storage.open(worker.config.persistTo)).steps(name, instance.id);
    await until(() => steps().some((step) => step.name === "second" && step.status === "waiting"), "the second wait");
    await instance.sendEvent({ type: "signal", payload: 2 });
    await waitForStatus(instance, "complete");
    expect((await instance.status()).output).toEqual({ timedOut: "WorkflowTimeoutError: Execution timed out after 600000ms", payload: 2 });
  });

  test("sendEvent rejects an unknown instance", async () => {
    const flow = openFlow();
    const instance = await flow.create({ id: "known" });
    await instance.terminate();
    await expectError(instance.sendEvent({ type: "x", payload: 1 }), Error, 'Cannot send an event to instance "known" because it is terminated');
  });
});

describe("control", () => {
  test("pause takes effect between steps", async () => {
    const hold = gate();
    const calls: string[] = [];
    const { flow } = await startFlow(async (_event, step) => {
      await step.do("one", async () => {
        calls.push("one");
        await hold.promise;
      });
      await step.do("two", async () => {
        calls.push("two");
      });
      return "done";
    });
    const instance = await flow.create({ id: "pausing" });
    await waitForStatus(instance, "running");
    await instance.pause();
    expect(await statusOf(instance)).toBe("waitingForPause");
    hold.open();
    await waitForStatus(instance, "paused");
    expect(calls).toEqual(["one"]);

    await instance.resume();
    await waitForStatus(instance, "complete");
    expect(calls).toEqual(["one", "two"]);
  });

  test("terminate during a sleep stops the instance", async () => {
    const calls: string[] = [];
    const { flow } = await startFlow(async (_event, step) => {
      await step.sleep("long", "1 day");
      calls.push("after");
    });
    const instance = await flow.create({ id: "terminated" });
    await waitForStatus(instance, "waiting");
    await instance.terminate();
    expect(await statusOf(instance)).toBe("terminated");
    native.advanceClock(86_400_000);
    await Bun.sleep(50);
    expect(calls).toEqual([]);
    expect(await statusOf(instance)).toBe("terminated");
  });

  test("restart reruns from the first step", async () => {
    let calls = 0;
    const { flow } = await startFlow(async (_event, step) => {
      return await step.do("count", async () => ++calls);
    });
    const instance = await flow.create({ id: "restarted" });
    await waitForStatus(instance, "complete");
    await instance.restart();
    await until(async () => (await instance.status()).output === 2, "the second run");
    expect(await statusOf(instance)).toBe("complete");
  });

  test("status transitions through a run", async () => {
    const hold = gate();
    const seen: string[] = [];
    const { flow } = await startFlow(async (_event, step) => {
      await step.do("work", async () => hold.promise);
      await step.sleep("rest", "1 second");
      return "ok";
    });
    const instance = await flow.create({ id: "transitions" });
    seen.push(await statusOf(instance));
    await waitForStatus(instance, "running");
    seen.push("running");
    hold.open();
    await waitForStatus(instance, "waiting");
    seen.push("waiting");
    native.advanceClock(1_000);
    await waitForStatus(instance, "complete");
    seen.push("complete");
    expect(seen).toEqual(["queued", "running", "waiting", "complete"]);
  });
});

describe("config", () => {
  test("workflows entries are read", async () => {
    const { worker } = await startFlow(async () => 1);
    expect(worker.config.workflows).toEqual([{ binding: "FLOW", name: worker.config.name, className: "Flow", scriptName: null }]);
    expect(worker.config.unsupportedBindings).toEqual([]);
  });

  test("invalid Workflow name is a config error", async () => {
    const dir = workerDir({
      "wrangler.jsonc": wranglerConfig({ workflows: [{ binding: "FLOW", name: "bad name", class_name: "Flow" }] }),
      "src/index.ts": "export default { fetch() { return new Response('ok'); } };",
    });
    const error = await rejection(startWorker({ cwd: dir }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toEndWith(`"workflows[0].name" must be 1 to 64 letters, digits, '-' and '_', not starting with '-', got "bad name"`);
  });

  test("missing class fails the instance", async () => {
    const name = `flow-${process.pid}-${nextWorker++}`;
    const dir = workerDir({
      "wrangler.jsonc": wranglerConfig({ name, workflows: [{ binding: "FLOW", name, class_name: "Missing" }] }),
      "src/index.ts": "export default { fetch() { return new Response('ok'); } };",
    });
    const worker = await startWorker({ cwd: dir });
    running.push(worker);
    const instance = await (worker.env.FLOW as Workflow).create({ id: "orphan" });
    await waitForStatus(instance, "errored");
    expect((await instance.status()).error).toEqual({ name: "Error", message: `Worker ${name} does not export a class named "Missing" for workflow "${name}"` });
  });
});
