// An S3-compatible endpoint for the local R2 buckets, mounted by the dev
// server at `/__bunflare/s3/`, so that S3 clients (path-style) and presigned
// URL uploads work against local data.
//
// Supported: GetObject, HeadObject, PutObject, DeleteObject, DeleteObjects,
// ListObjectsV2 and the multipart calls (CreateMultipartUpload, UploadPart,
// CompleteMultipartUpload, AbortMultipartUpload). Every call goes through
// the same `R2Bucket` binding a Worker uses. Status codes and XML follow
// Amazon S3's REST API reference.

import type { Storage } from "../../index.js";
import { createR2Bucket, R2ObjectBody, type R2Bucket, type R2Object } from "../bindings/r2.ts";
import { log } from "../log.ts";

/** The path under which the dev server serves S3 requests. */
export const S3_PATH_PREFIX = "/__bunflare/s3";

/** An S3 error: its status, S3 code and message. */
class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** S3 codes and statuses for the R2 errors' v4 codes. */
const R2_TO_S3: Record<string, [number, string]> = {
  "10020": [400, "InvalidObjectName"],
  "10039": [416, "InvalidRange"],
  "10024": [404, "NoSuchUpload"],
  "10025": [400, "InvalidPart"],
  "10011": [400, "EntityTooSmall"],
  "10048": [400, "InvalidPart"],
  "10037": [400, "BadDigest"],
  "10012": [400, "MetadataTooLarge"],
  "100100": [400, "EntityTooLarge"],
  "10022": [400, "InvalidArgument"],
  "10029": [400, "InvalidArgument"],
};

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (char) => `&#${char.charCodeAt(0)};`);
}

function xmlResponse(body: string, status = 200): Response {
  return new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, {
    status,
    headers: { "content-type": "application/xml" },
  });
}

function errorResponse(error: S3Error, resource: string): Response {
  return xmlResponse(
    `<Error><Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message><Resource>${escapeXml(resource)}</Resource></Error>`,
    error.status,
  );
}

/** Converts a binding error to an S3 error; other errors become InternalError. */
function toS3Error(error: unknown): S3Error {
  if (error instanceof S3Error) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = /\((\d+)\)$/.exec(message)?.[1];
  const mapped = code === undefined ? undefined : R2_TO_S3[code];
  if (mapped) return new S3Error(mapped[0], mapped[1], message);
  if (error instanceof TypeError || error instanceof RangeError) return new S3Error(400, "InvalidArgument", message);
  return new S3Error(500, "InternalError", message);
}

/** Response headers that describe an object, as S3 sends them. */
function objectHeaders(object: R2Object): Headers {
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  headers.set("etag", object.httpEtag);
  headers.set("last-modified", object.uploaded.toUTCString());
  headers.set("accept-ranges", "bytes");
  headers.set("x-amz-storage-class", object.storageClass === "Standard" ? "STANDARD" : "STANDARD_IA");
  for (const [name, value] of Object.entries(object.customMetadata ?? {})) headers.set(`x-amz-meta-${name}`, value);
  return headers;
}

/** Reads `Content-Type` and friends plus `x-amz-meta-*` from a request. */
function requestMetadata(request: Request): { httpMetadata: Headers; customMetadata: Record<string, string> } {
  const customMetadata: Record<string, string> = {};
  for (const [name, value] of request.headers) {
    if (name.startsWith("x-amz-meta-")) customMetadata[name.slice("x-amz-meta-".length)] = value;
  }
  // aws-chunked is the upload's framing, not an encoding of the stored object.
  const httpMetadata = new Headers(request.headers);
  const encoding = httpMetadata.get("content-encoding");
  if (encoding !== null) {
    const kept = encoding.split(",").map((part) => part.trim()).filter((part) => part !== "aws-chunked" && part !== "");
    if (kept.length > 0) httpMetadata.set("content-encoding", kept.join(", "));
    else httpMetadata.delete("content-encoding");
  }
  return { httpMetadata, customMetadata };
}

