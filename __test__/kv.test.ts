import { afterEach, describe, expect, test } from "bun:test";
import { createKVNamespace, type KVNamespace } from "../lib/bindings/kv.ts";
import { native } from "../lib/native.ts";
import { tempDir, rejection, expectError } from "./fixtures.ts";

const MIB = 1024 * 1024;

function openKv(dir = tempDir("bunflare-kv-"), namespaceId = "test-ns"): { dir: string; kv: KVNamespace } {
  return { dir, kv: createKVNamespace(native.Storage.open(dir), namespaceId) };
}

function nowSeconds(): number {
  return Math.floor(native.clockNow() / 1000);
}

afterEach(() => native.resetClock());

describe("get and put", () => {
  test("text round trip", async () => {
    const { kv } = openKv();
    await kv.put("greeting", "héllo 😀");
    expect(await kv.get("greeting")).toBe("héllo 😀");
    expect(await kv.get("greeting", "text")).toBe("héllo 😀");
    expect(await kv.get("greeting", { type: "text" })).toBe("héllo 😀");
  });

  test("json type parses", async () => {
    const { kv } = openKv();
    await kv.put("doc", JSON.stringify({ a: [1, 2], b: null }));
    expect(await kv.get("doc", "json")).toEqual({ a: [1, 2], b: null });
    expect(await kv.get("doc", { type: "json", cacheTtl: 60 })).toEqual({ a: [1, 2], b: null });
  });

  test("arrayBuffer type returns bytes", async () => {
    const { kv } = openKv();
    await kv.put("bin", new Uint8Array([0, 255, 7]).buffer);
    const value = await kv.get("bin", "arrayBuffer");
    expect(value).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(value as ArrayBuffer)]).toEqual([0, 255, 7]);
  });

  test("ArrayBufferView stores only its window", async () => {
    const { kv } = openKv();
    const backing = new Uint8Array([9, 1, 2, 3, 9]);
    await kv.put("view", backing.subarray(1, 4));
    await kv.put("dataview", new DataView(backing.buffer, 3, 2));
    expect([...new Uint8Array((await kv.get("view", "arrayBuffer")) as ArrayBuffer)]).toEqual([1, 2, 3]);
    expect([...new Uint8Array((await kv.get("dataview", "arrayBuffer")) as ArrayBuffer)]).toEqual([3, 9]);
  });

  test("stream put and stream get", async () => {
    const { kv } = openKv();
    const chunks = ["part one, ", "part two"];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
        controller.close();
      },
    });
    await kv.put("streamed", body);
    const stream = (await kv.get("streamed", "stream")) as ReadableStream;
    expect(stream).toBeInstanceOf(ReadableStream);
    expect(await new Response(stream).text()).toBe("part one, part two");
  });

  test("empty value stream", async () => {
    const { kv } = openKv();
    await kv.put("empty", "");
    expect(await kv.get("empty")).toBe("");
    expect(await new Response((await kv.get("empty", "stream")) as ReadableStream).text()).toBe("");
  });

  test("invalid UTF-8 decodes with replacement", async () => {
    const { kv } = openKv();
    await kv.put("bad", new Uint8Array([0x61, 0xff, 0x62]));
    expect(await kv.get("bad")).toBe("a\uFFFDb");
  });

  test("missing key returns null", async () => {
    const { kv } = openKv();
    expect(await kv.get("nope")).toBeNull();
    expect(await kv.get("nope", "arrayBuffer")).toBeNull();
    expect(await kv.getWithMetadata("nope")).toEqual({ value: null, metadata: null, cacheStatus: null });
  });

  test("put overwrites value and metadata", async () => {
    const { kv } = openKv();
    await kv.put("k", "one", { metadata: { v: 1 } });
    await kv.put("k", "two");
    expect(await kv.getWithMetadata("k")).toEqual({ value: "two", metadata: null, cacheStatus: null });
  });

  test("delete removes key", async () => {
    const { kv } = openKv();
    await kv.put("k", "v");
    await kv.delete("k");
    expect(await kv.get("k")).toBeNull();
    await kv.delete("never-existed");
  });

  test("namespaces are isolated", async () => {
    const dir = tempDir("bunflare-kv-");
    const storage = native.Storage.open(dir);
    const first = createKVNamespace(storage, "first");
    const second = createKVNamespace(storage, "second");
    await first.put("shared-name", "from first");
    expect(await second.get("shared-name")).toBeNull();
    expect((await second.list()).keys).toEqual([]);
  });

  test("data persists across reopening", async () => {
    const { dir, kv } = openKv();
    await kv.put("kept", "value", { metadata: { n: 1 }, expirationTtl: 3600 });
    const { kv: reopened } = openKv(dir);
    expect(await reopened.getWithMetadata("kept")).toEqual({ value: "value", metadata: { n: 1 }, cacheStatus: null });
  });

  test("key of exactly 512 bytes works", async () => {
    const { kv } = openKv();
    const key = "k".repeat(512);
    await kv.put(key, "v");
    expect(await kv.get(key)).toBe("v");
  });

  test("value of exactly 25 MiB works", async () => {
    const { kv } = openKv();
    await kv.put("big", new Uint8Array(25 * MIB));
    expect(((await kv.get("big", "arrayBuffer")) as ArrayBuffer).byteLength).toBe(25 * MIB);
  });

  test("cacheTtl is accepted", async () => {
    const { kv } = openKv();
    await kv.put("k", "v");
    expect(await kv.get("k", { type: "text", cacheTtl: 30 })).toBe("v");
    expect(await kv.get("k", { cacheTtl: 3600 } as never)).toBe("v");
  });

  test("unknown type on missing key is null", async () => {
    const { kv } = openKv();
    // Production checks the type only after it has found a value.
    expect(await kv.get("nope", "bogus" as never)).toBeNull();
  });
});

