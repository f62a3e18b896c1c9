import { afterEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createR2Bucket, R2Object, R2ObjectBody, type R2Bucket } from "../lib/bindings/r2.ts";
import { native } from "../lib/native.ts";
import { killChildren, runBun, spawnBun, tempDir, rejection, expectError } from "./fixtures.ts";

const MIB = 1024 * 1024;

afterEach(killChildren);

function openBucket(dir = tempDir("bunflare-r2-"), name = "files"): { dir: string; bucket: R2Bucket } {
  return { dir, bucket: createR2Bucket(native.Storage.open(dir), name) };
}

function md5(data: string | Uint8Array): string {
  return createHash("md5").update(data).digest("hex");
}

function blobFiles(dir: string, bucket = "files"): string[] {
  return readdirSync(join(dir, "r2", bucket, "blobs"));
}

/** Bytes whose value is their offset modulo 251, so any range can be checked. */
function patterned(length: number, start = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index++) bytes[index] = (start + index) % 251;
  return bytes;
}

async function getBody(bucket: R2Bucket, key: string, options?: Parameters<R2Bucket["get"]>[1]): Promise<R2ObjectBody> {
  const object = await bucket.get(key, options);
  expect(object).toBeInstanceOf(R2ObjectBody);
  return object as R2ObjectBody;
}

describe("put and get", () => {
  test("string round trip", async () => {
    const { bucket } = openBucket();
    const put = await bucket.put("greeting", "héllo 😀");
    const object = await getBody(bucket, "greeting");
    expect(await object.text()).toBe("héllo 😀");
    expect(put!.etag).toBe(md5("héllo 😀"));
    expect(object.etag).toBe(put!.etag);
  });

  test("value types", async () => {
    const { bucket } = openBucket();
    await bucket.put("buffer", new Uint8Array([1, 2, 3]).buffer);
    await bucket.put("view", new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4));
    await bucket.put("blob", new Blob(["blob text"]));
    await bucket.put("stream", new Response("streamed text").body!);
    await bucket.put("empty", null);

    expect([...(await (await getBody(bucket, "buffer")).bytes())]).toEqual([1, 2, 3]);
    expect([...(await (await getBody(bucket, "view")).bytes())]).toEqual([1, 2, 3]);
    expect(await (await getBody(bucket, "blob")).text()).toBe("blob text");
    expect(await (await getBody(bucket, "stream")).text()).toBe("streamed text");
    expect((await bucket.head("empty"))!.size).toBe(0);
    expect(await (await getBody(bucket, "empty")).text()).toBe("");
  });

  test("invalid value type", async () => {
    const { bucket } = openBucket();
    await expectError(
      bucket.put("k", 42 as unknown as string),
      TypeError,
      "Failed to execute 'put' on 'R2Bucket': parameter 2 is not of type 'ReadableStream or ArrayBuffer or ArrayBufferView or string or Blob'.",
    );
  });

  test("object fields", async () => {
    const { bucket } = openBucket();
    const before = Date.now();
    const put = (await bucket.put("doc.json", '{"a":1}'))!;
    expect(put).toBeInstanceOf(R2Object);
    expect(put.key).toBe("doc.json");
    expect(put.version).toMatch(/^[0-9a-f]{32}$/);
    expect(put.size).toBe(7);
    expect(put.httpEtag).toBe(`"${put.etag}"`);
    expect(put.uploaded.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(put.storageClass).toBe("Standard");
    expect(put.range).toBeUndefined();
    expect(put.checksums.toJSON()).toEqual({ md5: md5('{"a":1}') });
    expect(Buffer.from(put.checksums.md5!).toString("hex")).toBe(md5('{"a":1}'));

    const head = (await bucket.head("doc.json"))!;
    expect(head.version).toBe(put.version);
    expect(head.range).toEqual({ offset: 0, length: 7 });
    expect(head.httpMetadata).toEqual({});
    expect(head.customMetadata).toEqual({});

    const object = await getBody(bucket, "doc.json");
    expect(object.range).toEqual({ offset: 0, length: 7 });
    expect(await object.json()).toEqual({ a: 1 });
  });

  test("missing key is null", async () => {
    const { bucket } = openBucket();
    expect(await bucket.get("nope")).toBeNull();
    expect(await bucket.head("nope")).toBeNull();
  });

  test("http and custom metadata", async () => {
    const { bucket } = openBucket();
    const expiry = new Date("2030-01-02T03:04:05Z");
    await bucket.put("a", "x", {
      httpMetadata: { contentType: "text/plain", cacheControl: "max-age=60", cacheExpiry: expiry, contentLanguage: "en", contentDisposition: "inline", contentEncoding: "identity" },
      customMetadata: { owner: "ada", count: 3 as unknown as string },
    });
    const object = (await bucket.head("a"))!;
    expect(object.httpMetadata).toEqual({
      contentType: "text/plain",
      cacheControl: "max-age=60",
      cacheExpiry: expiry,
      contentLanguage: "en",
      contentDisposition: "inline",
      contentEncoding: "identity",
    });
    expect(object.customMetadata).toEqual({ owner: "ada", count: "3" });

    const headers = new Headers();
    object.writeHttpMetadata(headers);
    expect(headers.get("content-type")).toBe("text/plain");
    expect(headers.get("cache-control")).toBe("max-age=60");
    expect(headers.get("expires")).toBe(expiry.toUTCString());
    expect(headers.get("content-language")).toBe("en");
  });

  test("http metadata from Headers", async () => {
    const { bucket } = openBucket();
    const request = new Headers({ "content-type": "image/png", "cache-control": "no-cache", expires: "Wed, 21 Oct 2026 07:28:00 GMT", "x-other": "ignored" });
    await bucket.put("img", "x", { httpMetadata: request });
    const object = (await bucket.head("img"))!;
    expect(object.httpMetadata).toEqual({
      contentType: "image/png",
      cacheControl: "no-cache",
      cacheExpiry: new Date("Wed, 21 Oct 2026 07:28:00 GMT"),
    });
  });

  test("storage class", async () => {
    const { bucket } = openBucket();
    const put = await bucket.put("cold", "x", { storageClass: "InfrequentAccess" });
    expect(put!.storageClass).toBe("InfrequentAccess");
    await expectError(
      bucket.put("k", "x", { storageClass: "Glacier" }),
      Error,
      'put: Invalid storage class "Glacier". Use "Standard" or "InfrequentAccess". (10029)',
    );
  });

  test("overwrite replaces the blob", async () => {
    const { dir, bucket } = openBucket();
    await bucket.put("k", "one");
    await bucket.put("k", "two");
    expect(await (await getBody(bucket, "k")).text()).toBe("two");
    expect(blobFiles(dir)).toHaveLength(1);
  });

  test("buckets are separate", async () => {
    const dir = tempDir("bunflare-r2-");
    const storage = native.Storage.open(dir);
    const first = createR2Bucket(storage, "first");
    const second = createR2Bucket(storage, "second");
    await first.put("k", "1");
    expect(await second.get("k")).toBeNull();
  });

  test("data persists across opens", async () => {
    const dir = tempDir("bunflare-r2-");
    await openBucket(dir).bucket.put("k", "kept");
    expect(await (await getBody(openBucket(dir).bucket, "k")).text()).toBe("kept");
  });
});

