import { expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKVNamespace } from "../lib/bindings/kv.ts";
import type { WorkerConfig } from "../lib/config.ts";
import { runKvCommand } from "../lib/dev/kv-command.ts";
import { native } from "../lib/native.ts";

function setup() {
  const dir = mkdtempSync(join(tmpdir(), "bunflare-kv-cli-"));
  const persistTo = join(dir, ".bunflare");
  const storage = native.Storage.open(persistTo);
  const config: WorkerConfig = {
    configPath: join(dir, "wrangler.jsonc"),
    userConfigPath: join(dir, "wrangler.jsonc"),
    rootDir: dir,
    name: "cli-test",
    main: null,
    compatibilityDate: null,
    compatibilityFlags: [],
    environment: null,
    vars: {},
    secretNames: [],
    secretFiles: [],
    secretsIncludeProcessEnv: false,
    kvNamespaces: [{ binding: "CACHE", id: "cache-namespace-id" }],
    d1Databases: [],
    services: [],
    queueProducers: [],
    queueConsumers: [],
    workflows: [],
    assets: null,
    durableObjects: [],
    migrations: [],
    r2Buckets: [],
    build: null,
    crons: [],
    persistTo,
    unsupportedBindings: [],
    raw: {},
  };
  return { dir, storage, config };
}

/** Runs one command and returns its exit code and captured output. */
async function run(context: ReturnType<typeof setup>, ...args: string[]) {
  const out: Array<string | Uint8Array> = [];
  let err = "";
  const code = await runKvCommand(args, {
    storage: context.storage,
    config: context.config,
    stdout: (chunk) => out.push(chunk),
    stderr: (text) => (err += text),
  });
  const stdout = out.map((chunk) => (typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk))).join("");
  return { code, stdout, stderr: err, chunks: out };
}

test("put then get by binding", async () => {
  const context = setup();
  const put = await run(context, "key", "put", "greeting", "hello", "--binding", "CACHE");
  expect(put.code).toBe(0);
  expect(put.stdout).toBe('Writing the value "hello" to key "greeting" on namespace cache-namespace-id.\n');

  const get = await run(context, "key", "get", "greeting", "--binding", "CACHE", "--text");
  expect(get.code).toBe(0);
  expect(get.stdout).toBe("hello\n");

  // The Worker's binding reads the same entry.
  const kv = createKVNamespace(context.storage, "cache-namespace-id");
  expect(await kv.get("greeting")).toBe("hello");
});

test("get without --text writes raw bytes", async () => {
  const context = setup();
  await createKVNamespace(context.storage, "raw").put("bin", new Uint8Array([0, 1, 255]));
  const get = await run(context, "key", "get", "bin", "--namespace-id", "raw");
  expect(get.code).toBe(0);
  expect(get.chunks[0]).toBeInstanceOf(Uint8Array);
  expect([...(get.chunks[0] as Uint8Array)]).toEqual([0, 1, 255]);
});

test("get of a missing key", async () => {
  const context = setup();
  const get = await run(context, "key", "get", "nope", "--binding", "CACHE");
  expect(get.code).toBe(0);
  expect(get.stdout).toBe("Value not found\n");
});

test("put from --path with ttl and metadata", async () => {
  const context = setup();
  const file = join(context.dir, "value.bin");
  writeFileSync(file, "file contents");
  const put = await run(context, "key", "put", "f", "--path", file, "--namespace-id", "ns", "--ttl", "120", "--metadata", '{"a":1}');
  expect(put.code).toBe(0);
  expect(put.stdout).toBe(`Writing the contents of ${file} to the key "f" on namespace ns with metadata {"a":1}.\n`);

  const kv = createKVNamespace(context.storage, "ns");
  expect(await kv.getWithMetadata("f")).toEqual({ value: "file contents", metadata: { a: 1 }, cacheStatus: null });
  const [entry] = (await kv.list()).keys;
  expect(entry!.expiration).toBeGreaterThanOrEqual(Math.floor(native.clockNow() / 1000) + 119);
});

test("put with absolute expiration", async () => {
  const context = setup();
  const expiration = Math.floor(native.clockNow() / 1000) + 600;
  const put = await run(context, "key", "put", "e", "v", "--namespace-id", "ns", "--expiration", String(expiration));
  expect(put.code).toBe(0);
  expect((await createKVNamespace(context.storage, "ns").list()).keys).toEqual([{ name: "e", expiration }]);
});

