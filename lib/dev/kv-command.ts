// PLACEHOLDER: `bunflare kv` is written on another branch and replaces this
// file at merge.

import type { WorkerConfig } from "../config.ts";
import type { native } from "../native.ts";

export interface CommandContext {
  storage: InstanceType<typeof native.Storage>;
  config: WorkerConfig;
}

/** Runs `bunflare kv <args>` and returns the exit code (placeholder). */
export async function runKvCommand(args: string[], context: CommandContext): Promise<number> {
  void args;
  void context;
  throw new Error("bunflare kv is not implemented yet");
}
