// Builds a WorkerConfig: locate the file, parse it, apply the environment,
// then resolve paths, bindings, secrets and `--var` overrides.

import { existsSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { log } from "../log.ts";
import type {
  AssetsConfig,
  BuildConfig,
  D1DatabaseBinding,
  DurableObjectBinding,
  DurableObjectMigration,
  ImagesBinding,
  KVNamespaceBinding,
  LoadConfigOptions,
  R2BucketBinding,
  ServiceBinding,
  QueueConsumerConfig,
  QueueProducerBinding,
  WorkflowBinding,
  WorkerConfig,
} from "../config.ts";
import { loadLocalSecrets } from "./dotenv.ts";
import { resolveEnvironment, type ResolvedEnvironment } from "./environment.ts";
import { ConfigError, displayPath, formatKeyPath, locate } from "./errors.ts";
import { findUnsupportedBindings } from "./keys.ts";
import { locateConfig, CONFIG_FILE_NAMES } from "./locate.ts";
import { readConfigSource, type ConfigSource } from "./source.ts";
import { isPlainObject } from "./validate.ts";

/** Splits `--var KEY:VALUE` arguments at the first colon, so values may contain colons. */
export function parseVarArgs(args: readonly string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const arg of args) {
    const colon = arg.indexOf(":");
    if (colon <= 0) throw new ConfigError(`Invalid --var ${JSON.stringify(arg)}: expected KEY:VALUE`);
    vars[arg.slice(0, colon)] = arg.slice(colon + 1);
  }
  return vars;
}

/** Turns a directory name into a valid Worker name (lowercase letters, digits, `-`, `_`). */
function nameFromDirectory(dir: string): string {
  const name = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9-_]+/g, "-")
    .replace(/^-+/, "");
  return name === "" ? "worker" : name;
}

/** Finds, reads and resolves the wrangler config. */
export function loadConfig(options: LoadConfigOptions = {}): WorkerConfig {
  const cwd = resolve(options.cwd ?? process.cwd());
  const envName = options.env ?? (process.env.CLOUDFLARE_ENV || undefined) ?? null;
  const paths = locateConfig({ cwd, config: options.config, script: options.script });

  if (paths.configPath === null) {
    if (options.script === undefined) {
      throw new ConfigError(
        `No config file found in ${cwd} or its parent directories (looked for ${CONFIG_FILE_NAMES.join(", ")}). ` +
          `Create one, pass --config, or pass an entry script.`,
      );
    }
    return configWithoutFile(cwd, envName, options);
  }

  const source = readConfigSource(paths.configPath);
  const resolved = resolveEnvironment(source, envName, paths.configPath !== paths.userConfigPath);
  const rootDir = paths.userConfigPath !== null ? dirname(paths.userConfigPath) : cwd;
  const configDir = dirname(source.path);
  const raw = resolved.raw;

  const build = resolveBuild(raw, configDir, rootDir);
  const main = resolveMain(source, resolved, configDir, cwd, options.script, build);
  const resolvedVars = resolveVars(raw, rootDir, resolved.environment, options.vars);

  return {
    configPath: paths.configPath,
    userConfigPath: paths.userConfigPath,
    rootDir,
    name: typeof raw.name === "string" && raw.name !== "" ? raw.name : nameFromDirectory(rootDir),
    main,
    compatibilityDate: (raw.compatibility_date as string | undefined) ?? null,
    compatibilityFlags: (raw.compatibility_flags as string[] | undefined) ?? [],
    environment: resolved.environment,
    ...resolvedVars,
    kvNamespaces: resolveKvNamespaces(raw),
    d1Databases: resolveD1Databases(raw, configDir),
    services: resolveServices(raw),
    assets: resolveAssets(raw, configDir),
    queueProducers: resolveQueueProducers(raw),
    queueConsumers: resolveQueueConsumers(raw),
    durableObjects: resolveDurableObjects(raw),
    migrations: Array.isArray(raw.migrations) ? (raw.migrations as DurableObjectMigration[]) : [],
    images: resolveImages(raw),
    r2Buckets: resolveR2Buckets(raw),
    workflows: resolveWorkflows(raw),
    build,
    crons: (isPlainObject(raw.triggers) ? (raw.triggers.crons as string[] | undefined) : undefined) ?? [],
    persistTo: resolvePersistTo(cwd, rootDir, options.persistTo),
    unsupportedBindings: findUnsupportedBindings(raw),
    raw,
  };
}

