// Compares the R2 binding with raw bun:sqlite plus plain files doing the same
// work (and `cp` for 100 MiB bodies), and with Miniflare's R2 in the same
// run when Miniflare is installed. Prints ops/s (or MiB/s) and ratios.
//
// Cases: put and get of 1 KiB, 1 MiB and 100 MiB objects, a 10 MiB ranged get
// of a 100 MiB object, and a walk over 10,000 objects with `list` and a delimiter.
//
// Run: bun bench/r2.ts [seconds per case, default 2]. MINIFLARE points at a
// miniflare package folder (default /tmp/bench/node_modules/miniflare); the
// Miniflare columns are skipped when it is missing.

import { Database } from "bun:sqlite";
import { closeSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createR2Bucket, type R2ObjectBody } from "../lib/bindings/r2.ts";
import { native } from "../lib/native.ts";

const SECONDS_PER_CASE = Number(process.argv[2] ?? 2);
const MIB = 1024 * 1024;
const LIST_OBJECTS = 10_000;
const MINIFLARE = process.env.MINIFLARE ?? "/tmp/bench/node_modules/miniflare";

/** The operations each contender implements. */
interface Contender {
  name: string;
  put(key: string, body: Uint8Array | string): Promise<unknown>;
  /** Puts a file's contents (bunflare streams it from disk). */
  putFile(key: string, path: string): Promise<unknown>;
  get(key: string): Promise<number>;
  /** Writes an object's body to `path`. */
  getToFile(key: string, path: string): Promise<unknown>;
  getRange(key: string, offset: number, length: number): Promise<number>;
  /** Lists every page under `prefix` with delimiter "/"; returns the object count. */
  listAll(prefix: string): Promise<number>;
  dispose(): Promise<void>;
}

/** Runs `operation` for up to `SECONDS_PER_CASE` or `maxOps` calls and returns ops/s. */
async function measure(maxOps: number, operation: (i: number) => Promise<unknown>): Promise<number> {
  const deadline = performance.now() + SECONDS_PER_CASE * 1000;
  const started = performance.now();
  let ops = 0;
  while (ops < maxOps && (ops === 0 || performance.now() < deadline)) {
    await operation(ops);
    ops++;
  }
  return ops / ((performance.now() - started) / 1000);
}

function bunflareContender(dir: string): Contender {
  const bucket = createR2Bucket(native.Storage.open(dir), "bench");
  return {
    name: "bunflare",
    put: (key, body) => bucket.put(key, body),
    putFile: (key, path) => bucket.put(key, Bun.file(path)),
    get: async (key) => (await ((await bucket.get(key)) as R2ObjectBody).arrayBuffer()).byteLength,
    getToFile: async (key, path) => Bun.write(path, new Response(((await bucket.get(key)) as R2ObjectBody).body)),
    getRange: async (key, offset, length) =>
      (await ((await bucket.get(key, { range: { offset, length } })) as R2ObjectBody).arrayBuffer()).byteLength,
    listAll: async (prefix) => {
      let count = 0;
      let cursor: string | undefined;
      for (;;) {
        const page = await bucket.list({ prefix, delimiter: "/", cursor });
        count += page.objects.length;
        if (!page.truncated) return count;
        cursor = page.cursor;
      }
    },
    dispose: async () => {},
  };
}

