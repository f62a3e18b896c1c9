// Unit tests of the queue() and scheduled() handlers, called directly with
// the helpers of cloudflare:test.
import { expect, test } from "bun:test";
import { env } from "cloudflare:workers";
import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import worker from "../src/index.ts";

test("queue acks good jobs and retries failing ones", async () => {
  const batch = createMessageBatch("jobs", [
    { id: "a", timestamp: new Date(1_000), attempts: 1, body: { task: "resize", fail: false } },
    { id: "b", timestamp: new Date(2_000), attempts: 1, body: { task: "broken", fail: true } },
  ]);
  const ctx = createExecutionContext();

  await worker.queue(batch as never, env as never);
  const result = await getQueueResult(batch, ctx);

  expect(result.outcome).toBe("ok");
  expect(result.explicitAcks).toEqual(["a"]);
  expect(result.retryMessages).toEqual([{ msgId: "b" }]);
  expect(await env.STATS.get("processed")).toBe("1");
});

test("queue counts dead letters", async () => {
  const batch = createMessageBatch("jobs-dlq", [
    { id: "c", timestamp: new Date(), attempts: 3, body: { task: "broken", fail: true } },
  ]);

  await worker.queue(batch as never, env as never);

  expect(await env.STATS.get("dead-lettered")).toBe("1");
});

test("scheduled records the tick time", async () => {
  const controller = createScheduledController({ scheduledTime: new Date("2026-01-01T00:00:00Z"), cron: "* * * * *" });
  const ctx = createExecutionContext();

  await worker.scheduled(controller as never, env as never);
  await waitOnExecutionContext(ctx);

  expect(await env.STATS.get("last-cron")).toBe("2026-01-01T00:00:00.000Z");
});
