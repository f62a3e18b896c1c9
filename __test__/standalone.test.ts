// Bindings created without a Worker, from `bunflare`'s createKV, createD1,
// createCaches and createQueueProducer.

import { expect, test } from "bun:test";
import { createCaches, createD1, createKV, createQueueProducer } from "../lib/index.ts";

test("createKV stores values", async () => {
  const kv = createKV();
  await kv.put("k", "v");

  expect(await kv.get("k")).toBe("v");
});

test("createKV calls are separate namespaces", async () => {
  const first = createKV();
  const second = createKV();
  await first.put("k", "first");

  expect(await second.get("k")).toBeNull();
});

test("createKV with an id shares the namespace", async () => {
  await createKV("shared").put("k", "v");

  expect(await createKV("shared").get("k")).toBe("v");
});

test("createKV keeps production's errors", async () => {
  await expect(createKV().put("", "v")).rejects.toThrow(new TypeError("Key name cannot be empty."));
});

test("createD1 runs SQL", async () => {
  const db = createD1();
  await db.exec("CREATE TABLE t (a INTEGER)");
  await db.prepare("INSERT INTO t VALUES (?)").bind(1).run();

  expect(await db.prepare("SELECT a FROM t").first("a")).toBe(1);
});

test("createD1 rejects bad names", () => {
  expect(() => createD1("../escape")).toThrow('invalid D1 database name "../escape"');
});

test("createCaches stores responses", async () => {
  const cache = await createCaches().open("unit");
  await cache.put("https://example.com/a", new Response("body", { headers: { "cache-control": "max-age=60" } }));

  expect(await (await cache.match("https://example.com/a"))!.text()).toBe("body");
});

test("createQueueProducer sends messages", async () => {
  const queue = createQueueProducer<{ n: number }>();

  await queue.send({ n: 1 });
  await expect(queue.send(undefined as never)).rejects.toThrow(new TypeError("Message body cannot be undefined"));
});