/**
 * Decodes an `aws-chunked` body (`<hex size>[;extensions]\r\n<data>\r\n`,
 * ending with a zero-size chunk and optional trailers), which the AWS SDKs
 * send for streamed uploads.
 */
function decodeAwsChunked(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  let buffer = new Uint8Array(0);
  let remaining = 0;
  let done = false;
  const newline = (bytes: Uint8Array, from: number) => {
    for (let index = from; index + 1 < bytes.length; index++) if (bytes[index] === 13 && bytes[index + 1] === 10) return index;
    return -1;
  };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (done) return;
        const joined = new Uint8Array(buffer.length + chunk.length);
        joined.set(buffer);
        joined.set(chunk, buffer.length);
        let position = 0;
        for (;;) {
          if (remaining > 0) {
            const take = Math.min(remaining, joined.length - position);
            if (take === 0) break;
            controller.enqueue(joined.slice(position, position + take));
            position += take;
            remaining -= take;
            // Each chunk's data is followed by CRLF.
            if (remaining === 0) remaining = -2;
            continue;
          }
          if (remaining < 0) {
            const skip = Math.min(-remaining, joined.length - position);
            position += skip;
            remaining += skip;
            if (remaining < 0) break;
            continue;
          }
          const end = newline(joined, position);
          if (end < 0) break;
          const header = new TextDecoder().decode(joined.subarray(position, end));
          const size = Number.parseInt(header.split(";")[0]!, 16);
          position = end + 2;
          if (!Number.isFinite(size) || size === 0) {
            done = true;
            break;
          }
          remaining = size;
        }
        buffer = joined.slice(position);
      },
    }),
  );
}

/** Returns the upload body, decoding aws-chunked framing when the client used it. */
function uploadBody(request: Request): ReadableStream<Uint8Array> | string {
  if (request.body === null) return "";
  const sha = request.headers.get("x-amz-content-sha256") ?? "";
  const encoding = request.headers.get("content-encoding") ?? "";
  if (sha.startsWith("STREAMING-") || encoding.split(",").some((part) => part.trim() === "aws-chunked")) {
    return decodeAwsChunked(request.body);
  }
  return request.body;
}

/** Serves S3 requests for the buckets of one data directory. */
export class S3Endpoint {
  readonly #storage: Storage;
  readonly #buckets = new Map<string, R2Bucket>();
  /** Names of the buckets known to exist: the configs' `bucket_name`s and those created through this endpoint. */
  readonly #existing: Set<string>;

  constructor(storage: Storage, bucketNames: Iterable<string> = []) {
    this.#storage = storage;
    this.#existing = new Set(bucketNames);
  }

  #bucket(name: string): R2Bucket {
    let bucket = this.#buckets.get(name);
    if (!bucket) {
      bucket = createR2Bucket(this.#storage, name);
      this.#buckets.set(name, bucket);
    }
    return bucket;
  }

  /** Handles a request whose path starts with `S3_PATH_PREFIX`. */
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname.slice(S3_PATH_PREFIX.length).replace(/^\//, "");
    const slash = path.indexOf("/");
    const bucketName = decodeURIComponent(slash < 0 ? path : path.slice(0, slash));
    const key = slash < 0 ? "" : decodeURIComponent(path.slice(slash + 1));

    // NOTE: request signatures are not checked; any credentials are accepted.
    try {
      if (bucketName === "") throw new S3Error(400, "InvalidBucketName", "Path-style requests need a bucket name.");
      const bucket = this.#bucket(bucketName);

      // CreateBucket is the one request that may name a bucket that does not exist yet.
      if (key === "" && request.method === "PUT") {
        this.#existing.add(bucketName);
        return new Response(null, { status: 200 });
      }
      await this.#requireBucket(bucket, bucketName);

      if (key === "") return await this.#bucketRequest(request, url, bucket, bucketName);
      return await this.#objectRequest(request, url, bucket, bucketName, key);
    } catch (error) {
      const s3Error = toS3Error(error);
      if (s3Error.status >= 500) log.error(`S3 ${request.method} failed: ${s3Error.message}`, { bucket: bucketName, key });
      return errorResponse(s3Error, url.pathname);
    }
  }

