// Measures WebSockets through a Durable Object that uses the hibernation
// API, with real Bun WebSocket clients over 127.0.0.1:
//
//   echo      100 clients each send a message, wait for the echo and send the
//             next, for ECHO_SECONDS. Prints messages/s and the round-trip
//             p50 and p99.
//   memory    10,000 clients connect from a child process, the object is
//             evicted (hibernated), and the server's resident memory is
//             compared with its memory before they connected.
//
// Run: bun bench/websocket.ts [bunflare|miniflare]. Miniflare runs the same
// Worker when /tmp/bench/node_modules/miniflare exists (MINIFLARE_DIR sets
// another folder); it skips the memory test, whose sockets live in workerd.
// A run takes about half a minute.

import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, evictAllDurableObjects } from "../lib/index.ts";
import { setLogLevel } from "../lib/log.ts";

const CLIENTS = 100;
const ECHO_SECONDS = Number(process.env.ECHO_SECONDS ?? 5);
const HIBERNATED_SOCKETS = Number(process.env.HIBERNATED_SOCKETS ?? 10_000);

const WORKER = `
import { DurableObject } from "cloudflare:workers";
export class Room extends DurableObject {
  async fetch() {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }
  webSocketMessage(ws, message) {
    ws.send(message);
  }
}
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return env.ROOM.getByName(url.searchParams.get("room") ?? "bench").fetch(request);
  },
};
`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** Opens one client and resolves once it is connected. */
function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.addEventListener("open", () => resolve(socket));
    socket.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)));
  });
}

/** Runs CLIENTS echo loops for ECHO_SECONDS and prints throughput and latency. */
async function echo(base: string): Promise<void> {
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => connect(`${base}?room=echo`)));
  const samples: number[] = [];
  const deadline = performance.now() + ECHO_SECONDS * 1000;

  await Promise.all(
    clients.map(
      (socket) =>
        new Promise<void>((resolve) => {
          let sentAt = 0;
          const sendNext = () => {
            if (performance.now() > deadline) return resolve();
            sentAt = performance.now();
            socket.send("x".repeat(32));
          };
          socket.addEventListener("message", () => {
            samples.push(performance.now() - sentAt);
            sendNext();
          });
          sendNext();
        }),
    ),
  );
  for (const socket of clients) socket.close();

  samples.sort((a, b) => a - b);
  const rate = samples.length / ECHO_SECONDS;
  console.log(`echo, ${CLIENTS} clients           ${Math.round(rate).toLocaleString("en-US").padStart(10)} messages/s`);
  console.log(`round trip p50 / p99             ${percentile(samples, 50).toFixed(2)} ms / ${percentile(samples, 99).toFixed(2)} ms`);
}

/** Connects HIBERNATED_SOCKETS clients from a child process and prints the server's memory growth. */
async function memory(base: string): Promise<void> {
  Bun.gc(true);
  const before = process.memoryUsage().rss;

  const child = Bun.spawn(
    [
      process.execPath,
      "-e",
      `const n = ${HIBERNATED_SOCKETS}; const open = [];
       for (let i = 0; i < n; i += 500) {
         await Promise.all(Array.from({ length: Math.min(500, n - i) }, () => new Promise((resolve, reject) => {
           const socket = new WebSocket(${JSON.stringify(`${base}?room=memory`)});
           socket.onopen = () => { open.push(socket); resolve(); };
           socket.onerror = () => reject(new Error("connect failed"));
         })));
       }
       console.log("connected " + open.length);
       await new Promise((resolve) => process.stdin.once("data", resolve));
       process.exit(0);`,
    ],
    { stdin: "pipe", stdout: "pipe", stderr: "inherit" },
  );
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  const line = new TextDecoder().decode(value).trim();
  if (!line.startsWith("connected")) throw new Error(`client process printed ${line}`);

  // Hibernate: the object leaves memory, the sockets stay connected.
  evictAllDurableObjects();
  await Bun.sleep(500);
  Bun.gc(true);
  const after = process.memoryUsage().rss;
  child.stdin.write("done\n");
  await child.exited;

  const grown = (after - before) / 1024 / 1024;
  console.log(`resident memory, ${HIBERNATED_SOCKETS.toLocaleString("en-US")} hibernated sockets  +${grown.toFixed(1)} MiB (${Math.round((after - before) / HIBERNATED_SOCKETS)} bytes per socket)`);
}

async function runBunflare(): Promise<void> {
  setLogLevel("error");
  const dir = mkdtempSync(join(tmpdir(), "bunflare-bench-ws-"));
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src", "index.js"), WORKER);
  writeFileSync(
    join(dir, "wrangler.json"),
    JSON.stringify({
      name: "bench-websocket",
      main: "src/index.js",
      compatibility_date: "2026-01-01",
      durable_objects: { bindings: [{ name: "ROOM", class_name: "Room" }] },
      migrations: [{ tag: "v1", new_sqlite_classes: ["Room"] }],
    }),
  );
  const handle = await startWorker({ cwd: dir });
  const base = `ws://127.0.0.1:${handle.url.port}/`;
  try {
    console.log("bunflare");
    await echo(base);
    await memory(base);
  } finally {
    await handle.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runMiniflare(): Promise<void> {
  const folder = process.env.MINIFLARE_DIR ?? "/tmp/bench/node_modules/miniflare";
  const { Miniflare } = (await import(folder)) as { Miniflare: new (options: object) => { ready: Promise<URL>; dispose(): Promise<void> } };
  const miniflare = new Miniflare({
    modules: true,
    script: WORKER,
    compatibilityDate: "2026-01-01",
    durableObjects: { ROOM: { className: "Room", useSQLite: true } },
    port: 0,
  });
  const url = await miniflare.ready;
  try {
    console.log("Miniflare");
    await echo(`ws://127.0.0.1:${url.port}/`);
  } finally {
    await miniflare.dispose();
  }
}

const target = process.argv[2] ?? "bunflare";
if (target === "miniflare") await runMiniflare();
else await runBunflare();
process.exit(0);