describe("keys", () => {
  test("awkward keys map to safe files", async () => {
    const { dir, bucket } = openBucket();
    const keys = ["..", "../outside", "/leading", "trailing/", "a", "a/b", "a/b/c", ".", "a\\b", "nul\u0000byte", "é/😀"];
    for (const key of keys) await bucket.put(key, `body of ${key}`);
    for (const key of keys) expect(await (await getBody(bucket, key)).text()).toBe(`body of ${key}`);

    expect(blobFiles(dir)).toHaveLength(keys.length);
    for (const name of blobFiles(dir)) expect(name).toMatch(/^[0-9a-f]+$/);
    expect(existsSync(join(dir, "r2", "outside"))).toBe(false);
    expect(existsSync(join(dir, "outside"))).toBe(false);
  });

  test("key length limit", async () => {
    const { bucket } = openBucket();
    await bucket.put("é".repeat(512), "fits");
    expect((await bucket.head("é".repeat(512)))!.size).toBe(4);

    const long = "k".repeat(1025);
    await expectError(bucket.put(long, "x"), Error, "put: The specified object name is not valid. (10020)");
    await expectError(bucket.get(long), Error, "get: The specified object name is not valid. (10020)");
    await expectError(bucket.head(long), Error, "head: The specified object name is not valid. (10020)");
    await expectError(bucket.delete(long), Error, "delete: The specified object name is not valid. (10020)");
    await expectError(
      bucket.createMultipartUpload(long),
      Error,
      "createMultipartUpload: The specified object name is not valid. (10020)",
    );
  });

  test("custom metadata size limit", async () => {
    const { bucket } = openBucket();
    await bucket.put("ok", "x", { customMetadata: { k: "v".repeat(2047) } });
    await expectError(
      bucket.put("big", "x", { customMetadata: { k: "v".repeat(2048) } }),
      Error,
      "put: Your metadata headers exceed the maximum allowed metadata size. (10012)",
    );
    await expectError(
      bucket.createMultipartUpload("big", { customMetadata: { k: "v".repeat(2048) } }),
      Error,
      "createMultipartUpload: Your metadata headers exceed the maximum allowed metadata size. (10012)",
    );
  });
});