describe("edge inputs", () => {
  test("512-byte multi-byte key is accepted", async () => {
    const { kv } = openKv();
    const key = "é".repeat(256);
    await kv.put(key, "v");
    expect(await kv.get(key)).toBe("v");
    await expectError(kv.put("€".repeat(171), "v"), Error, "KV PUT failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.");
  });

  test("lone surrogate keys become U+FFFD", async () => {
    // Keys are stored as UTF-8, which has no form for a lone surrogate, so
    // "\uD800" and "\uDC00" both name the key "\uFFFD".
    const { kv } = openKv();
    await kv.put("\uD800", "high");
    await kv.put("\uDC00", "low");
    expect(await kv.get("\uFFFD")).toBe("low");
    expect((await kv.list()).keys.map((key) => key.name)).toEqual(["\uFFFD"]);
  });

  test("25 MiB value is the largest accepted", async () => {
    const { kv } = openKv();
    const limit = 25 * 1024 * 1024;
    await kv.put("big", new Uint8Array(limit).fill(7));
    const stored = new Uint8Array((await kv.get("big", "arrayBuffer"))!);
    expect(stored.byteLength).toBe(limit);
    expect(stored[limit - 1]).toBe(7);
    await expectError(kv.put("big", new Uint8Array(limit + 1)), Error, `KV PUT failed: 413 Value length of ${limit + 1} exceeds limit of ${limit}.`);
    expect((await kv.get("big", "arrayBuffer"))!.byteLength).toBe(limit);
  });

  test("stream erroring mid-way stores nothing", async () => {
    const { kv } = openKv();
    await kv.put("key", "old");
    const failing = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("half of the new value"));
        controller.error(new Error("upstream reset"));
      },
    });
    await expectError(kv.put("key", failing), Error, "upstream reset");
    expect(await kv.get("key")).toBe("old");
  });

  test("metadata with odd JSON round-trips", async () => {
    const { kv } = openKv();
    const metadata = { "\u2028": "\uD800", "": [null, 1e308, -0, "\u0000"], deep: { a: { b: { c: [] } } } };
    await kv.put("odd", "v", { metadata });
    const expected = JSON.parse(JSON.stringify(metadata));
    expect((await kv.getWithMetadata("odd")).metadata).toEqual(expected);
    expect((await kv.list()).keys).toEqual([{ name: "odd", metadata: expected }]);
  });

  test("metadata that JSON cannot encode is a TypeError", async () => {
    const { kv } = openKv();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(await rejection(kv.put("k", "v", { metadata: cyclic }))).toBeInstanceOf(TypeError);
    expect(await rejection(kv.put("k", "v", { metadata: 1n }))).toBeInstanceOf(TypeError);
    expect(await kv.get("k")).toBeNull();
  });
});

