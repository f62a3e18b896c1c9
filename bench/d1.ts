// Compares the D1 binding with raw bun:sqlite on the same schema and file
// settings (WAL, synchronous=NORMAL): primary-key selects and single-row
// inserts. Run with `bun bench/d1.ts`; it takes a few seconds.

import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native } from "../lib/native.ts";
import { createD1Database } from "../lib/bindings/d1.ts";

const ROWS = 10_000;
/** How long each measurement runs, in milliseconds. */
const MEASURE_MS = 1_000;

const SCHEMA = "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, age INTEGER)";

/** Runs `operation` repeatedly for MEASURE_MS after a short warm-up and returns operations per second. */
async function measure(operation: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < 1_000; i++) await operation(i);
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < MEASURE_MS) {
    for (let batch = 0; batch < 100; batch++) await operation(count++);
  }
  return count / ((performance.now() - started) / 1000);
}

const dir = mkdtempSync(join(tmpdir(), "bunflare-bench-d1-"));
try {
  const storage = native.Storage.open(join(dir, ".bunflare"));
  const d1 = createD1Database(storage, "bench");
  await d1.exec(SCHEMA);

  const raw = new Database(join(dir, "raw.sqlite"));
  raw.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
  raw.exec(SCHEMA);

  // The same rows in both databases.
  const seed = Array.from({ length: ROWS }, (_, i) => [i + 1, `user${i}`, `user${i}@example.com`, 20 + (i % 50)]);
  await d1.batch(seed.map((row) => d1.prepare("INSERT INTO users VALUES (?, ?, ?, ?)").bind(...row)));
  const rawInsertSeed = raw.prepare("INSERT INTO users VALUES (?, ?, ?, ?)");
  raw.transaction(() => seed.forEach((row) => rawInsertSeed.run(...(row as [number, string, string, number]))))();

  const d1Select = d1.prepare("SELECT * FROM users WHERE id = ?");
  const rawSelect = raw.prepare("SELECT * FROM users WHERE id = ?");
  const selectBinding = await measure((i) => d1Select.bind((i % ROWS) + 1).first());
  const selectRaw = await measure((i) => rawSelect.get((i % ROWS) + 1));

  const d1Insert = d1.prepare("INSERT INTO users (name, email, age) VALUES (?, ?, ?)");
  const rawInsert = raw.prepare("INSERT INTO users (name, email, age) VALUES (?, ?, ?)");
  const insertBinding = await measure((i) => d1Insert.bind(`new${i}`, `new${i}@example.com`, i % 90).run());
  const insertRaw = await measure((i) => rawInsert.run(`new${i}`, `new${i}@example.com`, i % 90));

  const format = (n: number) => Math.round(n).toLocaleString("en-US").padStart(10);
  console.log(`operation          binding ops/s  bun:sqlite ops/s  binding/raw`);
  console.log(`select by key     ${format(selectBinding)}        ${format(selectRaw)}        ${(selectBinding / selectRaw).toFixed(2)}`);
  console.log(`insert one row    ${format(insertBinding)}        ${format(insertRaw)}        ${(insertBinding / insertRaw).toFixed(2)}`);
  raw.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
