// Compares KV point reads and writes through the binding with raw bun:sqlite
// doing the same work on the same schema (WAL, synchronous=NORMAL, one
// IMMEDIATE transaction per put). Prints ops/s and binding/raw ratios.
//
// Run: bun bench/kv.ts [seconds per case, default 2]. Each case stops after
// that time or its operation count, whichever comes first, so a full run
// stays well under a minute.

import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKVNamespace } from "../lib/bindings/kv.ts";
import { native } from "../lib/native.ts";

const SECONDS_PER_CASE = Number(process.argv[2] ?? 2);
const KEY_COUNT = 10_000;
const VALUE = "x".repeat(100);

/** Runs `operation` for up to `SECONDS_PER_CASE` or `maxOps` calls and returns ops/s. */
async function measure(name: string, maxOps: number, operation: (i: number) => unknown): Promise<number> {
  const deadline = performance.now() + SECONDS_PER_CASE * 1000;
  const started = performance.now();
  let ops = 0;
  while (ops < maxOps && (ops % 256 !== 0 || performance.now() < deadline)) {
    const result = operation(ops);
    if (result instanceof Promise) await result;
    ops++;
  }
  const rate = ops / ((performance.now() - started) / 1000);
  console.log(`${name.padEnd(26)} ${Math.round(rate).toLocaleString("en-US").padStart(12)} ops/s  (${ops} ops)`);
  return rate;
}

function keyOf(i: number): string {
  return `key-${i % KEY_COUNT}`;
}

const dir = mkdtempSync(join(tmpdir(), "bunflare-bench-kv-"));
try {
  // The binding, on its own data directory.
  const kv = createKVNamespace(native.Storage.open(join(dir, "binding")), "bench");

  // Raw bun:sqlite on the schema of migration 1.
  const raw = new Database(join(dir, "raw.sqlite"));
  raw.exec("PRAGMA journal_mode = WAL");
  raw.exec("PRAGMA synchronous = NORMAL");
  raw.exec(`CREATE TABLE kv_entries (
    namespace TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,
    expiration INTEGER, metadata TEXT, UNIQUE (namespace, key))`);
  const rawPut = raw.prepare(
    `INSERT INTO kv_entries (namespace, key, value, expiration, metadata) VALUES (?1, ?2, ?3, NULL, NULL)
     ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expiration = excluded.expiration, metadata = excluded.metadata`,
  );
  const rawPutTransaction = raw.transaction((key: Uint8Array, value: Uint8Array) => rawPut.run("bench", key, value));
  const rawGet = raw.prepare("SELECT value, expiration FROM kv_entries WHERE namespace = ?1 AND key = ?2");
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  console.log(`bun ${Bun.version}, ${KEY_COUNT} distinct keys, ${VALUE.length}-byte values, up to ${SECONDS_PER_CASE} s per case\n`);

  const bindingPut = await measure("put  binding (await)", 50_000, (i) => kv.put(keyOf(i), VALUE));
  const rawPutRate = await measure("put  raw bun:sqlite", 50_000, (i) =>
    rawPutTransaction.immediate(encoder.encode(keyOf(i)), encoder.encode(VALUE)),
  );

  const bindingGet = await measure("get  binding (await)", 500_000, (i) => kv.get(keyOf(i)));
  const rawGetRate = await measure("get  raw bun:sqlite", 500_000, (i) => {
    const row = rawGet.get("bench", encoder.encode(keyOf(i))) as { value: Uint8Array; expiration: number | null } | null;
    return row === null ? null : decoder.decode(row.value);
  });

  console.log(`\nput binding/raw: ${(bindingPut / rawPutRate).toFixed(2)}`);
  console.log(`get binding/raw: ${(bindingGet / rawGetRate).toFixed(2)}`);
  raw.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