describe("metadata", () => {
  test("round trip through getWithMetadata", async () => {
    const { kv } = openKv();
    const metadata = { owner: "ada", tags: ["x", "y"], nested: { n: 1.5 } };
    await kv.put("k", "v", { metadata });
    expect(await kv.getWithMetadata("k")).toEqual({ value: "v", metadata, cacheStatus: null });
    expect(await kv.getWithMetadata("k", "json").catch((e: Error) => e.constructor)).toBe(SyntaxError);
  });

  test("getWithMetadata honours the type", async () => {
    const { kv } = openKv();
    await kv.put("k", "[1]", { metadata: "m" });
    const result = await kv.getWithMetadata("k", { type: "arrayBuffer" });
    expect(result.value).toBeInstanceOf(ArrayBuffer);
    expect(result.metadata).toBe("m");
    expect((await kv.getWithMetadata("k", "json")).value).toEqual([1]);
  });

  test("list includes metadata and expiration", async () => {
    const { kv } = openKv();
    await kv.put("a", "1", { metadata: { x: 1 } });
    await kv.put("b", "2", { expirationTtl: 120 });
    await kv.put("c", "3");
    const { keys } = await kv.list();
    expect(keys[0]).toEqual({ name: "a", metadata: { x: 1 } });
    expect(keys[1]!.name).toBe("b");
    expect(keys[1]!.expiration).toBeGreaterThanOrEqual(nowSeconds() + 119);
    expect(keys[2]).toEqual({ name: "c" });
  });

  test("null metadata stores none", async () => {
    const { kv } = openKv();
    await kv.put("k", "v", { metadata: null });
    expect((await kv.getWithMetadata("k")).metadata).toBeNull();
  });
});

describe("expiration", () => {
  test("expirationTtl hides the key after it passes", async () => {
    const { kv } = openKv();
    await kv.put("short", "v", { expirationTtl: 60 });
    await kv.put("long", "v", { expirationTtl: 600 });
    expect(await kv.get("short")).toBe("v");

    native.advanceClock(61_000);
    expect(await kv.get("short")).toBeNull();
    expect(await kv.get("long")).toBe("v");
    expect((await kv.list()).keys.map((k) => k.name)).toEqual(["long"]);
    expect(await kv.get(["short", "long"])).toEqual(new Map([["short", null], ["long", "v"]]));
  });

  test("absolute expiration is stored as given", async () => {
    const { kv } = openKv();
    const expiration = nowSeconds() + 300;
    await kv.put("k", "v", { expiration });
    expect((await kv.list()).keys).toEqual([{ name: "k", expiration }]);

    native.advanceClock(300_000);
    expect(await kv.get("k")).toBeNull();
    expect((await kv.list()).keys).toEqual([]);
  });

  test("expired key is purged from disk", async () => {
    const { dir, kv } = openKv();
    await kv.put("k", "v", { expirationTtl: 60 });
    native.advanceClock(120_000);
    expect(await kv.get("k")).toBeNull();
    native.resetClock();

    // Without the purge the row would be visible again once the clock is back.
    const { kv: reopened } = openKv(dir);
    expect(await reopened.get("k")).toBeNull();
  });

  test("expirationTtl wins over expiration", async () => {
    const { kv } = openKv();
    await kv.put("k", "v", { expiration: 1, expirationTtl: 120 });
    expect((await kv.list()).keys[0]!.expiration).toBeGreaterThanOrEqual(nowSeconds() + 119);
  });
});

