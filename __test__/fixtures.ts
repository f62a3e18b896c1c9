// Shared helpers for the runtime, dev server and CLI tests: temp Worker
// directories, child processes that are always killed, and checks for
// rejected promises.

import { expect } from "bun:test";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = join(import.meta.dir, "..");
export const CLI = join(ROOT, "lib", "dev", "cli.ts");
export const REGISTER = join(ROOT, "lib", "register.ts");
export const TEST_PRELOAD = join(ROOT, "lib", "test", "preload.ts");

/** Creates an empty temp directory whose name starts with `prefix` and returns its path. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Creates a temp directory holding `files` (path → contents) and returns its path. */
export function workerDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "bunflare-runtime-"));
  for (const [path, contents] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), contents);
  }
  return dir;
}

/** Returns a wrangler.jsonc for a Worker at src/index.ts, with `extra` merged in. */
export function wranglerConfig(extra: Record<string, unknown> = {}): string {
  return `// written by the test\n${JSON.stringify({ name: "test-worker", main: "src/index.ts", compatibility_date: "2026-01-01", ...extra }, null, 2)}\n`;
}

/** A child process whose stdout and stderr are collected line by line. */
export class Child {
  output = "";
  private waiters: { pattern: RegExp; resolve: (match: RegExpMatchArray) => void }[] = [];

  constructor(readonly process: Subprocess<"ignore", "pipe", "pipe">) {
    void this.collect(process.stdout);
    void this.collect(process.stderr);
  }

  private async collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      this.output += decoder.decode(chunk, { stream: true });
      this.waiters = this.waiters.filter((waiter) => {
        const match = this.output.match(waiter.pattern);
        if (match) waiter.resolve(match);
        return !match;
      });
    }
  }

  /** Resolves with the first match of `pattern` in the output so far or later; rejects if the child exits first. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    const match = this.output.match(pattern);
    if (match) return Promise.resolve(match);
    return new Promise((resolve, reject) => {
      this.waiters.push({ pattern, resolve });
      void this.process.exited.then((code) => {
        // Give the stream readers a moment to drain the last lines.
        setTimeout(() => reject(new Error(`child exited with ${code} before ${pattern}:\n${this.output}`)), 50);
      });
    });
  }

  /** Counts the matches of `pattern` in the output so far. */
  count(pattern: RegExp): number {
    return this.output.match(new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : pattern.flags + "g"))?.length ?? 0;
  }
}

const children: Child[] = [];

/** Spawns `bun <args>` in `cwd`; every child is killed after each test. */
export function spawnBun(args: string[], cwd: string, env: Record<string, string> = {}): Child {
  const subprocess = Bun.spawn([process.execPath, ...args], {
    cwd,
    env: { ...Bun.env, BUNFLARE_LOG: "info", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const child = new Child(subprocess);
  children.push(child);
  return child;
}

/** Runs `bun <args>` to completion and returns its exit code and output. */
export async function runBun(args: string[], cwd: string, env: Record<string, string> = {}) {
  const child = spawnBun(args, cwd, env);
  const exitCode = await child.process.exited;
  // The readers may still hold the last chunk.
  await Bun.sleep(20);
  return { exitCode, output: child.output };
}

/**
 * Kills every child spawned so far and waits for it to exit. Each test file
 * registers it with `afterEach`, because a hook registered here would only
 * apply to the first file that imports this module.
 */
export async function killChildren(): Promise<void> {
  for (const child of children.splice(0)) {
    child.process.kill();
    await child.process.exited;
  }
}

/**
 * Fetches `url`, retrying while the connection is refused (up to about 2 s),
 * for servers whose readiness line can precede the listening socket.
 */
export async function fetchWhenListening(url: string, init?: RequestInit): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (error) {
      if (attempt >= 40 || (error as { code?: string }).code !== "ECONNREFUSED") throw error;
      await Bun.sleep(50);
    }
  }
}

/** Returns a TCP port that was free a moment ago. */
export function freePort(): number {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port!;
  server.stop(true);
  return port;
}

/** Awaits a promise that must reject and returns its error. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the promise to reject");
}

/** Awaits a promise that must reject with exactly `errorClass` (not a subclass) and `message`. */
export async function expectError(promise: Promise<unknown>, errorClass: typeof Error, message: string): Promise<void> {
  const error = await rejection(promise);
  expect(error.constructor).toBe(errorClass);
  expect(error.message).toBe(message);
}

/** Waits until `condition` holds, polling every 5 ms; fails after about 20 seconds. */
export async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 4_000; i++) {
    if (await condition()) return;
    await Bun.sleep(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}