/** bun:sqlite for the metadata and one file per body, with the same fsync-then-rename step. */
function rawContender(dir: string): Contender {
  mkdirSync(join(dir, "blobs"), { recursive: true });
  const db = new Database(join(dir, "raw.sqlite"));
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("CREATE TABLE objects (key BLOB PRIMARY KEY, blob TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL)");
  const upsert = db.prepare("INSERT OR REPLACE INTO objects (key, blob, size, etag) VALUES (?1, ?2, ?3, ?4)");
  const select = db.prepare("SELECT blob, size FROM objects WHERE key = ?1");
  const page = db.prepare("SELECT key FROM objects WHERE key > ?1 AND key < ?2 ORDER BY key LIMIT 1001");
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let counter = 0;

  const store = (key: string, write: (path: string) => void, size: number) => {
    const blob = `b${counter++}`;
    const temp = join(dir, "blobs", `${blob}.tmp`);
    write(temp);
    renameSync(temp, join(dir, "blobs", blob));
    upsert.run(encoder.encode(key), blob, size, "");
  };

  return {
    name: "raw",
    put: async (key, body) => {
      const bytes: Uint8Array = typeof body === "string" ? encoder.encode(body) : body;
      store(key, (path) => {
        const fd = openSync(path, "w");
        writeSync(fd, bytes);
        if (bytes.length > 0) fsyncSync(fd);
        closeSync(fd);
      }, bytes.length);
    },
    putFile: async (key, path) => {
      store(key, (target) => {
        Bun.spawnSync(["cp", path, target]);
        const fd = openSync(target, "r");
        fsyncSync(fd);
        closeSync(fd);
      }, Bun.file(path).size);
    },
    get: async (key) => {
      const row = select.get(encoder.encode(key)) as { blob: string };
      return readFileSync(join(dir, "blobs", row.blob)).byteLength;
    },
    getToFile: async (key, path) => {
      const row = select.get(encoder.encode(key)) as { blob: string };
      Bun.spawnSync(["cp", join(dir, "blobs", row.blob), path]);
    },
    getRange: async (key, offset, length) => {
      const row = select.get(encoder.encode(key)) as { blob: string };
      return (await Bun.file(join(dir, "blobs", row.blob)).slice(offset, offset + length).arrayBuffer()).byteLength;
    },
    listAll: async (prefix) => {
      let count = 0;
      let after: Uint8Array = encoder.encode(prefix);
      const end = encoder.encode(`${prefix}\u{10ffff}`);
      for (;;) {
        const rows = page.all(after, end) as { key: Uint8Array }[];
        // The delimiter check the engine does, on the key text after the prefix.
        for (const row of rows.slice(0, 1000)) if (!decoder.decode(row.key).slice(prefix.length).includes("/")) count++;
        if (rows.length <= 1000) return count;
        after = rows[999]!.key;
      }
    },
    dispose: async () => db.close(),
  };
}

/** The part of Miniflare's R2 proxy this benchmark calls. */
interface MiniflareBucket {
  put(key: string, body: Uint8Array | string): Promise<unknown>;
  get(key: string, options?: { range: { offset: number; length: number } }): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
  list(options: { prefix: string; delimiter: string; cursor?: string }): Promise<{ objects: unknown[]; truncated: boolean; cursor?: string }>;
}

async function miniflareContender(dir: string): Promise<Contender | null> {
  if (!existsSync(MINIFLARE)) return null;
  // Miniflare is not a dependency of bunflare, so its module is typed loosely here.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const { Miniflare, Log, LogLevel } = (await import(join(MINIFLARE, "dist/src/index.js"))) as any;
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response(null, { status: 404 }); } }",
    r2Buckets: ["BENCH"],
    r2Persist: dir,
    cf: false,
    log: new Log(LogLevel.WARN),
  });
  await mf.ready;
  const bucket = (await mf.getR2Bucket("BENCH")) as MiniflareBucket;
  return {
    name: "miniflare",
    put: (key, body) => bucket.put(key, body),
    putFile: async (key, path) => bucket.put(key, new Uint8Array(await Bun.file(path).arrayBuffer())),
    get: async (key) => (await (await bucket.get(key))!.arrayBuffer()).byteLength,
    getToFile: async (key, path) => Bun.write(path, await (await bucket.get(key))!.arrayBuffer()),
    getRange: async (key, offset, length) => (await (await bucket.get(key, { range: { offset, length } }))!.arrayBuffer()).byteLength,
    listAll: async (prefix) => {
      let count = 0;
      let cursor: string | undefined;
      for (;;) {
        const page = await bucket.list({ prefix, delimiter: "/", cursor });
        count += page.objects.length;
        if (!page.truncated) return count;
        cursor = page.cursor;
      }
    },
    dispose: () => mf.dispose(),
  };
}