describe("body", () => {
  test("body stream and bodyUsed", async () => {
    const { bucket } = openBucket();
    await bucket.put("k", "streamed");
    const object = await getBody(bucket, "k");
    expect(object.bodyUsed).toBe(false);
    expect(await new Response(object.body).text()).toBe("streamed");
    expect(object.bodyUsed).toBe(true);
    await expectError(
      object.text(),
      TypeError,
      "Body has already been used. It can only be used once. Use tee() first if you need to read it twice.",
    );
  });

  test("second read rejects", async () => {
    const { bucket } = openBucket();
    await bucket.put("k", "once");
    const object = await getBody(bucket, "k");
    expect(await object.text()).toBe("once");
    await expectError(
      object.arrayBuffer(),
      TypeError,
      "Body has already been used. It can only be used once. Use tee() first if you need to read it twice.",
    );
  });

  test("blob carries the content type", async () => {
    const { bucket } = openBucket();
    await bucket.put("k", "x", { httpMetadata: { contentType: "text/csv" } });
    const blob = await (await getBody(bucket, "k")).blob();
    expect(blob.type).toBe("text/csv");
    expect(await blob.text()).toBe("x");
  });

  test("large body streams in chunks", async () => {
    const { bucket } = openBucket();
    const data = patterned(3 * MIB + 17);
    await bucket.put("large", data);

    const chunks: number[] = [];
    const object = await getBody(bucket, "large");
    let received = 0;
    for await (const chunk of object.body) {
      chunks.push(chunk.byteLength);
      expect(chunk[0]).toBe(received % 251);
      received += chunk.byteLength;
    }
    expect(received).toBe(data.length);
    expect(chunks.length).toBeGreaterThan(1);
    expect(Math.max(...chunks)).toBeLessThanOrEqual(MIB);

    const whole = new Uint8Array(await (await getBody(bucket, "large")).arrayBuffer());
    expect(Buffer.compare(whole, data)).toBe(0);
  });

  test("large streamed put", async () => {
    const { bucket } = openBucket();
    const chunk = patterned(MIB);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 5) return controller.close();
        controller.enqueue(chunk.slice());
        sent++;
      },
    });
    const put = (await bucket.put("big", stream))!;
    expect(put.size).toBe(5 * MIB);
    const hash = createHash("md5");
    for (let index = 0; index < 5; index++) hash.update(chunk);
    expect(put.etag).toBe(hash.digest("hex"));
  });

  test("failed stream stores nothing", async () => {
    const { dir, bucket } = openBucket();
    await bucket.put("k", "old");
    const stream = new ReadableStream({
      pull(controller) {
        controller.error(new Error("client went away"));
      },
    });
    await expectError(bucket.put("k", stream), Error, "client went away");
    expect(await (await getBody(bucket, "k")).text()).toBe("old");
    expect(readdirSync(join(dir, "r2", "files", "tmp"))).toEqual([]);
  });
});

describe("range", () => {
  test("offset and length forms", async () => {
    const { bucket } = openBucket();
    await bucket.put("k", "0123456789");
    const read = async (range: object) => {
      const object = await getBody(bucket, "k", { range });
      return [await object.text(), object.range];
    };
    expect(await read({ offset: 2, length: 3 })).toEqual(["234", { offset: 2, length: 3 }]);
    expect(await read({ offset: 7 })).toEqual(["789", { offset: 7, length: 3 }]);
    expect(await read({ length: 2 })).toEqual(["01", { offset: 0, length: 2 }]);
    expect(await read({ suffix: 4 })).toEqual(["6789", { offset: 6, length: 4 }]);
    expect(await read({ suffix: 40 })).toEqual(["0123456789", { offset: 0, length: 10 }]);
    expect(await read({ offset: 8, length: 100 })).toEqual(["89", { offset: 8, length: 2 }]);
  });

  test("Range header", async () => {
    const { bucket } = openBucket();
    await bucket.put("k", "0123456789");
    const read = async (header: string) => (await getBody(bucket, "k", { range: new Headers({ range: header }) })).text();
    expect(await read("bytes=1-3")).toBe("123");
    expect(await read("bytes=8-")).toBe("89");
    expect(await read("bytes=-2")).toBe("89");
    // Several ranges or an unsatisfiable one return the whole object, as Miniflare does.
    expect(await read("bytes=0-1,4-5")).toBe("0123456789");
    expect(await read("bytes=50-60")).toBe("0123456789");
  });

  test("ranged read of a large object", async () => {
    const { bucket } = openBucket();
    await bucket.put("large", patterned(4 * MIB));
    const object = await getBody(bucket, "large", { range: { offset: 3 * MIB + 5, length: 2 * MIB } });
    const bytes = new Uint8Array(await object.arrayBuffer());
    expect(bytes.length).toBe(MIB - 5);
    expect(Buffer.compare(bytes, patterned(MIB - 5, 3 * MIB + 5))).toBe(0);
  });

  test("invalid ranges", async () => {
    const { bucket } = openBucket();
    await bucket.put("k", "0123456789");
    const unsatisfiable = "get: The requested range is not satisfiable (10039)";
    await expectError(bucket.get("k", { range: { offset: 11 } }), Error, unsatisfiable);
    await expectError(bucket.get("k", { range: { offset: 1, length: 0 } }), Error, unsatisfiable);
    await expectError(bucket.get("k", { range: { suffix: 0 } }), Error, unsatisfiable);
    await expectError(
      bucket.get("k", { range: { offset: -1 } }),
      RangeError,
      "Invalid range. Starting offset (-1) must be greater than or equal to 0.",
    );
    await expectError(
      bucket.get("k", { range: { offset: 1.5 } }),
      RangeError,
      "Invalid range. Starting offset (1.5) must be an integer, not floating point.",
    );
    await expectError(
      bucket.get("k", { range: { length: -2 } }),
      RangeError,
      "Invalid range. Length (-2) must be greater than or equal to 0.",
    );
    await expectError(
      bucket.get("k", { range: { suffix: -3 } }),
      RangeError,
      "Invalid suffix. Suffix (-3) must be greater than or equal to 0.",
    );
    await expectError(bucket.get("k", { range: { suffix: 2, offset: 1 } }), TypeError, "Suffix is incompatible with offset.");
    await expectError(bucket.get("k", { range: { suffix: 2, length: 1 } }), TypeError, "Suffix is incompatible with length.");
  });
});

