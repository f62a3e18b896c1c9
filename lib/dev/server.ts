// Serves a Worker over HTTP with Bun.serve: one log line per request, and a
// 500 response carrying the stack when the Worker throws.

import type { Server } from "bun";
import type { WorkerRuntime } from "../runtime.ts";
import { describeError } from "../execution-context.ts";
import { log } from "../log.ts";

export interface ServeOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Interface to listen on. */
  ip: string;
}

/**
 * A request handler that dispatches to the Worker, logs the request, and turns
 * a throw into a 500 response. It returns the Response itself when the Worker
 * produced one without waiting, and never throws.
 */
export type WorkerRequestHandler = (request: Request) => Response | Promise<Response>;

/** Creates the handler the server (and the programmatic `fetch`) calls for each request. */
// A Response the Worker produced without waiting is logged and returned
// synchronously, so Bun.serve sends it at once; otherwise one .then() does
// the same when it settles. This is the dev server's hot path.
export function createRequestHandler(runtime: WorkerRuntime): WorkerRequestHandler {
  return (request) => {
    const started = performance.now();

    const finish = (response: Response): Response => {
      const elapsed = Math.round(performance.now() - started);
      const reason = response.statusText || statusText(response.status);
      log.request(`${request.method} ${pathAndQuery(request.url)} ${response.status} ${reason} (${elapsed}ms)`);
      return response;
    };

    const fail = (error: unknown): Response => {
      log.error(`Uncaught error in ${runtime.config.name} fetch handler: ${describeError(error)}`, {
        method: request.method,
        path: new URL(request.url).pathname,
      });
      return finish(errorResponse(error, request));
    };

    const result = runtime.dispatchFetch(request);
    return result instanceof Response ? finish(result) : result.then(finish, fail);
  };
}

/**
 * Returns the path and query of an absolute URL such as `http://host:8787/a?b`.
 * Slicing the string is cheaper than parsing it with `new URL` on every request,
 * and `request.url` is always absolute and normalised by the time it gets here.
 */
export function pathAndQuery(url: string): string {
  const schemeEnd = url.indexOf("//");
  const pathStart = schemeEnd === -1 ? -1 : url.indexOf("/", schemeEnd + 2);
  if (pathStart === -1) return "/";

  // An empty query or fragment prints nothing, as URL.search and URL.hash do.
  let end = url.indexOf("#", pathStart);
  if (end === -1) end = url.length;
  if (url.charCodeAt(end - 1) === 63 /* "?" */) end -= 1;
  return url.slice(pathStart, end);
}

/** Starts Bun.serve on `ip:port` with the Worker's request handler. */
export function serveWorker(handler: WorkerRequestHandler, options: ServeOptions): Server<undefined> {
  return Bun.serve({
    port: options.port,
    hostname: options.ip,
    // Bun's development mode adds its own error page; the handler already catches every throw.
    development: false,
    fetch: (request) => handler(request),
  });
}

/**
 * Builds the 500 response for an uncaught error: an HTML page when the client
 * prefers HTML (a browser), plain text with the stack otherwise (curl, fetch).
 */
export function errorResponse(error: unknown, request: Request): Response {
  const stack = describeError(error);
  if (prefersHtml(request.headers.get("accept"))) {
    return new Response(errorPage(error, stack), {
      status: 500,
      headers: { "content-type": "text/html; charset=utf-8" },
    });
  }
  return new Response(stack, { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
}

/**
 * Returns true when `text/html` is the Accept header's top media range (by
 * q value, then order). A missing header or a bare wildcard means plain text.
 */
export function prefersHtml(accept: string | null): boolean {
  if (!accept) return false;

  const ranges = accept.split(",").map((part, index) => {
    const [type = "", ...params] = part.trim().toLowerCase().split(";");
    const qParam = params.map((param) => param.trim()).find((param) => param.startsWith("q="));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    return { type: type.trim(), q: Number.isFinite(q) ? q : 0, index };
  });

  ranges.sort((a, b) => b.q - a.q || a.index - b.index);
  const top = ranges[0];
  return top !== undefined && top.q > 0 && top.type === "text/html";
}

function errorPage(error: unknown, stack: string): string {
  const title = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}pre{background:#f6f6f6;padding:1rem;overflow:auto}</style>
</head>
<body>
<h1>Uncaught ${escapeHtml(title)}</h1>
<p>The Worker threw while handling this request. bunflare returned this page instead of the response.</p>
<pre>${escapeHtml(stack)}</pre>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found", 304: "Not Modified",
  400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
  500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
};

function statusText(status: number): string {
  return STATUS_TEXT[status] ?? "";
}
