import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { createD1Database } from "../lib/bindings/d1.ts";
import { createKVNamespace } from "../lib/bindings/kv.ts";
import { native } from "../lib/native.ts";
import { CLI, fetchWhenListening, freePort, killChildren, spawnBun, workerDir, wranglerConfig, tempDir } from "./fixtures.ts";

const WRITER = join(import.meta.dir, "fixtures", "kv-writer.ts");
const D1_WRITER = join(import.meta.dir, "fixtures", "d1-writer.ts");

afterEach(killChildren);

function startWriter(dir: string, prefix: string, count: number) {
  return Bun.spawn([process.execPath, WRITER, dir, prefix, String(count)], {
    stdout: "pipe",
    stderr: "pipe",
  });
}

/** Returns the complete lines of everything a child printed. */
async function readLines(stream: ReadableStream<Uint8Array>): Promise<string[]> {
  const text = await new Response(stream).text();
  return text.split("\n").slice(0, -1);
}

/** Runs SQLite's own consistency check on `file` (default data.sqlite) of `dir`, read-only. */
function integrityCheck(dir: string, file = "data.sqlite"): string {
  const database = new Database(join(dir, file), { readonly: true });
  try {
    const row = database.query("PRAGMA integrity_check").get() as { integrity_check: string };
    return row.integrity_check;
  } finally {
    database.close();
  }
}

test("killed writer keeps acknowledged puts", async () => {
  const dir = tempDir("bunflare-durability-");
  const child = startWriter(dir, "acked-", 1_000_000);

  // Read acknowledgements until a few hundred have arrived, then kill the
  // child mid-stream without giving it a chance to flush or close anything.
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (text.split("\n").length <= 300) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  child.kill("SIGKILL");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  expect(await child.exited).not.toBe(0);
  expect(child.signalCode).toBe("SIGKILL");

  // A line cut off by the kill is not an acknowledgement.
  const acknowledged = text.split("\n").slice(0, -1);
  expect(acknowledged.length).toBeGreaterThanOrEqual(300);

  const kv = createKVNamespace(native.Storage.open(dir), "durable");
  const values = new Map<string, string | null>();
  for (const key of acknowledged) values.set(key, await kv.get(key));
  const missing = acknowledged.filter((key) => values.get(key) !== `value of ${key}`);
  expect(missing).toEqual([]);

  expect(integrityCheck(dir)).toBe("ok");
});

test("two writers share one directory", async () => {
  const dir = tempDir("bunflare-durability-");
  const count = 1000;
  const first = startWriter(dir, "first-", count);
  const second = startWriter(dir, "second-", count);

  const [firstLines, secondLines, firstErrors, secondErrors] = await Promise.all([
    readLines(first.stdout),
    readLines(second.stdout),
    new Response(first.stderr).text(),
    new Response(second.stderr).text(),
  ]);
  expect(firstErrors).toBe("");
  expect(secondErrors).toBe("");
  expect(await first.exited).toBe(0);
  expect(await second.exited).toBe(0);
  expect(firstLines.length).toBe(count);
  expect(secondLines.length).toBe(count);

  const kv = createKVNamespace(native.Storage.open(dir), "durable");
  const lost: string[] = [];
  for (const key of [...firstLines, ...secondLines]) {
    if ((await kv.get(key)) !== `value of ${key}`) lost.push(key);
  }
  expect(lost).toEqual([]);

  // Each shared key contains one whole write of one of the two writers.
  for (let slot = 0; slot < 10; slot++) {
    const value = await kv.get(`shared-${slot}`);
    expect(value).toMatch(/^(first|second)-:\d+$/);
  }

  let listed = 0;
  let cursor: string | undefined;
  for (;;) {
    const page = await kv.list({ cursor });
    listed += page.keys.length;
    if (page.list_complete) break;
    cursor = page.cursor;
  }
  expect(listed).toBe(2 * count + 10);

  expect(integrityCheck(dir)).toBe("ok");
});

/** Starts the D1 writer, reads `acks` acknowledgements, kills it with SIGKILL and returns every complete line. */
async function killD1WriterAfter(dir: string, acks: number): Promise<number[]> {
  const child = Bun.spawn([process.execPath, D1_WRITER, dir, "1000000"], { stdout: "pipe", stderr: "pipe" });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (text.split("\n").length <= acks) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  child.kill("SIGKILL");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  expect(await child.exited).not.toBe(0);
  expect(child.signalCode).toBe("SIGKILL");
  return text.split("\n").slice(0, -1).map(Number);
}

