import { test, expect, describe, afterEach, jest } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { startWorker, evictDurableObject, evictAllDurableObjects, type WorkerHandle } from "../lib/index.ts";
import type { DurableObjectNamespace, DurableObjectStub } from "../lib/bindings/durable-object.ts";
import { IDLE_EVICTION_MS } from "../lib/durable-object/instance.ts";
import { workerDir, wranglerConfig } from "./fixtures.ts";

const WORKER_SOURCE = join(import.meta.dir, "fixtures", "durable-object-worker.ts");

const MIGRATIONS = [{ tag: "v1", new_classes: ["Counter"], new_sqlite_classes: ["Room"] }];

const BINDINGS = {
  durable_objects: {
    bindings: [
      { name: "COUNTER", class_name: "Counter" },
      { name: "ROOM", class_name: "Room" },
    ],
  },
};

const handles: WorkerHandle[] = [];

afterEach(async () => {
  for (const handle of handles.splice(0)) await handle.stop();
  evictAllDurableObjects();
});

/** Starts the fixture Worker in a fresh directory; `extra` overrides config keys. */
async function start(extra: Record<string, unknown> = {}, dir?: string) {
  const cwd = dir ?? workerDir({});
  const config = { ...BINDINGS, migrations: MIGRATIONS, ...extra };
  await Bun.write(join(cwd, "wrangler.jsonc"), wranglerConfig(config));
  copyFileSync(WORKER_SOURCE, join(cwd, "src-index.ts"));
  await Bun.write(
    join(cwd, "src", "index.ts"),
    `export * from "../src-index.ts";\nexport { default, Room as Hall } from "../src-index.ts";\n`,
  );
  const handle = await startWorker({ cwd });
  handles.push(handle);
  const env = handle.env as { COUNTER: DurableObjectNamespace; ROOM: DurableObjectNamespace };
  return { handle, cwd, counter: env.COUNTER, room: env.ROOM };
}

/** The fixture's RPC methods, as a stub exposes them. */
type RpcMethod = (...args: any[]) => Promise<any>;
type Stub = DurableObjectStub & {
  [method in
    | "run" | "increment" | "constructionCount" | "idName" | "envKeys" | "get" | "put" | "getUser" | "greeter"
    | "callBack" | "mutate" | "throwRange" | "noSuchMethod" | "notCloneable" | "blockThenThrow" | "slowThenRead"
    | "post"]: RpcMethod;
};

function stubOf(namespace: DurableObjectNamespace, name = "test"): Stub {
  return namespace.getByName(name) as Stub;
}

/** Runs `code` inside one event of the object, with `storage`, `ctx`, `sleep` and `args` in scope. */
function run(stub: Stub, code: string, ...args: unknown[]): Promise<unknown> {
  return stub.run(code, ...args);
}

