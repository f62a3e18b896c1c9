// Queues benchmarks:
//
// 1. Throughput: 100,000 messages sent with sendBatch (100 per call) and
//    consumed and acknowledged by a queue() handler (max_batch_size 100,
//    max_batch_timeout 0), against raw bun:sqlite doing the same inserts,
//    reads and deletes on the same schema in batches of 100.
// 2. Latency: the mfbench harness's test 7 (send() in a fetch handler to the
//    consumer's receipt, max_batch_timeout 0, p50 and p99) for bunflare and
//    for Miniflare 4 in the same run, on the harness's own Worker script.
//    It runs when the harness with Miniflare is in HARNESS_DIR (default
//    /tmp/bench; see bench/README.md).
//
// Run: bun bench/queue.ts [messages, default 100000] [latency samples, default 100].
// A full run takes about half a minute.

import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker } from "../lib/worker.ts";
import { setLogLevel } from "../lib/log.ts";
import type { WorkerQueue } from "../lib/bindings/queue.ts";

const MESSAGES = Number(process.argv[2] ?? 100_000);
const LATENCY_SAMPLES = Number(process.argv[3] ?? 100);
const HARNESS_DIR = process.env.HARNESS_DIR ?? "/tmp/bench";
const BATCH = 100;

setLogLevel("warn");

function rate(count: number, ms: number): string {
  return `${Math.round((count * 1000) / ms).toLocaleString("en-US").padStart(9)} msg/s`;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Sends MESSAGES through a Worker's producer and waits until its consumer has acknowledged them all. */
async function bindingThroughput(dir: string): Promise<{ sendMs: number; totalMs: number }> {
  let consumed = 0;
  let allConsumed = () => {};
  const done = new Promise<void>((resolve) => (allConsumed = resolve));
  (globalThis as Record<string, unknown>).__benchConsume = (count: number) => {
    consumed += count;
    if (consumed >= MESSAGES) allConsumed();
  };

  await Bun.write(
    join(dir, "wrangler.json"),
    JSON.stringify({
      name: "queue-bench",
      main: "worker.ts",
      queues: { producers: [{ binding: "QUEUE", queue: "bench" }], consumers: [{ queue: "bench", max_batch_size: BATCH, max_batch_timeout: 0 }] },
    }),
  );
  await Bun.write(join(dir, "worker.ts"), "export default { fetch() { return new Response(); }, queue(batch) { globalThis.__benchConsume(batch.messages.length); } };");
  const worker = await startWorker({ cwd: dir });
  const queue = worker.env.QUEUE as WorkerQueue;

  const started = performance.now();
  for (let sent = 0; sent < MESSAGES; sent += BATCH) {
    const batch = [];
    for (let i = 0; i < BATCH; i++) batch.push({ body: { n: sent + i, payload: "x".repeat(64) } });
    await queue.sendBatch(batch);
  }
  const sendMs = performance.now() - started;
  await done;
  const totalMs = performance.now() - started;
  await worker.stop();
  return { sendMs, totalMs };
}

/** Runs the same storage work with raw bun:sqlite: insert in batches, then take and delete in batches. */
function rawThroughput(dir: string): { sendMs: number; totalMs: number } {
  const db = new Database(join(dir, "raw.sqlite"));
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
  db.exec(`CREATE TABLE queue_messages (seq INTEGER PRIMARY KEY, queue TEXT NOT NULL, id TEXT NOT NULL UNIQUE, body BLOB NOT NULL,
    content_type INTEGER NOT NULL, timestamp INTEGER NOT NULL, visible_at INTEGER NOT NULL, attempts INTEGER NOT NULL,
    leased INTEGER NOT NULL, lease_id TEXT); CREATE INDEX queue_messages_visible ON queue_messages (queue, visible_at);`);
  const insert = db.prepare("INSERT INTO queue_messages (queue, id, body, content_type, timestamp, visible_at, attempts, leased) VALUES ('bench', ?, ?, 1, ?, ?, 0, 0)");
  const select = db.prepare("SELECT seq, id, body FROM queue_messages WHERE queue = 'bench' AND visible_at <= ? ORDER BY visible_at, seq LIMIT 100");
  const remove = db.prepare("DELETE FROM queue_messages WHERE id = ?");
  const encoder = new TextEncoder();
  let next = 0;

  const started = performance.now();
  const sendBatch = db.transaction(() => {
    const now = Date.now();
    for (let i = 0; i < BATCH; i++) {
      insert.run(`${(next++).toString(16).padStart(32, "0")}`, encoder.encode(JSON.stringify({ n: next, payload: "x".repeat(64) })), now, now);
    }
  });
  for (let sent = 0; sent < MESSAGES; sent += BATCH) sendBatch.immediate();
  const sendMs = performance.now() - started;

  const consume = db.transaction(() => {
    const rows = select.all(Date.now()) as { id: string }[];
    for (const row of rows) remove.run(row.id);
    return rows.length;
  });
  let consumed = 0;
  while (consumed < MESSAGES) consumed += consume.immediate();
  const totalMs = performance.now() - started;
  db.close();
  return { sendMs, totalMs };
}

/** Runs the harness's queue latency measurement on one adapter and returns p50/p99 in ms. */
async function harnessLatency(adapterName: string): Promise<{ p50: number; p99: number; baseline: number }> {
  const { benchSpec } = await import(join(HARNESS_DIR, "bench", "spec.mjs"));
  // @ts-expect-error: the adapter is plain JavaScript without type declarations.
  const adapter = adapterName === "bunflare" ? await import("./adapter.mjs") : await import(join(HARNESS_DIR, "adapters", `${adapterName}.mjs`));

  const receipts = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const NOTIFY = async (request: Request) => {
    const t = performance.now();
    const body = (await request.json()) as { id: string };
    receipts.set(String(body.id), t);
    waiters.get(String(body.id))?.();
    return new Response("ok");
  };
  const receipt = (id: string) =>
    new Promise<number>((resolve, reject) => {
      if (receipts.has(id)) return resolve(receipts.get(id)!);
      const timer = setTimeout(() => reject(new Error(`${adapterName}: no receipt for ${id}`)), 15_000);
      waiters.set(id, () => (clearTimeout(timer), waiters.delete(id), resolve(receipts.get(id)!)));
    });

  const spec = benchSpec();
  spec.services = { NOTIFY };
  const emu = await adapter.start(spec);
  // bunflare's adapter leaves service bindings out of its wrangler.json, so
  // the host function is put on the shared env object directly.
  if (adapterName === "bunflare") emu.raw.env.NOTIFY = { fetch: (url: string, init: RequestInit) => NOTIFY(new Request(url, init)) };

  const call = async (path: string) => {
    const response = await emu.dispatchFetch(`http://bench.local${path}`);
    await response.text();
  };
  const measure = async (prefix: string, route: string) => {
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const id = `${prefix}${i}`;
      const t0 = performance.now();
      await call(`${route}?id=${id}`);
      latencies.push((await receipt(id)) - t0);
    }
    return latencies.sort((a, b) => a - b);
  };

  try {
    for (let i = 0; i < 5; i++) {
      await call(`/queue/send?id=w${i}`);
      await receipt(`w${i}`);
    }
    const baseline = await measure("p", "/notify/ping");
    const latencies = await measure("q", "/queue/send");
    return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), baseline: percentile(baseline, 0.5) };
  } finally {
    await emu.dispose();
  }
}

