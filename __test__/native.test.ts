import { test, expect } from "bun:test";
import { mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