describe("namespace", () => {
  test("idFromName is deterministic", async () => {
    const first = await start();
    const id = first.counter.idFromName("alice");
    expect(id.toString()).toMatch(/^[0-9a-f]{64}$/);
    expect(first.counter.idFromName("alice").equals(id)).toBe(true);
    expect(first.counter.idFromName("bob").equals(id)).toBe(false);
    expect(first.room.idFromName("alice").toString()).not.toBe(id.toString());

    const second = await start();
    expect(second.counter.idFromName("alice").toString()).toBe(id.toString());
  });

  test("id name where production has it", async () => {
    const { counter } = await start();
    expect(counter.idFromName("alice").name).toBe("alice");
    expect(counter.getByName("alice").name).toBe("alice");
    expect(counter.newUniqueId().name).toBeUndefined();
    const parsed = counter.idFromString(counter.idFromName("alice").toString());
    expect(parsed.name).toBeUndefined();
    expect(counter.get(parsed).name).toBeUndefined();
    expect(await stubOf(counter, "alice").idName()).toBe("alice");
  });

  test("newUniqueId differs each call", async () => {
    const { counter } = await start();
    const a = counter.newUniqueId();
    const b = counter.newUniqueId({ jurisdiction: "eu" });
    expect(a.equals(b)).toBe(false);
    expect(counter.idFromString(a.toString()).equals(a)).toBe(true);
  });

  test("idFromString rejects invalid ids", async () => {
    const { counter, room } = await start();
    expect(() => counter.idFromString("xyz")).toThrow(TypeError);
    expect(() => counter.idFromString("xyz")).toThrow('Invalid Durable Object ID: must be 64 hex digits, got "xyz"');
    expect(() => counter.idFromString(room.idFromName("a").toString())).toThrow(TypeError);
    expect(() => counter.idFromString(room.idFromName("a").toString())).toThrow("is not an ID of class Counter");
  });

  test("get rejects foreign ids", async () => {
    const { counter, room } = await start();
    expect(() => counter.get(room.idFromName("a"))).toThrow(TypeError);
    expect(() => counter.get("abc" as never)).toThrow("parameter 1 is not of type 'DurableObjectId'");
  });

  test("jurisdiction scopes names", async () => {
    const { counter } = await start();
    const eu = counter.jurisdiction("eu");
    expect(eu.idFromName("a").toString()).not.toBe(counter.idFromName("a").toString());
    expect(() => counter.jurisdiction("mars")).toThrow(TypeError);
    expect(() => counter.newUniqueId({ jurisdiction: "mars" })).toThrow('Unknown jurisdiction "mars"');
  });

  test("class without migration is rejected", async () => {
    const promise = start({ migrations: [{ tag: "v1", new_classes: ["Counter"] }] });
    expect(promise).rejects.toThrow('Durable Object class "Room" has no migration');
  });

  test("class not exported fails start", async () => {
    const bindings = { bindings: [...BINDINGS.durable_objects.bindings, { name: "LOBBY", class_name: "Lobby" }] };
    const migrations = [...MIGRATIONS, { tag: "v2", new_classes: ["Lobby"] }];

    await expect(start({ durable_objects: bindings, migrations })).rejects.toThrow(
      'Durable Object binding "LOBBY" refers to class Lobby, which Worker "test-worker" does not export. Export the class from the entry module.',
    );
  });

  test("renaming a missing class fails", async () => {
    const migrations = [...MIGRATIONS, { tag: "v2", renamed_classes: [{ from: "Gone", to: "Hall" }] }];
    await expect(start({ migrations })).rejects.toThrow('migration "v2" cannot rename class "Gone": no migration created it');
  });

  test("migrations config is type-checked", async () => {
    const promise = start({ migrations: [{ new_classes: "Counter" }] });
    expect(promise).rejects.toThrow('"migrations[0].tag" is required and must be a string');
  });
});

