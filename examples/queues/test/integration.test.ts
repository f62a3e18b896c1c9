// Integration tests through SELF: the producer, the real consumer with its
// retries and dead-letter queue, and the cron trigger, with the clock
// advanced instead of waiting.
import { expect, test } from "bun:test";
import { env } from "cloudflare:workers";
import { SELF, advanceClock } from "cloudflare:test";

async function stats(): Promise<{ processed: number; deadLettered: number; lastCron: string | null }> {
  const response = await SELF.fetch("http://localhost/stats");
  return await response.json();
}

test("storage starts empty in each file", async () => {
  expect(await env.STATS.get("processed")).toBeNull();
});

test("jobs are consumed after the batch timeout", async () => {
  const queued = await SELF.fetch("http://localhost/jobs", { method: "POST", body: JSON.stringify({ task: "resize" }) });
  expect(queued.status).toBe(202);

  // max_batch_timeout is 1 s: the batch waits for more messages until then.
  await advanceClock(1_000);

  expect((await stats()).processed).toBe(1);
});

test("failing jobs end in the dead-letter queue", async () => {
  await SELF.fetch("http://localhost/jobs?fail=1", { method: "POST", body: JSON.stringify({ task: "broken" }) });

  // Three attempts (max_retries 2). Each retry waits retry_delay (1 s), then
  // max_batch_timeout (1 s) for the batch to fill, so the last is at 5 s.
  for (let second = 0; second < 6; second += 1) await advanceClock(1_000);

  expect((await stats()).deadLettered).toBe(1);
});

test("cron runs when the clock passes a minute", async () => {
  await advanceClock(60_000);

  expect((await stats()).lastCron).not.toBeNull();
});

test("SELF.scheduled runs the cron handler", async () => {
  const result = await SELF.scheduled({ scheduledTime: new Date("2026-02-01T00:00:00Z"), cron: "* * * * *" });

  expect(result).toEqual({ outcome: "ok", noRetry: false });
  expect((await stats()).lastCron).toBe("2026-02-01T00:00:00.000Z");
});

test("SELF.queue reports acks and retries", async () => {
  const result = await SELF.queue("jobs", [
    { id: "x", timestamp: new Date(), attempts: 1, body: { task: "ok", fail: false } },
    { id: "y", timestamp: new Date(), attempts: 1, body: { task: "bad", fail: true } },
  ]);

  expect(result.outcome).toBe("ok");
  expect(result.explicitAcks).toEqual(["x"]);
  expect(result.retryMessages).toEqual([{ msgId: "y" }]);
});
