// Queues and cron example for bunflare.
//
//   POST /jobs            {"task": "resize"}    enqueue one job
//   POST /jobs?fail=1     {"task": "broken"}    enqueue a job the consumer always rejects
//   GET  /stats                                 counts kept in KV by the consumers and the cron job
//
// A failing job is retried twice, one second apart (max_retries, retry_delay),
// then lands on "jobs-dlq", whose consumer counts it. The cron job records
// the time of its last tick every minute.

import type {
  KVNamespace,
  MessageBatch,
  Queue,
  ScheduledController,
} from "@cloudflare/workers-types/index.ts";

interface Job {
  task: string;
  fail: boolean;
}

interface Env {
  JOBS: Queue<Job>;
  STATS: KVNamespace;
}

async function increment(kv: KVNamespace, key: string, by: number): Promise<void> {
  const current = Number((await kv.get(key)) ?? "0");
  await kv.put(key, String(current + by));
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);

    if (request.method === "POST" && url.pathname === "/jobs") {
      const { task = "unnamed" } = (await request.json().catch(() => ({}))) as { task?: string };
      await env.JOBS.send({ task, fail: url.searchParams.has("fail") });
      return Response.json({ queued: task }, { status: 202 });
    }

    if (url.pathname === "/stats") {
      const [processed, deadLettered, lastCron] = await Promise.all([
        env.STATS.get("processed"),
        env.STATS.get("dead-lettered"),
        env.STATS.get("last-cron"),
      ]);
      return Response.json({ processed: Number(processed ?? 0), deadLettered: Number(deadLettered ?? 0), lastCron });
    }

    return new Response("POST /jobs or GET /stats\n", { status: 404 });
  },

  async queue(batch: MessageBatch<Job>, env: Env): Promise<void> {
    if (batch.queue === "jobs-dlq") {
      await increment(env.STATS, "dead-lettered", batch.messages.length);
      return;
    }

    let processed = 0;
    for (const message of batch.messages) {
      if (message.body.fail) {
        console.log(`job ${message.body.task} failed on attempt ${message.attempts}`);
        message.retry();
      } else {
        message.ack();
        processed += 1;
      }
    }
    await increment(env.STATS, "processed", processed);
  },

  async scheduled(controller: ScheduledController, env: Env): Promise<void> {
    await env.STATS.put("last-cron", new Date(controller.scheduledTime).toISOString());
  },
};
