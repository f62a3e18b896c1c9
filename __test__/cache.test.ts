import { afterEach, describe, expect, test } from "bun:test";
import { createCacheStorage, type CacheStorage } from "../lib/bindings/cache.ts";
import { native } from "../lib/native.ts";
import { tempDir, rejection, expectError } from "./fixtures.ts";

const URL_A = "https://example.com/a";

function openCaches(dir = tempDir("bunflare-cache-")): CacheStorage {
  return createCacheStorage(native.Storage.open(dir));
}

function cacheable(body = "hello", headers: Record<string, string> = {}): Response {
  return new Response(body, { headers: { "cache-control": "max-age=60", ...headers } });
}

afterEach(() => native.resetClock());

describe("put and match", () => {
  test("round trip with CF-Cache-Status", async () => {
    const cache = openCaches().default;
    await cache.put(URL_A, cacheable("hello", { "content-type": "text/plain", "x-extra": "1" }));
    const hit = await cache.match(URL_A);
    expect(hit?.status).toBe(200);
    expect(await hit?.text()).toBe("hello");
    expect(hit?.headers.get("content-type")).toBe("text/plain");
    expect(hit?.headers.get("x-extra")).toBe("1");
    expect(hit?.headers.get("cf-cache-status")).toBe("HIT");
  });

  test("miss returns undefined", async () => {
    expect(await openCaches().default.match(URL_A)).toBeUndefined();
  });

  test("entries persist across reopen", async () => {
    const dir = tempDir("bunflare-cache-");
    await openCaches(dir).default.put(URL_A, cacheable("kept"));
    const reopened = openCaches(dir).default;
    expect(await (await reopened.match(URL_A))?.text()).toBe("kept");
  });

  test("named caches are isolated", async () => {
    const caches = openCaches();
    const named = await caches.open("default");
    await named.put(URL_A, cacheable("named"));
    expect(await caches.default.match(URL_A)).toBeUndefined();
    expect(await (await (await caches.open("default")).match(URL_A))?.text()).toBe("named");
    expect(await (await caches.open("other")).match(URL_A)).toBeUndefined();
  });

  test("non-GET match needs ignoreMethod", async () => {
    const cache = openCaches().default;
    await cache.put(URL_A, cacheable());
    const post = new Request(URL_A, { method: "POST" });
    expect(await cache.match(post)).toBeUndefined();
    expect((await cache.match(post, { ignoreMethod: true }))?.status).toBe(200);
    expect(await cache.delete(post)).toBe(false);
    expect(await cache.delete(post, { ignoreMethod: true })).toBe(true);
  });

  test("delete reports presence", async () => {
    const cache = openCaches().default;
    await cache.put(URL_A, cacheable());
    expect(await cache.delete(URL_A)).toBe(true);
    expect(await cache.delete(URL_A)).toBe(false);
    expect(await cache.match(URL_A)).toBeUndefined();
  });
});

describe("put rejections", () => {
  test("non-GET request", async () => {
    const response = cacheable();
    await expectError(
      openCaches().default.put(new Request(URL_A, { method: "POST" }), response),
      TypeError,
      "Cannot cache response to non-GET request.",
    );
    expect(response.bodyUsed).toBe(false);
  });

  test("206 response", async () => {
    const response = new Response("part", { status: 206, headers: { "content-range": "bytes 0-3/8" } });
    await expectError(
      openCaches().default.put(URL_A, response),
      TypeError,
      "Cannot cache response to a range request (206 Partial Content).",
    );
  });

  test("Vary star", async () => {
    await expectError(
      openCaches().default.put(URL_A, cacheable("x", { vary: "Accept-Encoding, *" })),
      TypeError,
      "Cannot cache response with 'Vary: *' header.",
    );
  });

  test("relative URL", async () => {
    const error = await rejection(openCaches().default.put("/relative", cacheable()));
    expect(error).toBeInstanceOf(TypeError);
  });

  test("long cache name", async () => {
    await expectError(
      openCaches().open("n".repeat(1025)),
      TypeError,
      "Cache name is too long: 1025 bytes exceeds the limit of 1024.",
    );
  });
});

