// Measures Durable Objects through bunflare against raw bun:sqlite doing the
// same storage work, and the cost of an RPC call. Prints ops/s and ratios.
//
//   storage loop   10,000 put/get pairs inside one RPC call, each awaited, as
//                  the harness's do.storage.loop does. Raw bun:sqlite runs the
//                  same pairs (with structured-clone bytes) in one transaction,
//                  because write coalescing turns them into one.
//   increments     sequential `increment()` RPC calls (get, put, output gate)
//                  and `fetch` calls on one object; raw is one get and one
//                  put committed per increment.
//   rpc            an empty method called over RPC, against calling it directly.
//
// Run: bun bench/durable-object.ts. A full run takes about ten seconds.

import { Database } from "bun:sqlite";
import { serialize, deserialize } from "bun:jsc";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker } from "../lib/index.ts";
import { setLogLevel } from "../lib/log.ts";

const LOOP_PAIRS = 10_000;
const INCREMENTS = 2_000;
const RPC_CALLS = 20_000;
const ROUNDS = 3;

const WORKER = `
import { DurableObject } from "cloudflare:workers";
export class Bench extends DurableObject {
  async loop(n) {
    const storage = this.ctx.storage;
    for (let i = 0; i < n; i++) {
      await storage.put("k" + i, i);
      if ((await storage.get("k" + i)) !== i) throw new Error("mismatch at " + i);
    }
    return n;
  }
  async increment() {
    const value = ((await this.ctx.storage.get("count")) ?? 0) + 1;
    await this.ctx.storage.put("count", value);
    return value;
  }
  async fetch() {
    return new Response(String(await this.increment()));
  }
  empty() {}
}
export default { fetch() { return new Response("ok"); } };
`;

function report(name: string, ops: number, ms: number): number {
  const rate = ops / (ms / 1000);
  console.log(`${name.padEnd(34)} ${Math.round(rate).toLocaleString("en-US").padStart(12)} ops/s  ${((ms * 1000) / ops).toFixed(2).padStart(8)} µs/op`);
  return rate;
}

/** Runs `body` ROUNDS times and returns the best time in ms. */
async function best(body: () => Promise<unknown> | unknown): Promise<number> {
  let fastest = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    await body();
    fastest = Math.min(fastest, performance.now() - started);
  }
  return fastest;
}

setLogLevel("warn");
const dir = mkdtempSync(join(tmpdir(), "bunflare-bench-do-"));
try {
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src", "index.js"), WORKER);
  writeFileSync(
    join(dir, "wrangler.json"),
    JSON.stringify({
      name: "bench",
      main: "src/index.js",
      durable_objects: { bindings: [{ name: "BENCH", class_name: "Bench" }] },
      migrations: [{ tag: "v1", new_sqlite_classes: ["Bench"] }],
    }),
  );
  const worker = await startWorker({ cwd: dir });
  const namespace = worker.env.BENCH as { getByName(name: string): Record<string, (...args: unknown[]) => Promise<unknown>> };

  // Raw bun:sqlite with the engine's schema and pragmas.
  const raw = new Database(join(dir, "raw.sqlite"));
  raw.exec("PRAGMA journal_mode = WAL");
  raw.exec("PRAGMA synchronous = NORMAL");
  raw.exec("CREATE TABLE _cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID");
  const rawPut = raw.prepare("INSERT OR REPLACE INTO _cf_KV (key, value) VALUES (?1, ?2)");
  const rawGet = raw.prepare("SELECT value FROM _cf_KV WHERE key = ?1");
  const rawLoop = raw.transaction((n: number) => {
    for (let i = 0; i < n; i++) {
      rawPut.run("k" + i, new Uint8Array(serialize(i)));
      const row = rawGet.get("k" + i) as { value: Uint8Array };
      if (deserialize(row.value) !== i) throw new Error("mismatch");
    }
  });
  const rawIncrement = raw.transaction(() => {
    const row = rawGet.get("count") as { value: Uint8Array } | null;
    const value = ((row ? (deserialize(row.value) as number) : 0) + 1);
    rawPut.run("count", new Uint8Array(serialize(value)));
    return value;
  });

  console.log(`bun ${Bun.version}, best of ${ROUNDS} rounds\n`);

  const loopStub = namespace.getByName("loop");
  await loopStub.loop!(100);
  const loop = report("storage loop  bunflare (pairs)", LOOP_PAIRS, await best(() => loopStub.loop!(LOOP_PAIRS)));
  const loopRaw = report("storage loop  raw bun:sqlite", LOOP_PAIRS, await best(() => rawLoop.immediate(LOOP_PAIRS)));

  const counter = namespace.getByName("counter");
  const increments = report(
    "increment  bunflare rpc",
    INCREMENTS,
    await best(async () => {
      for (let i = 0; i < INCREMENTS; i++) await counter.increment!();
    }),
  );
  const fetches = report(
    "increment  bunflare fetch",
    INCREMENTS,
    await best(async () => {
      for (let i = 0; i < INCREMENTS; i++) await (await (counter.fetch as unknown as (url: string) => Promise<Response>)("http://do/")).text();
    }),
  );
  const incrementsRaw = report(
    "increment  raw bun:sqlite",
    INCREMENTS,
    await best(() => {
      for (let i = 0; i < INCREMENTS; i++) rawIncrement.immediate();
    }),
  );

  const target = { empty() {} };
  const rpc = report(
    "empty method  bunflare rpc",
    RPC_CALLS,
    await best(async () => {
      for (let i = 0; i < RPC_CALLS; i++) await counter.empty!();
    }),
  );
  const direct = report(
    "empty method  direct await",
    RPC_CALLS,
    await best(async () => {
      for (let i = 0; i < RPC_CALLS; i++) await target.empty();
    }),
  );

  console.log(`\nstorage loop bunflare/raw: ${(loop / loopRaw).toFixed(2)}`);
  console.log(`increment rpc bunflare/raw: ${(increments / incrementsRaw).toFixed(2)}`);
  console.log(`increment fetch bunflare/raw: ${(fetches / incrementsRaw).toFixed(2)}`);
  console.log(`rpc overhead per call: ${((1e6 / rpc) - (1e6 / direct)).toFixed(2)} µs`);

  raw.close();
  await worker.stop();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