describe("conditional requests", () => {
  test("get etag conditions", async () => {
    const { bucket } = openBucket();
    const { etag } = (await bucket.put("k", "v"))!;

    expect(await bucket.get("k", { onlyIf: { etagMatches: etag } })).toBeInstanceOf(R2ObjectBody);
    const failed = await bucket.get("k", { onlyIf: { etagMatches: "other" } });
    expect(failed).toBeInstanceOf(R2Object);
    expect(failed).not.toBeInstanceOf(R2ObjectBody);
    expect(failed!.etag).toBe(etag);
    expect("body" in failed!).toBe(false);

    expect(await bucket.get("k", { onlyIf: { etagDoesNotMatch: etag } })).not.toBeInstanceOf(R2ObjectBody);
    expect(await bucket.get("k", { onlyIf: { etagDoesNotMatch: "other" } })).toBeInstanceOf(R2ObjectBody);
    expect(await bucket.get("k", { onlyIf: { etagMatches: "*" } })).toBeInstanceOf(R2ObjectBody);
    expect(await bucket.get("k", { onlyIf: { etagDoesNotMatch: "*" } })).not.toBeInstanceOf(R2ObjectBody);
  });

  test("get date conditions", async () => {
    const { bucket } = openBucket();
    const { uploaded } = (await bucket.put("k", "v"))!;
    const earlier = new Date(uploaded.getTime() - 60_000);
    const later = new Date(uploaded.getTime() + 60_000);

    expect(await bucket.get("k", { onlyIf: { uploadedAfter: earlier } })).toBeInstanceOf(R2ObjectBody);
    expect(await bucket.get("k", { onlyIf: { uploadedAfter: later } })).not.toBeInstanceOf(R2ObjectBody);
    expect(await bucket.get("k", { onlyIf: { uploadedBefore: later } })).toBeInstanceOf(R2ObjectBody);
    expect(await bucket.get("k", { onlyIf: { uploadedBefore: earlier } })).not.toBeInstanceOf(R2ObjectBody);
  });

  test("conditions from Headers", async () => {
    const { bucket } = openBucket();
    const { etag, uploaded } = (await bucket.put("k", "v"))!;
    const check = async (headers: Record<string, string>) =>
      (await bucket.get("k", { onlyIf: new Headers(headers) })) instanceof R2ObjectBody;

    expect(await check({ "if-none-match": `"${etag}"` })).toBe(false);
    expect(await check({ "if-none-match": `W/"${etag}"` })).toBe(false);
    expect(await check({ "if-none-match": `"other", "more"` })).toBe(true);
    expect(await check({ "if-match": `"${etag}"` })).toBe(true);
    expect(await check({ "if-match": `W/"${etag}"` })).toBe(false);
    expect(await check({ "if-match": "*" })).toBe(true);
    expect(await check({ "if-modified-since": new Date(uploaded.getTime() + 5000).toUTCString() })).toBe(false);
    expect(await check({ "if-unmodified-since": new Date(uploaded.getTime() + 5000).toUTCString() })).toBe(true);
  });

  test("malformed etag header", async () => {
    const { bucket } = openBucket();
    await bucket.put("k", "v");
    await expectError(bucket.get("k", { onlyIf: new Headers({ "if-match": `"abc` }) }), Error, "Unclosed double quote for Etag");
  });

  test("quoted etag rejected", async () => {
    const { bucket } = openBucket();
    await bucket.put("k", "v");
    await expectError(
      bucket.get("k", { onlyIf: { etagMatches: '"abc"' } }),
      TypeError,
      'Conditional ETag should not be wrapped in quotes ("abc").',
    );
    await expectError(
      bucket.put("k", "v", { onlyIf: { etagDoesNotMatch: '"abc"' } }),
      TypeError,
      'Conditional ETag should not be wrapped in quotes ("abc").',
    );
  });

  test("put precondition returns null", async () => {
    const { bucket } = openBucket();
    // If-None-Match: * creates only when the key is missing.
    expect(await bucket.put("k", "first", { onlyIf: { etagDoesNotMatch: "*" } })).not.toBeNull();
    expect(await bucket.put("k", "second", { onlyIf: { etagDoesNotMatch: "*" } })).toBeNull();
    expect(await (await getBody(bucket, "k")).text()).toBe("first");

    expect(await bucket.put("missing", "x", { onlyIf: { etagMatches: "abc" } })).toBeNull();
    expect(await bucket.head("missing")).toBeNull();

    const { etag } = (await bucket.head("k"))!;
    expect(await bucket.put("k", "third", { onlyIf: { etagMatches: etag } })).not.toBeNull();
  });
});