describe("storage rules", () => {
  const discarded: [string, Record<string, string>][] = [
    ["no-store", { "cache-control": "no-store" }],
    ["private", { "cache-control": "private" }],
    ["no-cache", { "cache-control": "no-cache" }],
    ["max-age zero", { "cache-control": "max-age=0" }],
    ["past Expires", { expires: "Thu, 01 Jan 1970 00:00:00 GMT" }],
    ["Set-Cookie", { "cache-control": "max-age=60", "set-cookie": "id=1" }],
  ];
  for (const [name, headers] of discarded) {
    test(`${name} is not stored`, async () => {
      const cache = openCaches().default;
      await cache.put(URL_A, new Response("x", { headers }));
      expect(await cache.match(URL_A)).toBeUndefined();
    });
  }

  test("private=Set-Cookie stores without cookie", async () => {
    const cache = openCaches().default;
    await cache.put(URL_A, cacheable("x", { "cache-control": "max-age=60, private=Set-Cookie", "set-cookie": "id=1" }));
    const hit = await cache.match(URL_A);
    expect(hit?.status).toBe(200);
    expect(hit?.headers.get("set-cookie")).toBeNull();
  });

  test("Vary other than star is stored", async () => {
    const cache = openCaches().default;
    await cache.put(URL_A, cacheable("x", { vary: "Accept-Encoding" }));
    expect((await cache.match(URL_A))?.status).toBe(200);
  });

  test("304 put is discarded", async () => {
    const cache = openCaches().default;
    await cache.put(URL_A, new Response(null, { status: 304, headers: { "cache-control": "max-age=60" } }));
    expect(await cache.match(URL_A)).toBeUndefined();
  });

  test("500 without headers is not stored", async () => {
    const cache = openCaches().default;
    await cache.put(URL_A, new Response("x", { status: 500 }));
    expect(await cache.match(URL_A)).toBeUndefined();
  });
});

describe("expiry", () => {
  test("max-age expires with clock", async () => {
    const cache = openCaches().default;
    await cache.put(URL_A, cacheable("x", { "cache-control": "max-age=60" }));
    native.advanceClock(59_000);
    expect(await cache.match(URL_A)).toBeDefined();
    native.advanceClock(1_000);
    expect(await cache.match(URL_A)).toBeUndefined();
  });

  test("s-maxage takes precedence", async () => {
    const cache = openCaches().default;
    await cache.put(URL_A, cacheable("x", { "cache-control": "max-age=10, s-maxage=100" }));
    native.advanceClock(50_000);
    expect(await cache.match(URL_A)).toBeDefined();
    native.advanceClock(50_000);
    expect(await cache.match(URL_A)).toBeUndefined();
  });

  test("Expires relative to Date", async () => {
    const cache = openCaches().default;
    const now = native.clockNow();
    const headers = {
      date: new Date(now).toUTCString(),
      expires: new Date(now + 30_000).toUTCString(),
    };
    await cache.put(URL_A, new Response("x", { headers }));
    native.advanceClock(29_000);
    expect(await cache.match(URL_A)).toBeDefined();
    native.advanceClock(2_000);
    expect(await cache.match(URL_A)).toBeUndefined();
  });

  test("default TTL by status", async () => {
    const cache = openCaches().default;
    await cache.put(URL_A, new Response("gone", { status: 404 }));
    expect((await cache.match(URL_A))?.status).toBe(404);
    native.advanceClock(3 * 60_000);
    expect(await cache.match(URL_A)).toBeUndefined();
  });

  test("expired delete returns false", async () => {
    const cache = openCaches().default;
    await cache.put(URL_A, cacheable("x", { "cache-control": "max-age=1" }));
    native.advanceClock(2_000);
    expect(await cache.delete(URL_A)).toBe(false);
  });
});

