// The Workflows example under `bunflare dev` in a child process that is
// killed with SIGKILL mid-run and started again on the same state, and the
// `bunflare workflows` commands on that state.

import { afterEach, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, ROOT, fetchWhenListening, freePort, killChildren, runBun, spawnBun, type Child } from "./fixtures.ts";

const CONFIG = join(ROOT, "examples", "workflows", "wrangler.jsonc");

afterEach(killChildren);

function startDev(persistTo: string, port: number): Child {
  return spawnBun([CLI, "dev", "-c", CONFIG, "--persist-to", persistTo, "--port", String(port)], ROOT);
}

async function orderStatus(port: number, id: string): Promise<{ status: string; output?: unknown; error?: unknown }> {
  return (await (await fetchWhenListening(`http://127.0.0.1:${port}/orders/${id}`)).json()) as { status: string };
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await condition()) return;
    await Bun.sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function workflowsCommand(persistTo: string, ...args: string[]) {
  return await runBun([CLI, "workflows", ...args, "-c", CONFIG, "--persist-to", persistTo], ROOT);
}

test("killed dev server resumes a workflow mid-run", async () => {
  const persistTo = mkdtempSync(join(tmpdir(), "bunflare-workflow-restart-"));
  const port = freePort();
  const first = startDev(persistTo, port);
  await first.waitFor(/Ready on/);

  // One failed payment attempt, then a review sleep of one second that the kill interrupts.
  const order = { items: [{ sku: "A1", price: 12, quantity: 2 }], failPaymentAttempts: 1, reviewWindow: "1 second" };
  const created = await fetchWhenListening(`http://127.0.0.1:${port}/orders?id=order-1`, { method: "POST", body: JSON.stringify(order) });
  expect(created.status).toBe(201);
  await first.waitFor(/charging order order-1, attempt 2/);
  await until(async () => (await orderStatus(port, "order-1")).status === "waiting", "the review sleep");

  first.process.kill("SIGKILL");
  await first.process.exited;
  expect(first.process.signalCode).toBe("SIGKILL");
  expect(first.count(/charging order order-1/)).toBe(2);

  // The event is sent while the review sleep spans the restart: it waits until the approval step begins.
  const second = startDev(persistTo, port);
  await second.waitFor(/Resuming 1 instance\(s\) of workflow order-processing/);
  await second.waitFor(/Ready on/);
  const approved = await fetchWhenListening(`http://127.0.0.1:${port}/orders/order-1/approve`, { method: "POST", body: JSON.stringify({ approved: true }) });
  expect(approved.status).toBe(200);
  await until(async () => (await orderStatus(port, "order-1")).status === "complete", "completion");

  expect(await orderStatus(port, "order-1")).toEqual({
    id: "order-1",
    status: "complete",
    output: { status: "shipped", total: 24, chargeId: "ch_order-1", trackingNumber: "TRK-order-1" },
  } as never);
  // The charge step completed before the kill, so the second server replayed its result.
  expect(second.count(/charging order/)).toBe(0);
});

test("workflows commands list, describe and control instances", async () => {
  const persistTo = mkdtempSync(join(tmpdir(), "bunflare-workflow-cli-"));
  const port = freePort();
  const dev = startDev(persistTo, port);
  await dev.waitFor(/Ready on/);
  const order = { items: [{ sku: "B2", price: 5, quantity: 1 }], reviewWindow: "1 hour" };
  await fetchWhenListening(`http://127.0.0.1:${port}/orders?id=cli-order`, { method: "POST", body: JSON.stringify(order) });
  await until(async () => (await orderStatus(port, "cli-order")).status === "waiting", "the review sleep");

  const listed = await workflowsCommand(persistTo, "list");
  expect(listed.exitCode).toBe(0);
  expect(listed.output).toContain('"name": "order-processing"');
  expect(listed.output).toContain('"instances": 1');

  const instances = await workflowsCommand(persistTo, "instances", "list", "order-processing");
  expect(instances.output).toContain('"id": "cli-order"');
  expect(instances.output).toContain('"status": "waiting"');

  const described = await workflowsCommand(persistTo, "instances", "describe", "order-processing");
  expect(described.exitCode).toBe(0);
  const json = JSON.parse(described.output.slice(described.output.indexOf("{")));
  expect(json.steps.map((step: { type: string; name: string; status: string }) => `${step.type} ${step.name} ${step.status}`)).toEqual([
    "do validate order complete",
    "do charge card complete",
    "sleep review window sleeping",
  ]);
  expect(json.steps[1].attempts.length).toBe(1);
  expect(json.steps[1].output).toEqual({ chargeId: "ch_cli-order", amount: 5 });

  const paused = await workflowsCommand(persistTo, "instances", "pause", "order-processing", "cli-order");
  expect(paused.output).toContain('Paused instance "cli-order" of workflow "order-processing".');
  expect((await orderStatus(port, "cli-order")).status).toBe("paused");

  const resumed = await workflowsCommand(persistTo, "instances", "resume", "order-processing", "cli-order");
  expect(resumed.exitCode).toBe(0);
  const terminated = await workflowsCommand(persistTo, "instances", "terminate", "order-processing", "cli-order");
  expect(terminated.output).toContain('Terminated instance "cli-order" of workflow "order-processing".');
  expect((await orderStatus(port, "cli-order")).status).toBe("terminated");

  const again = await workflowsCommand(persistTo, "instances", "terminate", "order-processing", "cli-order");
  expect(again.exitCode).toBe(1);
  expect(again.output).toContain(`✘ [ERROR] Cannot terminate instance "cli-order" because it is terminated`);

  const missing = await workflowsCommand(persistTo, "instances", "describe", "order-processing", "nope");
  expect(missing.exitCode).toBe(1);
  expect(missing.output).toContain(`✘ [ERROR] Instance "nope" of workflow "order-processing" not found (instance.not_found).`);
});