describe("checksums", () => {
  test("matching checksums stored", async () => {
    const { bucket } = openBucket();
    const sha256 = createHash("sha256").update("data").digest();
    const put = (await bucket.put("k", "data", { sha256: sha256.buffer.slice(sha256.byteOffset, sha256.byteOffset + 32) }))!;
    expect(put.checksums.toJSON()).toEqual({ md5: md5("data"), sha256: sha256.toString("hex") });
    expect(Buffer.from(put.checksums.sha256!).toString("hex")).toBe(sha256.toString("hex"));

    const head = (await bucket.head("k"))!;
    expect(head.checksums.toJSON().sha256).toBe(sha256.toString("hex"));
    expect(await bucket.put("m", "data", { md5: md5("data") })).not.toBeNull();
    for (const algorithm of ["sha1", "sha384", "sha512"] as const) {
      const digest = createHash(algorithm).update("data").digest("hex");
      const object = (await bucket.put(algorithm, "data", { [algorithm]: digest }))!;
      expect(object.checksums.toJSON()[algorithm]).toBe(digest);
    }
  });

  test("mismatch rejected", async () => {
    const { bucket } = openBucket();
    const wrong = "0".repeat(32);
    await expectError(
      bucket.put("k", "data", { md5: wrong }),
      Error,
      `put: The MD5 checksum you specified did not match what we received.\nYou provided a MD5 checksum with value: ${wrong}\nActual MD5 was: ${md5("data")} (10037)`,
    );
    expect(await bucket.head("k")).toBeNull();

    const sha1 = createHash("sha1").update("data").digest("hex");
    await expectError(
      bucket.put("k", "data", { sha1: "1".repeat(40) }),
      Error,
      `put: The SHA-1 checksum you specified did not match what we received.\nYou provided a SHA-1 checksum with value: ${"1".repeat(40)}\nActual SHA-1 was: ${sha1} (10037)`,
    );
  });

  test("malformed checksums", async () => {
    const { bucket } = openBucket();
    await expectError(bucket.put("k", "x", { md5: "abc" }), TypeError, "MD5 is 32 hex characters, not 3");
    await expectError(bucket.put("k", "x", { md5: new Uint8Array(15) }), TypeError, "MD5 is 16 bytes, not 15");
    await expectError(bucket.put("k", "x", { sha256: "z".repeat(64) }), TypeError, "Provided SHA-256 wasn't a valid hex string");
    await expectError(bucket.put("k", "x", { sha512: new Uint8Array(10) }), TypeError, "SHA-512 is 64 bytes, not 10");
    await expectError(
      bucket.put("k", "x", { md5: md5("x"), sha1: "a".repeat(40) }),
      TypeError,
      "You cannot specify multiple hashing algorithms.",
    );
  });
});

describe("delete", () => {
  test("single and many keys", async () => {
    const { dir, bucket } = openBucket();
    for (const key of ["a", "b", "c"]) await bucket.put(key, key);
    await bucket.delete("a");
    expect(await bucket.head("a")).toBeNull();
    await bucket.delete(["b", "c", "missing"]);
    expect((await bucket.list()).objects).toEqual([]);
    expect(blobFiles(dir)).toEqual([]);
  });
});