/** `bun --preload bunflare/register ./src/index.ts` with no config: name from the directory, main from the script. */
function configWithoutFile(cwd: string, envName: string | null, options: LoadConfigOptions): WorkerConfig {
  const main = resolve(cwd, options.script!);
  if (!existsSync(main)) throw new ConfigError(`Entry script not found: ${main}`, main);

  const resolvedVars = resolveVars({}, cwd, envName, options.vars);
  return {
    configPath: null,
    userConfigPath: null,
    rootDir: cwd,
    name: nameFromDirectory(cwd),
    main,
    compatibilityDate: null,
    compatibilityFlags: [],
    environment: envName,
    ...resolvedVars,
    kvNamespaces: [],
    d1Databases: [],
    services: [],
    assets: null,
    queueProducers: [],
    queueConsumers: [],
    durableObjects: [],
    migrations: [],
    images: null,
    r2Buckets: [],
    workflows: [],
    build: null,
    crons: [],
    persistTo: resolvePersistTo(cwd, cwd, options.persistTo),
    unsupportedBindings: [],
    raw: {},
  };
}

function resolvePersistTo(cwd: string, rootDir: string, persistTo: string | undefined): string {
  return persistTo !== undefined ? resolve(cwd, persistTo) : join(rootDir, ".bunflare");
}

/**
 * Resolves `main` against the config's directory, or the entry script
 * against the working directory. A missing file is an error unless a build
 * command will produce it; runBuild checks it after building.
 */
function resolveMain(
  source: ConfigSource,
  resolved: ResolvedEnvironment,
  configDir: string,
  cwd: string,
  script: string | undefined,
  build: BuildConfig | null,
): string | null {
  if (script !== undefined) {
    const main = resolve(cwd, script);
    if (!existsSync(main)) throw new ConfigError(`Entry script not found: ${main}`, main);
    return main;
  }

  const rawMain = resolved.raw.main;
  if (typeof rawMain !== "string") return null;

  const main = resolve(configDir, rawMain);
  if (build === null && !existsSync(main)) {
    const keyPath = resolved.keyPath("main");
    const line = source.lineOf(keyPath);
    throw new ConfigError(
      locate(source.path, line, `"${formatKeyPath(keyPath)}" points to ${displayPath(main)}, which does not exist`),
      source.path,
      line,
      formatKeyPath(keyPath),
    );
  }
  return main;
}

/** `build` applies only with a command; `cwd` defaults to the user's config directory and `watch_dir` to `src`. */
function resolveBuild(raw: Record<string, unknown>, configDir: string, rootDir: string): BuildConfig | null {
  if (!isPlainObject(raw.build) || typeof raw.build.command !== "string") return null;

  const watchDir = raw.build.watch_dir ?? "src";
  const watchDirs = Array.isArray(watchDir) ? (watchDir as string[]) : [watchDir as string];

  // NOTE: wrangler resolves `build.cwd` against the process's working
  // directory, but bunflare resolves it against the config. The two agree
  // whenever wrangler runs beside its config.
  return {
    command: raw.build.command,
    cwd: typeof raw.build.cwd === "string" ? resolve(configDir, raw.build.cwd) : rootDir,
    watchDir: watchDirs.map((dir) => resolve(configDir, dir)),
  };
}

function resolveKvNamespaces(raw: Record<string, unknown>): KVNamespaceBinding[] {
  const entries = Array.isArray(raw.kv_namespaces) ? (raw.kv_namespaces as Record<string, string | undefined>[]) : [];
  return entries.map((entry) => ({ binding: entry.binding!, id: entry.id ?? entry.binding! }));
}

function resolveImages(raw: Record<string, unknown>): ImagesBinding | null {
  return isPlainObject(raw.images) ? { binding: raw.images.binding as string } : null;
}

function resolveR2Buckets(raw: Record<string, unknown>): R2BucketBinding[] {
  const entries = Array.isArray(raw.r2_buckets) ? (raw.r2_buckets as Record<string, string | undefined>[]) : [];
  return entries.map((entry) => ({ binding: entry.binding!, bucketName: entry.bucket_name ?? entry.binding! }));
}

function resolveD1Databases(raw: Record<string, unknown>, configDir: string): D1DatabaseBinding[] {
  const entries = Array.isArray(raw.d1_databases) ? (raw.d1_databases as Record<string, string | undefined>[]) : [];
  return entries.map((entry) => ({
    binding: entry.binding!,
    databaseName: entry.database_name ?? entry.binding!,
    databaseId: entry.database_id ?? null,
    migrationsDir: resolve(configDir, entry.migrations_dir ?? "migrations"),
    migrationsTable: entry.migrations_table ?? "d1_migrations",
  }));
}

function resolveServices(raw: Record<string, unknown>): ServiceBinding[] {
  const entries = Array.isArray(raw.services) ? (raw.services as Record<string, unknown>[]) : [];
  return entries.map((entry) => ({
    binding: entry.binding as string,
    service: entry.service as string,
    entrypoint: typeof entry.entrypoint === "string" ? entry.entrypoint : null,
    props: isPlainObject(entry.props) ? entry.props : {},
  }));
}

