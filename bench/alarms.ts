// Measures Durable Object alarm firing latency: the time from an alarm's
// scheduled time to the start of its `alarm()` handler, with 10,000 other
// alarms pending on the scheduler.
//
// The pending alarms are written into `do_alarms` before the Worker starts
// (an hour ahead), so the scheduler rebuilds them at start-up as it would
// after a restart. Then FIRED objects each set an alarm a few milliseconds
// apart, and each handler reports `Date.now() - scheduledTime`. The objects
// are constructed first, because opening each object's new SQLite file
// costs about 20 ms on the benchmark machine and is not alarm latency.
//
// Run: bun bench/alarms.ts [bunflare|miniflare]. Miniflare runs the measured
// part with the same Worker when /tmp/bench/node_modules/miniflare exists
// (MINIFLARE_DIR sets another folder), without the 10,000 pending alarms.
// A run takes about fifteen seconds.

import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker } from "../lib/index.ts";
import { setLogLevel } from "../lib/log.ts";

const PENDING = Number(process.env.PENDING ?? 10_000);
const FIRED = Number(process.env.FIRED ?? 200);
/** Spacing of the measured alarms, in milliseconds, so they fall due one by one. */
const SPACING_MS = 4;

const WORKER = `
import { DurableObject } from "cloudflare:workers";
export class Timer extends DurableObject {
  touch() {}
  async arm(at) {
    this.at = at;
    await this.ctx.storage.setAlarm(at);
    this.armedAt = Date.now();
  }
  async alarm() {
    // An alarm set after its time has passed is measured from when it was set.
    const lateness = Date.now() - Math.max(this.at, this.armedAt ?? 0);
    await this.env.RESULTS.get(this.env.RESULTS.idFromName("results")).record(lateness);
  }
}
export class Results extends DurableObject {
  samples = [];
  record(ms) { this.samples.push(ms); }
  read() { return this.samples; }
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/warm") {
      // Opening a new object's file is slow; it is done before the clock starts.
      for (let i = 0; i < Number(url.searchParams.get("count")); i++) await env.TIMER.getByName("t" + i).touch();
      return new Response("warm");
    }
    if (url.pathname === "/arm") {
      const count = Number(url.searchParams.get("count"));
      const start = Date.now() + 2000;
      const began = Date.now();
      await Promise.all(Array.from({ length: count }, (_, i) => env.TIMER.getByName("t" + i).arm(start + i * ${SPACING_MS})));
      return new Response(String(Date.now() - began));
    }
    return Response.json(await env.RESULTS.get(env.RESULTS.idFromName("results")).read());
  },
};
`;

const CONFIG = {
  name: "bench-alarms",
  main: "src/index.js",
  compatibility_date: "2026-01-01",
  durable_objects: {
    bindings: [
      { name: "TIMER", class_name: "Timer" },
      { name: "RESULTS", class_name: "Results" },
    ],
  },
  migrations: [{ tag: "v1", new_sqlite_classes: ["Timer", "Results"] }],
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** Arms FIRED alarms through `fetch`, waits for them, and prints latency percentiles. */
async function measure(name: string, fetchPath: (path: string) => Promise<Response>): Promise<void> {
  await (await fetchPath(`/warm?count=${FIRED}`)).text();
  const armingMs = await (await fetchPath(`/arm?count=${FIRED}`)).text();
  console.log(`${name}: arming ${FIRED} objects took ${armingMs} ms`);
  const deadline = Date.now() + 30_000;
  let samples: number[] = [];
  while (samples.length < FIRED && Date.now() < deadline) {
    await Bun.sleep(200);
    samples = (await (await fetchPath("/results")).json()) as number[];
  }
  samples.sort((a, b) => a - b);
  console.log(`${name}: ${samples.length}/${FIRED} alarms fired; lateness p50 ${percentile(samples, 50)} ms, p99 ${percentile(samples, 99)} ms, max ${samples.at(-1)} ms`);
}

async function runBunflare(): Promise<void> {
  setLogLevel("error");
  const dir = mkdtempSync(join(tmpdir(), "bunflare-bench-alarms-"));
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src", "index.js"), WORKER);
  writeFileSync(join(dir, "wrangler.json"), JSON.stringify(CONFIG));

  // A first start creates data.sqlite and the classes; then the pending alarms go in.
  const first = await startWorker({ cwd: dir });
  await first.stop();
  const database = new Database(join(dir, ".bunflare", "data.sqlite"));
  const insert = database.prepare("INSERT INTO do_alarms (class, object_id, scheduled_time) VALUES ('Timer', ?, ?)");
  const later = Date.now() + 3_600_000;
  database.transaction(() => {
    for (let i = 0; i < PENDING; i++) insert.run(i.toString(16).padStart(64, "0"), later + i);
  })();
  database.close();

  const handle = await startWorker({ cwd: dir });
  try {
    await measure(`bunflare, ${PENDING.toLocaleString("en-US")} pending`, (path) => handle.fetch(path));
  } finally {
    await handle.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runMiniflare(): Promise<void> {
  const folder = process.env.MINIFLARE_DIR ?? "/tmp/bench/node_modules/miniflare";
  const { Miniflare } = (await import(folder)) as {
    Miniflare: new (options: object) => { dispatchFetch(url: string): Promise<Response>; dispose(): Promise<void> };
  };
  const miniflare = new Miniflare({
    modules: true,
    script: WORKER,
    compatibilityDate: "2026-01-01",
    durableObjects: { TIMER: { className: "Timer", useSQLite: true }, RESULTS: { className: "Results", useSQLite: true } },
  });
  try {
    await measure("Miniflare", (path) => miniflare.dispatchFetch(`http://localhost${path}`));
  } finally {
    await miniflare.dispose();
  }
}

const target = process.argv[2] ?? "bunflare";
if (target === "miniflare") await runMiniflare();
else await runBunflare();
process.exit(0);
