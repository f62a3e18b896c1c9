// Answers requests from an assets directory as production's asset Worker
// does: `_redirects`, `html_handling`, `not_found_handling`, ETag and 304,
// Range, compression negotiation and `_headers`, in that order.

import { applyHeaderRules, findRedirect, parseHeaders, parseRedirects, warnInvalid, type HeaderRule, type RedirectRule } from "./rules.ts";
import { decodePath, encodePath, resolveIntent, type HtmlHandling, type Intent, type NotFoundHandling } from "./resolve.ts";
import { AssetFiles, encodedBody, isCompressible, type AssetFile } from "./files.ts";

/** The browser caching production sets on assets: always revalidate with the ETag. */
const CACHE_CONTROL = "public, max-age=0, must-revalidate";

export interface AssetServerOptions {
  directory: string;
  htmlHandling: HtmlHandling;
  notFoundHandling: NotFoundHandling;
  /**
   * Whether a navigation request (`Sec-Fetch-Mode: navigate`) that matches no
   * file may be answered by `not_found_handling` before the Worker runs, as
   * the `assets_navigation_prefers_asset_serving` compatibility flag does.
   */
  navigationPrefersAssets: boolean;
}

export interface ServeOptions {
  /** Compress text bodies for clients that accept it, as Cloudflare's edge does. */
  compress: boolean;
  /** Apply `not_found_handling` (false when a Worker should see the miss instead). */
  notFoundFallback: boolean;
}

/** A parsed rules file and the identity of the file version it came from. */
interface CachedRules<Rule> {
  identity: string | null;
  rules: Rule[];
}

export class AssetServer {
  readonly files: AssetFiles;
  #headers: CachedRules<HeaderRule> = { identity: null, rules: [] };
  #redirects: CachedRules<RedirectRule> = { identity: null, rules: [] };

  constructor(readonly options: AssetServerOptions) {
    this.files = new AssetFiles(options.directory);
  }

  /**
   * Answers a request that reached the Worker's URL. Returns null when no
   * asset or rule applies, so the Worker handles it; with no Worker the
   * caller answers 404.
   */
  serve(request: Request, options: ServeOptions): Response | null {
    const url = new URL(request.url);
    let pathname = url.pathname;
    let rewritten = false;

    const redirect = findRedirect(this.#redirectRules(), url.host, pathname);
    if (redirect && redirect.status !== 200) {
      return this.#withCustomHeaders(url, redirectResponse(redirect.status, redirectLocation(redirect.to, url)));
    }
    if (redirect) {
      // A 200 rule serves another asset at this URL.
      pathname = new URL(redirect.to, url).pathname;
      rewritten = true;
    }

    const decoded = decodePath(pathname);
    const notFoundHandling = options.notFoundFallback ? this.options.notFoundHandling : "none";
    const intent = resolveIntent(decoded, this.options.htmlHandling, notFoundHandling, (path) => this.files.exists(path));
    if (intent === null) {
      return rewritten ? this.#withCustomHeaders(url, new Response("Not Found", { status: 404 })) : null;
    }

    if (request.method !== "GET" && request.method !== "HEAD") {
      return this.#withCustomHeaders(url, new Response("Method Not Allowed", { status: 405, headers: { allow: "GET, HEAD" } }));
    }

    // A path is served only at its canonical encoding; others redirect to it, with any html_handling redirect folded in.
    const destination = encodePath(intent.kind === "redirect" ? intent.location : decoded);
    if (intent.kind === "redirect" || (!rewritten && destination !== pathname)) {
      return this.#withCustomHeaders(url, redirectResponse(307, destination + url.search));
    }

    return this.#withCustomHeaders(url, this.#assetResponse(request, intent, options.compress));
  }

  /** Answers `env.ASSETS.fetch()`: like `serve`, with 404 when nothing matches. */
  fetch(request: Request): Response {
    return this.serve(request, { compress: false, notFoundFallback: true }) ?? new Response("Not Found", { status: 404 });
  }

  #assetResponse(request: Request, intent: Extract<Intent, { kind: "asset" }>, compress: boolean): Response {
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

  #withCustomHeaders(url: URL, response: Response): Response {
    const rules = this.#headerRules();
    if (rules.length > 0) applyHeaderRules(rules, url.host, url.pathname, response.headers);
    return response;
  }

  /** Returns the `_headers` rules, parsed again only when the file changed. */
  #headerRules(): HeaderRule[] {
    const file = this.files.readConfigFile("_headers");
    if ((file?.identity ?? null) === this.#headers.identity) return this.#headers.rules;
    const parsed = file ? parseHeaders(file.text) : { rules: [], invalid: [] };
    warnInvalid("_headers", parsed.invalid);
    this.#headers = { identity: file?.identity ?? null, rules: parsed.rules };
    return parsed.rules;
  }

  #redirectRules(): RedirectRule[] {
    const file = this.files.readConfigFile("_redirects");
    if ((file?.identity ?? null) === this.#redirects.identity) return this.#redirects.rules;
    const parsed = file ? parseRedirects(file.text) : { rules: [], invalid: [] };
    warnInvalid("_redirects", parsed.invalid);
    this.#redirects = { identity: file?.identity ?? null, rules: parsed.rules };
    return parsed.rules;
  }
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
// NOTE: Cloudflare's edge also applies a minimum size and Zstandard; here every
// compressible file is compressed whatever its size, and only br and gzip are offered.
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
