// Serves requests from an assets directory as production's asset Worker
// does: `_redirects`, `html_handling`, `not_found_handling`, ETag and 304,
// Range, compression negotiation and `_headers`, in that order.

import {
  applyHeaderOperations,
  findRedirect,
  matchHeaderRules,
  parseHeaders,
  parseRedirects,
  warnInvalid,
  type HeaderOperation,
  type HeaderRule,
  type RedirectRule,
} from "./rules.ts";
import { decodePath, encodePath, resolveIntent, type HtmlHandling, type NotFoundHandling } from "./resolve.ts";
import { AssetFiles, encodedBody, isCompressible, type AssetFile } from "./files.ts";

/** The browser caching production sets on assets: always revalidate with the ETag. */
const CACHE_CONTROL = "public, max-age=0, must-revalidate";

export interface AssetServerOptions {
  directory: string;
  htmlHandling: HtmlHandling;
  notFoundHandling: NotFoundHandling;
  /**
   * Whether `not_found_handling` may serve a navigation request
   * (`Sec-Fetch-Mode: navigate`) that matches no file before the Worker runs,
   * as the `assets_navigation_prefers_asset_serving` compatibility flag does.
   */
  navigationPrefersAssets: boolean;
}

export interface ServeOptions {
  /** Compress text bodies for clients that accept it, as Cloudflare's edge does. */
  compress: boolean;
  /** Apply `not_found_handling` (false when a Worker should see the miss instead). */
  notFoundFallback: boolean;
}

/** Most routes and header lists remembered at once; past this the memo starts over. */
const MAX_MEMO_ENTRIES = 10_000;

/** The destination of a URL, before the request's own headers (method, conditions, range, encodings) apply. */
type Route =
  | { kind: "none" }
  | { kind: "not-found" }
  /** `checkMethod`: an html_handling or canonical redirect, which non-GET requests get as 405. */
  | { kind: "redirect"; status: number; location: string; checkMethod: boolean }
  | { kind: "asset"; path: string; status: 200 | 404 };

/** A parsed rules file and the identity of the file version it came from. */
interface CachedRules<Rule> {
  identity: string | null;
  rules: Rule[];
}

export class AssetServer {
  readonly files: AssetFiles;
  #headers: CachedRules<HeaderRule> = { identity: null, rules: [] };
  #redirects: CachedRules<RedirectRule> = { identity: null, rules: [] };

  /** Routes and `_headers` changes by URL, valid for one `files.generation`. */
  readonly #routes = new Map<string, Route>();
  readonly #headerOperations = new Map<string, readonly HeaderOperation[]>();
  #memoGeneration = -1;

  constructor(readonly options: AssetServerOptions) {
    this.files = new AssetFiles(options.directory);
  }

  /**
   * Serves a request that reached the Worker's URL. Returns null when no
   * asset or rule applies, so the Worker handles it. With no Worker, the
   * caller responds with 404.
   */
  serve(request: Request, options: ServeOptions): Response | null {
    const url = new URL(request.url);
    const route = this.#memoized(this.#routes, `${options.notFoundFallback ? "1" : "0"}${url.host}${url.pathname}${url.search}`, () =>
      this.#route(url, options.notFoundFallback),
    );

    let response: Response;
    switch (route.kind) {
      case "none":
        return null;
      case "not-found":
        response = new Response("Not Found", { status: 404 });
        break;
      case "redirect":
        response =
          route.checkMethod && !isReadMethod(request.method)
            ? methodNotAllowed()
            : redirectResponse(route.status, route.location);
        break;
      case "asset":
        response = isReadMethod(request.method) ? this.#assetResponse(request, route, options.compress) : methodNotAllowed();
        break;
    }

