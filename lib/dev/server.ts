// Serves a Worker over HTTP with Bun.serve: one log line per request, and a
// 500 response carrying the stack when the Worker throws.

import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { describeError } from "../execution-context.ts";
import { log } from "../log.ts";
import { handleLocalEndpoint, isLocalEndpointPath, type EndpointTarget } from "./endpoints.ts";
import { WorkerWebSocket, webSocketOf } from "../websocket.ts";

/** Maximum WebSocket message size in bytes, from Cloudflare's Durable Objects limits page (32 MiB). */
const MAX_WEBSOCKET_MESSAGE_BYTES = 32 * 1024 * 1024;

/** The server type: each client WebSocket carries the pair end the Worker returned. */
export type WorkerServer = Server<WorkerWebSocket>;

/** The target the server dispatches to: a WorkerRuntime, or a Worker with assets in front of it. */
export interface RequestTarget {
  readonly config: { readonly name: string };
  /**
   * Dispatches a request. It returns the Response itself when it is ready at
   * once, and otherwise a promise that rejects with the Worker's error.
   */
  dispatchFetch(request: Request): Response | Promise<Response>;
}

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

/**
 * Creates the handler the server (and the programmatic `fetch`) calls for
 * each request. With `endpoints`, the dev server's own routes (scheduled
 * triggers, queue pulls, the S3 endpoint) are answered before the Worker
 * sees the request.
 */
// A Response the Worker produced without waiting is logged and returned
// synchronously, so Bun.serve sends it at once; otherwise one .then() does
// the same when it settles. This is the dev server's hot path, so the
// synchronous case allocates no closures.
export function createRequestHandler(runtime: RequestTarget, endpoints?: EndpointTarget): WorkerRequestHandler {
  return (request) => {
    const started = performance.now();
    const path = pathAndQuery(request.url);

    let result: Response | Promise<Response>;
    try {
      result =
        endpoints && isLocalEndpointPath(path)
          ? handleLocalEndpoint(request, new URL(request.url), endpoints).then((local) => local ?? runtime.dispatchFetch(request))
          : runtime.dispatchFetch(request);
    } catch (error) {
      return failed(runtime, request, path, started, error);
    }

    if (result instanceof Response) return logged(request, path, started, result);
    return result.then(
      (response) => logged(request, path, started, response),
      (error: unknown) => failed(runtime, request, path, started, error),
    );
  };
}

/** Logs one served request with its status and duration, and returns the response. */
function logged(request: Request, path: string, started: number, response: Response): Response {
  const elapsed = Math.round(performance.now() - started);
  const reason = response.statusText || statusText(response.status);
  log.request(`${request.method} ${path} ${response.status} ${reason} (${elapsed}ms)`);
  return response;
}

/** Logs the Worker's uncaught error and returns the 500 response for it. */
function failed(runtime: RequestTarget, request: Request, path: string, started: number, error: unknown): Response {
  log.error(`Uncaught error in ${runtime.config.name} fetch handler: ${describeError(error)}`, {
    method: request.method,
    path: new URL(request.url).pathname,
  });
  return logged(request, path, started, errorResponse(error, request));
}

/**
 * Largest request body the dev server accepts: 5 GiB, R2's maximum upload
 * (Bun's own default of 128 MiB would cut large R2 uploads short).
 */
const MAX_REQUEST_BODY_BYTES = 5 * 1024 * 1024 * 1024;

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

/**
 * Starts Bun.serve on `ip:port` with the Worker's request handler. A 101
 * response carrying a WebSocket upgrades the client's connection, and the
 * connection is coupled to that end of the Worker's `WebSocketPair`.
 */
export function serveWorker(handler: WorkerRequestHandler, options: ServeOptions): WorkerServer {
  return Bun.serve<WorkerWebSocket>({
    port: options.port,
    hostname: options.ip,
    // With development off, Bun 1.4.5 sets SO_REUSEPORT by default, so a second
    // server on a taken port would start and receive part of its requests.
    reusePort: false,
    // Bun's development mode adds its own error page; the handler already catches every throw.
    development: false,
    maxRequestBodySize: MAX_REQUEST_BODY_BYTES,
    fetch: upgradingFetch(handler),
    websocket: websocketHandlers,
  });
}

/**
 * Returns Bun.serve's `fetch`: the Worker's response, or an upgrade when it
 * carries a WebSocket. A Response that is ready at once is handed back
 * synchronously, as the request handler returns it.
 */
export function upgradingFetch(handler: WorkerRequestHandler) {
  return (request: Request, server: WorkerServer): Response | undefined | Promise<Response | undefined> => {
    const result = handler(request);
    if (result instanceof Response) return upgradeIfWebSocket(request, server, result);
    return result.then((response) => upgradeIfWebSocket(request, server, response));
  };
}

/** Upgrades the client's connection when `response` carries a WebSocket; returns undefined once upgraded. */
function upgradeIfWebSocket(request: Request, server: WorkerServer, response: Response): Response | undefined {
  const socket = webSocketOf(response);
  if (!socket) return response;
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    log.error("The Worker returned a WebSocket for a request that is not a WebSocket upgrade", { path: new URL(request.url).pathname });
    return new Response("The Worker returned a WebSocket, but the request did not ask for a WebSocket upgrade.", { status: 426 });
  }
  if (server.upgrade(request, { data: socket, headers: response.headers })) return undefined;
  return new Response("WebSocket upgrade failed", { status: 400 });
}

/** Bun.serve's `websocket` handlers: each client connection is coupled to its end of the Worker's pair. */
export const websocketHandlers: WebSocketHandler<WorkerWebSocket> = {
  maxPayloadLength: MAX_WEBSOCKET_MESSAGE_BYTES,
  // Production sends no pings of its own, and Bun replies to a client's pings itself.
  sendPings: false,
  idleTimeout: 0,
  open: (client) => coupleClient(client),
  message: (client, message) => {
    const data = typeof message === "string" ? message : toArrayBuffer(message);
    WorkerWebSocket._sendFromClient(client.data, { type: "message", data });
  },
  close: (client, code, reason) => {
    // 1006 means the connection ended without a close frame.
    const wasClean = code !== 1006;
    WorkerWebSocket._sendFromClient(client.data, { type: "close", code, reason: reason ?? "", wasClean });
  },
};

/** Routes what the Worker's side sends to the client connection. */
function coupleClient(client: ServerWebSocket<WorkerWebSocket>): void {
  WorkerWebSocket._takeOver(client.data, (event) => {
    if (event.type === "message") {
      if (client.send(event.data) === 0) {
        WorkerWebSocket._sendFromClient(client.data, { type: "error", error: new Error("The client connection dropped a message: it is closed.") });
      }
    } else if (event.type === "close") {
      // 1005 means the close frame had no code; Bun sends none then too.
      if (event.code === 1005) client.close();
      else client.close(event.code, event.reason);
    }
  });
}

function toArrayBuffer(bytes: Buffer): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
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
  101: "Switching Protocols", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 301: "Moved Permanently", 302: "Found", 304: "Not Modified",
  400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
  500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
};

function statusText(status: number): string {
  return STATUS_TEXT[status] ?? "";
}