/** `assets` with production's defaults: auto-trailing-slash, no not-found handling, assets before the Worker. */
function resolveAssets(raw: Record<string, unknown>, configDir: string): AssetsConfig | null {
  if (!isPlainObject(raw.assets) || typeof raw.assets.directory !== "string") return null;
  const assets = raw.assets;
  return {
    directory: resolve(configDir, assets.directory as string),
    binding: typeof assets.binding === "string" ? assets.binding : null,
    htmlHandling: (assets.html_handling as AssetsConfig["htmlHandling"] | undefined) ?? "auto-trailing-slash",
    notFoundHandling: (assets.not_found_handling as AssetsConfig["notFoundHandling"] | undefined) ?? "none",
    runWorkerFirst: (assets.run_worker_first as boolean | string[] | undefined) ?? false,
  };
}

function resolveQueueProducers(raw: Record<string, unknown>): QueueProducerBinding[] {
  const queues = isPlainObject(raw.queues) ? raw.queues : {};
  const entries = Array.isArray(queues.producers) ? (queues.producers as Record<string, unknown>[]) : [];
  return entries.map((entry) => ({
    binding: entry.binding as string,
    queue: entry.queue as string,
    deliveryDelay: (entry.delivery_delay as number | undefined) ?? null,
  }));
}

function resolveQueueConsumers(raw: Record<string, unknown>): QueueConsumerConfig[] {
  const queues = isPlainObject(raw.queues) ? raw.queues : {};
  const entries = Array.isArray(queues.consumers) ? (queues.consumers as Record<string, unknown>[]) : [];
  const numberOrNull = (value: unknown) => (typeof value === "number" ? value : null);
  return entries.map((entry) => ({
    queue: entry.queue as string,
    type: entry.type === "http_pull" ? "http_pull" : "worker",
    maxBatchSize: numberOrNull(entry.max_batch_size),
    maxBatchTimeout: numberOrNull(entry.max_batch_timeout),
    maxRetries: numberOrNull(entry.max_retries),
    retryDelay: numberOrNull(entry.retry_delay),
    deadLetterQueue: typeof entry.dead_letter_queue === "string" ? entry.dead_letter_queue : null,
    maxConcurrency: numberOrNull(entry.max_concurrency),
    visibilityTimeoutMs: numberOrNull(entry.visibility_timeout_ms),
  }));
}

function resolveDurableObjects(raw: Record<string, unknown>): DurableObjectBinding[] {
  const section = isPlainObject(raw.durable_objects) ? raw.durable_objects : {};
  const entries = Array.isArray(section.bindings) ? (section.bindings as Record<string, string | undefined>[]) : [];
  return entries.map((entry) => ({
    binding: entry.name!,
    className: entry.class_name!,
    scriptName: entry.script_name ?? null,
  }));
}

function resolveWorkflows(raw: Record<string, unknown>): WorkflowBinding[] {
  const entries = Array.isArray(raw.workflows) ? (raw.workflows as Record<string, unknown>[]) : [];
  return entries.map((entry) => ({
    binding: entry.binding as string,
    name: entry.name as string,
    className: entry.class_name as string,
    scriptName: typeof entry.script_name === "string" ? entry.script_name : null,
  }));
}

/**
 * Overlays `vars` with local secrets, then with `--var` overrides. When the
 * config lists `secrets.required`, a secret file key is loaded only if it is
 * in that list or already a var, as wrangler does.
 */
function resolveVars(
  raw: Record<string, unknown>,
  rootDir: string,
  environment: string | null,
  overrides: LoadConfigOptions["vars"],
): Pick<WorkerConfig, "vars" | "secretNames" | "secretFiles" | "secretsIncludeProcessEnv"> {
  const vars: Record<string, unknown> = isPlainObject(raw.vars) ? { ...raw.vars } : {};
  const secretNames = new Set<string>();

  // NOTE: secret files are read beside the user's config, as `wrangler dev`
  // and `wrangler types` do. The Vite plugin's preview reads them beside the
  // generated config instead, which bunflare does not follow.
  const secrets = loadLocalSecrets(rootDir, environment);
  const required = isPlainObject(raw.secrets) ? (raw.secrets.required as string[] | undefined) : undefined;
  for (const [key, value] of Object.entries(secrets.values)) {
    if (required !== undefined && !(key in vars) && !required.includes(key)) continue;
    vars[key] = value;
    secretNames.add(key);
  }

  if (required !== undefined) {
    const missing = required.filter((key) => !(key in secrets.values));
    if (missing.length > 0) {
      log.warn(`Secrets listed in "secrets.required" have no local value in .dev.vars or .env files`, { names: missing.join(",") });
    }
  }

  const parsedOverrides = Array.isArray(overrides) ? parseVarArgs(overrides) : (overrides as Record<string, string> | undefined);
  for (const [key, value] of Object.entries(parsedOverrides ?? {})) {
    vars[key] = value;
    secretNames.delete(key);
  }
  return {
    vars,
    secretNames: [...secretNames],
    secretFiles: secrets.files,
    secretsIncludeProcessEnv: secrets.includesProcessEnv,
  };
}
