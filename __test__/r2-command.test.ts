import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createR2Bucket, type R2ObjectBody } from "../lib/bindings/r2.ts";
import { loadConfig } from "../lib/config.ts";
import { runR2Command } from "../lib/dev/r2-command.ts";
import { native } from "../lib/native.ts";
import { CLI, killChildren, runBun } from "./fixtures.ts";

afterEach(killChildren);

function setup() {
  const dir = mkdtempSync(join(tmpdir(), "bunflare-r2-cli-"));
  writeFileSync(join(dir, "wrangler.jsonc"), JSON.stringify({ name: "cli", r2_buckets: [{ binding: "FILES", bucket_name: "files" }] }));
  const config = loadConfig({ cwd: dir });
  const storage = native.Storage.open(config.persistTo);
  return { dir, config, storage };
}

/** Runs one command and returns its exit code and captured output. */
async function run(context: ReturnType<typeof setup>, args: string[], stdin?: string) {
  const out: Uint8Array[] = [];
  let err = "";
  const exitCode = await runR2Command(args, {
    ...context,
    cwd: context.dir,
    stdout: (chunk) => out.push(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk),
    stderr: (text) => (err += text),
    stdin: stdin === undefined ? undefined : new Response(stdin).body!,
  });
  return { exitCode, stdout: Buffer.concat(out).toString(), stderr: err };
}

test("put file and get to file", async () => {
  const context = setup();
  writeFileSync(join(context.dir, "photo.jpg"), "jpeg bytes");
  const put = await run(context, ["object", "put", "files/img/photo.jpg", "--file", "photo.jpg", "--content-type", "image/jpeg"]);
  expect(put.exitCode).toBe(0);
  expect(put.stderr).toBe(`Creating object "img/photo.jpg" in bucket "files".\nUpload complete.\n`);

  const object = (await createR2Bucket(context.storage, "files").get("img/photo.jpg")) as R2ObjectBody;
  expect(await object.text()).toBe("jpeg bytes");
  expect(object.httpMetadata?.contentType).toBe("image/jpeg");

  const get = await run(context, ["object", "get", "files/img/photo.jpg", "--file", "copy.jpg"]);
  expect(get.exitCode).toBe(0);
  expect(readFileSync(join(context.dir, "copy.jpg"), "utf8")).toBe("jpeg bytes");

  // Without --file the key's last segment names the file, as in wrangler.
  await run(context, ["object", "get", "files/img/photo.jpg"]);
  expect(existsSync(join(context.dir, "photo.jpg"))).toBe(true);
});

test("pipe in and out", async () => {
  const context = setup();
  expect((await run(context, ["object", "put", "files/piped.txt", "--pipe", "--cc", "no-store"], "from stdin")).exitCode).toBe(0);
  const get = await run(context, ["object", "get", "files/piped.txt", "--pipe"]);
  expect(get.stdout).toBe("from stdin");
  const head = await createR2Bucket(context.storage, "files").head("piped.txt");
  expect(head?.httpMetadata?.cacheControl).toBe("no-store");
});

test("list and delete", async () => {
  const context = setup();
  const bucket = createR2Bucket(context.storage, "files");
  await bucket.put("a/1", "one");
  await bucket.put("b/2", "two");
  const list = await run(context, ["object", "list", "files", "--prefix", "a/"]);
  const objects = JSON.parse(list.stdout) as { key: string; size: number }[];
  expect(objects.map((object) => [object.key, object.size])).toEqual([["a/1", 3]]);

  const removed = await run(context, ["object", "delete", "files/a/1"]);
  expect(removed.stderr).toBe(`Deleting object "a/1" from bucket "files".\nDelete complete.\n`);
  expect(await bucket.head("a/1")).toBeNull();
});

test("usage errors", async () => {
  const context = setup();
  const cases: [string[], string][] = [
    [["object", "get", "files"], `✘ Invalid object path "files": expected <bucket>/<key>.\n`],
    [["object", "put", "files/k"], "✘ put needs exactly one of --file <path> and --pipe.\n"],
    [["object", "put", "files/k", "--file", "missing.txt"], `✘ The file "missing.txt" does not exist.\n`],
    [["object", "get", "files/missing"], `✘ The specified key "missing" does not exist in bucket "files".\n`],
    [["object", "move", "files/k"], `✘ Unknown r2 object command "move". Use get, put, delete or list.\n`],
    [["bucket", "list"], `✘ Unknown r2 command "bucket". Use "bunflare r2 object <command>".\n`],
    [["object", "get", "files/k", "--remote"], "✘ --remote is not supported: bunflare r2 reads and writes local data only.\n"],
  ];
  for (const [args, message] of cases) {
    const result = await run(context, args);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.split("\n")[0] + "\n").toBe(message);
  }

  const tooLong = await run(context, ["object", "put", `files/${"k".repeat(1025)}`, "--pipe"], "x");
  expect(tooLong.exitCode).toBe(1);
  expect(tooLong.stderr).toEndWith("✘ put: The specified object name is not valid. (10020)\n");
});

test("cli entry point", async () => {
  const { dir } = setup();
  writeFileSync(join(dir, "in.txt"), "through the cli");
  const put = await runBun([CLI, "r2", "object", "put", "files/k.txt", "--file", "in.txt"], dir);
  expect(put.exitCode).toBe(0);
  const get = await runBun([CLI, "r2", "object", "get", "files/k.txt", "--pipe"], dir);
  expect(get.exitCode).toBe(0);
  expect(get.output).toBe("through the cli");
});