describe("list", () => {
  async function seeded(keys: string[]) {
    const { bucket } = openBucket();
    for (const key of keys) await bucket.put(key, key, { httpMetadata: { contentType: "text/plain" }, customMetadata: { name: key } });
    return bucket;
  }

  test("byte order and prefix", async () => {
    const bucket = await seeded(["b", "a", "ab", "é", "Z", "a/x"]);
    const all = await bucket.list();
    expect(all.objects.map((o) => o.key)).toEqual(["Z", "a", "a/x", "ab", "b", "é"]);
    expect(all.truncated).toBe(false);
    expect(all.delimitedPrefixes).toEqual([]);
    expect((await bucket.list({ prefix: "a" })).objects.map((o) => o.key)).toEqual(["a", "a/x", "ab"]);
  });

  test("delimiter groups prefixes", async () => {
    const bucket = await seeded(["photos/2024/a.jpg", "photos/2024/b.jpg", "photos/2025/c.jpg", "photos/top.jpg", "readme"]);
    const root = await bucket.list({ delimiter: "/" });
    expect(root.objects.map((o) => o.key)).toEqual(["readme"]);
    expect(root.delimitedPrefixes).toEqual(["photos/"]);

    const photos = await bucket.list({ delimiter: "/", prefix: "photos/" });
    expect(photos.objects.map((o) => o.key)).toEqual(["photos/top.jpg"]);
    expect(photos.delimitedPrefixes).toEqual(["photos/2024/", "photos/2025/"]);
  });

  test("cursor pagination", async () => {
    const keys = Array.from({ length: 7 }, (_, index) => `k${index}`);
    const bucket = await seeded(keys);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await bucket.list({ limit: 3, cursor });
      pages++;
      seen.push(...page.objects.map((o) => o.key));
      if (!page.truncated) break;
      cursor = page.cursor;
    }
    expect(seen).toEqual(keys);
    expect(pages).toBe(3);
  });

  test("cursor skips delimited groups", async () => {
    const bucket = await seeded(["a/1", "a/2", "b/1", "c", "d/1"]);
    const first = await bucket.list({ delimiter: "/", limit: 2 });
    expect(first.delimitedPrefixes).toEqual(["a/", "b/"]);
    expect(first.truncated).toBe(true);
    const second = await bucket.list({ delimiter: "/", limit: 2, cursor: first.truncated ? first.cursor : undefined });
    expect(second.objects.map((o) => o.key)).toEqual(["c"]);
    expect(second.delimitedPrefixes).toEqual(["d/"]);
    expect(second.truncated).toBe(false);
  });

  test("startAfter", async () => {
    const bucket = await seeded(["a", "b", "c"]);
    expect((await bucket.list({ startAfter: "a" })).objects.map((o) => o.key)).toEqual(["b", "c"]);
  });

  test("include controls metadata", async () => {
    const bucket = await seeded(["a"]);
    const plain = (await bucket.list()).objects[0]!;
    expect(plain.httpMetadata).toBeUndefined();
    expect(plain.customMetadata).toBeUndefined();
    expect(() => plain.writeHttpMetadata(new Headers())).toThrow(
      new TypeError("HTTP metadata unknown for key `a`. Did you forget to add 'httpMetadata' to `include` when listing?"),
    );

    const full = (await bucket.list({ include: ["httpMetadata", "customMetadata"] })).objects[0]!;
    expect(full.httpMetadata).toEqual({ contentType: "text/plain" });
    expect(full.customMetadata).toEqual({ name: "a" });
    const customOnly = (await bucket.list({ include: ["customMetadata"] })).objects[0]!;
    expect(customOnly.httpMetadata).toBeUndefined();
    expect(customOnly.customMetadata).toEqual({ name: "a" });
  });

  test("include caps the page at 100", async () => {
    const { bucket } = openBucket();
    for (let index = 0; index < 105; index++) await bucket.put(`k${String(index).padStart(3, "0")}`, "");
    const page = await bucket.list({ include: ["customMetadata"] });
    expect(page.objects).toHaveLength(100);
    expect(page.truncated).toBe(true);
    expect((await bucket.list()).objects).toHaveLength(105);
  });

  test("invalid options", async () => {
    const { bucket } = openBucket();
    const message = "list: MaxKeys params must be positive integer <= 1000. (10022)";
    await expectError(bucket.list({ limit: 0 }), Error, message);
    await expectError(bucket.list({ limit: 1001 }), Error, message);
    await expectError(bucket.list({ include: ["size" as "httpMetadata"] }), RangeError, "Unsupported include value size");
    await expectError(
      bucket.list({ cursor: "not-hex" }),
      Error,
      'list: Invalid cursor "not-hex". Pass the cursor of a previous list() result. (10029)',
    );
  });
});

