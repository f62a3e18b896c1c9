// Resolves a wrangler config (wrangler.jsonc, wrangler.json or wrangler.toml)
// into one plain object: the file, the environment, vars and secrets, the
// build command and every binding. The dev server, the register preload and
// the test preload all start from this object.

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

/** The `assets` section: static files served before (or after) the Worker. */
export interface AssetsConfig {
  /** Absolute path of `assets.directory`. */
  directory: string;
  /** `assets.binding`: the env name of the assets Fetcher, or null for none. */
  binding: string | null;
  htmlHandling: "auto-trailing-slash" | "force-trailing-slash" | "drop-trailing-slash" | "none";
  notFoundHandling: "none" | "404-page" | "single-page-application";
  /** `assets.run_worker_first`: always, never, or for paths matching these patterns. */
  runWorkerFirst: boolean | string[];
}

/** A `services` entry: a binding to another Worker's default or named entrypoint. */
export interface ServiceBinding {
  binding: string;
  /** The `name` of the Worker it calls. */
  service: string;
  /** A named export of that Worker, or null for its default export. */
  entrypoint: string | null;
  /** `props`, given to the entrypoint as `ctx.props`. */
  props: Record<string, unknown>;
}

/** A `queues.producers` entry: `env[binding]` sends to `queue`. */
export interface QueueProducerBinding {
  binding: string;
  queue: string;
  /** `delivery_delay`: the default `delaySeconds` of every send, in seconds. */
  deliveryDelay: number | null;
}

/**
 * A `queues.consumers` entry. Unset fields are null and take production's
 * defaults in the queue engine (src/queue.rs), which also checks their ranges.
 */
export interface QueueConsumerConfig {
  queue: string;
  /** `"worker"` (push, the default) or `"http_pull"`. */
  type: "worker" | "http_pull";
  maxBatchSize: number | null;
  /** Seconds. */
  maxBatchTimeout: number | null;
  maxRetries: number | null;
  /** Seconds. */
  retryDelay: number | null;
  deadLetterQueue: string | null;
  maxConcurrency: number | null;
  visibilityTimeoutMs: number | null;
}

/** A `durable_objects.bindings` entry. */
export interface DurableObjectBinding {
  /** The env property (`name` in the config). */
  binding: string;
  className: string;
  /** `script_name`: the Worker that defines the class, when it is not this one; it must run in the same `bunflare dev`. */
  scriptName: string | null;
}

/** A `migrations` entry, with wrangler's key names; applied once per tag to local state. */
export interface DurableObjectMigration {
  tag: string;
  new_classes?: string[];
  new_sqlite_classes?: string[];
  renamed_classes?: { from: string; to: string }[];
  deleted_classes?: string[];
  transferred_classes?: { from: string; from_script: string; to: string }[];
}

/** The `images` entry: one Images binding. */
export interface ImagesBinding {
  binding: string;
}

/** An `r2_buckets` entry. The local blobs are under `r2/<bucketName>/`; `bucket_name` falls back to the binding name. */
export interface R2BucketBinding {
  binding: string;
  bucketName: string;
}

/**
 * A `workflows` entry: `env[binding]` creates and finds instances of the
 * Workflow `name`, whose class `className` is exported by this Worker, or
 * by the Worker `scriptName` when set.
 */
export interface WorkflowBinding {
  binding: string;
  name: string;
  className: string;
  scriptName: string | null;
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
  /** Absolute paths of the `.dev.vars*` or `.env*` files the secrets were read from. */
  secretFiles: string[];
  /** Whether CLOUDFLARE_INCLUDE_PROCESS_ENV added the process environment to the secrets. */
  secretsIncludeProcessEnv: boolean;
  kvNamespaces: KVNamespaceBinding[];
  d1Databases: D1DatabaseBinding[];
  services: ServiceBinding[];
  assets: AssetsConfig | null;
  queueProducers: QueueProducerBinding[];
  queueConsumers: QueueConsumerConfig[];
  durableObjects: DurableObjectBinding[];
  /** `migrations`, in order. */
  migrations: DurableObjectMigration[];
  /** `images`; absent or null when the config has none. */
  images?: ImagesBinding | null;
  r2Buckets: R2BucketBinding[];
  workflows: WorkflowBinding[];
  build: BuildConfig | null;
  /** `triggers.crons`, each checked by the native cron parser. */
  crons: string[];
  /** The local state directory: `--persist-to`, or `.bunflare` beside the config. */
  persistTo: string;
  /** Config keys naming bindings bunflare does not support yet, for one warning each. */
  unsupportedBindings: string[];
  /** The effective raw config after environment resolution, for bindings added later. */
  raw: Record<string, unknown>;
}

export interface LoadConfigOptions {
  /** The directory searched for a config file (default: process.cwd()). */
  cwd?: string;
  /** An explicit config path (`--config`), resolved against `cwd`. */
  config?: string;
  /** The environment name (`--env`); CLOUDFLARE_ENV applies when it is absent, as in wrangler. */
  env?: string;
  /** `--var` overrides, as a map or as the raw `KEY:VALUE` arguments. */
  vars?: Record<string, string> | readonly string[];
  /** `--persist-to`, resolved against `cwd`. */
  persistTo?: string;
  /**
   * An entry script given on the command line, resolved against `cwd`. It
   * replaces `main`, the config search starts from its directory, and it
   * makes a missing config file acceptable.
   */
  script?: string;
}

export { ConfigError } from "./config/errors.ts";
export { BuildError, runBuild } from "./config/build.ts";
export { UNSUPPORTED_BINDING_KEYS, warnUnsupportedBindings } from "./config/keys.ts";
export { loadConfig, parseVarArgs } from "./config/load.ts";
export { logSecretSources } from "./config/dotenv.ts";
export { sectionsDeclaring } from "./config/environment.ts";
export { readConfigSource } from "./config/source.ts";
