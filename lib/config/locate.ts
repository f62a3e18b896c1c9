// Finds the wrangler config file, and follows a build tool's redirect.
//
// Both searches follow wrangler (workers-sdk,
// packages/workers-utils/src/config/config-helpers.ts): each file name is
// searched for from the start directory upward, `wrangler.jsonc` first, then
// `wrangler.json`, then `wrangler.toml`. A build tool such as the Cloudflare
// Vite plugin writes `.wrangler/deploy/config.json` containing
// `{ "configPath": "<generated config>" }`. That file is also searched for
// upward, and it applies only when it sits beside the user's config.

import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse as parseJsonc, type ParseError } from "jsonc-parser";
import { log } from "../log.ts";
import { ConfigError, displayPath } from "./errors.ts";

/**
 * Config file names in bunflare's order of preference.
 *
 * NOTE: wrangler prefers `wrangler.json` over `wrangler.jsonc`; bunflare
 * prefers `wrangler.jsonc`, the format Cloudflare's templates generate. The
 * two differ only when both files exist.
 */
export const CONFIG_FILE_NAMES = ["wrangler.jsonc", "wrangler.json", "wrangler.toml"] as const;

/** Path of the redirect a build tool writes, relative to the user's config directory. */
export const DEPLOY_CONFIG_PATH = join(".wrangler", "deploy", "config.json");

export interface ConfigPaths {
  /** The config whose settings apply: the redirect target, or the user's config. */
  configPath: string | null;
  /** The config the user wrote, before any redirect. */
  userConfigPath: string | null;
  /** The redirect file that was followed, if any. */
  deployConfigPath: string | null;
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/** Returns the first `name` found in `start` or one of its ancestors. */
function findUp(name: string, start: string): string | null {
  let dir = start;
  for (;;) {
    const candidate = join(dir, name);
    if (isFile(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/**
 * Resolves which config file applies. An explicit `--config` path is used as
 * it is, without following a redirect, as wrangler does.
 */
export function locateConfig(options: { cwd: string; config?: string; script?: string }): ConfigPaths {
  if (options.config !== undefined) {
    const path = resolve(options.cwd, options.config);
    if (!isFile(path)) throw new ConfigError(`Config file not found: ${path} (from --config ${options.config})`, path);
    return { configPath: path, userConfigPath: path, deployConfigPath: null };
  }

  const start = options.script !== undefined ? dirname(resolve(options.cwd, options.script)) : options.cwd;
  let userConfigPath: string | null = null;
  for (const name of CONFIG_FILE_NAMES) {
    userConfigPath = findUp(name, start);
    if (userConfigPath !== null) break;
  }

  const deployConfigPath = findUp(DEPLOY_CONFIG_PATH, start);
  if (deployConfigPath === null) return { configPath: userConfigPath, userConfigPath, deployConfigPath: null };

  const configPath = readRedirect(deployConfigPath);
  if (userConfigPath !== null && join(dirname(userConfigPath), DEPLOY_CONFIG_PATH) !== deployConfigPath) {
    throw new ConfigError(
      `Found the config ${displayPath(userConfigPath)} and the redirect ${displayPath(deployConfigPath)}, ` +
        `but they are not in the same directory, so it is unclear which applies. ` +
        `A redirect applies only when it sits at ${displayPath(join(dirname(userConfigPath), DEPLOY_CONFIG_PATH))}. ` +
        `Delete ${displayPath(deployConfigPath)} if a previous build left it, or run from the directory of the config you want.`,
      deployConfigPath,
    );
  }

  log.info("Using redirected config", {
    config: displayPath(configPath),
    userConfig: userConfigPath === null ? "none" : displayPath(userConfigPath),
    redirect: displayPath(deployConfigPath),
  });
  return { configPath, userConfigPath, deployConfigPath };
}

/** Reads `{ "configPath": ... }` from a redirect file and returns the absolute, existing target. */
function readRedirect(deployConfigPath: string): string {
  const text = readFileSync(deployConfigPath, "utf8");
  const errors: ParseError[] = [];
  const parsed: unknown = parseJsonc(text, errors, { allowTrailingComma: true });
  if (errors.length > 0) {
    throw new ConfigError(`Could not parse the redirect file ${displayPath(deployConfigPath)}: invalid JSON`, deployConfigPath);
  }

  const target = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>).configPath : undefined;
  if (typeof target !== "string" || target === "") {
    throw new ConfigError(
      `The redirect file ${displayPath(deployConfigPath)} must contain a string "configPath"; it contains: ${text.trim()}`,
      deployConfigPath,
    );
  }

  const configPath = resolve(dirname(deployConfigPath), target);
  if (!existsSync(configPath)) {
    throw new ConfigError(
      `The redirect file ${displayPath(deployConfigPath)} points to ${displayPath(configPath)}, which does not exist`,
      deployConfigPath,
    );
  }
  return configPath;
}
