import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, type WorkerHandle } from "../lib/worker.ts";
import { createQueue, type MessageBatch, type WorkerQueue } from "../lib/bindings/queue.ts";
import { ConfigError } from "../lib/config.ts";
import { queueBroker } from "../lib/env.ts";
import { native } from "../lib/native.ts";
import { CLI, ROOT, fetchWhenListening, freePort, killChildren, spawnBun, workerDir, wranglerConfig, until, rejection, expectError, tempDir } from "./fixtures.ts";

type Handler = (batch: MessageBatch<unknown>) => unknown;

/** The queue handler each test Worker calls, by Worker name. */
const handlers = globalThis as unknown as Record<string, Handler>;

let nextWorker = 0;
const running: WorkerHandle[] = [];

afterEach(async () => {
  for (const worker of running.splice(0)) await worker.stop();
  native.resetClock();
  await killChildren();
});

/** Starts a Worker whose queue() handler calls `handler`, with the given `queues` config. */
async function startQueueWorker(queues: Record<string, unknown>, handler: Handler, persistTo?: string): Promise<WorkerHandle> {
  const name = `queue-worker-${process.pid}-${nextWorker++}`;
  handlers[name] = handler;
  const dir = workerDir({
    "wrangler.jsonc": wranglerConfig({ name, queues }),
    "src/index.ts": `export default { fetch() { return new Response("ok"); }, queue(batch, env) { return globalThis[${JSON.stringify(name)}](batch, env); } };`,
  });
  const worker = await startWorker({ cwd: dir, persistTo: persistTo ?? join(dir, ".bunflare") });
  running.push(worker);
  return worker;
}

function producer(worker: WorkerHandle, binding = "QUEUE"): WorkerQueue {
  return worker.env[binding] as WorkerQueue;
}

// Every wait below polls for a state, so the deadlines only bound a stuck run. They are
// long because a loaded 2-core CI machine can take seconds to start a Worker.
setDefaultTimeout(60_000);

const PRODUCER = { producers: [{ binding: "QUEUE", queue: "jobs" }] };

describe("producer", () => {
  function openQueue(): WorkerQueue {
    const storage = native.Storage.open(tempDir("bunflare-queue-"));
    return createQueue(queueBroker(storage), "jobs");
  }

  test("send rejects an undefined body", async () => {
    await expectError(openQueue().send(undefined), TypeError, "Message body cannot be undefined");
  });

  test("send rejects an unknown content type", async () => {
    await expectError(openQueue().send("x", { contentType: "xml" as "text" }), TypeError, "Unsupported queue message content type: xml");
  });

  test("send checks the body against its content type", async () => {
    const queue = openQueue();
    await expectError(queue.send(42, { contentType: "text" }), TypeError, 'Content Type "text" requires a value of type string, but received: number');
    await expectError(queue.send("x", { contentType: "bytes" }), TypeError, 'Content Type "bytes" requires a value of type ArrayBufferView, but received: string');
  });

  test("send rejects a message over 128 KB", async () => {
    await expectError(
      openQueue().send("x".repeat(128_001), { contentType: "text" }),
      Error,
      "Queue send failed: Payload Too Large (message of 128001 bytes exceeds the limit of 128000 bytes)",
    );
  });

  test("send rejects a bad delay", async () => {
    const queue = openQueue();
    for (const delaySeconds of [-1, 1.5, 86_401, Number.NaN]) {
      await expectError(
        queue.send("x", { delaySeconds }),
        Error,
        `Queue send failed: Bad Request (delaySeconds must be a whole number of seconds from 0 to 86400, got ${delaySeconds})`,
      );
    }
  });

  test("sendBatch rejects an empty batch", async () => {
    await expectError(openQueue().sendBatch([]), TypeError, "sendBatch() requires at least one message");
  });

  test("sendBatch rejects more than 100 messages", async () => {
    const messages = Array.from({ length: 101 }, (_, i) => ({ body: i }));
    await expectError(openQueue().sendBatch(messages), Error, "Queue sendBatch failed: Payload Too Large (batch of 101 messages exceeds the limit of 100)");
  });

  test("sendBatch rejects more than 256 KB", async () => {
    const messages = Array.from({ length: 3 }, () => ({ body: "x".repeat(100_000), contentType: "text" as const }));
    await expectError(openQueue().sendBatch(messages), Error, "Queue sendBatch failed: Payload Too Large (batch of 300000 bytes exceeds the limit of 256000 bytes)");
  });

  test("sendBatch rejects an oversized message", async () => {
    await expectError(
      openQueue().sendBatch([{ body: "x".repeat(128_001), contentType: "text" }]),
      Error,
      "Queue sendBatch failed: Payload Too Large (message of 128001 bytes exceeds the limit of 128000 bytes)",
    );
  });

  test("messages wait in storage", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bunflare-queue-"));
    const queue = createQueue(queueBroker(native.Storage.open(dir)), "jobs");
    await queue.send({ n: 1 });
    await queue.sendBatch([{ body: "two", contentType: "text" }, { body: [3], contentType: "json" }]);

    const listed = queueBroker(native.Storage.open(dir)).list("jobs");
    expect(listed.map((message) => message.contentType)).toEqual([3, 0, 1]);
    expect(listed.every((message) => /^[0-9a-f]{32}$/.test(message.id))).toBe(true);
  });
});