const dir = mkdtempSync(join(tmpdir(), "bunflare-bench-queue-"));
try {
  console.log(`bun ${Bun.version}, ${MESSAGES.toLocaleString("en-US")} messages of ~80 bytes, batches of ${BATCH}\n`);

  const binding = await bindingThroughput(join(dir, "binding"));
  const raw = rawThroughput(dir);
  console.log(`send        binding ${rate(MESSAGES, binding.sendMs)}   raw bun:sqlite ${rate(MESSAGES, raw.sendMs)}   ratio ${(raw.sendMs / binding.sendMs).toFixed(2)}`);
  console.log(`send+ack    binding ${rate(MESSAGES, binding.totalMs)}   raw bun:sqlite ${rate(MESSAGES, raw.totalMs)}   ratio ${(raw.totalMs / binding.totalMs).toFixed(2)}`);

  if (!existsSync(join(HARNESS_DIR, "node_modules", "miniflare"))) {
    console.log(`\nlatency: skipped, no harness with Miniflare in ${HARNESS_DIR}`);
  } else {
    console.log(`\nsend() to queue() receipt, max_batch_timeout 0, ${LATENCY_SAMPLES} samples (harness test 7):`);
    for (const adapterName of ["bunflare", "miniflare"]) {
      const result = await harnessLatency(adapterName);
      console.log(
        `${adapterName.padEnd(10)} p50 ${result.p50.toFixed(2).padStart(7)} ms   p99 ${result.p99.toFixed(2).padStart(7)} ms   (no-queue baseline p50 ${result.baseline.toFixed(2)} ms)`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