describe("multipart", () => {
  test("upload and complete", async () => {
    const { dir, bucket } = openBucket();
    const upload = await bucket.createMultipartUpload("video.mp4", {
      httpMetadata: { contentType: "video/mp4" },
      customMetadata: { by: "test" },
    });
    expect(upload.key).toBe("video.mp4");
    expect(upload.uploadId.length).toBeGreaterThan(0);

    const first = patterned(5 * MIB);
    const second = patterned(1000, 5 * MIB);
    const part1 = await upload.uploadPart(1, first);
    const part2 = await upload.uploadPart(2, new Response(second as Uint8Array<ArrayBuffer>).body!);
    expect(part1).toEqual({ partNumber: 1, etag: md5(first) });

    const object = await upload.complete([part2, part1]);
    const expectedEtag = createHash("md5").update(Buffer.from(md5(first) + md5(second), "hex")).digest("hex") + "-2";
    expect(object.etag).toBe(expectedEtag);
    expect(object.size).toBe(5 * MIB + 1000);
    expect(object.checksums.toJSON()).toEqual({});

    const read = await getBody(bucket, "video.mp4");
    expect(read.httpMetadata).toEqual({ contentType: "video/mp4" });
    expect(read.customMetadata).toEqual({ by: "test" });
    expect(Buffer.compare(new Uint8Array(await read.arrayBuffer()), patterned(5 * MIB + 1000))).toBe(0);

    // The parts were folded into one blob and removed.
    expect(blobFiles(dir)).toHaveLength(1);
    await expectError(upload.uploadPart(3, "x"), Error, "uploadPart: The specified multipart upload does not exist. (10024)");
  });

  test("resume by id", async () => {
    const { bucket } = openBucket();
    const upload = await bucket.createMultipartUpload("k");
    const resumed = bucket.resumeMultipartUpload("k", upload.uploadId);
    const part = await resumed.uploadPart(1, "only part");
    await resumed.complete([part]);
    expect(await (await getBody(bucket, "k")).text()).toBe("only part");
  });

  test("abort removes parts", async () => {
    const { dir, bucket } = openBucket();
    const upload = await bucket.createMultipartUpload("k");
    await upload.uploadPart(1, patterned(MIB));
    await upload.uploadPart(2, "tail");
    expect(blobFiles(dir)).toHaveLength(2);
    await upload.abort();
    expect(blobFiles(dir)).toEqual([]);
    await upload.abort();
    await expectError(upload.uploadPart(1, "x"), Error, "uploadPart: The specified multipart upload does not exist. (10024)");
    await expectError(
      upload.complete([]),
      Error,
      "completeMultipartUpload: The specified multipart upload does not exist. (10024)",
    );
    expect(await bucket.head("k")).toBeNull();
  });

  test("unknown upload", async () => {
    const { bucket } = openBucket();
    const upload = bucket.resumeMultipartUpload("k", "no-such-id");
    await expectError(upload.abort(), Error, "abortMultipartUpload: The specified multipart upload does not exist. (10024)");
    await expectError(upload.uploadPart(1, "x"), Error, "uploadPart: The specified multipart upload does not exist. (10024)");
  });

  test("part number limits", async () => {
    const { bucket } = openBucket();
    const upload = await bucket.createMultipartUpload("k");
    await expectError(upload.uploadPart(0, "x"), TypeError, "Part number must be between 1 and 10000 (inclusive). Actual value was: 0");
    await expectError(
      upload.uploadPart(10001, "x"),
      TypeError,
      "Part number must be between 1 and 10000 (inclusive). Actual value was: 10001",
    );
    expect((await upload.uploadPart(10000, "x")).partNumber).toBe(10000);
  });

  test("part size rules", async () => {
    const { bucket } = openBucket();
    const small = await bucket.createMultipartUpload("small");
    const tiny = await small.uploadPart(1, "tiny");
    const tail = await small.uploadPart(2, "tail");
    await expectError(
      small.complete([tiny, tail]),
      Error,
      "completeMultipartUpload: Your proposed upload is smaller than the minimum allowed object size. (10011)",
    );

    const uneven = await bucket.createMultipartUpload("uneven");
    const parts = [
      await uneven.uploadPart(1, patterned(5 * MIB)),
      await uneven.uploadPart(2, patterned(5 * MIB + 1)),
      await uneven.uploadPart(3, "end"),
    ];
    await expectError(uneven.complete(parts), Error, "completeMultipartUpload: There was a problem with the multipart upload. (10048)");

    const largeTail = await bucket.createMultipartUpload("tail");
    const tailParts = [await largeTail.uploadPart(1, patterned(5 * MIB)), await largeTail.uploadPart(2, patterned(5 * MIB + 1))];
    await expectError(
      largeTail.complete(tailParts),
      Error,
      "completeMultipartUpload: There was a problem with the multipart upload. (10048)",
    );
  });

  test("wrong or repeated parts", async () => {
    const { bucket } = openBucket();
    const upload = await bucket.createMultipartUpload("k");
    const part = await upload.uploadPart(1, "x");
    await expectError(
      upload.complete([{ partNumber: 1, etag: "wrong" }]),
      Error,
      "completeMultipartUpload: One or more of the specified parts could not be found. (10025)",
    );
    await expectError(
      upload.complete([{ partNumber: 2, etag: part.etag }]),
      Error,
      "completeMultipartUpload: One or more of the specified parts could not be found. (10025)",
    );
    await expectError(
      upload.complete([part, part]),
      Error,
      "completeMultipartUpload: We encountered an internal error. Please try again. (10001)",
    );
  });
});