  /**
   * Rejects a request for a bucket that no config names, this endpoint did not create and that
   * contains no objects (the CLI can write to any bucket name), as S3 does with NoSuchBucket.
   */
  async #requireBucket(bucket: R2Bucket, bucketName: string): Promise<void> {
    if (this.#existing.has(bucketName)) return;

    const stored = await bucket.list({ limit: 1 });
    if (stored.objects.length === 0) throw new S3Error(404, "NoSuchBucket", `The specified bucket "${bucketName}" does not exist.`);
    this.#existing.add(bucketName);
  }

  async #bucketRequest(request: Request, url: URL, bucket: R2Bucket, bucketName: string): Promise<Response> {
    const query = url.searchParams;
    if (request.method === "GET" || request.method === "HEAD") {
      if (request.method === "HEAD") return new Response(null, { status: 200 });
      return await this.#listObjects(query, bucket, bucketName);
    }
    if (request.method === "POST" && query.has("delete")) {
      const body = await request.text();
      const keys = [...body.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((match) => unescapeXml(match[1]!));
      await bucket.delete(keys);
      const deleted = keys.map((key) => `<Deleted><Key>${escapeXml(key)}</Key></Deleted>`).join("");
      return xmlResponse(`<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${deleted}</DeleteResult>`);
    }
    // NOTE: bucket deletion is accepted and does nothing, so the bucket and its objects stay.
    if (request.method === "DELETE") return new Response(null, { status: 204 });
    throw new S3Error(501, "NotImplemented", `${request.method} on a bucket is not supported by bunflare's S3 endpoint.`);
  }

  async #listObjects(query: URLSearchParams, bucket: R2Bucket, bucketName: string): Promise<Response> {
    const prefix = query.get("prefix") ?? "";
    const delimiter = query.get("delimiter") ?? undefined;
    const maxKeys = Math.min(Number(query.get("max-keys") ?? 1000), 1000);
    const token = query.get("continuation-token") ?? undefined;
    const startAfter = query.get("start-after") ?? undefined;