describe("conditional and range", () => {
  test("If-None-Match gives 304", async () => {
    const cache = openCaches().default;
    await cache.put(URL_A, cacheable("x", { etag: '"v1"' }));
    for (const tag of ['"v1"', 'W/"v1"', '"v0", "v1"', "*"]) {
      const response = await cache.match(new Request(URL_A, { headers: { "if-none-match": tag } }));
      expect(response?.status).toBe(304);
      expect(response?.headers.get("etag")).toBe('"v1"');
    }
    const changed = await cache.match(new Request(URL_A, { headers: { "if-none-match": '"v2"' } }));
    expect(changed?.status).toBe(200);
  });

  test("If-Modified-Since gives 304", async () => {
    const cache = openCaches().default;
    await cache.put(URL_A, cacheable("x", { "last-modified": "Wed, 21 Oct 2015 07:28:00 GMT" }));
    const since = (date: string) => new Request(URL_A, { headers: { "if-modified-since": date } });
    expect((await cache.match(since("Wed, 21 Oct 2015 07:28:00 GMT")))?.status).toBe(304);
    expect((await cache.match(since("Thu, 22 Oct 2015 07:28:00 GMT")))?.status).toBe(304);
    expect((await cache.match(since("Tue, 20 Oct 2015 07:28:00 GMT")))?.status).toBe(200);
  });

  test("Range gives 206", async () => {
    const cache = openCaches().default;
    await cache.put(URL_A, cacheable("0123456789"));
    const response = await cache.match(new Request(URL_A, { headers: { range: "bytes=2-5" } }));
    expect(response?.status).toBe(206);
    expect(response?.headers.get("content-range")).toBe("bytes 2-5/10");
    expect(response?.headers.get("content-length")).toBe("4");
    expect(await response?.text()).toBe("2345");

    const suffix = await cache.match(new Request(URL_A, { headers: { range: "bytes=-3" } }));
    expect(await suffix?.text()).toBe("789");
  });

  test("unsatisfiable Range gives 416", async () => {
    const cache = openCaches().default;
    await cache.put(URL_A, cacheable("0123456789"));
    const response = await cache.match(new Request(URL_A, { headers: { range: "bytes=20-" } }));
    expect(response?.status).toBe(416);
    expect(response?.headers.get("content-range")).toBe("bytes */10");
  });
});

describe("purge", () => {
  test("purge one cache or all", async () => {
    const storage = native.Storage.open(tempDir("bunflare-cache-"));
    const caches = createCacheStorage(storage);
    const named = await caches.open("api");
    await caches.default.put(URL_A, cacheable());
    await named.put(URL_A, cacheable());

    expect(native.purgeCaches(storage, "api")).toBe(1);
    expect(await named.match(URL_A)).toBeUndefined();
    expect(await caches.default.match(URL_A)).toBeDefined();
    expect(native.purgeCaches(storage, null)).toBe(1);
    expect(await caches.default.match(URL_A)).toBeUndefined();
  });
});

describe("cache command", () => {
  async function command(args: string[], storage: ReturnType<typeof native.Storage.open>) {
    const { runCacheCommand } = await import("../lib/dev/cache-command.ts");
    let stdout = "";
    let stderr = "";
    const code = await runCacheCommand(args, {
      storage,
      config: {} as never,
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
    });
    return { code, stdout, stderr };
  }

  test("purge prints the count", async () => {
    const dir = tempDir("bunflare-cache-");
    const storage = native.Storage.open(dir);
    const caches = createCacheStorage(storage);
    await caches.default.put(URL_A, cacheable());
    await caches.default.put("https://example.com/b", cacheable());

    const result = await command(["purge", "--name", "default"], storage);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`Purged 2 entries from cache "default" in ${dir}.\n`);
    expect(await caches.default.match(URL_A)).toBeUndefined();
  });

  test("unknown subcommand fails", async () => {
    const result = await command(["flush"], native.Storage.open(tempDir("bunflare-cache-")));
    expect(result.code).toBe(1);
    expect(result.stderr).toStartWith('✘ Unknown command "flush".');
  });
});
