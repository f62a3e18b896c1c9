// Compares Cache API hits and puts through `caches.default` with raw
// bun:sqlite doing the same row work on the same schema (WAL,
// synchronous=NORMAL), plus building the Response the caller receives.
// Prints ops/s and binding/raw ratios.
//
// Run: bun bench/cache.ts [seconds per case, default 2]. Each case stops after
// that time or its operation count, so a full run stays under half a minute.

import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCacheStorage } from "../lib/bindings/cache.ts";
import { native } from "../lib/native.ts";

const SECONDS_PER_CASE = Number(process.argv[2] ?? 2);
const URL_COUNT = 1_000;
const BODY = "x".repeat(1024);
const HEADERS = { "content-type": "application/json", "cache-control": "max-age=3600", etag: '"v1"' };

/** Runs `operation` for up to `SECONDS_PER_CASE` or `maxOps` calls and returns ops/s. */
async function measure(name: string, maxOps: number, operation: (i: number) => unknown): Promise<number> {
  const deadline = performance.now() + SECONDS_PER_CASE * 1000;
  const started = performance.now();
  let ops = 0;
  while (ops < maxOps && (ops % 256 !== 0 || performance.now() < deadline)) {
    const result = operation(ops);
    if (result instanceof Promise) await result;
    ops++;
  }
  const rate = ops / ((performance.now() - started) / 1000);
  console.log(`${name.padEnd(30)} ${Math.round(rate).toLocaleString("en-US").padStart(12)} ops/s  (${ops} ops)`);
  return rate;
}

const urlOf = (i: number) => `https://example.com/item/${i % URL_COUNT}`;

const dir = mkdtempSync(join(tmpdir(), "bunflare-bench-cache-"));
try {
  const cache = createCacheStorage(native.Storage.open(join(dir, "binding"))).default;

  const raw = new Database(join(dir, "raw.sqlite"));
  raw.exec("PRAGMA journal_mode = WAL");
  raw.exec("PRAGMA synchronous = NORMAL");
  raw.exec(`CREATE TABLE cache_entries (cache TEXT NOT NULL, url TEXT NOT NULL, status INTEGER NOT NULL,
    headers TEXT NOT NULL, body BLOB NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (cache, url))`);
  const rawPut = raw.prepare(
    "INSERT OR REPLACE INTO cache_entries (cache, url, status, headers, body, expires_at) VALUES ('default', ?1, 200, ?2, ?3, ?4)",
  );
  const rawMatch = raw.prepare("SELECT status, headers, body FROM cache_entries WHERE cache = 'default' AND url = ?1 AND expires_at > ?2");
  const encodedHeaders = JSON.stringify(Object.entries(HEADERS).flat());

  console.log(`bun ${Bun.version}, ${URL_COUNT} URLs, ${BODY.length}-byte bodies, up to ${SECONDS_PER_CASE} s per case\n`);

  const bindingPut = await measure("caches.default.put", 20_000, (i) => cache.put(urlOf(i), new Response(BODY, { headers: HEADERS })));
  const rawPutRate = await measure("raw bun:sqlite put", 20_000, async (i) => {
    const response = new Response(BODY, { headers: HEADERS });
    rawPut.run(urlOf(i), encodedHeaders, new Uint8Array(await response.arrayBuffer()), Date.now() + 3_600_000);
  });

  const bindingMatch = await measure("caches.default.match (hit)", 500_000, async (i) => {
    const response = await cache.match(urlOf(i));
    if (!response) throw new Error("miss");
  });
  const rawMatchRate = await measure("raw bun:sqlite match (hit)", 500_000, (i) => {
    const row = rawMatch.get(urlOf(i), Date.now()) as { status: number; headers: string; body: Uint8Array } | null;
    if (!row) throw new Error("miss");
    const flat = JSON.parse(row.headers) as string[];
    const headers = new Headers();
    for (let index = 0; index < flat.length; index += 2) headers.append(flat[index]!, flat[index + 1]!);
    return new Response(row.body as Uint8Array<ArrayBuffer>, { status: row.status, headers });
  });

  console.log(`\nput ratio (binding/raw):   ${(bindingPut / rawPutRate).toFixed(2)}`);
  console.log(`match ratio (binding/raw): ${(bindingMatch / rawMatchRate).toFixed(2)}`);
  raw.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
