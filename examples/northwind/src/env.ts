// The bindings this Worker expects, as declared in wrangler.jsonc.

import type { D1Database, KVNamespace } from "@cloudflare/workers-types/index.ts";

export interface Env {
  /** The Northwind database, loaded by the migrations in `migrations/`. */
  DB: D1Database;
  /** Cache for hot reads (`/api/products/:id`, `/api/stats`). */
  CACHE: KVNamespace;
  /** Seconds a cached read stays in KV. A JSON number in wrangler.jsonc may arrive as a number. */
  CACHE_TTL_SECONDS: string | number;
}

/** The Hono environment type shared by every route. */
export type AppEnv = { Bindings: Env };
