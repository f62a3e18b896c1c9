// Resolves a wrangler config (wrangler.jsonc, wrangler.json or wrangler.toml)
// into one plain object: the file, the environment, vars and secrets, the
// build command and every binding. The dev server, the register preload and
// the test preload all start from this object.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse as parseJsonc, printParseErrorCode, type ParseError } from "jsonc-parser";
import { parse as parseToml } from "smol-toml";

/** A `kv_namespaces` entry. `id` falls back to the binding name when absent. */
export interface KVNamespaceBinding {
  binding: string;
  id: string;
}

/** A `d1_databases` entry. The local file is `d1/<databaseName>.sqlite`. */
export interface D1DatabaseBinding {
  binding: string;
  databaseName: string;
  databaseId: string | null;
  /** Absolute path of `migrations_dir` (default `migrations` beside the config). */
  migrationsDir: string;
  /** `migrations_table` (default `d1_migrations`). */
  migrationsTable: string;
}

/** The `build` section: a command run before the Worker loads and before each reload. */
export interface BuildConfig {
  command: string;
  /** Absolute working directory for the command. */
  cwd: string;
  /** Absolute directories whose changes trigger a rebuild. */
  watchDir: string[];
}

/** The resolved configuration of one Worker. Paths are absolute. */
export interface WorkerConfig {
  /** The config file the settings came from, after following a build tool's redirect. */
  configPath: string | null;
  /** The user's own wrangler file, before any redirect. */
  userConfigPath: string | null;
  /** The directory that contains the user's config (the working directory when there is none). */
  rootDir: string;
  name: string;
  /** The Worker's entry module, or null for an assets-only Worker. */
  main: string | null;
  compatibilityDate: string | null;
  compatibilityFlags: string[];
  /** The `--env` name in force, or null for the top-level environment. */
  environment: string | null;
  /** `vars` with secrets from `.dev.vars`/`.env` and `--var` overlaid, as `env` shows them. */
  vars: Record<string, unknown>;
  /** Names (never values) of the entries in `vars` that came from secret files. */
  secretNames: string[];
  kvNamespaces: KVNamespaceBinding[];
  d1Databases: D1DatabaseBinding[];
  build: BuildConfig | null;
  /** `triggers.crons`. */
  crons: string[];
  /** Where local state lives: `--persist-to`, or `.bunflare` beside the config. */
  persistTo: string;
  /** Config keys naming bindings bunflare does not support yet, for one warning each. */
  unsupportedBindings: string[];
  /** The effective raw config after environment resolution, for bindings added later. */
  raw: Record<string, unknown>;
}

export interface LoadConfigOptions {
  /** Where to look for a config file (default: process.cwd()). */
  cwd?: string;
  /** An explicit config path (`--config`). */
  config?: string;
  /** The environment name (`--env`). */
  env?: string;
  /** `--var KEY:VALUE` overrides. */
  vars?: Record<string, string>;
  /** `--persist-to`. */
  persistTo?: string;
}

/** A problem in a config file, naming the file, the line and the key. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly file: string | null = null,
    readonly line: number | null = null,
    readonly key: string | null = null,
  ) {
    super(message);
    this.name = "ConfigError";
  }
}

const CONFIG_FILES = ["wrangler.jsonc", "wrangler.json", "wrangler.toml"];

/** Binding keys this loader resolves; every other binding key gets one warning. */
const SUPPORTED_KEYS = new Set(["kv_namespaces", "d1_databases", "vars"]);

/** Binding keys of wrangler's config that bunflare does not run yet. */
const BINDING_KEYS = [
  "r2_buckets", "durable_objects", "queues", "services", "workflows", "analytics_engine_datasets",
  "ai", "browser", "hyperdrive", "vectorize", "send_email", "dispatch_namespaces", "mtls_certificates",
  "images", "version_metadata", "assets", "secrets_store_secrets", "rate_limits", "pipelines",
];

/** Top-level keys an `env.<name>` section does not inherit, as in wrangler. */
const NON_INHERITABLE_KEYS = ["vars", "kv_namespaces", "d1_databases", ...BINDING_KEYS];

/**
 * Finds, reads and resolves the wrangler config.
 *
 * PLACEHOLDER: a minimal loader (JSONC, JSON or TOML, `--env`, vars,
 * `.dev.vars`, KV, D1, `build`) so the runtime branch can run real files.
 * The full loader from the config branch replaces this body at merge.
 */