describe("durability", () => {
  test("orphans removed at start-up", async () => {
    const dir = tempDir("bunflare-r2-");
    const bucketDir = join(dir, "r2", "files");
    mkdirSync(join(bucketDir, "tmp"), { recursive: true });
    mkdirSync(join(bucketDir, "blobs"), { recursive: true });
    writeFileSync(join(bucketDir, "tmp", "2147483646-0123abcd.tmp"), "torn write");
    writeFileSync(join(bucketDir, "blobs", "00112233445566778899aabbccddeeff"), "renamed, never committed");

    const { bucket } = openBucket(dir);
    expect(readdirSync(join(bucketDir, "tmp"))).toEqual([]);
    expect(readdirSync(join(bucketDir, "blobs"))).toEqual([]);
    expect((await bucket.list()).objects).toEqual([]);
  });

  test("killed writer leaves the old object", async () => {
    const dir = tempDir("bunflare-r2-");
    const script = join(dir, "writer.ts");
    writeFileSync(
      script,
      `import { createR2Bucket } from ${JSON.stringify(join(import.meta.dir, "..", "lib", "bindings", "r2.ts"))};
import { native } from ${JSON.stringify(join(import.meta.dir, "..", "lib", "native.ts"))};
const bucket = createR2Bucket(native.Storage.open(${JSON.stringify(join(dir, "state"))}), "files");
await bucket.put("k", "old");
let sent = 0;
const stream = new ReadableStream({
  async pull(controller) {
    controller.enqueue(new Uint8Array(256 * 1024));
    if (++sent === 8) console.log("streaming");
    await Bun.sleep(sent >= 8 ? 60_000 : 0);
  },
});
await bucket.put("k", stream);
`,
    );
    const child = spawnBun([script], dir);
    await child.waitFor(/streaming/);
    expect(readdirSync(join(dir, "state", "r2", "files", "tmp"))).toHaveLength(1);
    child.process.kill("SIGKILL");
    await child.process.exited;

    const { bucket } = openBucket(join(dir, "state"));
    expect(await (await getBody(bucket, "k")).text()).toBe("old");
    expect(readdirSync(join(dir, "state", "r2", "files", "tmp"))).toEqual([]);
    expect(blobFiles(join(dir, "state"))).toHaveLength(1);
  });

  test("1 GiB put and get stay under 100 MiB", async () => {
    const dir = tempDir("bunflare-r2-");
    const script = join(dir, "memory.ts");
    writeFileSync(
      script,
      `import { createR2Bucket } from ${JSON.stringify(join(import.meta.dir, "..", "lib", "bindings", "r2.ts"))};
import { native } from ${JSON.stringify(join(import.meta.dir, "..", "lib", "native.ts"))};
const bucket = createR2Bucket(native.Storage.open(${JSON.stringify(join(dir, "state"))}), "files");
Bun.gc(true);
const idle = process.memoryUsage().rss;
let peak = idle;
const sample = () => { peak = Math.max(peak, process.memoryUsage().rss); };
const chunk = new Uint8Array(1024 * 1024).fill(7);
let sent = 0;
const put = await bucket.put("huge", new ReadableStream({
  pull(controller) {
    sample();
    if (sent++ === 1024) return controller.close();
    controller.enqueue(chunk.slice());
  },
}));
let received = 0;
const object = await bucket.get("huge");
for await (const part of object.body) { received += part.byteLength; sample(); }
console.log(JSON.stringify({ size: put.size, received, growthMiB: (peak - idle) / 1048576 }));
`,
    );
    const { exitCode, output } = await runBun([script], dir);
    expect(exitCode).toBe(0);
    const result = JSON.parse(output.trim().split("\n").at(-1)!) as { size: number; received: number; growthMiB: number };
    expect(result.size).toBe(1024 * MIB);
    expect(result.received).toBe(1024 * MIB);
    expect(result.growthMiB).toBeLessThan(100);
  }, 60_000);
});

test("r2 bucket over in-memory storage", async () => {
  const { createR2Bucket: createFromPackage, openStorage } = await import("../lib/index.ts");
  const bucket = createFromPackage(openStorage(null), "standalone");

  await bucket.put("a.txt", "in memory");

  const object = await bucket.get("a.txt");
  expect(object).toBeInstanceOf(R2ObjectBody);
  expect(await (object as R2ObjectBody).text()).toBe("in memory");
});