const root = mkdtempSync(join(tmpdir(), "bunflare-bench-r2-"));
try {
  const contenders: Contender[] = [bunflareContender(join(root, "bunflare")), rawContender(join(root, "raw"))];
  try {
    const miniflare = await miniflareContender(join(root, "miniflare"));
    if (miniflare) contenders.push(miniflare);
    else console.log(`Miniflare not found at ${MINIFLARE}; its column is skipped.`);
  } catch (error) {
    console.log(`Miniflare failed to start (${(error as Error).message}); its column is skipped.`);
  }

  const small = "x".repeat(1024);
  const medium = new Uint8Array(MIB).fill(1);
  const largeFile = join(root, "large.bin");
  Bun.write(largeFile, new Uint8Array(100 * MIB).fill(2));
  await Bun.sleep(0);

  console.log(`bun ${Bun.version}, up to ${SECONDS_PER_CASE} s per case; ops/s (MiB/s for 100 MiB cases)\n`);
  const results: Record<string, Record<string, number>> = {};
  // A case that throws (Miniflare's proxy has dropped 100 MiB bodies) is
  // reported as failed instead of ending the run.
  const record = async (label: string, contender: string, run: () => Promise<number>) => {
    let rate = Number.NaN;
    try {
      rate = await run();
    } catch (error) {
      console.log(`${contender} ${label} failed: ${(error as Error).message}`);
    }
    (results[label] ??= {})[contender] = rate;
  };

  for (const contender of contenders) {
    await record("put 1 KiB", contender.name, () => measure(5_000, (i) => contender.put(`small/${i % 500}`, small)));
    for (let i = 0; i < 100; i++) await contender.put(`small/${i}`, small);
    await record("get 1 KiB", contender.name, () => measure(20_000, (i) => contender.get(`small/${i % 100}`)));
    await record("put 1 MiB", contender.name, () => measure(500, (i) => contender.put(`medium/${i % 20}`, medium)));
    for (let i = 0; i < 20; i++) await contender.put(`medium/${i}`, medium);
    await record("get 1 MiB", contender.name, () => measure(2_000, (i) => contender.get(`medium/${i % 20}`)));
    await record("put 100 MiB", contender.name, async () => 100 * (await measure(3, (i) => contender.putFile(`large/${i % 2}`, largeFile))));
    await record("get 100 MiB", contender.name, async () => {
      await contender.putFile("large/0", largeFile);
      return 100 * (await measure(3, () => contender.getToFile("large/0", join(root, "out.bin"))));
    });
    await record("get 10 MiB of 100 MiB", contender.name, async () => 10 * (await measure(20, (i) => contender.getRange("large/0", (i % 9) * 10 * MIB, 10 * MIB))));

    for (let i = 0; i < LIST_OBJECTS; i++) await contender.put(`photos/2024/${String(i).padStart(5, "0")}.jpg`, "");
    await contender.put("photos/2024/raw/extra.jpg", "");
    await record(`list ${LIST_OBJECTS} (delimiter)`, contender.name, () =>
      measure(20, async () => {
        const count = await contender.listAll("photos/2024/");
        if (count !== LIST_OBJECTS) throw new Error(`${contender.name} listed ${count} objects`);
      }),
    );
    await contender.dispose();
  }

  const names = contenders.map((c) => c.name);
  const header = ["case", ...names, "bunflare/raw", ...(names.includes("miniflare") ? ["bunflare/miniflare"] : [])];
  console.log(`| ${header.join(" | ")} |`);
  console.log(`|${header.map(() => "---").join("|")}|`);
  for (const [label, rates] of Object.entries(results)) {
    const cells = names.map((name) => (Number.isNaN(rates[name]) ? "failed" : Math.round(rates[name]!).toLocaleString("en-US")));
    const ratios = [(rates.bunflare! / rates.raw!).toFixed(2)];
    if (rates.miniflare !== undefined) ratios.push((rates.bunflare! / rates.miniflare).toFixed(1));
    console.log(`| ${label} | ${cells.join(" | ")} | ${ratios.join(" | ")} |`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
