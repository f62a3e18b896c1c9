import { test, expect } from "bun:test";
import { mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createD1Database } from "../lib/bindings/d1.ts";
import { createKVNamespace } from "../lib/bindings/kv.ts";
import { native } from "../lib/native.ts";

test("storage creates data.sqlite with the current schema", () => {
  const dir = mkdtempSync(join(tmpdir(), "bunflare-native-"));
  const storage = native.Storage.open(join(dir, ".bunflare"));
  expect(existsSync(join(dir, ".bunflare", "data.sqlite"))).toBe(true);
  expect(storage.schemaVersion).toBeGreaterThan(0);
  expect(storage.path).toBe(join(dir, ".bunflare"));
});

test("storage opens in memory without a path", () => {
  const storage = native.Storage.open(null);
  expect(storage.path).toBeNull();
});

test("in-memory stores are separate", async () => {
  const first = native.Storage.open(null);
  const second = native.Storage.open(null);

  await createKVNamespace(first, "ns").put("key", "first");
  expect(await createKVNamespace(first, "ns").get("key")).toBe("first");
  expect(await createKVNamespace(second, "ns").get("key")).toBeNull();

  const firstDb = createD1Database(first, "db");
  await firstDb.exec("CREATE TABLE t (x)");
  await firstDb.prepare("INSERT INTO t VALUES (1)").run();
  // The same database name in the same store is one database.
  expect(await createD1Database(first, "db").prepare("SELECT x FROM t").first("x")).toBe(1);
  const missing = createD1Database(second, "db").prepare("SELECT x FROM t").first("x");
  await expect(missing).rejects.toThrow("D1_ERROR: no such table: t: SQLITE_ERROR");
});
