// A Worker that serves thumbnails of the photos stored in the PHOTOS R2
// bucket, resized and re-encoded by the Images binding.
//
//   GET /                          an HTML gallery of every photo's thumbnail
//   GET /thumb/<name>?width=&height=&fit=&format=&quality=
//                                  a thumbnail (default 200x200, fit cover, WebP or JPEG by Accept)
//   GET /info/<name>               the photo's format, size and dimensions as JSON
//   GET /photos/<name>             the original bytes, with their stored Content-Type and ETag
//   PUT /photos/<name>             store a photo (rejected unless the Images binding can read it)

import type { ImagesBinding, R2Bucket } from "@cloudflare/workers-types/index.ts";

export interface Env {
  PHOTOS: R2Bucket;
  IMAGES: ImagesBinding;
}

/** Thumbnail size when the query names none, in pixels. */
const DEFAULT_SIZE = 200;

const FITS = new Set(["scale-down", "contain", "cover", "crop", "pad", "squeeze"]);
const FORMATS: Record<string, "image/webp" | "image/jpeg" | "image/png"> = {
  webp: "image/webp",
  jpeg: "image/jpeg",
  png: "image/png",
};

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const [, route, ...rest] = url.pathname.split("/");
    const name = decodeURIComponent(rest.join("/"));

    if (request.method === "GET" && url.pathname === "/") return gallery(env);
    if (request.method === "GET" && route === "thumb" && name) return thumbnail(env, name, url.searchParams, request.headers.get("accept") ?? "");
    if (request.method === "GET" && route === "info" && name) return info(env, name);
    if (request.method === "GET" && route === "photos" && name) return original(env, name);
    if (request.method === "PUT" && route === "photos" && name) return store(env, name, request);
    return new Response("Not found\n", { status: 404 });
  },
};

async function gallery(env: Env): Promise<Response> {
  const names = await listPhotoNames(env);
  const items = names
    .map((name) => {
      const path = encodeURIComponent(name);
      return `<figure><a href="/photos/${path}"><img src="/thumb/${path}" width="${DEFAULT_SIZE}" height="${DEFAULT_SIZE}" alt=""></a><figcaption>${escapeHtml(name)}</figcaption></figure>`;
    })
    .join("\n");
  const body = `<!doctype html><meta charset="utf-8"><title>Thumbnails</title>
<style>body{font-family:sans-serif;display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figcaption{font-size:12px}</style>
${items || "<p>No photos yet: PUT one to /photos/&lt;name&gt;.</p>"}`;
  return new Response(body, { headers: { "content-type": "text/html; charset=utf-8" } });
}

async function thumbnail(env: Env, name: string, query: URLSearchParams, accept: string): Promise<Response> {
  const photo = await env.PHOTOS.get(name);
  if (!photo) return new Response(`No photo named ${name}\n`, { status: 404 });

  const width = Number(query.get("width") ?? DEFAULT_SIZE);
  const height = Number(query.get("height") ?? DEFAULT_SIZE);
  const quality = Number(query.get("quality") ?? 80);
  for (const [name, value] of [["width", width], ["height", height], ["quality", quality]] as const) {
    if (!Number.isInteger(value) || value < 1) return new Response(`${name} must be a positive integer\n`, { status: 400 });
  }
  const fit = query.get("fit") ?? "cover";
  if (!FITS.has(fit)) return new Response(`Unknown fit ${fit}\n`, { status: 400 });
  const requested = query.get("format");
  const format = requested ? FORMATS[requested] : accept.includes("image/webp") ? "image/webp" : "image/jpeg";
  if (!format) return new Response(`Unknown format ${requested}; use webp, jpeg or png\n`, { status: 400 });

  try {
    const result = await env.IMAGES.input(photo.body)
      .transform({ width, height, fit: fit as "cover" })
      .output({ format, quality });
    // workers-types' Response and the global one differ only in types.
    return result.response({ headers: { "cache-control": "public, max-age=3600", vary: "accept" } }) as unknown as Response;
  } catch (error) {
    // An ImagesError carries production's numeric code; 9401 is a bad option.
    const code = (error as { code?: number }).code;
    return new Response(`${(error as Error).message}\n`, { status: code === 9401 ? 400 : 500 });
  }
}

async function info(env: Env, name: string): Promise<Response> {
  const photo = await env.PHOTOS.get(name);
  if (!photo) return new Response(`No photo named ${name}\n`, { status: 404 });
  return Response.json(await env.IMAGES.info(photo.body));
}

async function original(env: Env, name: string): Promise<Response> {
  const photo = await env.PHOTOS.get(name);
  if (!photo) return new Response(`No photo named ${name}\n`, { status: 404 });

  // writeHttpMetadata copies the Content-Type that PUT or the CLI stored.
  const headers = new Headers({ etag: photo.httpEtag });
  photo.writeHttpMetadata(headers as unknown as Parameters<typeof photo.writeHttpMetadata>[0]);
  return new Response(photo.body as unknown as ReadableStream, { headers });
}

async function store(env: Env, name: string, request: Request): Promise<Response> {
  const bytes = await request.arrayBuffer();
  let format: string;
  try {
    ({ format } = await env.IMAGES.info(streamOf(bytes)));
  } catch (error) {
    return new Response(`${(error as Error).message}\n`, { status: 415 });
  }
  await env.PHOTOS.put(name, bytes, { httpMetadata: { contentType: format } });
  return new Response(null, { status: 201 });
}

/** Returns every key in the bucket, following the list cursor past the first page of 1,000. */
async function listPhotoNames(env: Env): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.PHOTOS.list({ cursor });
    names.push(...page.objects.map((object) => object.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return names;
}

/** The stream type the Images binding takes, as workers-types declares it. */
type ImageStream = Parameters<ImagesBinding["info"]>[0];

/** Wraps bytes in a stream; the cast only bridges Bun's and workers-types' stream declarations. */
function streamOf(bytes: ArrayBuffer): ImageStream {
  return new Blob([bytes]).stream() as unknown as ImageStream;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