describe("consumer", () => {
  test("bodies round trip for every content type", async () => {
    const bodies: unknown[] = [];
    const worker = await startQueueWorker(
      { ...PRODUCER, consumers: [{ queue: "jobs", max_batch_size: 4, max_batch_timeout: 0 }] },
      (batch) => void bodies.push(...batch.messages.map((message) => message.body)),
    );
    await producer(worker).sendBatch([
      { body: { when: new Date(0), tags: new Set(["a"]) } },
      { body: "plain", contentType: "text" },
      { body: { n: 1 }, contentType: "json" },
      { body: new Uint8Array([1, 2, 3]), contentType: "bytes" },
    ]);

    await until(() => bodies.length === 4, "four bodies");
    expect(bodies[0]).toEqual({ when: new Date(0), tags: new Set(["a"]) });
    expect(bodies[1]).toBe("plain");
    expect(bodies[2]).toEqual({ n: 1 });
    expect(new Uint8Array(bodies[3] as ArrayBuffer)).toEqual(new Uint8Array([1, 2, 3]));
  });

  test("full batch is delivered at once", async () => {
    const batches: number[] = [];
    const worker = await startQueueWorker(
      { ...PRODUCER, consumers: [{ queue: "jobs", max_batch_size: 3, max_batch_timeout: 60 }] },
      (batch) => void batches.push(batch.messages.length),
    );
    await producer(worker).sendBatch([{ body: 1 }, { body: 2 }, { body: 3 }, { body: 4 }]);

    await until(() => batches.length === 1, "the full batch");
    expect(batches).toEqual([3]);
  });

  test("partial batch waits for the timeout", async () => {
    const batches: number[] = [];
    const worker = await startQueueWorker(
      { ...PRODUCER, consumers: [{ queue: "jobs", max_batch_size: 10, max_batch_timeout: 5 }] },
      (batch) => void batches.push(batch.messages.length),
    );
    await producer(worker).send("a");
    await producer(worker).send("b");
    await Bun.sleep(100);
    expect(batches).toEqual([]);

    native.advanceClock(5_000);
    await until(() => batches.length === 1, "the timed-out batch");
    expect(batches).toEqual([2]);
  });

  test("batch fields match production", async () => {
    const seen: { queue: string; attempts: number; timestamp: Date; id: string }[] = [];
    const worker = await startQueueWorker({ ...PRODUCER, consumers: [{ queue: "jobs", max_batch_timeout: 0 }] }, (batch) => {
      for (const message of batch.messages) seen.push({ queue: batch.queue, attempts: message.attempts, timestamp: message.timestamp, id: message.id });
    });
    const before = native.clockNow();
    await producer(worker).send("x");

    await until(() => seen.length === 1, "one message");
    expect(seen[0]!.queue).toBe("jobs");
    expect(seen[0]!.attempts).toBe(1);
    expect(seen[0]!.timestamp).toBeInstanceOf(Date);
    expect(seen[0]!.timestamp.getTime()).toBeGreaterThanOrEqual(before);
    expect(seen[0]!.id).toMatch(/^[0-9a-f]{32}$/);
  });

  test("delaySeconds holds a message back", async () => {
    const bodies: unknown[] = [];
    const worker = await startQueueWorker({ ...PRODUCER, consumers: [{ queue: "jobs", max_batch_timeout: 0 }] }, (batch) => {
      bodies.push(...batch.messages.map((message) => message.body));
    });
    await producer(worker).send("later", { delaySeconds: 30 });
    await Bun.sleep(100);
    expect(bodies).toEqual([]);

    native.advanceClock(30_000);
    await until(() => bodies.length === 1, "the delayed message");
    expect(bodies).toEqual(["later"]);
  });

  test("throwing handler retries with retry_delay", async () => {
    const attempts: number[] = [];
    const worker = await startQueueWorker(
      { ...PRODUCER, consumers: [{ queue: "jobs", max_batch_timeout: 0, max_retries: 2, retry_delay: 30 }] },
      (batch) => {
        attempts.push(...batch.messages.map((message) => message.attempts));
        throw new Error("handler failed");
      },
    );
    await producer(worker).send("x");
    await until(() => attempts.length === 1, "the first attempt");

    // The retry waits for retry_delay on the clock.
    await Bun.sleep(100);
    expect(attempts).toEqual([1]);
    native.advanceClock(30_000);
    await until(() => attempts.length === 2, "the second attempt");
    native.advanceClock(30_000);
    await until(() => attempts.length === 3, "the third attempt");

    // max_retries 2 means three attempts in all; then the message is dropped.
    native.advanceClock(30_000);
    await Bun.sleep(100);
    expect(attempts).toEqual([1, 2, 3]);
    await until(() => queueBroker(native.Storage.open(worker.config.persistTo)).list("jobs").length === 0, "the drop");
  });

  test("retry delaySeconds overrides retry_delay", async () => {
    const attempts: number[] = [];
    const worker = await startQueueWorker({ ...PRODUCER, consumers: [{ queue: "jobs", max_batch_timeout: 0, retry_delay: 1000 }] }, (batch) => {
      attempts.push(batch.messages[0]!.attempts);
      if (batch.messages[0]!.attempts === 1) batch.messages[0]!.retry({ delaySeconds: 10 });
    });
    await producer(worker).send("x");
    await until(() => attempts.length === 1, "the first attempt");

    native.advanceClock(10_000);
    await until(() => attempts.length === 2, "the retry after 10 s");
    expect(attempts).toEqual([1, 2]);
  });

  test("retry rejects a bad delay", async () => {
    let error: Error | undefined;
    const worker = await startQueueWorker({ ...PRODUCER, consumers: [{ queue: "jobs", max_batch_timeout: 0 }] }, (batch) => {
      try {
        batch.messages[0]!.retry({ delaySeconds: -5 });
      } catch (caught) {
        error = caught as Error;
      }
    });
    await producer(worker).send("x");

    await until(() => error !== undefined, "the retry error");
    expect(error!.constructor).toBe(RangeError);
    expect(error!.message).toBe("delaySeconds must be a whole number of seconds from 0 to 86400, got -5");
  });

  test("exhausted messages go to the dead-letter queue", async () => {
    const dead: { body: unknown; attempts: number }[] = [];
    const worker = await startQueueWorker(
      {
        ...PRODUCER,
        consumers: [
          { queue: "jobs", max_batch_timeout: 0, max_retries: 1, dead_letter_queue: "jobs-dlq" },
          { queue: "jobs-dlq", max_batch_timeout: 0 },
        ],
      },
      (batch) => {
        if (batch.queue === "jobs") throw new Error("always fails");
        dead.push(...batch.messages.map((message) => ({ body: message.body, attempts: message.attempts })));
      },
    );
    await producer(worker).send("poison");

    await until(() => dead.length === 1, "the dead-lettered message");
    expect(dead).toEqual([{ body: "poison", attempts: 1 }]);
  });

  test("first call on a message wins", async () => {
    const attempts = new Map<unknown, number[]>();
    const worker = await startQueueWorker({ ...PRODUCER, consumers: [{ queue: "jobs", max_batch_size: 4, max_batch_timeout: 0 }] }, (batch) => {
      for (const message of batch.messages) attempts.set(message.body, [...(attempts.get(message.body) ?? []), message.attempts]);
      if (batch.messages.length < 4) return;
      const [ackThenRetry, retryThenAck, , ackAfterRetryAll] = batch.messages;
      ackThenRetry!.ack();
      ackThenRetry!.retry({ delaySeconds: 0 });
      retryThenAck!.retry({ delaySeconds: 0 });
      retryThenAck!.ack();
      batch.retryAll();
      batch.ackAll();
      ackAfterRetryAll!.ack();
    });
    await producer(worker).sendBatch([{ body: "a" }, { body: "b" }, { body: "c" }, { body: "d" }]);

    await until(() => ["b", "c", "d"].every((body) => attempts.get(body)?.length === 2), "the retried messages");
    await Bun.sleep(50);
    expect(attempts.get("a")).toEqual([1]);
    expect(attempts.get("b")).toEqual([1, 2]);
    expect(attempts.get("c")).toEqual([1, 2]);
    expect(attempts.get("d")).toEqual([1, 2]);
  });

  test("ackAll ignores later retries", async () => {
    const attempts = new Map<unknown, number[]>();
    const worker = await startQueueWorker({ ...PRODUCER, consumers: [{ queue: "jobs", max_batch_size: 2, max_batch_timeout: 0 }] }, (batch) => {
      for (const message of batch.messages) attempts.set(message.body, [...(attempts.get(message.body) ?? []), message.attempts]);
      batch.ackAll();
      batch.messages[0]!.retry();
      batch.retryAll();
    });
    await producer(worker).sendBatch([{ body: "a" }, { body: "b" }]);

    await until(() => attempts.size === 2, "the batch");
    await Bun.sleep(100);
    expect(attempts.get("a")).toEqual([1]);
    expect(attempts.get("b")).toEqual([1]);
  });

  test("throwing handler keeps explicit acks", async () => {
    const attempts = new Map<unknown, number[]>();
    const worker = await startQueueWorker({ ...PRODUCER, consumers: [{ queue: "jobs", max_batch_size: 2, max_batch_timeout: 0 }] }, (batch) => {
      for (const message of batch.messages) attempts.set(message.body, [...(attempts.get(message.body) ?? []), message.attempts]);
      if (batch.messages.length === 2) {
        batch.messages[0]!.ack();
        throw new Error("after one ack");
      }
    });
    await producer(worker).sendBatch([{ body: "acked" }, { body: "retried" }]);

    await until(() => attempts.get("retried")?.length === 2, "the retry");
    expect(attempts.get("acked")).toEqual([1]);
  });

  test("max_concurrency limits batches in flight", async () => {
    let inFlight = 0;
    let peak = 0;
    let done = 0;
    const worker = await startQueueWorker(
      { ...PRODUCER, consumers: [{ queue: "jobs", max_batch_size: 1, max_batch_timeout: 0, max_concurrency: 2 }] },
      async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await Bun.sleep(30);
        inFlight--;
        done++;
      },
    );
    await producer(worker).sendBatch(Array.from({ length: 6 }, (_, i) => ({ body: i })));

    await until(() => done === 6, "six batches");
    expect(peak).toBe(2);
  });

  test("invalid consumer settings fail the start", async () => {
    const error = await rejection(startQueueWorker({ consumers: [{ queue: "jobs", max_batch_size: 500 }] }, () => {}));
    expect(error.constructor).toBe(Error);
    expect(error.message).toBe('invalid consumer for queue "jobs": "max_batch_size" must be a whole number from 1 to 100, got 500');
  });

  test("consumer config types are checked", async () => {
    const error = await rejection(startQueueWorker({ consumers: [{ queue: "jobs", max_retries: "3" }] }, () => {}));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('"queues.consumers[0].max_retries" must be a number, got string');
  });
});

