// The counter and the chat room, tested from inside the objects with the
// Durable Object helpers of cloudflare:test.
import { expect, test } from "bun:test";
import { env } from "cloudflare:workers";
import { SELF, evictDurableObject, listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { ChatRoom, Counter } from "../src/index.ts";

test("counter increments through the Worker", async () => {
  await SELF.fetch("http://localhost/counter/visits/increment", { method: "POST" });
  const response = await SELF.fetch("http://localhost/counter/visits/increment", { method: "POST" });

  expect(await response.text()).toContain("2");
  const stored = await runInDurableObject(env.COUNTER.getByName("visits"), async (instance: Counter, state: any) => {
    expect(instance).toBeInstanceOf(Counter);
    return await state.storage.get("value");
  });
  expect(stored).toBe(2);
});

test("counter value survives eviction", async () => {
  const stub = env.COUNTER.getByName("durable");
  await stub.increment();

  await evictDurableObject(stub);

  expect(await stub.value()).toBe(1);
});

test("objects of this file are listed", async () => {
  const stub = env.COUNTER.getByName("listed");
  await stub.increment();

  const ids = (await listDurableObjectIds(env.COUNTER)).map(String).sort();

  // The counters the earlier tests of this file used are listed too.
  const expected = ["visits", "durable", "listed"].map((name) => env.COUNTER.idFromName(name).toString()).sort();
  expect(ids).toEqual(expected);
});

test("room alarm deletes old messages", async () => {
  const room = env.CHAT.getByName("lobby");
  await room.post("ada", "hello");
  await runInDurableObject(room, (_instance: ChatRoom, state: any) => {
    state.storage.sql.exec("UPDATE messages SET sent_at = '2000-01-01T00:00:00.000Z'");
  });

  expect(await runDurableObjectAlarm(room)).toBe(true);

  expect(await room.list()).toEqual([]);
  expect(await runDurableObjectAlarm(room)).toBe(false);
});
