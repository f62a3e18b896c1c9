import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKVNamespace } from "../lib/bindings/kv.ts";
import { native } from "../lib/native.ts";

const WRITER = join(import.meta.dir, "fixtures", "kv-writer.ts");

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "bunflare-durability-"));
}

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

/** Runs SQLite's own consistency check on data.sqlite, read-only. */
function integrityCheck(dir: string): string {
  const database = new Database(join(dir, "data.sqlite"), { readonly: true });
  try {
    const row = database.query("PRAGMA integrity_check").get() as { integrity_check: string };
    return row.integrity_check;
  } finally {
    database.close();
  }
}

test("killed writer keeps acknowledged puts", async () => {
  const dir = tempDir();
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
  const dir = tempDir();
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