    const operations = this.#memoized(this.#headerOperations, `${url.host}${url.pathname}`, () =>
      matchHeaderRules(this.#headerRules(), url.host, url.pathname),
    );
    applyHeaderOperations(operations, response.headers);
    return response;
  }

  /** Resolves a URL through `_redirects`, `html_handling` and `not_found_handling`. */
  #route(url: URL, notFoundFallback: boolean): Route {
    let pathname = url.pathname;
    let rewritten = false;

    const redirect = findRedirect(this.#redirectRules(), url.host, pathname);
    if (redirect && redirect.status !== 200) {
      return { kind: "redirect", status: redirect.status, location: redirectLocation(redirect.to, url), checkMethod: false };
    }
    if (redirect) {
      // A 200 rule serves another asset at this URL.
      pathname = new URL(redirect.to, url).pathname;
      rewritten = true;
    }

    const decoded = decodePath(pathname);
    const notFoundHandling = notFoundFallback ? this.options.notFoundHandling : "none";
    const intent = resolveIntent(decoded, this.options.htmlHandling, notFoundHandling, (path) => this.files.exists(path));
    if (intent === null) return { kind: rewritten ? "not-found" : "none" };

    // A path is served only at its canonical encoding; others redirect to it, with any html_handling redirect folded in.
    const destination = encodePath(intent.kind === "redirect" ? intent.location : decoded);
    if (intent.kind === "redirect" || (!rewritten && destination !== pathname)) {
      return { kind: "redirect", status: 307, location: destination + url.search, checkMethod: true };
    }
    return { kind: "asset", path: intent.path, status: intent.status };
  }

  /** Returns `map`'s value for `key`, computing it when absent or when the files changed since it was stored. */
  #memoized<Value>(map: Map<string, Value>, key: string, compute: () => Value): Value {
    // Without a watcher no event reports a changed file, so every request computes afresh.
    if (!this.files.watching) return compute();
    if (this.#memoGeneration !== this.files.generation) {
      this.#routes.clear();
      this.#headerOperations.clear();
      this.#memoGeneration = this.files.generation;
    }
    let value = map.get(key);
    if (value === undefined) {
      value = compute();
      if (map.size >= MAX_MEMO_ENTRIES) map.clear();
      map.set(key, value);
    }
    return value;
  }

  /** Answers `env.ASSETS.fetch()`: like `serve`, with 404 when nothing matches. */
  fetch(request: Request): Response {
    return this.serve(request, { compress: false, notFoundFallback: true }) ?? new Response("Not Found", { status: 404 });
  }

  #assetResponse(request: Request, intent: Extract<Route, { kind: "asset" }>, compress: boolean): Response {
    const file = this.files.read(intent.path);
    // The file went away between the lookup and the read.
    if (file === null) return new Response("Not Found", { status: 404 });

    const headers = new Headers({ "content-type": file.contentType, etag: file.etag });
    const range = request.headers.get("range");
    if (!request.headers.has("authorization") && range === null) headers.set("cache-control", CACHE_CONTROL);

    const ifNoneMatch = request.headers.get("if-none-match");
    if (ifNoneMatch !== null && etagMatches(ifNoneMatch, file.etag)) {
      return new Response(null, { status: 304, headers });
    }

    const head = request.method === "HEAD";
    if (range !== null && intent.status === 200) {
      const part = parseRange(range, file.bytes.byteLength);
      if (part === "unsatisfiable") {
        headers.set("content-range", `bytes */${file.bytes.byteLength}`);
        return new Response(null, { status: 416, headers });
      }
      if (part !== null) {
        const [first, last] = part;
        headers.set("content-range", `bytes ${first}-${last}/${file.bytes.byteLength}`);
        return new Response(head ? null : file.bytes.subarray(first, last + 1), { status: 206, headers });
      }
    }

    const encoding = compress && range === null ? negotiateEncoding(request.headers.get("accept-encoding"), file) : null;
    if (encoding !== null) {
      // A compressed body is a different representation: production weakens the ETag.
      headers.set("content-encoding", encoding);
      headers.set("etag", `W/${file.etag}`);
      headers.append("vary", "Accept-Encoding");
      return new Response(head ? null : encodedBody(file, encoding), { status: intent.status, headers });
    }
    return new Response(head ? null : file.bytes, { status: intent.status, headers });
  }

  /** Returns the `_headers` rules, parsed again only when the file changed. */
  #headerRules(): HeaderRule[] {
    const identity = this.files.configFileIdentity("_headers");
    if (identity === this.#headers.identity) return this.#headers.rules;
    const text = this.files.readConfigFile("_headers");
    const parsed = text === null ? { rules: [], invalid: [] } : parseHeaders(text);
    warnInvalid("_headers", parsed.invalid);
    this.#headers = { identity, rules: parsed.rules };
    return parsed.rules;
  }

  #redirectRules(): RedirectRule[] {
    const identity = this.files.configFileIdentity("_redirects");
    if (identity === this.#redirects.identity) return this.#redirects.rules;
    const text = this.files.readConfigFile("_redirects");
    const parsed = text === null ? { rules: [], invalid: [] } : parseRedirects(text);
    warnInvalid("_redirects", parsed.invalid);
    this.#redirects = { identity, rules: parsed.rules };
    return parsed.rules;
  }
}

