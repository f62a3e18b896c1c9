// bunflare's adapter for the Workers binding benchmark harness (mfbench), the
// harness that measures Miniflare 4 as the reference. The harness loads
// `adapters/<name>.mjs` from its own folder, so bench/run.sh puts a one-line
// module there that re-exports this file.
//
// Adapter interface, as the harness calls it:
//   name, version()
//   start(spec) -> { url, dispatchFetch(url, init) -> Response, getKV(binding),
//                    childPids() -> number[], dispose() }
// `spec` is the harness's emulator-neutral description of the benchmark Worker
// (script path, compatibility date, KV, D1, R2, Durable Object, queue and
// service bindings, host, port, persist dir). start() writes it out as a
// wrangler.json and starts bunflare on that file, so the benchmark exercises
// the same config path as `bunflare dev`.
//
// Needs Bun: bunflare loads TypeScript and its napi addon in-process.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export const name = "bunflare";

/** Describes this build for the harness's versions.txt: package version, git commit and runtime. */
export function version() {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
  const runtime = process.versions.bun ? `bun ${process.versions.bun}` : `node ${process.versions.node} (bunflare needs bun)`;
  return `bunflare ${pkg.version} (${gitRevision()}), ${runtime}, in-process`;
}

/** Returns the short commit of the worktree, with "-dirty" when it has uncommitted changes. */
function gitRevision() {
  try {
    const git = (...args) => execFileSync("git", ["-C", REPO_ROOT, ...args], { encoding: "utf8" }).trim();
    const commit = git("rev-parse", "--short", "HEAD");
    return git("status", "--porcelain", "--untracked-files=no") === "" ? commit : `${commit}-dirty`;
  } catch {
    return "unknown commit";
  }
}

/**
 * Builds the wrangler.json for `spec`. Bindings bunflare does not support yet
 * (R2, Durable Objects, queues) stay in the file, so that bunflare's own
 * config loader reports them as it would for a user's config.
 */
export function toWranglerConfig(spec) {
  const config = {
    name: spec.name,
    main: spec.scriptPath,
    compatibility_date: spec.compatibilityDate,
  };

  if (spec.kv?.length) {
    config.kv_namespaces = spec.kv.map((binding) => ({ binding, id: binding }));
  }

  const d1 = Object.entries(spec.d1 ?? {});
  if (d1.length) {
    config.d1_databases = d1.map(([binding, id]) => ({ binding, database_name: id, database_id: id }));
  }

  const r2 = Object.entries(spec.r2 ?? {});
  if (r2.length) {
    config.r2_buckets = r2.map(([binding, bucket]) => ({ binding, bucket_name: bucket }));
  }

  const durableObjects = Object.entries(spec.durableObjects ?? {});
  if (durableObjects.length) {
    config.durable_objects = {
      bindings: durableObjects.map(([binding, object]) => ({ name: binding, class_name: object.className })),
    };
    const sqliteClasses = durableObjects.filter(([, object]) => object.sqlite).map(([, object]) => object.className);
    const kvClasses = durableObjects.filter(([, object]) => !object.sqlite).map(([, object]) => object.className);
    config.migrations = [
      {
        tag: "v1",
        ...(sqliteClasses.length ? { new_sqlite_classes: sqliteClasses } : {}),
        ...(kvClasses.length ? { new_classes: kvClasses } : {}),
      },
    ];
  }

  const producers = Object.entries(spec.queues?.producers ?? {});
  const consumers = Object.entries(spec.queues?.consumers ?? {});
  if (producers.length || consumers.length) {
    config.queues = {
      producers: producers.map(([binding, queue]) => ({ binding, queue })),
      consumers: consumers.map(([queue, options]) => ({
        queue,
        max_batch_timeout: options.maxBatchTimeout,
        max_batch_size: options.maxBatchSize,
      })),
    };
  }

  return config;
}

let warnedServices = false;

/** Warns once per process about spec bindings that a wrangler.json cannot express. */
function warnInexpressible(spec) {
  const services = Object.keys(spec.services ?? {});
  if (warnedServices || services.length === 0) return;

  // Service bindings here are functions in the harness process. Miniflare
  // accepts them as `serviceBindings`, but a config file cannot name them.
  console.warn(`bunflare adapter: service bindings ${services.join(", ")} are not supported and are left out of env`);
  warnedServices = true;
}

/** Imports bunflare's programmatic API, explaining what is missing when it is not there. */
async function loadStartWorker() {
  let api;
  try {
    api = await import(path.join(REPO_ROOT, "lib", "index.ts"));
  } catch (error) {
    throw new Error(`bunflare adapter: cannot import ${path.join(REPO_ROOT, "lib", "index.ts")}: ${error?.message ?? error}`);
  }

  if (typeof api.startWorker !== "function") {
    throw new Error("bunflare adapter: lib/index.ts does not export startWorker");
  }
  return api.startWorker;
}

/** Starts bunflare on the benchmark Worker and resolves once it serves HTTP. */
export async function start(spec) {
  const startWorker = await loadStartWorker();
  warnInexpressible(spec);

  // Config and default state go to a fresh directory under TMPDIR (run-all.sh
  // points it into the harness folder), on disk like Miniflare's temp storage.
  const workDir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? os.tmpdir(), "bunflare-bench-"));
  const configPath = path.join(workDir, "wrangler.json");
  fs.writeFileSync(configPath, JSON.stringify(toWranglerConfig(spec), null, 2) + "\n");

  const worker = await startWorker({
    config: configPath,
    ip: spec.host,
    port: spec.port ?? 0,
    persistTo: spec.persistDir ?? path.join(workDir, "state"),
  });

  return {
    url: String(worker.url),
    // NOTE: this dispatch is an in-process call, while Miniflare's dispatchFetch
    // crosses HTTP to workerd, so per-request rows include that difference.
    dispatchFetch: (url, init) => worker.fetch(new Request(url, init)),
    // The KVNamespace binding itself, so host-side KV rows also skip any proxy.
    getKV: (binding) => worker.env[binding] ?? null,
    // bunflare runs inside the harness process, so host RSS includes the engines.
    childPids: () => [],
    dispose: async () => {
      await worker.stop();
      fs.rmSync(workDir, { recursive: true, force: true });
    },
    raw: worker,
  };
}
