// `bun test` with the bunflare/test preload, run as a user runs it: a child
// `bun test` in a project folder whose bunfig.toml names the preload. The
// fixture's files check isolation, reset, rollback, the clock, fetchMock,
// SELF and exports; the examples are Workers tested in the Vitest style.

import { expect, test } from "bun:test";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");

interface RunResult {
  exitCode: number;
  output: string;
}

function runBunTest(dir: string, ...flags: string[]): RunResult {
  const child = Bun.spawnSync([process.execPath, "test", ...flags], {
    cwd: dir,
    env: { ...process.env, BUNFLARE_LOG: "silent" },
    stdout: "pipe",
    stderr: "pipe",
  });
  // bun test prints its report on stderr.
  return { exitCode: child.exitCode ?? -1, output: child.stdout.toString() + child.stderr.toString() };
}

/** Returns the count on the summary line ` N <word>`, or 0 when the line is absent. */
function summaryCount(output: string, word: string): number {
  const match = output.match(new RegExp(`^ (\\d+) ${word}$`, "m"));
  return match ? Number(match[1]) : 0;
}

function expectAllPass(result: RunResult, passed: number, todo = 0): void {
  if (result.exitCode !== 0) console.error(result.output);
  expect(result.exitCode).toBe(0);
  expect(summaryCount(result.output, "pass")).toBe(passed);
  expect(summaryCount(result.output, "todo")).toBe(todo);
  expect(summaryCount(result.output, "fail")).toBe(0);
}

const FIXTURE = join(ROOT, "__test__", "fixtures", "testing");

test("preload fixture passes", () => {
  expectAllPass(runBunTest(FIXTURE), 55);
}, 60_000);

test("preload fixture passes in parallel", () => {
  expectAllPass(runBunTest(FIXTURE, "--parallel=2"), 55);
}, 60_000);

test("preload fixture passes isolated", () => {
  expectAllPass(runBunTest(FIXTURE, "--isolate"), 55);
}, 60_000);

test("queues example passes", () => {
  expectAllPass(runBunTest(join(ROOT, "examples", "queues")), 9);
}, 60_000);

test("durable-objects example passes", () => {
  expectAllPass(runBunTest(join(ROOT, "examples", "durable-objects")), 4);
}, 60_000);

test("workflows example passes", () => {
  expectAllPass(runBunTest(join(ROOT, "examples", "workflows")), 4);
}, 60_000);

test("northwind example passes", () => {
  expectAllPass(runBunTest(join(ROOT, "examples", "northwind")), 6);
}, 60_000);

function runWithConfig(config: string): RunResult {
  const child = Bun.spawnSync([process.execPath, "test", "test/self.test.ts"], {
    cwd: FIXTURE,
    env: { ...process.env, BUNFLARE_LOG: "warn", BUNFLARE_CONFIG: config },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { exitCode: child.exitCode ?? -1, output: child.stdout.toString() + child.stderr.toString() };
}

test("BUNFLARE_CONFIG names the config", () => {
  expectAllPass(runWithConfig("wrangler.jsonc"), 9);
}, 60_000);

test("BUNFLARE_CONFIG missing leaves env empty", () => {
  const result = runWithConfig("missing.jsonc");

  expect(result.exitCode).not.toBe(0);
  expect(result.output).toContain("[warn] bunflare/test: env is empty because the config could not be loaded:");
  expect(result.output).toContain("missing.jsonc");
  // The setup preload is the first code to use env.
  expect(result.output).toContain("undefined is not an object (evaluating 'env.KV.put')");
}, 60_000);