describe("restart", () => {
  test("waiting messages are delivered after a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bunflare-queue-"));
    // A first "process": its own storage handle and broker, with no consumer running.
    await createQueue(queueBroker(native.Storage.open(dir)), "jobs").sendBatch([{ body: 1 }, { body: 2 }]);

    const bodies: unknown[] = [];
    await startQueueWorker(
      { ...PRODUCER, consumers: [{ queue: "jobs", max_batch_size: 2, max_batch_timeout: 0 }] },
      (batch) => void bodies.push(...batch.messages.map((message) => message.body)),
      dir,
    );
    await until(() => bodies.length === 2, "the stored messages");
    expect(bodies).toEqual([1, 2]);
  });

  test("a batch in flight at a crash is redelivered", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bunflare-queue-"));
    const crashed = queueBroker(native.Storage.open(dir));
    await createQueue(crashed, "jobs").send("in flight");
    crashed.registerConsumer("jobs", { maxBatchTimeout: 0 });
    expect(crashed.takeBatch("jobs")?.length).toBe(1);
    crashed.unregisterConsumer("jobs");

    const attempts: number[] = [];
    await startQueueWorker(
      { ...PRODUCER, consumers: [{ queue: "jobs", max_batch_timeout: 0 }] },
      (batch) => void attempts.push(...batch.messages.map((message) => message.attempts)),
      dir,
    );
    await until(() => attempts.length === 1, "the redelivery");
    expect(attempts).toEqual([2]);
  });
});

