// Workflows benchmarks:
//
// 1. Instances per second: N instances of a 3-step workflow created with
//    createBatch and run to completion, timed from the host around one
//    fetch to the Worker, which creates them and polls their status until
//    all are complete. The same Worker script runs on bunflare and, when the
//    mfbench harness with Miniflare is in HARNESS_DIR (default /tmp/bench),
//    on Miniflare 4 in the same run. Raw bun:sqlite does the row work the
//    engine does for one instance (9 transactions) N times, for a ratio.
// 2. Overhead per step.do: one instance with STEPS trivial steps, against raw
//    bun:sqlite doing the engine's two transactions per step.
// 3. Wake-up latency after sleep: instances sleep 50 ms of real time. The
//    latency is the time from the sleep's deadline to the next step's
//    callback, p50 and p99.
//
// Run: bun bench/workflow.ts [instances, default 500] [steps, default 2000] [sleep samples, default 50].
// A full run takes about 20 seconds.

import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker } from "../lib/worker.ts";
import { setLogLevel } from "../lib/log.ts";

const INSTANCES = Number(process.argv[2] ?? 500);
const STEPS = Number(process.argv[3] ?? 2000);
const SLEEP_SAMPLES = Number(process.argv[4] ?? 50);
const HARNESS_DIR = process.env.HARNESS_DIR ?? "/tmp/bench";
const SLEEP_MS = 50;

setLogLevel("warn");

/** The Worker both runtimes run: a 3-step workflow, a long one, a sleeping one, and a fetch handler that drives them. */
const WORKER = `
import { WorkflowEntrypoint } from "cloudflare:workers";

export class ThreeSteps extends WorkflowEntrypoint {
  async run(event, step) {
    const a = await step.do("one", async () => event.payload.n);
    const b = await step.do("two", async () => a + 1);
    return await step.do("three", async () => ({ result: b * 2 }));
  }
}

export class ManySteps extends WorkflowEntrypoint {
  async run(event, step) {
    let total = 0;
    for (let i = 0; i < event.payload.steps; i++) total += await step.do("step " + i, async () => i);
    return total;
  }
}

export class Sleeper extends WorkflowEntrypoint {
  async run(event, step) {
    const before = await step.do("before", async () => Date.now());
    await step.sleep("nap", event.payload.sleepMs);
    return await step.do("after", async () => Date.now() - before - event.payload.sleepMs);
  }
}

async function waitAll(instances) {
  let pending = instances;
  const outputs = [];
  while (pending.length > 0) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    const next = [];
    for (const instance of pending) {
      // Miniflare creates instances in the background, so a new one may not be found yet.
      const status = await instance.status().catch(() => ({ status: "queued" }));
      if (status.status === "complete") outputs.push(status.output);
      else if (status.status === "errored") throw new Error(JSON.stringify(status.error));
      else next.push(instance);
    }
    pending = next;
  }
  return outputs;
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get("n"));
    const tag = url.searchParams.get("tag");
    if (url.pathname === "/three") {
      const instances = [];
      for (let i = 0; i < n; i += 100) {
        const batch = [];
        for (let j = i; j < Math.min(n, i + 100); j++) batch.push({ id: tag + "-" + j, params: { n: j } });
        instances.push(...(await env.THREE.createBatch(batch)));
      }
      return Response.json((await waitAll(instances)).length);
    }
    if (url.pathname === "/many") {
      const instance = await env.MANY.create({ id: tag, params: { steps: n } });
      return Response.json(await waitAll([instance]));
    }
    if (url.pathname === "/sleep") {
      const instance = await env.SLEEPER.create({ id: tag, params: { sleepMs: n } });
      return Response.json((await waitAll([instance]))[0]);
    }
    return new Response("not found", { status: 404 });
  },
};
`;

const WORKFLOWS = [
  { binding: "THREE", name: "three-steps", class_name: "ThreeSteps" },
  { binding: "MANY", name: "many-steps", class_name: "ManySteps" },
  { binding: "SLEEPER", name: "sleeper", class_name: "Sleeper" },
];

interface Runner {
  fetch(path: string): Promise<unknown>;
  stop(): Promise<void>;
}

async function startBunflare(dir: string): Promise<Runner> {
  await Bun.write(join(dir, "wrangler.json"), JSON.stringify({ name: "workflow-bench", main: "worker.js", workflows: WORKFLOWS }));
  await Bun.write(join(dir, "worker.js"), WORKER);
  const worker = await startWorker({ cwd: dir });
  return {
    fetch: async (path) => (await worker.fetch(path)).json(),
    stop: () => worker.stop(),
  };
}