describe("list", () => {
  test("orders keys by UTF-8 bytes", async () => {
    const { kv } = openKv();
    // In UTF-16 order "\u{FF61}" sorts after the emoji's surrogates; in UTF-8 order it sorts before.
    const keys = ["😀", "\u{FF61}", "é", "z", "a", "Z", "a\u0000", "0"];
    for (const key of keys) await kv.put(key, "");
    const expected = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect((await kv.list()).keys.map((k) => k.name)).toEqual(expected);
    expect(expected).toEqual(["0", "Z", "a", "a\u0000", "z", "é", "\u{FF61}", "😀"]);
  });

  test("prefix matches literally", async () => {
    const { kv } = openKv();
    const keys = ["a%b", "aXb", "a_b", "a1b", "a\\b", "a\\\\", "a\u0000b", "a\u0001", "😀x", "😁x", "%", "_"];
    for (const key of keys) await kv.put(key, "");
    const names = async (prefix: string) => (await kv.list({ prefix })).keys.map((k) => k.name);
    expect(await names("a%")).toEqual(["a%b"]);
    expect(await names("a_")).toEqual(["a_b"]);
    expect(await names("a\\")).toEqual(["a\\\\", "a\\b"]);
    expect(await names("a\u0000")).toEqual(["a\u0000b"]);
    expect(await names("😀")).toEqual(["😀x"]);
    expect(await names("%")).toEqual(["%"]);
    expect(await names("_")).toEqual(["_"]);
    expect(await names("zzz")).toEqual([]);
  });

  test("long prefix matches", async () => {
    const { kv } = openKv();
    const base = "p".repeat(511);
    await kv.put(base + "a", "");
    await kv.put(base, "");
    expect((await kv.list({ prefix: base + "a" })).keys.map((k) => k.name)).toEqual([base + "a"]);
    expect((await kv.list({ prefix: base })).keys.length).toBe(2);
  });

  test("paginates over 1000 keys with cursor", async () => {
    const { kv } = openKv();
    const total = 2345;
    for (let i = 0; i < total; i++) await kv.put(`key-${String(i).padStart(5, "0")}`, "");
    await kv.put("other", "");

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await kv.list({ prefix: "key-", cursor });
      pages++;
      seen.push(...page.keys.map((k) => k.name));
      expect(page.cacheStatus).toBeNull();
      if (page.list_complete) {
        expect("cursor" in page).toBe(false);
        break;
      }
      expect(page.keys.length).toBe(1000);
      cursor = page.cursor;
    }
    expect(pages).toBe(3);
    expect(seen.length).toBe(total);
    expect(new Set(seen).size).toBe(total);
    expect(seen).toEqual([...seen].sort());
  });

  test("limit sets page size", async () => {
    const { kv } = openKv();
    for (const key of ["a", "b", "c"]) await kv.put(key, "");
    const first = await kv.list({ limit: 2 });
    expect(first.keys.map((k) => k.name)).toEqual(["a", "b"]);
    expect(first.list_complete).toBe(false);
    const second = await kv.list({ limit: 2, cursor: first.list_complete ? undefined : first.cursor });
    expect(second.keys.map((k) => k.name)).toEqual(["c"]);
    expect(second.list_complete).toBe(true);
  });

  test("limit of exactly 1000 is accepted", async () => {
    const { kv } = openKv();
    expect((await kv.list({ limit: 1000 })).list_complete).toBe(true);
  });

  test("non-positive limit uses the default", async () => {
    const { kv } = openKv();
    await kv.put("a", "");
    // workerd sends no limit to the service when it is zero or less.
    expect((await kv.list({ limit: 0 })).keys.length).toBe(1);
    expect((await kv.list({ limit: -5 })).keys.length).toBe(1);
  });
});

describe("bulk get", () => {
  test("returns a Map in request order", async () => {
    const { kv } = openKv();
    await kv.put("a", "1");
    await kv.put("b", "two");
    const result = await kv.get(["b", "missing", "a"]);
    expect(result).toBeInstanceOf(Map);
    expect([...result.entries()]).toEqual([["b", "two"], ["missing", null], ["a", "1"]]);
  });

  test("json type parses every value", async () => {
    const { kv } = openKv();
    await kv.put("a", '{"x":1}');
    await kv.put("b", "[true]");
    expect(await kv.get(["a", "b", "c"], "json")).toEqual(new Map<string, unknown>([["a", { x: 1 }], ["b", [true]], ["c", null]]));
    expect(await kv.get(["a"], { type: "json", cacheTtl: 60 })).toEqual(new Map([["a", { x: 1 }]]));
  });

  test("getWithMetadata returns value and metadata", async () => {
    const { kv } = openKv();
    await kv.put("a", "1", { metadata: { m: true } });
    await kv.put("b", "2");
    const result = await kv.getWithMetadata(["a", "b", "c"]);
    expect(result.get("a")).toEqual({ value: "1", metadata: { m: true } });
    expect(result.get("b")).toEqual({ value: "2", metadata: null });
    expect(result.get("c")).toBeNull();
  });

  test("accepts 100 keys", async () => {
    const { kv } = openKv();
    const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
    await kv.put("k99", "last");
    const result = await kv.get(keys);
    expect(result.size).toBe(100);
    expect(result.get("k99")).toBe("last");
  });
});

