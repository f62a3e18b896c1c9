// The bun test harness without a config, and the native storage reset and
// snapshot it builds on.

import { expect, test } from "bun:test";
import { native } from "../lib/native.ts";
import { createKVNamespace } from "../lib/bindings/kv.ts";
import { createD1Database } from "../lib/bindings/d1.ts";
import { TestHarness } from "../lib/test/harness.ts";

test("harness without config has no Worker", async () => {
  const harness = new TestHarness(null);

  await expect(harness.load()).rejects.toThrow(
    `Cannot call the Worker: no Worker entry module. Set "main" in a wrangler config in ${process.cwd()} (or BUNFLARE_CONFIG).`,
  );
});

test("storage reset empties KV and D1", async () => {
  const storage = native.Storage.open(null);
  const kv = createKVNamespace(storage, "ns");
  const db = createD1Database(storage, "db");
  await kv.put("k", "v");
  await db.exec("CREATE TABLE t (a)");

  storage.reset();

  expect(await kv.get("k")).toBeNull();
  expect((await db.prepare("SELECT name FROM sqlite_schema").all()).results).toEqual([]);
});

test("storage restore returns to snapshot", async () => {
  const storage = native.Storage.open(null);
  const kv = createKVNamespace(storage, "ns");
  const db = createD1Database(storage, "db");
  await kv.put("k", "before");
  await db.exec("CREATE TABLE t (a)");
  const snapshot = storage.snapshot();

  await kv.put("k", "after");
  await db.exec("DROP TABLE t");
  storage.restore(snapshot);

  expect(await kv.get("k")).toBe("before");
  expect((await db.prepare("SELECT name FROM sqlite_schema").all()).results).toEqual([{ name: "t" }]);
});

test("harness advanceClock rejects bad times", async () => {
  const harness = new TestHarness(null);

  await expect(harness.advanceClock(Number.NaN)).rejects.toThrow(
    new TypeError("advanceClock() expects a non-negative number of milliseconds, got NaN."),
  );
});