describe("stub", () => {
  test("fetch reaches the object", async () => {
    const { counter } = await start();
    const response = await stubOf(counter, "web").fetch("http://do/path", { method: "POST" });
    expect(await response.text()).toBe("POST /path web");
  });

  test("rpc method and property", async () => {
    const { counter } = await start();
    const stub = stubOf(counter);
    expect(await stub.increment()).toBe(1);
    expect(await stub.increment()).toBe(2);
    expect(await (stub.label as unknown as Promise<string>)).toBe("counter");
  });

  test("rpc pipelines properties", async () => {
    const { counter } = await start();
    const user = stubOf(counter).getUser() as unknown as { name: Promise<string> };
    expect(await user.name).toBe("Ada");
    const whole = (await stubOf(counter).getUser()) as { joined: Date; roles: Set<string> };
    expect(whole.joined).toEqual(new Date(0));
    expect(whole.roles).toEqual(new Set(["admin"]));
  });

  test("rpc returns RpcTarget as stub", async () => {
    const { counter } = await start();
    const greeter = (await stubOf(counter).greeter("Hello")) as { greet(name: string): Promise<string> };
    expect(await greeter.greet("Ada")).toBe("Hello, Ada");
    const pipelined = stubOf(counter).greeter("Hi") as unknown as { greet(name: string): Promise<string> };
    expect(await pipelined.greet("Bob")).toBe("Hi, Bob");
  });

  test("rpc passes callbacks", async () => {
    const { counter } = await start();
    const seen: number[] = [];
    const result = await stubOf(counter).callBack(async (n: number) => {
      seen.push(n);
      return n * 2;
    });
    expect(result).toBe(41);
    expect(seen).toEqual([20]);
  });

  test("rpc clones arguments", async () => {
    const { counter } = await start();
    const input = { items: [1] };
    const output = (await stubOf(counter).mutate(input)) as { items: number[] };
    expect(input.items).toEqual([1]);
    expect(output.items).toEqual([1, 99]);
  });

  test("rpc error keeps class and message", async () => {
    const { counter } = await start();
    const error = await stubOf(counter).throwRange().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe("out of range: 7");
  });

  test("rpc rejects missing method", async () => {
    const { counter } = await start();
    const error = await stubOf(counter).noSuchMethod().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('The RPC receiver does not implement the method "noSuchMethod".');
  });

  test("rpc rejects non-serializable values", async () => {
    const { counter } = await start();
    class Local {}
    const argument = await stubOf(counter).mutate(new Local()).catch((e: unknown) => e);
    expect((argument as DOMException).name).toBe("DataCloneError");
    expect((argument as Error).message).toBe('Could not serialize object of type "Local". This type does not support serialization.');
    const symbol = await stubOf(counter).mutate(Symbol("s")).catch((e: unknown) => e);
    expect((symbol as DOMException).name).toBe("DataCloneError");
    const result = await stubOf(counter).notCloneable().catch((e: unknown) => e);
    expect((result as DOMException).name).toBe("DataCloneError");
  });

  test("stub is not thenable", async () => {
    const { counter } = await start();
    const stub = stubOf(counter);
    expect((stub as Record<string, unknown>).then).toBeUndefined();
    expect(await Promise.resolve(stub)).toBe(stub);
  });
});

