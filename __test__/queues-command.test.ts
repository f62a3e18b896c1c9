import { afterEach, expect, test } from "bun:test";
import { runQueuesCommand } from "../lib/dev/queues-command.ts";
import { loadConfig } from "../lib/config.ts";
import { native } from "../lib/native.ts";
import { CLI, killChildren, runBun, workerDir, wranglerConfig } from "./fixtures.ts";

afterEach(killChildren);

const CONFIG = wranglerConfig({
  queues: { producers: [{ binding: "JOBS", queue: "jobs" }], consumers: [{ queue: "jobs" }, { queue: "pulled", type: "http_pull" }] },
});

/** Runs the command in-process on a fresh Worker directory and returns its exit code and output. */
async function run(args: string[], dir = workerDir({ "wrangler.jsonc": CONFIG, "src/index.ts": "export default {};" })) {
  const config = loadConfig({ cwd: dir });
  let stdout = "";
  let stderr = "";
  const exitCode = await runQueuesCommand(args, {
    storage: native.Storage.open(config.persistTo),
    config,
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
  });
  return { exitCode, stdout, stderr, dir };
}

test("queues list shows config queues", async () => {
  const { exitCode, stdout } = await run(["list"]);
  expect(exitCode).toBe(0);
  expect(JSON.parse(stdout)).toEqual([
    { queue: "jobs", messages: 0, producers: ["JOBS"], consumer: "worker" },
    { queue: "pulled", messages: 0, producers: [], consumer: "http_pull" },
  ]);
});

test("message send then list", async () => {
  const sent = await run(["message", "send", "jobs", "hello"]);
  expect(sent.stdout).toBe('Sent a message to queue "jobs".\n');
  await run(["message", "send", "jobs", '{"n":1}', "--content-type", "json"], sent.dir);

  const listed = await run(["message", "list", "jobs"], sent.dir);
  const messages = JSON.parse(listed.stdout);
  expect(messages.map((message: { body: string; contentType: string }) => [message.body, message.contentType])).toEqual([
    ["hello", "text"],
    ['{"n":1}', "json"],
  ]);
  expect(messages[0].attempts).toBe(0);

  const counted = await run(["list"], sent.dir);
  expect(JSON.parse(counted.stdout)[0].messages).toBe(2);
});

test("message purge empties the queue", async () => {
  const sent = await run(["message", "send", "jobs", "a"]);
  await run(["message", "send", "jobs", "b"], sent.dir);

  const purged = await run(["message", "purge", "jobs"], sent.dir);
  expect(purged.stdout).toBe('Purged 2 messages from queue "jobs".\n');
  expect(JSON.parse((await run(["message", "list", "jobs"], sent.dir)).stdout)).toEqual([]);
});

test("message send rejects a bad delay", async () => {
  const { exitCode, stderr } = await run(["message", "send", "jobs", "x", "--delay-secs=-3"]);
  expect(exitCode).toBe(1);
  expect(stderr).toBe("✘ [ERROR] Queue send failed: Bad Request (delaySeconds must be a whole number of seconds from 0 to 86400, got -3)\n");
});

test("message send rejects a bad content type", async () => {
  const { exitCode, stderr } = await run(["message", "send", "jobs", "x", "--content-type", "v8"]);
  expect(exitCode).toBe(1);
  expect(stderr).toStartWith('✘ [ERROR] Invalid --content-type "v8": use text or json.\n');
});

test("message needs a queue", async () => {
  const { exitCode, stderr } = await run(["message", "list"]);
  expect(exitCode).toBe(1);
  expect(stderr).toStartWith("✘ [ERROR] message list needs a <queue> argument.\n");
});

test("cli queues runs as a command", async () => {
  const dir = workerDir({ "wrangler.jsonc": CONFIG, "src/index.ts": "export default {};" });
  const sent = await runBun([CLI, "queues", "message", "send", "jobs", "from the cli"], dir);
  expect(sent.exitCode).toBe(0);

  const listed = await runBun([CLI, "queues", "message", "list", "jobs"], dir);
  expect(listed.output).toContain('"body": "from the cli"');
});