    const page = await bucket.list({
      prefix,
      delimiter,
      limit: maxKeys > 0 ? maxKeys : 1,
      cursor: token,
      startAfter,
    });
    const contents = page.objects
      .map(
        (object) =>
          `<Contents><Key>${escapeXml(object.key)}</Key><LastModified>${object.uploaded.toISOString()}</LastModified><ETag>${escapeXml(object.httpEtag)}</ETag><Size>${object.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      )
      .join("");
    const prefixes = page.delimitedPrefixes.map((p) => `<CommonPrefixes><Prefix>${escapeXml(p)}</Prefix></CommonPrefixes>`).join("");
    const next = page.truncated ? `<NextContinuationToken>${page.cursor}</NextContinuationToken>` : "";
    return xmlResponse(
      `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${escapeXml(bucketName)}</Name><Prefix>${escapeXml(prefix)}</Prefix>` +
        `${delimiter === undefined ? "" : `<Delimiter>${escapeXml(delimiter)}</Delimiter>`}<MaxKeys>${maxKeys}</MaxKeys>` +
        `<KeyCount>${page.objects.length + page.delimitedPrefixes.length}</KeyCount><IsTruncated>${page.truncated}</IsTruncated>` +
        `${token === undefined ? "" : `<ContinuationToken>${escapeXml(token)}</ContinuationToken>`}${next}${contents}${prefixes}</ListBucketResult>`,
    );
  }

  async #objectRequest(request: Request, url: URL, bucket: R2Bucket, bucketName: string, key: string): Promise<Response> {
    const query = url.searchParams;
    const uploadId = query.get("uploadId");

    switch (request.method) {
      case "GET":
      case "HEAD":
        return await this.#getObject(request, bucket, key);

      case "PUT": {
        if (request.headers.has("x-amz-copy-source")) {
          throw new S3Error(501, "NotImplemented", "CopyObject is not supported by bunflare's S3 endpoint.");
        }
        if (uploadId !== null) {
          const part = await bucket.resumeMultipartUpload(key, uploadId).uploadPart(Number(query.get("partNumber")), uploadBody(request));
          return new Response(null, { status: 200, headers: { etag: `"${part.etag}"` } });
        }
        const { httpMetadata, customMetadata } = requestMetadata(request);
        const contentMd5 = request.headers.get("content-md5");
        const object = await bucket.put(key, uploadBody(request), {
          httpMetadata,
          customMetadata,
          md5: contentMd5 === null ? undefined : Buffer.from(contentMd5, "base64").toString("hex"),
          onlyIf: request.headers.has("if-match") || request.headers.has("if-none-match") ? request.headers : undefined,
        });
        if (object === null) throw new S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
        return new Response(null, { status: 200, headers: { etag: object.httpEtag } });
      }

      case "POST": {
        if (query.has("uploads")) {
          const { httpMetadata, customMetadata } = requestMetadata(request);
          const upload = await bucket.createMultipartUpload(key, { httpMetadata, customMetadata });
          return xmlResponse(
            `<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${escapeXml(bucketName)}</Bucket><Key>${escapeXml(key)}</Key><UploadId>${upload.uploadId}</UploadId></InitiateMultipartUploadResult>`,
          );
        }
        if (uploadId !== null) {
          const body = await request.text();
          const parts = [...body.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((match) => ({
            partNumber: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(match[1]!)?.[1]),
            etag: unescapeXml(/<ETag>([\s\S]*?)<\/ETag>/.exec(match[1]!)?.[1] ?? "").replace(/^"|"$/g, ""),
          }));
          const object = await bucket.resumeMultipartUpload(key, uploadId).complete(parts);
          return xmlResponse(
            `<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>${escapeXml(url.href.split("?")[0]!)}</Location><Bucket>${escapeXml(bucketName)}</Bucket><Key>${escapeXml(key)}</Key><ETag>${escapeXml(object.httpEtag)}</ETag></CompleteMultipartUploadResult>`,
          );
        }
        throw new S3Error(400, "InvalidRequest", "POST on an object needs ?uploads or ?uploadId.");
      }

      case "DELETE":
        if (uploadId !== null) await bucket.resumeMultipartUpload(key, uploadId).abort();
        else await bucket.delete(key);
        return new Response(null, { status: 204 });

      default:
        throw new S3Error(405, "MethodNotAllowed", `${request.method} is not allowed on an object.`);
    }
  }

  async #getObject(request: Request, bucket: R2Bucket, key: string): Promise<Response> {
    const range = request.headers.get("range");
    const conditional = ["if-match", "if-none-match", "if-modified-since", "if-unmodified-since"].some((name) => request.headers.has(name));
    const object =
      request.method === "HEAD" && range === null && !conditional
        ? await bucket.head(key)
        : await bucket.get(key, { range: range === null ? undefined : request.headers, onlyIf: conditional ? request.headers : undefined });
    if (object === null) throw new S3Error(404, "NoSuchKey", "The specified key does not exist.");

    const headers = objectHeaders(object);
    if (!(object instanceof R2ObjectBody)) {
      if (request.method === "HEAD" && !conditional) {
        headers.set("content-length", String(object.size));
        return new Response(null, { status: 200, headers });
      }
      // A failed If-None-Match or If-Modified-Since is "not modified"; the others fail the request.
      const notModified = request.headers.has("if-none-match") || (request.headers.has("if-modified-since") && !request.headers.has("if-match"));
      return new Response(null, { status: notModified ? 304 : 412, headers });
    }

    const { offset, length } = object.range ?? { offset: 0, length: object.size };
    headers.set("content-length", String(length));
    const partial = range !== null && (offset !== 0 || length !== object.size);
    if (partial) headers.set("content-range", `bytes ${offset}-${offset + length - 1}/${object.size}`);
    if (request.method === "HEAD") {
      await object.body.cancel();
      return new Response(null, { status: partial ? 206 : 200, headers });
    }
    return new Response(object.body, { status: partial ? 206 : 200, headers });
  }
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
    .replace(/&amp;/g, "&");
}