describe("lifecycle", () => {
  test("one instance per id", async () => {
    const { counter } = await start();
    await stubOf(counter, "a").increment();
    await (counter.getByName("a") as Stub).increment();
    expect(await stubOf(counter, "a").constructionCount()).toBe(1);
    expect(await stubOf(counter, "a").envKeys()).toEqual(["COUNTER", "ROOM"]);
  });

  test("eviction keeps storage", async () => {
    const { counter } = await start();
    const stub = stubOf(counter, "evict");
    await stub.increment();
    evictDurableObject(stub);
    expect(await stub.increment()).toBe(2);
    expect(await stub.constructionCount()).toBe(2);
  });

  test("idle object is evicted", async () => {
    const { counter } = await start();
    const stub = stubOf(counter, "idle");
    await stub.increment();

    // An event without storage work needs no turn end, so it runs under fake
    // timers, and the idle timer it leaves behind is a fake one.
    jest.useFakeTimers();
    try {
      await stub.idName();
      jest.advanceTimersByTime(IDLE_EVICTION_MS - 1);
      expect(await stub.constructionCount()).toBe(1);
      jest.advanceTimersByTime(IDLE_EVICTION_MS + 1);
    } finally {
      jest.useRealTimers();
    }
    expect(await stub.constructionCount()).toBe(2);
    expect(await stub.increment()).toBe(2);
  });

  test("reload restarts objects", async () => {
    const { handle } = await start();
    const env = () => handle.env as { COUNTER: DurableObjectNamespace };
    expect(await stubOf(env().COUNTER, "reload").increment()).toBe(1);
    await handle.reload();
    expect(await stubOf(env().COUNTER, "reload").increment()).toBe(2);
    expect(await stubOf(env().COUNTER, "reload").constructionCount()).toBe(1);
  });

  test("abort resets and drops unflushed writes", async () => {
    const { counter } = await start();
    const stub = stubOf(counter, "abort");
    await stub.put("kept", 1);
    const error = await run(stub, `storage.put("lost", 1); ctx.abort("stop here");`).catch((e: unknown) => e);
    expect((error as Error).message).toBe("stop here");
    expect(await stub.get("kept")).toBe(1);
    expect(await stub.get("lost")).toBeUndefined();
    expect(await stub.constructionCount()).toBe(2);
  });

  test("blockConcurrencyWhile throw resets", async () => {
    const { counter } = await start();
    const stub = stubOf(counter, "bcw");
    await stub.increment();
    await expect(stub.blockThenThrow()).rejects.toThrow("block failed");
    expect(await stub.constructionCount()).toBe(2);
    expect(await stub.increment()).toBe(2);
  });

  test("state survives a restart", async () => {
    const cwd = workerDir({});
    const script = `
      import { startWorker } from ${JSON.stringify(join(import.meta.dir, "..", "lib", "index.ts"))};
      const handle = await startWorker({ cwd: ${JSON.stringify(cwd)} });
      console.log("value=" + (await handle.env.COUNTER.getByName("r").increment()));
      await handle.stop();
    `;
    const first = await start({}, cwd);
    await first.handle.stop();
    handles.splice(0);
    await Bun.write(join(cwd, "restart.ts"), script);
    for (const expected of ["value=1", "value=2"]) {
      const child = Bun.spawnSync([process.execPath, join(cwd, "restart.ts")], { cwd, env: { ...Bun.env, BUNFLARE_LOG: "error" } });
      expect(child.stdout.toString()).toContain(expected);
    }
  });

  test("renamed class keeps its data", async () => {
    const dir = workerDir({});
    const first = await start({}, dir);
    await stubOf(first.room, "r").post("ada", "hello");
    await first.handle.stop();
    evictAllDurableObjects();

    // The Worker now exports the same code as Hall, and the config renames Room to Hall.
    const migrations = [...MIGRATIONS, { tag: "v2", renamed_classes: [{ from: "Room", to: "Hall" }] }];
    const bindings = { bindings: [{ name: "COUNTER", class_name: "Counter" }, { name: "ROOM", class_name: "Hall" }] };
    const second = await start({ migrations, durable_objects: bindings }, dir);
    expect(existsSync(join(dir, ".bunflare", "do", "Room"))).toBe(false);
    expect(existsSync(join(dir, ".bunflare", "do", "Hall"))).toBe(true);
    const rows = await run(stubOf(second.room, "r"), `return storage.sql.exec("SELECT author FROM messages").toArray()`);
    expect(rows).toEqual([{ author: "ada" }]);
  });

  test("deleted class loses its data", async () => {
    const dir = workerDir({});
    const first = await start({}, dir);
    await stubOf(first.room, "r").post("ada", "hello");
    await first.handle.stop();
    evictAllDurableObjects();

    const migrations = [...MIGRATIONS, { tag: "v2", deleted_classes: ["Room"] }];
    const second = start({ migrations }, dir);
    await expect(second).rejects.toThrow('Durable Object class "Room" has no migration');
    expect(existsSync(join(dir, ".bunflare", "do", "Room"))).toBe(false);
  });
});