function isReadMethod(method: string): boolean {
  return method === "GET" || method === "HEAD";
}

function methodNotAllowed(): Response {
  return new Response("Method Not Allowed", { status: 405, headers: { allow: "GET, HEAD" } });
}

const STATUS_TEXT: Record<number, string> = {
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
};

function redirectResponse(status: number, location: string): Response {
  return new Response(null, { status, statusText: STATUS_TEXT[status], headers: { location } });
}

/**
 * Builds a redirect's Location: a path on this origin stays relative, and
 * the request's query string carries over unless the target has its own.
 */
function redirectLocation(to: string, url: URL): string {
  const target = new URL(to, url);
  const search = target.search || url.search;
  if (target.origin === url.origin) return `${target.pathname}${search}${target.hash}`;
  const base = target.href.slice(0, target.href.length - target.search.length - target.hash.length);
  return `${base}${search}${target.hash}`;
}

/** Returns true when an `If-None-Match` list names the ETag, weakly or strongly. */
function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === "*") return true;
  return header.split(",").some((tag) => {
    const trimmed = tag.trim();
    return trimmed === etag || trimmed === `W/${etag}`;
  });
}

/** Parses a single byte range; null means "serve the whole file". */
// NOTE: a request for several ranges gets the whole file; production's edge
// may answer it with multipart/byteranges.
function parseRange(header: string, length: number): [number, number] | "unsatisfiable" | null {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return null;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0 || length === 0) return "unsatisfiable";
    return [Math.max(0, length - suffix), length - 1];
  }
  const first = Number(match[1]);
  const last = match[2] === "" ? length - 1 : Math.min(Number(match[2]), length - 1);
  if (match[2] !== "" && Number(match[2]) < first) return null;
  if (first >= length) return "unsatisfiable";
  return [first, last];
}

/** Picks Brotli, then gzip, from `Accept-Encoding` (entries with q=0 are refused), for compressible files. */
// NOTE: Cloudflare's edge also applies a minimum size and offers Zstandard.
// Here every compressible file is compressed whatever its size, with br or gzip only.
function negotiateEncoding(header: string | null, file: AssetFile): "br" | "gzip" | null {
  if (header === null || file.bytes.byteLength === 0 || !isCompressible(file.contentType)) return null;
  const accepted = new Set<string>();
  for (const part of header.toLowerCase().split(",")) {
    const [name = "", ...params] = part.trim().split(";");
    const q = params.map((param) => param.trim()).find((param) => param.startsWith("q="));
    if (q === undefined || Number(q.slice(2)) > 0) accepted.add(name.trim());
  }
  if (accepted.has("br")) return "br";
  if (accepted.has("gzip")) return "gzip";
  return null;
}