export function loadConfig(options: LoadConfigOptions = {}): WorkerConfig {
  const cwd = resolve(options.cwd ?? process.cwd());
  const configPath = options.config
    ? resolve(cwd, options.config)
    : CONFIG_FILES.map((name) => join(cwd, name)).find((path) => existsSync(path)) ?? null;
  if (configPath && !existsSync(configPath)) {
    throw new ConfigError(`Config file not found: ${configPath}`, configPath);
  }

  const top = configPath ? parseConfigFile(configPath) : {};
  const rootDir = configPath ? dirname(configPath) : cwd;
  const raw = resolveEnvironment(top, options.env ?? null, configPath);

  const vars: Record<string, unknown> = { ...((raw.vars as Record<string, unknown>) ?? {}) };
  const secretNames: string[] = [];
  const devVarsPath = join(rootDir, options.env ? `.dev.vars.${options.env}` : ".dev.vars");
  const secretsFile = existsSync(devVarsPath) ? devVarsPath : join(rootDir, ".dev.vars");
  if (existsSync(secretsFile)) {
    for (const [name, value] of Object.entries(parseDotenv(readFileSync(secretsFile, "utf8")))) {
      vars[name] = value;
      secretNames.push(name);
    }
  }
  Object.assign(vars, options.vars ?? {});

  const buildSection = raw.build as { command?: string; cwd?: string; watch_dir?: string | string[] } | undefined;
  const main = typeof raw.main === "string" ? resolve(rootDir, raw.main) : null;
  // wrangler watches `./src` when `build.watch_dir` is not set.
  const watchDirs = buildSection?.watch_dir ?? "src";

  return {
    configPath,
    userConfigPath: configPath,
    rootDir,
    name: typeof raw.name === "string" ? raw.name : "worker",
    main,
    compatibilityDate: (raw.compatibility_date as string | undefined) ?? null,
    compatibilityFlags: (raw.compatibility_flags as string[] | undefined) ?? [],
    environment: options.env ?? null,
    vars,
    secretNames,
    kvNamespaces: ((raw.kv_namespaces as { binding: string; id?: string }[]) ?? []).map((entry) => ({
      binding: entry.binding,
      id: entry.id ?? entry.binding,
    })),
    d1Databases: ((raw.d1_databases as Record<string, string>[]) ?? []).map((entry) => ({
      binding: entry.binding!,
      databaseName: entry.database_name ?? entry.binding!,
      databaseId: entry.database_id ?? null,
      migrationsDir: resolve(rootDir, entry.migrations_dir ?? "migrations"),
      migrationsTable: entry.migrations_table ?? "d1_migrations",
    })),
    build: buildSection?.command
      ? {
          command: buildSection.command,
          cwd: resolve(rootDir, buildSection.cwd ?? "."),
          watchDir: [watchDirs].flat().map((dir) => resolve(rootDir, dir)),
        }
      : null,
    crons: ((raw.triggers as { crons?: string[] } | undefined)?.crons) ?? [],
    persistTo: options.persistTo ? resolve(cwd, options.persistTo) : join(rootDir, ".bunflare"),
    unsupportedBindings: Object.keys(raw).filter((key) => BINDING_KEYS.includes(key) && !SUPPORTED_KEYS.has(key)),
    raw,
  };
}

function parseConfigFile(path: string): Record<string, unknown> {
  const text = readFileSync(path, "utf8");
  if (path.endsWith(".toml")) {
    try {
      return parseToml(text) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`Invalid TOML in ${path}: ${(error as Error).message}`, path);
    }
  }

  const errors: ParseError[] = [];
  const value = parseJsonc(text, errors, { allowTrailingComma: true });
  if (errors.length > 0) {
    const first = errors[0]!;
    const line = text.slice(0, first.offset).split("\n").length;
    throw new ConfigError(`Invalid JSON in ${path} at line ${line}: ${printParseErrorCode(first.error)}`, path, line);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`Invalid config in ${path}: the top level must be an object`, path);
  }
  return value as Record<string, unknown>;
}

function resolveEnvironment(
  top: Record<string, unknown>,
  environment: string | null,
  configPath: string | null,
): Record<string, unknown> {
  const { env: environments, ...base } = top as { env?: Record<string, Record<string, unknown>> };
  if (environment === null) return base;

  const section = environments?.[environment];
  if (!section) {
    throw new ConfigError(`No environment named "${environment}" in ${configPath ?? "the config"}`, configPath, null, "env");
  }
  const resolved: Record<string, unknown> = { ...base };
  for (const key of NON_INHERITABLE_KEYS) delete resolved[key];
  return { ...resolved, ...section };
}

/** Parses `KEY=VALUE` lines as `.dev.vars` files use them. */
function parseDotenv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([\w.-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith("#")) continue;
    let value = match[2]!;
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    values[match[1]!] = value;
  }
  return values;
}