describe("errors", () => {
  test("empty key is a TypeError", async () => {
    const { kv } = openKv();
    await expectError(kv.get(""), TypeError, "Key name cannot be empty.");
    await expectError(kv.getWithMetadata(""), TypeError, "Key name cannot be empty.");
    await expectError(kv.put("", "v"), TypeError, "Key name cannot be empty.");
    await expectError(kv.delete(""), TypeError, "Key name cannot be empty.");
  });

  test("dot keys are TypeErrors", async () => {
    const { kv } = openKv();
    await expectError(kv.get("."), TypeError, '"." is not allowed as a key name.');
    await expectError(kv.put("..", "v"), TypeError, '".." is not allowed as a key name.');
    await expectError(kv.delete(".."), TypeError, '".." is not allowed as a key name.');
  });

  test("key over 512 bytes", async () => {
    const { kv } = openKv();
    const long = "k".repeat(513);
    await expectError(kv.get(long), Error, "KV GET failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.");
    await expectError(kv.put(long, "v"), Error, "KV PUT failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.");
    await expectError(kv.delete(long), Error, "KV DELETE failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.");
    // 257 two-byte characters: 257 UTF-16 units but 514 UTF-8 bytes.
    await expectError(kv.put("é".repeat(257), "v"), Error, "KV PUT failed: 414 UTF-8 encoded length of 514 exceeds key length limit of 512.");
  });

  test("value over 25 MiB", async () => {
    const { kv } = openKv();
    const message = `KV PUT failed: 413 Value length of ${25 * MIB + 1} exceeds limit of ${25 * MIB}.`;
    await expectError(kv.put("big", new Uint8Array(25 * MIB + 1)), Error, message);
    await expectError(kv.put("big", "x".repeat(25 * MIB + 1)), Error, message);
    await expectError(kv.put("big", new Response(new Uint8Array(25 * MIB + 1)).body!), Error, message);
    expect(await kv.get("big")).toBeNull();
  });

  test("metadata over 1024 bytes", async () => {
    const { kv } = openKv();
    // JSON.stringify adds two quotes: 1022 + 2 = 1024 fits, 1023 + 2 does not.
    await kv.put("ok", "v", { metadata: "m".repeat(1022) });
    await expectError(kv.put("k", "v", { metadata: "m".repeat(1023) }), Error, "KV PUT failed: 413 Metadata length of 1025 exceeds limit of 1024.");
  });

  test("expirationTtl under 60 seconds", async () => {
    const { kv } = openKv();
    await expectError(kv.put("k", "v", { expirationTtl: 59 }), Error, "KV PUT failed: 400 Invalid expiration_ttl of 59. Expiration TTL must be at least 60.");
    await expectError(kv.put("k", "v", { expirationTtl: 0 }), Error, "KV PUT failed: 400 Invalid expiration_ttl of 0. Please specify integer greater than 0.");
    await expectError(kv.put("k", "v", { expirationTtl: -10 }), Error, "KV PUT failed: 400 Invalid expiration_ttl of -10. Please specify integer greater than 0.");
    await expectError(kv.put("k", "v", { expirationTtl: "soon" as never }), Error, "KV PUT failed: 400 Invalid expiration_ttl of NaN. Please specify integer greater than 0.");
  });

  test("expiration in the past", async () => {
    const { kv } = openKv();
    const past = nowSeconds() - 10;
    await expectError(
      kv.put("k", "v", { expiration: past }),
      Error,
      `KV PUT failed: 400 Invalid expiration of ${past}. Please specify integer greater than the current number of seconds since the UNIX epoch.`,
    );
  });

  test("expiration under 60 seconds ahead", async () => {
    const { kv } = openKv();
    const soon = nowSeconds() + 30;
    await expectError(
      kv.put("k", "v", { expiration: soon }),
      Error,
      `KV PUT failed: 400 Invalid expiration of ${soon}. Expiration times must be at least 60 seconds in the future.`,
    );
  });

  test("non-numeric expiration", async () => {
    const { kv } = openKv();
    await expectError(
      kv.put("k", "v", { expiration: "tomorrow" as never }),
      Error,
      "KV PUT failed: 400 Invalid expiration of NaN. Please specify integer greater than the current number of seconds since the UNIX epoch.",
    );
  });

  test("cacheTtl under 30 seconds", async () => {
    const { kv } = openKv();
    await expectError(kv.get("k", { type: "text", cacheTtl: 10 }), Error, "KV GET failed: 400 Invalid cache_ttl of 10. Cache TTL must be at least 30.");
    await expectError(kv.getWithMetadata("k", { type: "text", cacheTtl: 29 }), Error, "KV GET failed: 400 Invalid cache_ttl of 29. Cache TTL must be at least 30.");
    await expectError(kv.get(["k"], { type: "text", cacheTtl: 5 }), Error, "KV GET_BULK failed: 400 Invalid cache_ttl of 5. Cache TTL must be at least 30.");
  });

  test("unknown get type", async () => {
    const { kv } = openKv();
    await kv.put("k", "v");
    const message = 'Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".';
    await expectError(kv.get("k", "blob" as never), TypeError, message);
    await expectError(kv.get("k", { type: "TEXT" } as never), TypeError, message);
    await expectError(kv.getWithMetadata("k", "bytes" as never), TypeError, message);
  });

  test("invalid put value type", async () => {
    const { kv } = openKv();
    const message = "KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.";
    await expectError(kv.put("k", { a: 1 } as never), TypeError, message);
    await expectError(kv.put("k", undefined as never), TypeError, message);
    // The key is checked before the value, as in production.
    await expectError(kv.put("", { a: 1 } as never), TypeError, "Key name cannot be empty.");
  });

  test("list limit over 1000", async () => {
    const { kv } = openKv();
    await expectError(kv.list({ limit: 1001 }), Error, "KV GET failed: 400 Invalid key_count_limit of 1001. Please specify an integer less than 1000.");
  });

  test("list prefix over 512 bytes", async () => {
    const { kv } = openKv();
    await expectError(kv.list({ prefix: "p".repeat(513) }), Error, "KV GET failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.");
  });

  test("list invalid cursor", async () => {
    const { kv } = openKv();
    await expectError(kv.list({ cursor: "not-a-cursor" }), Error, 'KV GET failed: 400 Invalid cursor "not-a-cursor". Pass the cursor of a previous list() result.');
  });

  test("bulk get over 100 keys", async () => {
    const { kv } = openKv();
    const keys = Array.from({ length: 101 }, (_, i) => `k${i}`);
    await expectError(kv.get(keys), Error, "KV GET_BULK failed: 400 You can request a maximum of 100 keys");
    await expectError(kv.getWithMetadata(keys), Error, "KV GET_BULK failed: 400 You can request a maximum of 100 keys");
  });

  test("bulk get with no keys", async () => {
    const { kv } = openKv();
    await expectError(kv.get([]), Error, "KV GET_BULK failed: 400 You must request a minimum of 1 key");
  });

  test("bulk get invalid type", async () => {
    const { kv } = openKv();
    await expectError(kv.get(["a"], "arrayBuffer" as never), Error, 'KV GET_BULK failed: 400 "arrayBuffer" is not a valid type. Use "json" or "text"');
    await expectError(kv.get(["a"], { type: "stream" } as never), Error, 'KV GET_BULK failed: 400 "stream" is not a valid type. Use "json" or "text"');
  });

  test("bulk get invalid keys", async () => {
    const { kv } = openKv();
    await expectError(kv.get(["ok", ""]), Error, "KV GET_BULK failed: 400 Key names must not be empty");
    await expectError(kv.get(["."]), Error, 'KV GET_BULK failed: 400 Illegal key name ".". Please use a different name.');
    await expectError(kv.get(["k".repeat(513)]), Error, "KV GET_BULK failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.");
  });

  test("bulk json of a non-json value", async () => {
    const { kv } = openKv();
    await kv.put("plain", "not json");
    await expectError(kv.get(["plain"], "json"), Error, "KV GET_BULK failed: 400 At least one of the requested keys corresponds to a non-json value");
  });

  test("bulk get over 25 MiB in total", async () => {
    const { kv } = openKv();
    await kv.put("a", new Uint8Array(13 * MIB));
    await kv.put("b", new Uint8Array(13 * MIB));
    await expectError(kv.get(["a", "b"]), Error, "KV GET_BULK failed: 413 Total size of request exceeds the limit of 25MB");
  });

  test("errors carry the engine code", async () => {
    const { kv } = openKv();
    const error = (await rejection(kv.put("k", "v", { expirationTtl: 1 }))) as Error & { code?: string };
    expect(error.code).toBe("KV_EXPIRATION_TTL_TOO_SMALL");
  });
});