describe("killed server", () => {
  test("message survives SIGKILL mid-batch", async () => {
    // The first server's handler never finishes, so the batch is in flight when it is killed.
    const dir = workerDir({
      "wrangler.jsonc": wranglerConfig({ queues: { ...PRODUCER, consumers: [{ queue: "jobs", max_batch_timeout: 0 }] } }),
      "src/index.ts": `export default {
        async fetch(request, env) { await env.QUEUE.send("survivor"); return new Response("sent"); },
        async queue(batch, env) {
          for (const message of batch.messages) console.log("DELIVERED " + message.body + " attempts=" + message.attempts);
          if (env.MODE === "hang") await new Promise(() => {});
        },
      };`,
    });
    const firstPort = freePort();
    const first = spawnBun([CLI, "dev", "--port", String(firstPort), "--var", "MODE:hang"], dir);
    await first.waitFor(/Ready on/);
    await fetchWhenListening(`http://127.0.0.1:${firstPort}/`);
    await first.waitFor(/DELIVERED survivor attempts=1/);
    first.process.kill("SIGKILL");
    await first.process.exited;

    const second = spawnBun([CLI, "dev", "--port", String(freePort()), "--var", "MODE:ok"], dir);
    await second.waitFor(/DELIVERED survivor attempts=2/);
    await second.waitFor(/QUEUE jobs 1\/1/);
  });
});