describe("storage", () => {
  test("get put delete one key", async () => {
    const { counter } = await start();
    const stub = stubOf(counter);
    expect(await run(stub, `
      const before = await storage.get("k");
      await storage.put("k", { a: 1 });
      const after = await storage.get("k");
      const existed = await storage.delete("k");
      const again = await storage.delete("k");
      return [before, after, existed, again, await storage.get("k")];
    `)).toEqual([undefined, { a: 1 }, true, false, undefined]);
  });

  test("many keys at once", async () => {
    const { counter } = await start();
    const result = (await run(stubOf(counter), `
      await storage.put({ b: 2, a: 1, c: 3 });
      const got = await storage.get(["c", "a", "missing"]);
      const deleted = await storage.delete(["a", "b", "missing"]);
      return [[...got], deleted, [...(await storage.list())]];
    `)) as unknown[];
    expect(result).toEqual([[["a", 1], ["c", 3]], 2, [["c", 3]]]);
  });

  test("list bounds and order", async () => {
    const { counter } = await start();
    const keys = (await run(stubOf(counter), `
      await storage.put({ a: 0, ab: 0, b: 0, b1: 0, c: 0, "é": 0 });
      const keys = async (options) => [...(await storage.list(options)).keys()];
      return [
        await keys({}),
        await keys({ prefix: "b" }),
        await keys({ start: "ab", end: "c" }),
        await keys({ startAfter: "ab", limit: 2 }),
        await keys({ reverse: true, limit: 2 }),
      ];
    `)) as string[][];
    expect(keys).toEqual([
      ["a", "ab", "b", "b1", "c", "é"],
      ["b", "b1"],
      ["ab", "b", "b1"],
      ["b", "b1"],
      ["é", "c"],
    ]);
  });

  test("list rejects bad options", async () => {
    const { counter } = await start();
    const stub = stubOf(counter);
    await expect(run(stub, `await storage.list({ limit: 0 })`)).rejects.toThrow("List limit must be positive.");
    await expect(run(stub, `await storage.list({ start: "a", startAfter: "b" })`)).rejects.toThrow(
      "list() cannot be called with both start and startAfter values.",
    );
  });

  test("values round-trip by structured clone", async () => {
    const { counter } = await start();
    const value = {
      date: new Date(1234),
      map: new Map([[1, { deep: [1n] }]]),
      set: new Set(["x"]),
      bytes: new Uint8Array([1, 2, 3]),
      buffer: new Uint8Array([9]).buffer,
      big: 2n ** 70n,
      nested: { list: [null, undefined, "s"] },
    };
    const stub = stubOf(counter);
    await stub.put("v", value);
    evictDurableObject(stub);
    expect(await stub.get("v")).toEqual(value);
  });

  test("read returns a copy", async () => {
    const { counter } = await start();
    expect(await run(stubOf(counter), `
      const value = { n: 1 };
      await storage.put("k", value);
      value.n = 2;
      const first = await storage.get("k");
      first.n = 3;
      return (await storage.get("k")).n;
    `)).toBe(1);
  });

  test("undefined value is rejected", async () => {
    const { counter } = await start();
    const error = await run(stubOf(counter), `await storage.put("k", undefined)`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe("put() called with undefined value.");
  });

  test("non-cloneable value is rejected", async () => {
    const { counter } = await start();
    const error = await run(stubOf(counter), `await storage.put("f", () => 1)`).catch((e: unknown) => e);
    expect((error as DOMException).name).toBe("DataCloneError");
  });

  test("kv-backed size limits", async () => {
    const { counter } = await start();
    const stub = stubOf(counter);
    const key = await run(stub, `await storage.put("k".repeat(2049), 1)`).catch((e: unknown) => e);
    expect(key).toBeInstanceOf(RangeError);
    expect((key as Error).message).toBe("Keys cannot be larger than 2048 bytes.");
    const value = await run(stub, `await storage.put("k", "v".repeat(131072))`).catch((e: unknown) => e);
    expect(value).toBeInstanceOf(RangeError);
    expect((value as Error).message).toBe("Values cannot be larger than 131072 bytes.");
    const many = await run(stub, `await storage.get(Array.from({ length: 129 }, (_, i) => "k" + i))`).catch((e: unknown) => e);
    expect(many).toBeInstanceOf(RangeError);
    expect((many as Error).message).toBe("Maximum number of keys in one operation is 128, got 129.");
    expect(await run(stub, `return [...(await storage.list())].length`)).toBe(0);
  });

  // Production measures V8's serialization, where a 131,066-byte string takes
  // exactly 131,072 bytes; bunflare measures JavaScriptCore's, 3 bytes longer.
  test.todo("kv-backed value at the exact limit", async () => {
    const { counter } = await start();
    expect(await run(stubOf(counter), `await storage.put("k", "v".repeat(131066)); return (await storage.get("k")).length`)).toBe(131066);
  });

  test("sqlite-backed size limit", async () => {
    const { room } = await start();
    const stub = stubOf(room);
    await run(stub, `await storage.put("k".repeat(4000), 1)`);
    const error = await run(stub, `await storage.put("big", "v".repeat(2_000_001))`).catch((e: unknown) => e);
    expect((error as Error).message).toBe("string or blob too big: SQLITE_TOOBIG");
  });

  test("deleteAll clears keys and tables", async () => {
    const { room } = await start();
    const stub = stubOf(room);
    await stub.post("ada", "hi");
    expect(await run(stub, `
      await storage.put("k", 1);
      await storage.deleteAll();
      const tables = storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'messages'").toArray();
      return [await storage.get("k"), tables.length];
    `)).toEqual([undefined, 0]);
  });

  test("transaction commits and rolls back", async () => {
    const { counter } = await start();
    const stub = stubOf(counter);
    expect(await run(stub, `
      await storage.transaction(async (txn) => { await txn.put("a", 1); await txn.put("b", 2); });
      await storage.transaction(async (txn) => { await txn.put("a", 10); txn.rollback(); });
      try {
        await storage.transaction(async (txn) => { await txn.put("b", 20); throw new Error("no"); });
      } catch {}
      return [await storage.get("a"), await storage.get("b")];
    `)).toEqual([1, 2]);
  });

  test("transactionSync covers sql and kv", async () => {
    const { room } = await start();
    const stub = stubOf(room);
    expect(await run(stub, `
      try {
        storage.transactionSync(() => {
          storage.kv.put("k", 1);
          storage.sql.exec("INSERT INTO messages (author, body) VALUES ('a', 'b')");
          throw new Error("undo");
        });
      } catch {}
      const value = storage.transactionSync(() => { storage.kv.put("k", 2); return "done"; });
      return [value, storage.kv.get("k"), storage.sql.exec("SELECT count(*) AS n FROM messages").one().n];
    `)).toEqual(["done", 2, 0]);
  });

  test("transactionSync needs sqlite backend", async () => {
    const { counter } = await start();
    const error = await run(stubOf(counter), `storage.transactionSync(() => 1)`).catch((e: unknown) => e);
    expect((error as Error).message).toContain("SQL is not enabled for this Durable Object class.");
  });

  test("sync resolves", async () => {
    const { counter } = await start();
    expect(await run(stubOf(counter), `await storage.put("k", 1); await storage.sync(); return "synced";`)).toBe("synced");
  });

  test("alarm is stored", async () => {
    const { counter } = await start();
    const stub = stubOf(counter);
    expect(await run(stub, `
      const before = await storage.getAlarm();
      await storage.setAlarm(new Date(5000));
      const set = await storage.getAlarm();
      await storage.setAlarm(7000);
      const moved = await storage.getAlarm();
      await storage.deleteAlarm();
      return [before, set, moved, await storage.getAlarm()];
    `)).toEqual([null, 5000, 7000, null]);
  });

  test("setAlarm needs an alarm handler", async () => {
    const { room, counter } = await start();
    const error = await run(stubOf(room), `await storage.setAlarm(Date.now())`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe("Your Durable Object class must have an alarm() handler in order to call setAlarm()");
    const invalid = await run(stubOf(counter), `await storage.setAlarm("soon")`).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(TypeError);
    expect((invalid as Error).message).toBe("setAlarm() requires a Date or a number of milliseconds since the epoch");
  });

  test("writes in one turn commit together", async () => {
    const { counter, cwd } = await start();
    const stub = stubOf(counter, "turn");
    await run(stub, `storage.put("a", 1); storage.put("b", 2);`);
    const file = join(cwd, ".bunflare", "do", "Counter", `${counter.idFromName("turn")}.sqlite`);
    const reader = new Database(file, { readonly: true });
    const count = reader.query("SELECT count(*) AS n FROM _cf_KV").get() as { n: number };
    reader.close();
    // The response waited for the commit (output gate), so both rows are on disk.
    expect(count.n).toBe(2);
  });
});

describe("sql", () => {
  test("exec returns a cursor", async () => {
    const { room } = await start();
    const stub = stubOf(room);
    await stub.post("ada", "one");
    await stub.post("bob", "two");
    expect(await run(stub, `
      const cursor = storage.sql.exec("SELECT author, body FROM messages ORDER BY id");
      const first = cursor.next();
      const rest = cursor.toArray();
      const raw = [...storage.sql.exec("SELECT author FROM messages ORDER BY id").raw()];
      const iterated = [];
      for (const row of storage.sql.exec("SELECT id FROM messages ORDER BY id")) iterated.push(row.id);
      return [cursor.columnNames, first, rest, raw, iterated, cursor.rowsRead];
    `)).toEqual([["author", "body"], { done: false, value: { author: "ada", body: "one" } }, [{ author: "bob", body: "two" }], [["ada"], ["bob"]], [1, 2], 2]);
  });

  test("exec counts rows written", async () => {
    const { room } = await start();
    expect(await run(stubOf(room), `
      const cursor = storage.sql.exec("INSERT INTO messages (author) VALUES ('a'), ('b') RETURNING id");
      return [cursor.toArray(), cursor.rowsWritten];
    `)).toEqual([[{ id: 1 }, { id: 2 }], 2]);
  });

  test("one needs exactly one row", async () => {
    const { room } = await start();
    const stub = stubOf(room);
    await expect(run(stub, `storage.sql.exec("SELECT * FROM messages").one()`)).rejects.toThrow(
      "Expected exactly one result from SQL query, but got no results.",
    );
    await stub.post("a", "1");
    await stub.post("b", "2");
    await expect(run(stub, `storage.sql.exec("SELECT * FROM messages").one()`)).rejects.toThrow(
      "Expected exactly one result from SQL query, but got multiple results.",
    );
  });

  test("blobs come back as ArrayBuffer", async () => {
    const { room } = await start();
    const bytes = (await run(stubOf(room), `
      storage.sql.exec("INSERT INTO messages (data) VALUES (?)", new Uint8Array([1, 2, 255]));
      const { data } = storage.sql.exec("SELECT data FROM messages").one();
      return [data instanceof ArrayBuffer, [...new Uint8Array(data)]];
    `)) as unknown[];
    expect(bytes).toEqual([true, [1, 2, 255]]);
  });

  test("exec rejects transaction statements", async () => {
    const { room } = await start();
    await expect(run(stubOf(room), `storage.sql.exec("BEGIN TRANSACTION")`)).rejects.toThrow(
      "To execute a transaction, please use the state.storage.transaction() or state.storage.transactionSync() APIs",
    );
  });

  test("exec rejects reserved tables", async () => {
    const { room } = await start();
    await expect(run(stubOf(room), `storage.sql.exec("SELECT * FROM _cf_KV")`)).rejects.toThrow(
      "access to _cf_KV is prohibited: SQLITE_AUTH",
    );
  });

  test("exec reports sql errors", async () => {
    const { room } = await start();
    await expect(run(stubOf(room), `storage.sql.exec("SELECT * FROM nowhere")`)).rejects.toThrow(
      "no such table: nowhere: SQLITE_ERROR",
    );
  });

  test("exec checks binding count", async () => {
    const { room } = await start();
    await expect(run(stubOf(room), `storage.sql.exec("SELECT ?", 1, 2)`)).rejects.toThrow(
      "Wrong number of parameter bindings for SQL query: the query has 1, got 2.",
    );
  });

  test("sql needs sqlite backend", async () => {
    const { counter } = await start();
    await expect(run(stubOf(counter), `storage.sql`)).rejects.toThrow("SQL is not enabled for this Durable Object class.");
  });

  test("databaseSize and file location", async () => {
    const { room, cwd } = await start();
    const stub = stubOf(room, "size");
    const size = await run(stub, `return storage.sql.databaseSize`);
    expect(size).toBeGreaterThan(0);
    expect(existsSync(join(cwd, ".bunflare", "do", "Room", `${room.idFromName("size")}.sqlite`))).toBe(true);
  });

  test("sync kv api", async () => {
    const { room } = await start();
    expect(await run(stubOf(room), `
      storage.kv.put("b", 2);
      storage.kv.put("a", { x: 1 });
      const deleted = storage.kv.delete("b");
      return [storage.kv.get("a"), storage.kv.get("b"), deleted, [...storage.kv.list()]];
    `)).toEqual([{ x: 1 }, undefined, true, [["a", { x: 1 }]]]);
  });

  test("bookmark restore on next session", async () => {
    const { room } = await start();
    const stub = stubOf(room, "pitr");
    await stub.post("ada", "kept");
    const bookmark = await run(stub, `return storage.getCurrentBookmark()`);
    await stub.post("bob", "undone");
    const forNow = await run(stub, `return storage.getBookmarkForTime(Date.now())`);
    expect(forNow).toBe(bookmark);
    const undo = await run(stub, `return storage.onNextSessionRestoreBookmark(args[0])`, bookmark);
    expect(typeof undo).toBe("string");
    evictDurableObject(stub);
    expect(await run(stub, `return storage.sql.exec("SELECT author FROM messages").toArray()`)).toEqual([{ author: "ada" }]);
    await expect(run(stub, `return storage.onNextSessionRestoreBookmark("nope")`)).rejects.toThrow('Invalid bookmark: "nope"');
  });
});

describe("gates", () => {
  test("concurrent increments both count", async () => {
    const { handle } = await start();
    const responses = await Promise.all([handle.fetch("/increment?name=race"), handle.fetch("/increment?name=race")]);
    const values = await Promise.all(responses.map((response) => response.text()));
    expect(values.sort()).toEqual(["1", "2"]);
  });

  test("concurrent rpc increments", async () => {
    const { counter } = await start();
    const stub = stubOf(counter, "rpc-race");
    const values = await Promise.all(Array.from({ length: 10 }, () => stub.increment()));
    expect((values as number[]).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  test("storage awaits hold other events", async () => {
    const { counter } = await start();
    const stub = stubOf(counter, "hold");
    const writer = run(stub, `for (let i = 1; i <= 50; i++) await storage.put("k", i);`);
    const reader = stub.get("k");
    await writer;
    expect(await reader).toBe(50);
  });

  test("other io lets events interleave", async () => {
    const { counter } = await start();
    const stub = stubOf(counter, "interleave");
    const order: string[] = [];
    const slow = stub.slowThenRead(50).then(() => order.push("slow"));
    const fast = stub.increment().then(() => order.push("fast"));
    await Promise.all([slow, fast]);
    expect(order).toEqual(["fast", "slow"]);
  });

  test("blockConcurrencyWhile holds delivery", async () => {
    const { counter } = await start();
    const stub = stubOf(counter, "block");
    const blocker = run(stub, `
      await ctx.blockConcurrencyWhile(async () => { await sleep(30); await storage.put("x", "set"); });
    `);
    await Bun.sleep(5);
    const reader = stub.get("x");
    await blocker;
    expect(await reader).toBe("set");
  });

  test("constructor blockConcurrencyWhile runs first", async () => {
    const { room } = await start();
    // Room creates its table inside blockConcurrencyWhile after a sleep.
    expect(await stubOf(room, "ctor").post("ada", "first")).toBe(1);
  });
});
