// `bunflare cache purge`: empties the local Cache API storage that
// `caches.default` and `caches.open(name)` use, like a zone's "Purge Everything".

import type { Storage } from "../../index.js";
import type { WorkerConfig } from "../config.ts";
import { CONFIG_FLAGS_USAGE } from "./config-flags.ts";
import { commandOutput, parseCommandArgs } from "./command.ts";
import { callNative } from "../errors.ts";
import { native } from "../native.ts";

export interface CacheCommandContext {
  storage: Storage;
  config: WorkerConfig;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

const USAGE = `Usage: bunflare cache purge [options]

Removes cached responses from the local Cache API storage.

Options:
  --name <cache>          Purge only this cache: "default" for caches.default, or a name given to caches.open()
${CONFIG_FLAGS_USAGE}
`;

/** Runs `bunflare cache <args>` and returns the exit code. */
export async function runCacheCommand(args: string[], context: CacheCommandContext): Promise<number> {
  const { stdout, stderr } = commandOutput(context);

  let parsed;
  try {
    parsed = parseCommandArgs(args, { name: { type: "string" } });
  } catch (error) {
    stderr(`✘ ${(error as Error).message}\n\n${USAGE}`);
    return 1;
  }

  const [subcommand, ...extra] = parsed.positionals;
  if (parsed.values.help) {
    stdout(USAGE);
    return 0;
  }
  if (subcommand !== "purge" || extra.length > 0) {
    stderr(`✘ ${subcommand === undefined ? "Missing command" : `Unknown command "${[subcommand, ...extra].join(" ")}"`}.\n\n${USAGE}`);
    return 1;
  }

  const name = parsed.values.name ?? null;
  const removed = callNative(() => native.purgeCaches(context.storage, name));
  const which = name === null ? "every cache" : `cache "${name}"`;
  stdout(`Purged ${removed} ${removed === 1 ? "entry" : "entries"} from ${which} in ${context.storage.path ?? "memory"}.\n`);
  return 0;
}
