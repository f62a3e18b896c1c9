// The front end's Worker: `/api/*` goes to the notes API through the API
// service binding, and GET responses stay in the Cache API for a few seconds.
// Every other path is served from public/ before this code runs.

import type { ExecutionContext } from "@cloudflare/workers-types/index.ts";
import type { Note } from "../../api/src/index.ts";

interface Env {
  /** The notes API Worker: HTTP through fetch(), RPC through its methods. */
  API: {
    fetch(request: Request): Promise<Response>;
    list(): Promise<Note[]>;
    add(text: string): Promise<Note>;
  };
}

/** Cloudflare's `caches` global adds `default` to the browser's CacheStorage. */
declare const caches: { default: Cache };

/** Seconds a cached list of notes stays fresh. */
const LIST_CACHE_SECONDS = 10;

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const listKey = new Request(new URL("/api/notes", url));

    if (url.pathname === "/api/notes" && request.method === "GET") {
      const cached = await caches.default.match(listKey);
      if (cached) return cached;

      const response = Response.json(await env.API.list(), {
        headers: { "cache-control": `public, max-age=${LIST_CACHE_SECONDS}` },
      });
      ctx.waitUntil(caches.default.put(listKey, response.clone()));
      return response;
    }

    if (url.pathname === "/api/notes" && request.method === "POST") {
      const { text } = (await request.json()) as { text?: string };
      try {
        const note = await env.API.add(text ?? "");
        // The list changed, so the cached copy must go.
        await caches.default.delete(listKey);
        return Response.json(note, { status: 201 });
      } catch (error) {
        if (error instanceof RangeError) return Response.json({ error: error.message }, { status: 400 });
        throw error;
      }
    }

    if (url.pathname === "/api/health") return env.API.fetch(new Request(new URL("/health", url)));

    return Response.json({ error: `No API route ${request.method} ${url.pathname}` }, { status: 404 });
  },
};