test("killed D1 writer keeps acknowledged batches", async () => {
  const dir = tempDir("bunflare-durability-");

  // Three kills at different points of the write stream, on one directory.
  const acknowledged: number[] = [];
  for (const acks of [40, 170, 90]) acknowledged.push(...(await killD1WriterAfter(dir, acks)));
  expect(acknowledged.length).toBeGreaterThanOrEqual(300);

  const storage = native.Storage.open(dir);
  const db = createD1Database(storage, "durable-db");
  const kv = createKVNamespace(storage, "durable");
  const orders = new Set((await db.prepare("SELECT n FROM orders").raw<[number]>()).map(([n]) => n));
  const lines = new Map(
    (await db.prepare("SELECT n, length(payload) AS size FROM lines").raw<[number, number]>()).map(([n, size]) => [n, size]),
  );
  const missingOrders = acknowledged.filter((n) => !orders.has(n));
  const missingLines = acknowledged.filter((n) => lines.get(n) !== 4096);
  const missingKeys: number[] = [];
  for (const n of acknowledged) if ((await kv.get(`order-${n}`)) !== `value ${n}`) missingKeys.push(n);
  expect(missingOrders).toEqual([]);
  expect(missingLines).toEqual([]);
  expect(missingKeys).toEqual([]);

  // A batch is all or nothing, even when the kill lands inside it.
  const halfWritten = [...orders].filter((n) => !lines.has(n));
  expect(halfWritten).toEqual([]);

  expect(integrityCheck(dir)).toBe("ok");
  expect(integrityCheck(dir, join("d1", "durable-db.sqlite"))).toBe("ok");
});

test("D1 write waits out another process's long lock", async () => {
  const dir = tempDir("bunflare-durability-");
  const db = createD1Database(native.Storage.open(dir), "shared-db");
  await db.exec("CREATE TABLE events (source TEXT NOT NULL)");

  // The other process holds the write lock for longer than SQLite's own
  // busy timeout (5 s), as a long `bunflare d1 execute --file` would.
  const holder = Bun.spawn(
    [
      process.execPath,
      "-e",
      `import { Database } from "bun:sqlite";
       const database = new Database(${JSON.stringify(join(dir, "d1", "shared-db.sqlite"))});
       database.run("BEGIN IMMEDIATE");
       database.run("INSERT INTO events (source) VALUES ('holder')");
       console.log("locked");
       await Bun.sleep(6000);
       database.run("COMMIT");`,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const reader = holder.stdout.getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value)).toBe("locked\n");

  const result = await db.prepare("INSERT INTO events (source) VALUES ('binding')").run();
  expect(result.meta.changes).toBe(1);
  expect(await holder.exited).toBe(0);

  const sources = await db.prepare("SELECT source FROM events ORDER BY source").raw<[string]>();
  expect(sources).toEqual([["binding"], ["holder"]]);
}, 20_000);

/** A Durable Object whose `/put` stores a key without awaiting it, so only the output gate delays the response. */
const DO_WRITER = `import { DurableObject } from "cloudflare:workers";
export class Writer extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/put") {
      const key = url.searchParams.get("key");
      this.ctx.storage.put(key, "value of " + key);
      return new Response("ok");
    }
    const keys = await request.json();
    const stored = [];
    for (let start = 0; start < keys.length; start += 128) {
      for (const [key, value] of await this.ctx.storage.get(keys.slice(start, start + 128))) {
        if (value === "value of " + key) stored.push(key);
      }
    }
    return Response.json(stored);
  }
}
export default { fetch(request, env) { return env.WRITER.getByName("one").fetch(request); } };`;

for (const backend of ["new_classes", "new_sqlite_classes"]) {
  test(`killed Durable Object keeps acknowledged puts (${backend})`, async () => {
    const dir = workerDir({
      "wrangler.jsonc": wranglerConfig({
        durable_objects: { bindings: [{ name: "WRITER", class_name: "Writer" }] },
        migrations: [{ tag: "v1", [backend]: ["Writer"] }],
      }),
      "src/index.ts": DO_WRITER,
    });
    const port = freePort();
    const server = spawnBun([CLI, "dev", "--port", String(port)], dir);
    await server.waitFor(/Ready on/);
    await fetchWhenListening(`http://127.0.0.1:${port}/put?key=first`);

    // Four clients write until a few hundred puts are acknowledged; then the
    // server is killed mid-stream, with requests still in flight.
    const acknowledged: string[] = ["first"];
    const clients = Array.from({ length: 4 }, async (_, client) => {
      for (let index = 0; ; index++) {
        const key = `client${client}-${index}`;
        try {
          const response = await fetch(`http://127.0.0.1:${port}/put?key=${key}`);
          if ((await response.text()) === "ok") acknowledged.push(key);
        } catch {
          return;
        }
      }
    });
    while (acknowledged.length < 300) await Bun.sleep(1);
    server.process.kill("SIGKILL");
    await server.process.exited;
    await Promise.all(clients);

    const restartedPort = freePort();
    const restarted = spawnBun([CLI, "dev", "--port", String(restartedPort)], dir);
    await restarted.waitFor(/Ready on/);
    const response = await fetchWhenListening(`http://127.0.0.1:${restartedPort}/get`, {
      method: "POST",
      body: JSON.stringify(acknowledged),
    });
    const stored = new Set((await response.json()) as string[]);
    expect(acknowledged.filter((key) => !stored.has(key))).toEqual([]);
  });
}