async function startMiniflare(): Promise<Runner | null> {
  const entry = join(HARNESS_DIR, "node_modules", "miniflare", "dist", "src", "index.js");
  if (!existsSync(entry)) return null;
  const { Miniflare } = (await import(entry)) as { Miniflare: new (options: unknown) => { dispatchFetch(url: string): Promise<Response>; dispose(): Promise<void> } };
  const workflows = Object.fromEntries(WORKFLOWS.map((w) => [w.binding, { name: w.name, className: w.class_name }]));
  const mf = new Miniflare({ modules: true, script: WORKER, compatibilityDate: "2025-01-01", workflows });
  return {
    fetch: async (path) => {
      const response = await mf.dispatchFetch(`http://localhost${path}`);
      const text = await response.text();
      if (!response.ok) throw new Error(`Miniflare answered ${response.status} to ${path}: ${text.slice(0, 200)}`);
      return JSON.parse(text);
    },
    stop: () => mf.dispose(),
  };
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface Result {
  instancesPerSecond: number;
  stepMicros: number;
  wakeP50: number;
  wakeP99: number;
}

async function measure(runner: Runner, name: string): Promise<Result> {
  // Ids stay unique across runs, in case a runtime keeps state between them.
  const label = `${name}-${Date.now()}`;
  await runner.fetch(`/three?n=10&tag=${label}-warm`);

  let started = performance.now();
  await runner.fetch(`/three?n=${INSTANCES}&tag=${label}-three`);
  const instancesPerSecond = (INSTANCES * 1000) / (performance.now() - started);

  started = performance.now();
  await runner.fetch(`/many?n=${STEPS}&tag=${label}-many`);
  const stepMicros = ((performance.now() - started) * 1000) / STEPS;

  const lateness: number[] = [];
  for (let i = 0; i < SLEEP_SAMPLES; i++) lateness.push((await runner.fetch(`/sleep?n=${SLEEP_MS}&tag=${label}-sleep-${i}`)) as number);
  lateness.sort((a, b) => a - b);
  return { instancesPerSecond, stepMicros, wakeP50: percentile(lateness, 0.5), wakeP99: percentile(lateness, 0.99) };
}

/** Runs the engine's row work for `count` 3-step instances (9 transactions each) with raw bun:sqlite and returns instances per second. */
function rawInstances(db: Database, count: number): number {
  const insertInstance = db.prepare("INSERT INTO instances (id, status, params, created_at) VALUES (?, 'queued', ?, ?)");
  const setStatus = db.prepare("UPDATE instances SET status = ? WHERE id = ?");
  const readStep = db.prepare("SELECT status, output FROM steps WHERE instance = ? AND name = ?");
  const insertStep = db.prepare("INSERT INTO steps (instance, name, status, attempt_log, started_at) VALUES (?, ?, 'running', '[]', ?)");
  const completeStep = db.prepare("UPDATE steps SET status = 'complete', output = ? WHERE instance = ? AND name = ?");
  const params = Buffer.alloc(24);
  const transaction = (work: () => void) => db.transaction(work).immediate();

  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const id = `raw-${i}`;
    transaction(() => insertInstance.run(id, params, Date.now()));
    transaction(() => setStatus.run("running", id));
    for (const name of ["one", "two", "three"]) {
      transaction(() => {
        readStep.get(id, name);
        insertStep.run(id, name, Date.now());
      });
      transaction(() => completeStep.run(params, id, name));
    }
    transaction(() => setStatus.run("complete", id));
  }
  return (count * 1000) / (performance.now() - started);
}

/** Runs the engine's two transactions per step.do with raw bun:sqlite and returns microseconds per step. */
function rawSteps(db: Database, count: number): number {
  const readStep = db.prepare("SELECT status, output FROM steps WHERE instance = ? AND name = ?");
  const insertStep = db.prepare("INSERT INTO steps (instance, name, status, attempt_log, started_at) VALUES (?, ?, 'running', '[]', ?)");
  const completeStep = db.prepare("UPDATE steps SET status = 'complete', output = ? WHERE instance = ? AND name = ?");
  const output = Buffer.alloc(8);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    db.transaction(() => {
      readStep.get("many", `step ${i}`);
      insertStep.run("many", `step ${i}`, Date.now());
    }).immediate();
    db.transaction(() => completeStep.run(output, "many", `step ${i}`)).immediate();
  }
  return ((performance.now() - started) * 1000) / count;
}

const dir = mkdtempSync(join(tmpdir(), "bunflare-bench-workflow-"));
try {
  const bunflare = await startBunflare(dir);
  const ours = await measure(bunflare, "bunflare");
  await bunflare.stop();

  const db = new Database(join(dir, "raw.sqlite"));
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
  db.exec(`CREATE TABLE instances (id TEXT PRIMARY KEY, status TEXT NOT NULL, params BLOB NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE steps (instance TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL, attempt_log TEXT NOT NULL,
      started_at INTEGER NOT NULL, output BLOB, UNIQUE (instance, name));`);
  const rawRate = rawInstances(db, INSTANCES);
  const rawStep = rawSteps(db, STEPS);
  db.close();

  const miniflare = await startMiniflare().catch((error: unknown) => {
    console.error(`Miniflare did not start: ${(error as Error).message}`);
    return null;
  });
  const theirs = miniflare ? await measure(miniflare, "miniflare") : null;
  await miniflare?.stop();

  const row = (name: string, value: (r: Result) => string) =>
    console.log(`| ${name} | ${value(ours)} | ${theirs ? value(theirs) : "n/a"} |`);
  console.log(`\n${INSTANCES} instances, ${STEPS} steps, ${SLEEP_SAMPLES} sleeps of ${SLEEP_MS} ms\n`);
  console.log("| measure | bunflare | Miniflare 4 |");
  console.log("|---|---:|---:|");
  row("3-step instances/s", (r) => Math.round(r.instancesPerSecond).toLocaleString("en-US"));
  row("µs per step.do", (r) => r.stepMicros.toFixed(0));
  row("wake-up after sleep, p50 ms", (r) => r.wakeP50.toFixed(0));
  row("wake-up after sleep, p99 ms", (r) => r.wakeP99.toFixed(0));
  console.log(`\nraw bun:sqlite, same row work: ${Math.round(rawRate).toLocaleString("en-US")} instances/s (ratio ${(ours.instancesPerSecond / rawRate).toFixed(2)}), ${rawStep.toFixed(0)} µs per step (ratio ${(rawStep / ours.stepMicros).toFixed(2)})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