test("list prints all keys as JSON", async () => {
  const context = setup();
  const kv = createKVNamespace(context.storage, "cache-namespace-id");
  for (let i = 0; i < 1005; i++) await kv.put(`item-${String(i).padStart(4, "0")}`, "");
  await kv.put("other", "", { metadata: { m: 1 } });

  const all = await run(context, "key", "list", "--binding", "CACHE");
  expect(all.code).toBe(0);
  expect(JSON.parse(all.stdout).length).toBe(1006);

  const filtered = await run(context, "key", "list", "--binding", "CACHE", "--prefix", "oth");
  expect(filtered.stdout).toBe(`${JSON.stringify([{ name: "other", metadata: { m: 1 } }], undefined, 2)}\n`);
});

test("delete removes the key", async () => {
  const context = setup();
  const kv = createKVNamespace(context.storage, "ns");
  await kv.put("gone", "v");
  const result = await run(context, "key", "delete", "gone", "--namespace-id", "ns");
  expect(result.code).toBe(0);
  expect(result.stdout).toBe('Deleting the key "gone" on namespace ns.\n');
  expect(await kv.get("gone")).toBeNull();
});

test("engine errors exit 1 with production message", async () => {
  const context = setup();
  const ttl = await run(context, "key", "put", "k", "v", "--namespace-id", "ns", "--ttl", "10");
  expect(ttl.code).toBe(1);
  expect(ttl.stderr).toBe("✘ [ERROR] KV PUT failed: 400 Invalid expiration_ttl of 10. Expiration TTL must be at least 60.\n");

  const metadata = await run(context, "key", "put", "k", "v", "--namespace-id", "ns", "--metadata", "{not json");
  expect(metadata.code).toBe(1);
  expect(metadata.stderr).toBe("✘ [ERROR] KV PUT failed: 400 Metadata is not valid JSON.\n");

  const empty = await run(context, "key", "get", "", "--namespace-id", "ns");
  expect(empty.code).toBe(1);
  expect(empty.stderr).toBe("✘ [ERROR] Key name cannot be empty.\n");
});

test("usage errors exit 1", async () => {
  const context = setup();
  const cases: Array<[string[], string]> = [
    [["key", "get", "k"], "Pass --binding <name> or --namespace-id <id>."],
    [["key", "get", "k", "--binding", "CACHE", "--namespace-id", "x"], "--binding and --namespace-id cannot be used together; pass one of them."],
    [["key", "get", "k", "--binding", "NOPE"], 'No KV namespace with binding "NOPE" in the configured "kv_namespaces". Configured bindings: CACHE.'],
    [["key", "put", "k", "--binding", "CACHE"], "put needs exactly one of a value argument and --path <file>."],
    [["key", "put", "k", "--binding", "CACHE", "--ttl", "soon", "v"], 'Invalid --ttl "soon": expected a number of seconds.'],
    [["key", "rename", "k", "--binding", "CACHE"], 'Unknown kv key command "rename". Use list, get, put or delete.'],
    [["namespace", "list", "--binding", "CACHE"], 'Unknown kv command "namespace". Use "bunflare kv key <command>".'],
    [["key", "get", "k", "--binding", "CACHE", "--remote"], "--remote is not supported: bunflare kv reads and writes local data only."],
  ];
  for (const [args, message] of cases) {
    const result = await run(context, ...args);
    expect(result.code).toBe(1);
    expect(result.stderr.split("\n")[0]).toBe(`✘ [ERROR] ${message}`);
    expect(result.stderr).toContain("Usage: bunflare kv key <command>");
  }
});

test("global flags are accepted", async () => {
  const context = setup();
  const args = ["key", "put", "greeting", "hello", "--binding", "CACHE"];
  const globalFlags = ["--persist-to", ".x", "--config", "wrangler.jsonc", "-c", "wrangler.jsonc", "--env", "dev", "-e", "dev"];
  const put = await run(context, ...args, ...globalFlags);
  expect(put.stderr).toBe("");
  expect(put.code).toBe(0);
  expect(await createKVNamespace(context.storage, "cache-namespace-id").get("greeting")).toBe("hello");
});

test("unknown flag exits 1", async () => {
  const context = setup();
  const result = await run(context, "key", "list", "--binding", "CACHE", "--bogus");
  expect(result.code).toBe(1);
  expect(result.stderr).toContain("--bogus");
});

test("missing command prints help", async () => {
  const context = setup();
  for (const args of [[], ["key"], ["--binding", "CACHE"], ["key", "--binding", "CACHE"]]) {
    const result = await run(context, ...args);
    expect(result.code).toBe(1);
    expect(result.stdout).toStartWith("Usage: bunflare kv key <command>");
    expect(result.stderr).toBe("");
  }
});

test("help exits 0", async () => {
  const context = setup();
  const result = await run(context, "key", "--help");
  expect(result.code).toBe(0);
  expect(result.stdout).toStartWith("Usage: bunflare kv key <command>");
});
