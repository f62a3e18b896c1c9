// The config keys wrangler accepts, grouped by how environments treat them,
// and the binding keys bunflare does not support yet.
//
// The groups follow wrangler's config validation (workers-sdk,
// packages/workers-utils/src/config/validation.ts): an "inheritable" key in
// `env.<name>` falls back to the top-level value, a "non-inheritable" key
// does not, and a top-level-only key applies to every environment.

import { log } from "../log.ts";

/** Keys a named environment takes from the top level when it does not set them. */
export const INHERITABLE_KEYS: ReadonlySet<string> = new Set([
  "account_id",
  "compatibility_date",
  "compatibility_flags",
  "jsx_factory",
  "jsx_fragment",
  "tsconfig",
  "rules",
  "name",
  "main",
  "find_additional_modules",
  "preserve_file_names",
  "base_dir",
  "route",
  "routes",
  "triggers",
  "assets",
  "limits",
  "placement",
  "build",
  "workers_dev",
  "preview_urls",
  "migrations",
  "exports",
  "logfwdr",
  "no_bundle",
  "minify",
  "keep_names",
  "first_party_worker",
  "logpush",
  "upload_source_maps",
  "observability",
  "access",
  "cache",
  "compliance_region",
  "python_modules",
  "previews",
]);

/** Keys a named environment must declare itself: the top-level value never applies to it. */
export const NON_INHERITABLE_KEYS: ReadonlySet<string> = new Set([
  "vars",
  "secrets",
  "define",
  "durable_objects",
  "workflows",
  "kv_namespaces",
  "cloudchamber",
  "containers",
  "send_email",
  "queues",
  "connect",
  "r2_buckets",
  "d1_databases",
  "vectorize",
  "ai_search_namespaces",
  "ai_search",
  "websearch",
  "agent_memory",
  "hyperdrive",
  "services",
  "analytics_engine_datasets",
  "dispatch_namespaces",
  "mtls_certificates",
  "tail_consumers",
  "streaming_tail_consumers",
  "unsafe",
  "browser",
  "ai",
  "images",
  "stream",
  "media",
  "pipelines",
  "secrets_store_secrets",
  "artifacts",
  "unsafe_hello_world",
  "flagship",
  "worker_loaders",
  "ratelimits",
  "vpc_services",
  "vpc_networks",
  "version_metadata",
]);

/** Keys valid only at the top level; they apply whatever the environment. */
export const TOP_LEVEL_ONLY_KEYS: ReadonlySet<string> = new Set([
  "$schema",
  "env",
  "send_metrics",
  "keep_vars",
  "addresses",
  "pages_build_output_dir",
  "dependencies_instrumentation",
  "dev",
  "site",
  "alias",
  "wasm_modules",
  "text_blobs",
  "data_blobs",
  // Written by build tools into a redirected config (see locate.ts).
  "topLevelName",
  "definedEnvironments",
  "targetEnvironment",
  "configPath",
  "userConfigPath",
]);

/** Keys that declare bindings or Worker features bunflare does not provide yet. */
export const UNSUPPORTED_BINDING_KEYS: readonly string[] = [
  "containers",
  "send_email",
  "vectorize",
  "ai_search_namespaces",
  "ai_search",
  "websearch",
  "agent_memory",
  "hyperdrive",
  "analytics_engine_datasets",
  "dispatch_namespaces",
  "mtls_certificates",
  "tail_consumers",
  "streaming_tail_consumers",
  "unsafe",
  "browser",
  "ai",
  "stream",
  "media",
  "pipelines",
  "secrets_store_secrets",
  "artifacts",
  "unsafe_hello_world",
  "flagship",
  "worker_loaders",
  "ratelimits",
  "vpc_services",
  "vpc_networks",
  "version_metadata",
  "logfwdr",
  "wasm_modules",
  "text_blobs",
  "data_blobs",
];

/** Returns whether `key` is one wrangler accepts in an `env.<name>` section. */
export function isEnvironmentKey(key: string): boolean {
  return INHERITABLE_KEYS.has(key) || NON_INHERITABLE_KEYS.has(key);
}

/** Returns whether `key` is one wrangler accepts at the top level. */
export function isTopLevelKey(key: string): boolean {
  return isEnvironmentKey(key) || TOP_LEVEL_ONLY_KEYS.has(key);
}

/**
 * Returns the known key closest to a misspelled `key`, or null when none is
 * near. Near means an edit distance (ignoring case) of at most a quarter of
 * the key's length, and at least 1, so "kv_namespace" finds "kv_namespaces"
 * but "colour" finds nothing.
 */
export function suggestKey(key: string, known: Iterable<string>): string | null {
  const typed = key.toLowerCase();
  const maxDistance = Math.max(1, Math.floor(key.length / 4));

  let best: string | null = null;
  let bestDistance = maxDistance + 1;
  for (const candidate of known) {
    const distance = editDistance(typed, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * Counts the insertions, deletions, substitutions and swaps of two adjacent
 * characters that turn `a` into `b` (optimal string alignment distance).
 */
function editDistance(a: string, b: string): number {
  // rows[i][j] is the distance between the first i characters of a and the first j of b.
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;

  for (let i = 1; i <= a.length; i++) {
    const row = rows[i]!;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
      }
    }
  }
  return rows[a.length]![b.length]!;
}

/** Lists the unsupported binding keys present in an effective config, in declaration order. */
export function findUnsupportedBindings(raw: Record<string, unknown>): string[] {
  return UNSUPPORTED_BINDING_KEYS.filter((key) => raw[key] !== undefined);
}

/** Logs one warning per config key whose bindings bunflare does not support yet. */
export function warnUnsupportedBindings(config: { unsupportedBindings: readonly string[]; name: string }): void {
  for (const key of config.unsupportedBindings) {
    log.warn(`"${key}" is not supported by bunflare yet; these bindings are left out of env`, { worker: config.name, key });
  }
}
