// An upload service on R2: PUT a file, GET it back (with Range and
// If-None-Match), list a folder, and run multipart uploads for large files.
//
//   PUT    /files/<key>                        store the request body
//   GET    /files/<key>                        download (206 for a Range, 304 when unchanged)
//   HEAD   /files/<key>                        headers only
//   DELETE /files/<key>                        remove
//   GET    /files?prefix=<folder/>             list one folder level as JSON
//   POST   /uploads/<key>                      start a multipart upload
//   PUT    /uploads/<key>?uploadId=&part=<n>   upload part n (5 MiB or more, except the last)
//   POST   /uploads/<key>?uploadId=            complete, with a JSON body [{partNumber, etag}]
//   DELETE /uploads/<key>?uploadId=            abort

import type { R2Bucket, R2Object, R2ObjectBody, ReadableStream as WorkersStream } from "@cloudflare/workers-types";

interface Env {
  UPLOADS: R2Bucket;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const [, area, ...rest] = url.pathname.split("/");
    const key = decodeURIComponent(rest.join("/"));

    if (area === "files" && key === "" && request.method === "GET") return await listFolder(env.UPLOADS, url);
    if (area === "files" && key !== "") return await handleFile(request, env.UPLOADS, key);
    if (area === "uploads" && key !== "") return await handleMultipart(request, env.UPLOADS, key, url);
    return new Response("Not found. Try PUT /files/<key> or GET /files?prefix=.\n", { status: 404 });
  },
};

async function handleFile(request: Request, bucket: R2Bucket, key: string): Promise<Response> {
  switch (request.method) {
    case "PUT": {
      // If-Match / If-None-Match on the upload make it conditional (null when they fail).
      // Bun's and workers-types' ReadableStream types differ; at run time it is the same stream.
      const object = await bucket.put(key, request.body as unknown as WorkersStream | null, {
        httpMetadata: request.headers,
        onlyIf: request.headers,
      });
      if (object === null) return new Response("Precondition failed\n", { status: 412 });
      return Response.json(describe(object), { status: 201, headers: { etag: object.httpEtag } });
    }

    case "GET":
    case "HEAD": {
      const object = await bucket.get(key, { range: request.headers, onlyIf: request.headers });
      if (object === null) return new Response("Not found\n", { status: 404 });

      const headers = new Headers();
      object.writeHttpMetadata(headers);
      headers.set("etag", object.httpEtag);
      headers.set("last-modified", object.uploaded.toUTCString());
      headers.set("accept-ranges", "bytes");

      // Without a body, a precondition failed: "not modified" for If-None-Match.
      if (!("body" in object)) return new Response(null, { status: 304, headers });

      const body = object as R2ObjectBody;
      const range = body.range as { offset: number; length: number };
      const partial = request.headers.has("range") && range.length !== object.size;
      headers.set("content-length", String(range.length));
      if (partial) headers.set("content-range", `bytes ${range.offset}-${range.offset + range.length - 1}/${object.size}`);
      const stream = body.body as unknown as ReadableStream;
      return new Response(request.method === "HEAD" ? null : stream, { status: partial ? 206 : 200, headers });
    }

    case "DELETE":
      await bucket.delete(key);
      return new Response(null, { status: 204 });

    default:
      return new Response("Method not allowed\n", { status: 405, headers: { allow: "GET, HEAD, PUT, DELETE" } });
  }
}

async function listFolder(bucket: R2Bucket, url: URL): Promise<Response> {
  const listing = await bucket.list({
    prefix: url.searchParams.get("prefix") ?? "",
    delimiter: "/",
    cursor: url.searchParams.get("cursor") ?? undefined,
    include: ["httpMetadata"],
  });
  return Response.json({
    files: listing.objects.map(describe),
    folders: listing.delimitedPrefixes,
    cursor: listing.truncated ? listing.cursor : null,
  });
}

async function handleMultipart(request: Request, bucket: R2Bucket, key: string, url: URL): Promise<Response> {
  const uploadId = url.searchParams.get("uploadId");
  if (request.method === "POST" && uploadId === null) {
    const upload = await bucket.createMultipartUpload(key, { httpMetadata: request.headers });
    return Response.json({ key: upload.key, uploadId: upload.uploadId }, { status: 201 });
  }
  if (uploadId === null) return new Response("Missing uploadId\n", { status: 400 });

  const upload = bucket.resumeMultipartUpload(key, uploadId);
  try {
    switch (request.method) {
      case "PUT": {
        const part = await upload.uploadPart(Number(url.searchParams.get("part")), request.body as unknown as WorkersStream);
        return Response.json(part);
      }
      case "POST": {
        const object = await upload.complete(await request.json());
        return Response.json(describe(object), { headers: { etag: object.httpEtag } });
      }
      case "DELETE":
        await upload.abort();
        return new Response(null, { status: 204 });
      default:
        return new Response("Method not allowed\n", { status: 405 });
    }
  } catch (error) {
    // R2's errors end with their code in parentheses, e.g. "(10024)".
    return new Response(`${(error as Error).message}\n`, { status: 400 });
  }
}

function describe(object: R2Object) {
  return {
    key: object.key,
    size: object.size,
    etag: object.etag,
    uploaded: object.uploaded.toISOString(),
    contentType: object.httpMetadata?.contentType ?? null,
  };
}
