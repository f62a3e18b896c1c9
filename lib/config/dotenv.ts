// Loads local secrets from `.dev.vars*` or `.env*` files beside the user's
// config, with wrangler's rules (workers-sdk, packages/wrangler/src/dev/dev-vars.ts
// and packages/wrangler/src/config/dot-env.ts):
//
// - `.dev.vars.<env>` replaces `.dev.vars` when it exists; the two never merge.
// - Only when no `.dev.vars*` file applies are `.env` files read, and then all
//   of `.env`, `.env.local`, `.env.<env>` and `.env.<env>.local` merge, later
//   ones winning. Their values go through dotenv-expand (`${OTHER}`), which
//   `.dev.vars` values do not.
// - CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV=false turns `.env` loading off, and
//   CLOUDFLARE_INCLUDE_PROCESS_ENV=true adds the process environment under
//   the `.env` values.
//
// dotenv and dotenv-expand are the packages wrangler itself uses, so quoting,
// `export`, comments, multi-line values and `\n` escapes parse the same way.

import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import dotenv from "dotenv";
import { expand } from "dotenv-expand";
import { log } from "../log.ts";
import { displayPath } from "./errors.ts";

/** Secrets read from files, and where they came from. */
export interface LocalSecrets {
  values: Record<string, string>;
  /** Absolute paths of the files read, in the order they were applied. */
  files: string[];
  /** Whether the process environment was added under the `.env` values. */
  includesProcessEnv: boolean;
}

/** Returns a file's text, or null when there is no such file. */
function readIfFile(path: string): string | null {
  try {
    if (!statSync(path).isFile()) return null;
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** Reads a boolean environment variable the way wrangler does: only "true" and "false" count. */
function booleanFromEnv(name: string, fallback: boolean): boolean {
  const value = process.env[name]?.toLowerCase();
  if (value === "true") return true;
  if (value === "false") return false;
  return fallback;
}

/** Loads the local secrets that apply in `dir` for the environment `env`. */
export function loadLocalSecrets(dir: string, env: string | null): LocalSecrets {
  const devVars = loadDevVars(dir, env);
  if (devVars !== null) return devVars;

  if (!booleanFromEnv("CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV", true)) return { values: {}, files: [], includesProcessEnv: false };
  return loadDotEnv(dir, env);
}

function loadDevVars(dir: string, env: string | null): LocalSecrets | null {
  const candidates = env !== null ? [`.dev.vars.${env}`, ".dev.vars"] : [".dev.vars"];
  for (const name of candidates) {
    const path = join(dir, name);
    const text = readIfFile(path);
    if (text === null) continue;
    return { values: dotenv.parse(text), files: [path], includesProcessEnv: false };
  }
  return null;
}

function loadDotEnv(dir: string, env: string | null): LocalSecrets {
  const names = [".env", ".env.local"];
  if (env !== null) names.push(`.env.${env}`, `.env.${env}.local`);

  const parsed: Record<string, string> = {};
  const files: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const text = readIfFile(path);
    if (text === null) continue;
    Object.assign(parsed, dotenv.parse(text));
    files.push(path);
  }

  // dotenv-expand writes the expanded values into `processEnv`, which starts
  // empty unless the process environment is included on purpose.
  const expanded: Record<string, string> = {};
  const includesProcessEnv = booleanFromEnv("CLOUDFLARE_INCLUDE_PROCESS_ENV", false);
  if (includesProcessEnv) {
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined) expanded[key] = value;
  }
  if (files.length === 0 && Object.keys(expanded).length === 0) return { values: {}, files, includesProcessEnv };

  expand({ parsed, processEnv: expanded });
  return { values: expanded, files, includesProcessEnv };
}

/**
 * Logs where the local secrets came from, as `wrangler dev` does at start-up.
 * Only the commands that serve the Worker call it; `d1` and `kv` stay quiet.
 */
export function logSecretSources(config: { secretFiles: readonly string[]; secretsIncludeProcessEnv: boolean }): void {
  for (const file of config.secretFiles) log.info(`Using secrets defined in ${displayPath(file)}`);
  if (config.secretsIncludeProcessEnv) log.info("Using secrets defined in the process environment");
}
