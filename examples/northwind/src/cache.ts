// Read-through cache for hot reads, stored in the CACHE KV namespace.

import type { Context } from "hono";
import type { AppEnv, Env } from "./env.ts";

/** Minimum KV `expirationTtl`, in seconds, from Cloudflare's KV API schema (`expiration_ttl`). */
const KV_MIN_TTL_SECONDS = 60;

/** Reads `CACHE_TTL_SECONDS`, rejecting values KV would reject. */
export function cacheTtlSeconds(env: Env): number {
  const ttl = Number(env.CACHE_TTL_SECONDS);
  if (!Number.isSafeInteger(ttl) || ttl < KV_MIN_TTL_SECONDS) {
    throw new Error(
      `invalid CACHE_TTL_SECONDS ${JSON.stringify(env.CACHE_TTL_SECONDS)}: expected an integer of at least ${KV_MIN_TTL_SECONDS}. Set it in the vars of wrangler.jsonc`,
    );
  }
  return ttl;
}

export interface Cached<T> {
  value: T | null;
  /** Whether the value came from KV (`x-cache: hit`) or from `load` (`x-cache: miss`). */
  hit: boolean;
}

/**
 * Returns the JSON value cached under `key`, or calls `load` and caches its
 * result. A null result (nothing found) is not cached, so a row inserted later
 * shows up on the next request.
 */
export async function readThrough<T>(c: Context<AppEnv>, key: string, load: () => Promise<T | null>): Promise<Cached<T>> {
  const cached = await c.env.CACHE.get<T>(key, "json");
  if (cached !== null) return { value: cached, hit: true };

  const value = await load();
  if (value === null) return { value, hit: false };

  // The response does not wait for the KV write, and waitUntil keeps the
  // Worker alive until the write ends.
  const ttl = cacheTtlSeconds(c.env);
  c.executionCtx.waitUntil(c.env.CACHE.put(key, JSON.stringify(value), { expirationTtl: ttl }));
  return { value, hit: false };
}
