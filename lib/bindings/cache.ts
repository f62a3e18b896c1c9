// The Cache API: production's `caches.default` and `caches.open(name)` over
// the Rust `CacheStore` engine.
//
// Each method turns the Request and Response into the engine's types and
// makes one synchronous native call. `src/cache.rs` decides whether a
// response is stored, for how long, and how `match` responds to conditional
// and range requests. This file only maps error codes to production's classes.

import type { CacheMatchConditions, CacheStore as NativeCacheStore, Storage } from "../../index.js";
import { callNative, registerErrorClasses } from "../errors.ts";
import { log } from "../log.ts";
import { native } from "../native.ts";

// workerd throws TypeError for each rejected put and for a long cache name.
registerErrorClasses({
  CACHE_NON_GET: (message) => new TypeError(message),
  CACHE_PARTIAL_CONTENT: (message) => new TypeError(message),
  CACHE_VARY_STAR: (message) => new TypeError(message),
  CACHE_ENTRY_TOO_LARGE: (message) => new Error(message),
  CACHE_NAME_TOO_LONG: (message) => new TypeError(message),
});

export interface CacheQueryOptions {
  /** Match (or delete) as if the request were a GET. */
  ignoreMethod?: boolean;
}

type CacheKey = Request | string | URL;

/** Coerces a cache key to a Request, as workerd does; a relative URL throws TypeError. */
function toRequest(key: CacheKey): Request {
  return key instanceof Request ? key : new Request(key);
}

/** The conditions of a request without conditional or range headers. */
const NO_CONDITIONS: CacheMatchConditions = { range: undefined, ifNoneMatch: undefined, ifModifiedSince: undefined };

/** Parses a string or URL key as `new Request(key)` would, with the same TypeError for a relative URL. */
function parseUrl(key: string | URL): string {
  if (key instanceof URL) return key.href;
  try {
    return new URL(String(key)).href;
  } catch {
    return new Request(String(key)).url;
  }
}

/** Flattens headers into the `[name, value, …]` list the engine takes. */
function flatHeaders(headers: Headers): string[] {
  const flat: string[] = [];
  for (const [name, value] of headers) flat.push(name, value);
  return flat;
}

/** Rebuilds a Headers object from the engine's JSON list of pairs, keeping repeated names. */
function toHeaders(json: string): Headers {
  const flat = JSON.parse(json) as string[];
  const headers = new Headers();
  for (let index = 0; index + 1 < flat.length; index += 2) headers.append(flat[index]!, flat[index + 1]!);
  return headers;
}

/** One cache: production's `Cache`, backed by one cache of a bunflare data directory. */
export class Cache {
  readonly #native: NativeCacheStore;

  constructor(handle: NativeCacheStore) {
    this.#native = handle;
  }

  /** Stores `response` for a GET of the request's URL, unless production's rules discard it. */
  async put(key: CacheKey, response: Response): Promise<void> {
    const request = toRequest(key);
    if (!(response instanceof Response)) {
      throw new TypeError("Failed to execute 'put' on 'Cache': parameter 2 is not of type 'Response'.");
    }
    callNative(() => this.#native.validatePut(request.method, response.status, response.headers.get("vary") ?? undefined));
    if (response.bodyUsed) throw new TypeError("Body has already been used. It can only be used once. Use tee() first if you need to read it twice.");

    const body = new Uint8Array(await response.arrayBuffer());
    const stored = callNative(() =>
      this.#native.put(request.method, request.url, response.status, flatHeaders(response.headers), body),
    );
    if (!stored) log.debug("cache put discarded by its headers", { url: request.url, status: response.status });
  }

  /** Returns the cached response for the request, or undefined on a miss. */
  async match(key: CacheKey, options?: CacheQueryOptions): Promise<Response | undefined> {
    // A URL key is a GET without headers; parsing it alone skips building a Request.
    let url: string;
    let conditions = NO_CONDITIONS;
    if (key instanceof Request) {
      if (key.method !== "GET" && !options?.ignoreMethod) return undefined;
      url = key.url;
      conditions = {
        range: key.headers.get("range") ?? undefined,
        ifNoneMatch: key.headers.get("if-none-match") ?? undefined,
        ifModifiedSince: key.headers.get("if-modified-since") ?? undefined,
      };
    } else {
      url = parseUrl(key);
    }

    const cached = callNative(() => this.#native.match(url, conditions));
    if (cached === null) return undefined;

    return new Response((cached.body as Uint8Array<ArrayBuffer> | null) ?? null, { status: cached.status, headers: toHeaders(cached.headers) });
  }

  /** Removes the cached response for the request; resolves to whether one was cached. */
  async delete(key: CacheKey, options?: CacheQueryOptions): Promise<boolean> {
    const request = toRequest(key);
    if (request.method !== "GET" && !options?.ignoreMethod) return false;
    return callNative(() => this.#native.delete(request.url));
  }
}

/** Production's `caches` global: the default cache and named caches. */
export class CacheStorage {
  readonly default: Cache;
  readonly #storage: Storage;

  constructor(storage: Storage) {
    this.#storage = storage;
    this.default = new Cache(callNative(() => new native.CacheStore(storage, null)));
  }

  /** The data directory the caches live in. */
  get storage(): Storage {
    return this.#storage;
  }

  /** Opens (creating on first write) the cache named `cacheName`. */
  async open(cacheName: string): Promise<Cache> {
    const name = String(cacheName);
    return new Cache(callNative(() => new native.CacheStore(this.#storage, name)));
  }
}

/** Creates a `CacheStorage` over an open data directory. */
export function createCacheStorage(storage: Storage): CacheStorage {
  return new CacheStorage(storage);
}

/**
 * Sets `globalThis.caches` to the caches of `storage`. Every Worker in the
 * process shares them, as every Worker on one zone shares production's cache.
 */
export function installCaches(storage: Storage): CacheStorage {
  const existing = (globalThis as { caches?: unknown }).caches;
  if (existing instanceof CacheStorage && existing.storage === storage) return existing;

  const caches = createCacheStorage(storage);
  Object.defineProperty(globalThis, "caches", { value: caches, configurable: true, writable: true, enumerable: false });
  return caches;
}
