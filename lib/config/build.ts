// Runs the config's `build.command` through the shell, as wrangler's custom
// build does (workers-sdk, packages/wrangler/src/deployment-bundle/run-custom-build.ts):
// the process environment is passed on, and every output line is shown with
// a `[custom build]` prefix.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { log } from "../log.ts";
import type { WorkerConfig } from "../config.ts";
import { displayPath } from "./errors.ts";

/** A build command that exited with a non-zero code or was killed by a signal. */
export class BuildError extends Error {
  constructor(
    message: string,
    readonly command: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
  ) {
    super(message);
    this.name = "BuildError";
  }
}

const PREFIX = "[custom build]";

/** Writes each complete line of a stream with the prefix; returns a flush for the last partial line. */
function prefixLines(write: (line: string) => void): { push(chunk: Buffer): void; flush(): void } {
  let pending = "";
  return {
    push(chunk) {
      pending += chunk.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) write(`${PREFIX} ${line}\n`);
    },
    flush() {
      if (pending !== "") write(`${PREFIX} ${pending}\n`);
      pending = "";
    },
  };
}

/**
 * Runs `build.command` in `build.cwd` and resolves when it exits with 0.
 * Rejects with a BuildError naming the exit code otherwise, and with an
 * Error when the command succeeded but `main` still does not exist.
 * Does nothing when the config has no build command.
 */
export async function runBuild(config: WorkerConfig): Promise<void> {
  const build = config.build;
  if (build === null) return;

  log.info(`${PREFIX} Running: ${build.command}`, { cwd: displayPath(build.cwd) });
  const child = spawn(build.command, {
    shell: true,
    cwd: build.cwd,
    env: { ...process.env, WRANGLER_COMMAND: "dev" },
    stdio: ["ignore", "pipe", "pipe"],
  });

  const stdout = prefixLines((line) => process.stdout.write(line));
  const stderr = prefixLines((line) => process.stderr.write(line));
  child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));

  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
  });
  stdout.flush();
  stderr.flush();

  if (code !== 0) {
    const failure = signal !== null ? `was killed by ${signal}` : `failed with exit code ${code}`;
    throw new BuildError(
      `Custom build \`${build.command}\` ${failure} (in ${displayPath(build.cwd)}); its output is above`,
      build.command,
      code,
      signal,
    );
  }

  // The build usually produces `main`, so its existence is checked only now.
  if (config.main !== null && !existsSync(config.main)) {
    throw new Error(
      `The custom build \`${build.command}\` succeeded, but "main" (${displayPath(config.main)}) still does not exist. ` +
        `"main" should point to the file the build writes.`,
    );
  }
}
