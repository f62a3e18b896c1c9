// PLACEHOLDER: `bunflare d1` is written on another branch and replaces this
// file at merge.

import type { WorkerConfig } from "../config.ts";
import type { native } from "../native.ts";

/** Runs `bunflare d1 <args>` and returns the exit code (placeholder). */
export async function runD1Command(
  args: string[],
  context: { storage: InstanceType<typeof native.Storage>; config: WorkerConfig },
): Promise<number> {
  void args;
  void context;
  throw new Error("bunflare d1 is not implemented yet");
}
