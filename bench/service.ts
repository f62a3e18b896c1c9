// Measures the cost of RPC over a service binding: an empty method of another
// Worker's `WorkerEntrypoint`, called through `env.API` and awaited, against
// the same method awaited on a plain object. Also times a call that carries an
// object argument and result, and a `fetch` over the binding.
//
// Service bindings have no storage, so there is no raw bun:sqlite side: the
// direct call is the baseline and the difference is the RPC overhead
// (stub proxies, structured clone, a fresh entrypoint instance and `ctx` per call).
//
// Run: bun bench/service.ts. A full run takes a few seconds.

import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker } from "../lib/index.ts";
import { setLogLevel } from "../lib/log.ts";

const CALLS = 20_000;
const FETCHES = 5_000;
const ROUNDS = 3;

const API_WORKER = `
import { WorkerEntrypoint } from "cloudflare:workers";
export default class Api extends WorkerEntrypoint {
  empty() {}
  echo(value) { return value; }
  fetch() { return new Response("ok"); }
}
`;

const WEB_WORKER = `export default { fetch() { return new Response("web"); } };`;

function report(name: string, ops: number, ms: number): number {
  const rate = ops / (ms / 1000);
  console.log(`${name.padEnd(34)} ${Math.round(rate).toLocaleString("en-US").padStart(12)} ops/s  ${((ms * 1000) / ops).toFixed(2).padStart(8)} µs/op`);
  return rate;
}

/** Runs `body` ROUNDS times and returns the best time in ms. */
async function best(body: () => Promise<unknown>): Promise<number> {
  let fastest = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    await body();
    fastest = Math.min(fastest, performance.now() - start);
  }
  return fastest;
}

setLogLevel("warn");
const root = mkdtempSync(join(tmpdir(), "bunflare-bench-service-"));
try {
  for (const [name, source, extra] of [
    ["web", WEB_WORKER, { services: [{ binding: "API", service: "api" }] }],
    ["api", API_WORKER, {}],
  ] as const) {
    mkdirSync(join(root, name));
    writeFileSync(join(root, name, "index.ts"), source);
    writeFileSync(join(root, name, "wrangler.json"), JSON.stringify({ name, main: "index.ts", compatibility_date: "2026-01-01", ...extra }));
  }
  const worker = await startWorker({ cwd: root, config: [join(root, "web/wrangler.json"), join(root, "api/wrangler.json")] });
  const api = worker.env.API as {
    empty(): Promise<void>;
    echo(value: unknown): Promise<unknown>;
    fetch(url: string): Promise<Response>;
  };

  console.log(`bun ${Bun.version}, best of ${ROUNDS} rounds\n`);

  // Warm up the JIT on every path before timing.
  for (let i = 0; i < 1_000; i++) await api.empty();

  const rpc = report(
    "empty method  service rpc",
    CALLS,
    await best(async () => {
      for (let i = 0; i < CALLS; i++) await api.empty();
    }),
  );
  const target = { empty() {} };
  const direct = report(
    "empty method  direct await",
    CALLS,
    await best(async () => {
      for (let i = 0; i < CALLS; i++) await target.empty();
    }),
  );
  const payload = { id: 7, tags: ["a", "b"], when: new Date(0) };
  report(
    "echo object   service rpc",
    CALLS,
    await best(async () => {
      for (let i = 0; i < CALLS; i++) await api.echo(payload);
    }),
  );
  report(
    "fetch         service binding",
    FETCHES,
    await best(async () => {
      for (let i = 0; i < FETCHES; i++) await (await api.fetch("https://api/")).text();
    }),
  );

  console.log(`\nrpc/direct: ${(rpc / direct).toFixed(3)}`);
  console.log(`rpc overhead per call: ${(1e6 / rpc - 1e6 / direct).toFixed(2)} µs`);

  await worker.stop();
} finally {
  rmSync(root, { recursive: true, force: true });
}