describe("shutdown", () => {
  test("process exits after stop", async () => {
    // No process.exit: the process ends only if the scheduler lets go of the event loop.
    const dir = workerDir({
      "wrangler.jsonc": wranglerConfig({
        queues: { ...PRODUCER, consumers: [{ queue: "jobs", max_batch_timeout: 0 }] },
        triggers: { crons: ["* * * * *"] },
      }),
      "src/index.ts": `export default { fetch() { return new Response(); }, queue(batch) { globalThis.delivered = batch.messages.length; } };`,
      "run.ts": `import { startWorker } from ${JSON.stringify(join(ROOT, "lib", "index.ts"))};
        const worker = await startWorker({ cwd: import.meta.dir });
        await worker.env.QUEUE.send("x");
        while (!globalThis.delivered) await Bun.sleep(5);
        await worker.stop();
        console.log("STOPPED");`,
    });
    const child = spawnBun(["run.ts"], dir);
    await child.waitFor(/STOPPED/);
    expect(await child.process.exited).toBe(0);
  });
});

describe("pull consumer", () => {
  async function pullWorker(): Promise<WorkerHandle> {
    return await startQueueWorker(
      { ...PRODUCER, consumers: [{ queue: "jobs", type: "http_pull", max_retries: 0, dead_letter_queue: "jobs-dlq" }] },
      () => {},
    );
  }

  async function post(worker: WorkerHandle, path: string, body: unknown): Promise<{ status: number; json: any }> {
    const response = await fetch(new URL(path, worker.url), { method: "POST", body: JSON.stringify(body) });
    return { status: response.status, json: await response.json() };
  }

  test("pull leases and ack removes", async () => {
    const worker = await pullWorker();
    await producer(worker).send("hello", { contentType: "text" });
    await producer(worker).send({ a: 1 }, { contentType: "json" });

    const pulled = await post(worker, "/cdn-cgi/queues/jobs/messages/pull", { batch_size: 10, visibility_timeout_ms: 60_000 });
    expect(pulled.status).toBe(200);
    expect(pulled.json.success).toBe(true);
    const messages = pulled.json.result.messages;
    expect(messages.map((message: { body: string }) => message.body)).toEqual(["hello", '{"a":1}']);
    expect(messages[0].attempts).toBe(1);
    expect(messages[0].metadata["CF-Content-Type"]).toBe("text");
    expect(typeof messages[0].lease_id).toBe("string");

    // Leased messages are invisible to a second pull.
    const again = await post(worker, "/client/v4/accounts/local/queues/jobs/messages/pull", {});
    expect(again.json.result.messages).toEqual([]);

    const acked = await post(worker, "/cdn-cgi/queues/jobs/messages/ack", { acks: [{ lease_id: messages[0].lease_id }], retries: [] });
    expect(acked.json.result).toEqual({ ackCount: 1, retryCount: 0, warnings: [] });
  });

  test("expired lease is pulled again", async () => {
    const worker = await pullWorker();
    await producer(worker).send("x", { contentType: "text" });
    await post(worker, "/cdn-cgi/queues/jobs/messages/pull", { visibility_timeout_ms: 1_000 });

    native.advanceClock(1_000);
    const again = await post(worker, "/cdn-cgi/queues/jobs/messages/pull", {});
    expect(again.json.result.messages.length).toBe(1);
    expect(again.json.result.messages[0].attempts).toBe(2);
  });

  test("retry past max_retries dead-letters", async () => {
    const worker = await pullWorker();
    await producer(worker).send("x", { contentType: "text" });
    const pulled = await post(worker, "/cdn-cgi/queues/jobs/messages/pull", {});
    const leaseId = pulled.json.result.messages[0].lease_id;

    const acked = await post(worker, "/cdn-cgi/queues/jobs/messages/ack", { retries: [{ lease_id: leaseId }] });
    expect(acked.json.result.retryCount).toBe(1);
    const broker = queueBroker(native.Storage.open(worker.config.persistTo));
    expect(broker.list("jobs").length).toBe(0);
    expect(broker.list("jobs-dlq").length).toBe(1);
  });

  test("unknown lease id is a warning", async () => {
    const worker = await pullWorker();
    const acked = await post(worker, "/cdn-cgi/queues/jobs/messages/ack", { acks: [{ lease_id: "nope" }] });
    expect(acked.json.result.ackCount).toBe(0);
    expect(acked.json.result.warnings).toEqual(["lease_id nope is unknown or its lease has been given to another pull"]);
  });

  test("pull rejects a push queue", async () => {
    const worker = await pullWorker();
    const pulled = await post(worker, "/cdn-cgi/queues/other/messages/pull", {});
    expect(pulled.status).toBe(400);
    expect(pulled.json.errors[0].message).toBe('queue "other" has no pull consumer; add a consumer with type "http_pull" to the config');
  });

  test("pull rejects a bad batch_size", async () => {
    const worker = await pullWorker();
    const pulled = await post(worker, "/cdn-cgi/queues/jobs/messages/pull", { batch_size: 101 });
    expect(pulled.status).toBe(400);
    expect(pulled.json.errors[0].message).toBe("batch_size must be a whole number from 1 to 100, got 101");
  });
});
