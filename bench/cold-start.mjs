// One cold start for hyperfine: a new process loads an adapter from the
// harness, starts the benchmark Worker, fetches /hello over HTTP, and exits.
// The harness's own startup test times start() inside a process that has
// already loaded its modules; this one also counts process start and imports.
//
//   cd /tmp/bench && hyperfine -N --warmup 1 --runs 10 \
//     'bun <repo>/bench/cold-start.mjs bunflare' 'bun <repo>/bench/cold-start.mjs miniflare'
//
// Run it from the harness folder: Miniflare resolves the Worker's module path
// against the working directory and rejects one that climbs out of it with "..".
// HARNESS_DIR points at the harness copy (default /tmp/bench); run
// bench/run.sh once first so that its adapters/bunflare.mjs exists.

import path from "node:path";

const harness = process.env.HARNESS_DIR ?? "/tmp/bench";
const adapterName = process.argv[2];
if (!adapterName) {
  console.error("usage: bun bench/cold-start.mjs <adapter>   (bunflare or miniflare)");
  process.exit(2);
}

// The harness keeps emulator temp storage in its own folder; do the same.
process.env.TMPDIR ??= path.join(harness, ".tmp");

const { benchSpec } = await import(path.join(harness, "bench", "spec.mjs"));
const adapter = await import(path.join(harness, "adapters", `${adapterName}.mjs`));

const emulator = await adapter.start(benchSpec());
const response = await fetch(new URL("/hello", emulator.url));
const body = await response.text();
await emulator.dispose();

if (body !== "Hello World!") {
  console.error(`cold-start: ${adapterName} returned ${response.status} ${JSON.stringify(body)} for /hello`);
  process.exit(1);
}
process.exit(0);
