// The preamble the `bunflare <binding>` commands share: the usage error
// class, the default output writers, argument parsing with the config flags,
// and the error report that ends a failed command.

import { parseArgs, type ParseArgsConfig } from "node:util";
import { CONFIG_FLAGS } from "./config-flags.ts";
import { translateError } from "../errors.ts";

/** A mistake in the command line, reported with exit code 1 and the command's usage text or a pointer to it. */
export class UsageError extends Error {}

/** Returns the output writers of a command's context, falling back to the process's stdout and stderr. */
export function commandOutput<Chunk extends string | Uint8Array>(context: {
  stdout?: (chunk: Chunk) => void;
  stderr?: (text: string) => void;
}): { stdout: (chunk: Chunk) => void; stderr: (text: string) => void } {
  return {
    stdout: context.stdout ?? ((chunk) => process.stdout.write(chunk)),
    stderr: context.stderr ?? ((text) => process.stderr.write(text)),
  };
}

const HELP_FLAG = { help: { type: "boolean", short: "h" } } as const;

/**
 * Parses a command's arguments strictly, with positionals allowed and with
 * `-h/--help` and the config flags added to `options`. The caller resolves
 * the config flags into its context before calling, so they have no further
 * effect in the command.
 */
export function parseCommandArgs<const Options extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: Options) {
  return parseArgs({ args, allowPositionals: true, strict: true, options: { ...options, ...CONFIG_FLAGS, ...HELP_FLAG } });
}

/**
 * Writes a failed command's error to `stderr` as `✘ [ERROR] <message>`,
 * followed by `usage` when the error is a UsageError or a parseArgs error
 * whose code passes `isUsageCode` (by default every `ERR_PARSE_ARGS*` code).
 * Returns the exit code 1.
 */
export function reportCommandError(
  error: unknown,
  stderr: (text: string) => void,
  usage: string,
  isUsageCode: (code: string) => boolean = (code) => code.startsWith("ERR_PARSE_ARGS"),
): number {
  const translated = translateError(error);
  stderr(`✘ [ERROR] ${translated instanceof Error ? translated.message : String(translated)}\n`);
  const code = (error as { code?: unknown }).code;
  if (error instanceof UsageError || (typeof code === "string" && isUsageCode(code))) stderr(`\n${usage}`);
  return 1;
}
