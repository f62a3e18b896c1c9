// The R2 binding: production's `R2Bucket` API over the Rust `R2Bucket`
// engine.
//
// Each method turns its JavaScript arguments into the engine's types (options
// as one JSON string) and makes one synchronous native call. Strings, buffers
// and small Blobs cross in that call. Streams and large Blobs go through an
// `R2Writer` chunk by chunk, and bodies over 64 KiB come back through an
// `R2BodyReader` in 1 MiB chunks, so no stored object is held whole in
// memory. Limits and messages live in `src/r2.rs`.

import type {
  R2Bucket as NativeR2Bucket,
  R2BodyReader as NativeR2BodyReader,
  R2Writer as NativeR2Writer,
  Storage,
} from "../../index.js";
import { callNative, registerErrorClasses } from "../errors.ts";
import { log } from "../log.ts";
import { native } from "../native.ts";

// The runtime's own argument checks throw TypeError or RangeError; the R2
// service's errors reach user code as `Error("<action>: <message> (<code>)")`.
registerErrorClasses({
  R2_INVALID_OBJECT_NAME: (message) => new Error(message),
  R2_ENTITY_TOO_LARGE: (message) => new Error(message),
  R2_ENTITY_TOO_SMALL: (message) => new Error(message),
  R2_METADATA_TOO_LARGE: (message) => new Error(message),
  R2_BAD_DIGEST: (message) => new Error(message),
  R2_INVALID_MAX_KEYS: (message) => new Error(message),
  R2_NO_SUCH_UPLOAD: (message) => new Error(message),
  R2_INVALID_PART: (message) => new Error(message),
  R2_INVALID_RANGE: (message) => new Error(message),
  R2_BAD_UPLOAD: (message) => new Error(message),
  R2_INTERNAL_ERROR: (message) => new Error(message),
  R2_INVALID_STORAGE_CLASS: (message) => new Error(message),
  R2_INVALID_CURSOR: (message) => new Error(message),
  R2_ETAG_HEADER: (message) => new Error(message),
  R2_MULTIPLE_HASHES: (message) => new TypeError(message),
  R2_CHECKSUM_LENGTH: (message) => new TypeError(message),
  R2_CHECKSUM_NOT_HEX: (message) => new TypeError(message),
  R2_QUOTED_ETAG: (message) => new TypeError(message),
  R2_PART_NUMBER: (message) => new TypeError(message),
  R2_SUFFIX_WITH: (message) => new TypeError(message),
  R2_RANGE_NEGATIVE: (message) => new RangeError(message),
  R2_RANGE_FRACTION: (message) => new RangeError(message),
  R2_UNSUPPORTED_INCLUDE: (message) => new RangeError(message),
});

/** Bodies up to this size cross napi in one call; larger ones stream in chunks of this size. */
const CHUNK_BYTES = 1024 * 1024;

const BODY_USED_MESSAGE = "Body has already been used. It can only be used once. Use tee() first if you need to read it twice.";

const CHECKSUM_FIELDS = ["md5", "sha1", "sha256", "sha384", "sha512"] as const;

export interface R2HTTPMetadata {
  contentType?: string;
  contentLanguage?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  cacheControl?: string;
  cacheExpiry?: Date;
}

export interface R2Range {
  offset?: number;
  length?: number;
  suffix?: number;
}

export interface R2Conditional {
  etagMatches?: string;
  etagDoesNotMatch?: string;
  uploadedBefore?: Date;
  uploadedAfter?: Date;
  secondsGranularity?: boolean;
}

export interface R2GetOptions {
  onlyIf?: R2Conditional | Headers;
  range?: R2Range | Headers;
}

type ChecksumValue = ArrayBuffer | ArrayBufferView | string;

export interface R2PutOptions {
  onlyIf?: R2Conditional | Headers;
  httpMetadata?: R2HTTPMetadata | Headers;
  customMetadata?: Record<string, string>;
  md5?: ChecksumValue;
  sha1?: ChecksumValue;
  sha256?: ChecksumValue;
  sha384?: ChecksumValue;
  sha512?: ChecksumValue;
  storageClass?: string;
}

export interface R2MultipartOptions {
  httpMetadata?: R2HTTPMetadata | Headers;
  customMetadata?: Record<string, string>;
  storageClass?: string;
}

export interface R2ListOptions {
  limit?: number;
  prefix?: string;
  cursor?: string;
  delimiter?: string;
  startAfter?: string;
  include?: ("httpMetadata" | "customMetadata")[];
}

export interface R2UploadedPart {
  partNumber: number;
  etag: string;
}

export type R2Objects = {
  objects: R2Object[];
  delimitedPrefixes: string[];
} & ({ truncated: true; cursor: string } | { truncated: false });

export type R2PutValue = ReadableStream | ArrayBuffer | ArrayBufferView | string | null | Blob;

/** The object JSON the engine returns. */
interface ObjectJson {
  key: string;
  version: string;
  size: number;
  etag: string;
  uploaded: number;
  checksums: Partial<Record<(typeof CHECKSUM_FIELDS)[number], string>>;
  storageClass: string;
  httpMetadata?: Record<string, string | number>;
  customMetadata?: Record<string, string>;
  range?: { offset: number; length: number };
}

function hexToArrayBuffer(hex: string): ArrayBuffer {
  return new Uint8Array(Buffer.from(hex, "hex")).buffer;
}

/** The checksums of an object: binary digests, and hex text from `toJSON`. */
export class R2Checksums {
  // The digests are decoded on first access, because a list page builds up
  // to 1000 objects whose checksums are rarely read.
  readonly #hex: ObjectJson["checksums"];

  constructor(hex: ObjectJson["checksums"]) {
    this.#hex = hex;
  }

  get md5(): ArrayBuffer | undefined {
    return this.#binary("md5");
  }

  get sha1(): ArrayBuffer | undefined {
    return this.#binary("sha1");
  }

  get sha256(): ArrayBuffer | undefined {
    return this.#binary("sha256");
  }

  get sha384(): ArrayBuffer | undefined {
    return this.#binary("sha384");
  }

  get sha512(): ArrayBuffer | undefined {
    return this.#binary("sha512");
  }

  #binary(field: (typeof CHECKSUM_FIELDS)[number]): ArrayBuffer | undefined {
    const hex = this.#hex[field];
    return hex === undefined ? undefined : hexToArrayBuffer(hex);
  }

  toJSON(): Partial<Record<(typeof CHECKSUM_FIELDS)[number], string>> {
    return { ...this.#hex };
  }
}

/** Converts stored HTTP metadata (cacheExpiry in ms) back to production's shape. */
function toHttpMetadata(stored: Record<string, string | number> | undefined): R2HTTPMetadata | undefined {
  if (stored === undefined) return undefined;
  const { cacheExpiry, ...fields } = stored;
  const metadata = fields as R2HTTPMetadata;
  if (typeof cacheExpiry === "number") metadata.cacheExpiry = new Date(cacheExpiry);
  return metadata;
}

/** An object's metadata, as `head`, `put` and `list` return it. */
export class R2Object {
  readonly key: string;
  readonly version: string;
  readonly size: number;
  readonly etag: string;
  readonly httpEtag: string;
  readonly uploaded: Date;
  readonly httpMetadata?: R2HTTPMetadata;
  readonly customMetadata?: Record<string, string>;
  readonly range?: { offset: number; length: number };
  readonly checksums: R2Checksums;
  readonly storageClass: string;

  constructor(json: ObjectJson) {
    this.key = json.key;
    this.version = json.version;
    this.size = json.size;
    this.etag = json.etag;
    this.httpEtag = `"${json.etag}"`;
    this.uploaded = new Date(json.uploaded);
    this.httpMetadata = toHttpMetadata(json.httpMetadata);
    this.customMetadata = json.customMetadata;
    this.range = json.range;
    this.checksums = new R2Checksums(json.checksums);
    this.storageClass = json.storageClass;
  }

  /** Sets the object's HTTP metadata as response headers (`Expires` for `cacheExpiry`). */
  writeHttpMetadata(headers: Headers): void {
    const metadata = this.httpMetadata;
    if (metadata === undefined) {
      throw new TypeError(
        `HTTP metadata unknown for key \`${this.key}\`. Did you forget to add 'httpMetadata' to \`include\` when listing?`,
      );
    }
    if (metadata.contentType !== undefined) headers.set("content-type", metadata.contentType);
    if (metadata.contentLanguage !== undefined) headers.set("content-language", metadata.contentLanguage);
    if (metadata.contentDisposition !== undefined) headers.set("content-disposition", metadata.contentDisposition);
    if (metadata.contentEncoding !== undefined) headers.set("content-encoding", metadata.contentEncoding);
    if (metadata.cacheControl !== undefined) headers.set("cache-control", metadata.cacheControl);
    if (metadata.cacheExpiry !== undefined) headers.set("expires", metadata.cacheExpiry.toUTCString());
  }
}

/** The source of a body's bytes: in memory (small) or a blob range read in chunks. */
type BodySource = { bytes: Uint8Array } | { reader: NativeR2BodyReader; length: number };

/** An object with its body, as `get` returns it. */
export class R2ObjectBody extends R2Object {
  #source: BodySource | null;
  #stream: ReadableStream<Uint8Array> | null = null;
  #used = false;

  constructor(json: ObjectJson, source: BodySource) {
    super(json);
    this.#source = source;
  }

  /** The body as a byte stream, read from disk as it is pulled. */
  get body(): ReadableStream<Uint8Array> {
    this.#stream ??= this.#createStream();
    return this.#stream;
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  #createStream(): ReadableStream<Uint8Array> {
    const source = this.#takeSource();
    const markUsed = () => {
      this.#used = true;
    };
    if ("bytes" in source) {
      return new ReadableStream({
        type: "bytes",
        pull(controller) {
          markUsed();
          // A byte stream rejects empty chunks, so an empty body is just a closed stream.
          if (source.bytes.byteLength > 0) controller.enqueue(source.bytes as Uint8Array<ArrayBuffer>);
          controller.close();
        },
      });
    }
    return new ReadableStream(
      {
        type: "bytes",
        pull(controller) {
          markUsed();
          const chunk = new Uint8Array(CHUNK_BYTES);
          const read = callNative(() => source.reader.readInto(chunk));
          if (read === 0) controller.close();
          else controller.enqueue(read === CHUNK_BYTES ? chunk : chunk.subarray(0, read));
        },
        cancel() {
          source.reader.close();
        },
      },
      { highWaterMark: 0 },
    );
  }

  #takeSource(): BodySource {
    const source = this.#source;
    if (source === null) throw new TypeError(BODY_USED_MESSAGE);
    this.#source = null;
    return source;
  }

  /** Reads the whole body into one ArrayBuffer, sized once from the object's range. */
  async arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#used || this.#stream !== null) {
      if (this.#used) throw new TypeError(BODY_USED_MESSAGE);
      this.#used = true;
      return await new Response(this.#stream).arrayBuffer();
    }
    this.#used = true;
    const source = this.#takeSource();
    if ("bytes" in source) return toArrayBuffer(source.bytes);

    // The engine reads straight into the result, one chunk per call.
    const buffer = new Uint8Array(source.length);
    let filled = 0;
    while (filled < buffer.length) {
      const read = callNative(() => source.reader.readInto(buffer.subarray(filled, filled + CHUNK_BYTES)));
      if (read === 0) break;
      filled += read;
    }
    source.reader.close();
    return filled === buffer.length ? buffer.buffer : buffer.buffer.slice(0, filled);
  }

  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(await this.arrayBuffer());
  }

  async text(): Promise<string> {
    return new TextDecoder().decode(await this.arrayBuffer());
  }

  async json<T = unknown>(): Promise<T> {
    return JSON.parse(await this.text()) as T;
  }

  async blob(): Promise<Blob> {
    return new Blob([await this.arrayBuffer()], { type: this.httpMetadata?.contentType ?? "" });
  }
}

/** Returns the bytes of a view as an ArrayBuffer, without a copy when the view covers all of it. */
function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const buffer = bytes.buffer as ArrayBuffer;
  if (bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength) return buffer;
  return buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

/** Converts `httpMetadata` (an object or request Headers) to the JSON the engine stores. */
function httpMetadataJson(value: R2HTTPMetadata | Headers | undefined): Record<string, string | number> | undefined {
  if (value === undefined || value === null) return undefined;
  const result: Record<string, string | number> = {};
  if (value instanceof Headers) {
    const fields: [string, string][] = [
      ["content-type", "contentType"],
      ["content-language", "contentLanguage"],
      ["content-disposition", "contentDisposition"],
      ["content-encoding", "contentEncoding"],
      ["cache-control", "cacheControl"],
    ];
    for (const [header, field] of fields) {
      const headerValue = value.get(header);
      if (headerValue !== null) result[field] = headerValue;
    }
    const expires = value.get("expires");
    if (expires !== null) result.cacheExpiry = Date.parse(expires);
    return result;
  }
  for (const field of ["contentType", "contentLanguage", "contentDisposition", "contentEncoding", "cacheControl"] as const) {
    if (value[field] !== undefined) result[field] = String(value[field]);
  }
  if (value.cacheExpiry !== undefined) result.cacheExpiry = new Date(value.cacheExpiry).getTime();
  return result;
}

function customMetadataJson(value: Record<string, string> | undefined): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  const result: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) result[key] = String(item);
  return result;
}

/** Converts `onlyIf` (R2Conditional or request Headers) to the engine's JSON form. */
function conditionalJson(value: R2Conditional | Headers | undefined): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof Headers) {
    const date = (name: string) => {
      const text = value.get(name);
      return text === null ? undefined : Date.parse(text);
    };
    return {
      fromHeaders: true,
      etagMatches: value.get("if-match") ?? undefined,
      etagDoesNotMatch: value.get("if-none-match") ?? undefined,
      uploadedAfter: date("if-modified-since"),
      uploadedBefore: date("if-unmodified-since"),
    };
  }
  const time = (date: Date | undefined) => (date === undefined || date === null ? undefined : new Date(date).getTime());
  return {
    etagMatches: value.etagMatches === undefined ? undefined : String(value.etagMatches),
    etagDoesNotMatch: value.etagDoesNotMatch === undefined ? undefined : String(value.etagDoesNotMatch),
    uploadedBefore: time(value.uploadedBefore),
    uploadedAfter: time(value.uploadedAfter),
    secondsGranularity: value.secondsGranularity,
  };
}

function checksumsJson(options: R2PutOptions): { algorithm: string; value: string; binary: boolean }[] {
  const checksums = [];
  for (const algorithm of CHECKSUM_FIELDS) {
    const value = options[algorithm];
    if (value === undefined || value === null) continue;
    if (typeof value === "string") checksums.push({ algorithm, value, binary: false });
    else {
      const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      checksums.push({ algorithm, value: Buffer.from(bytes).toString("hex"), binary: true });
    }
  }
  return checksums;
}

// NOTE: `ssecKey` (SSE-C) is not read; objects are stored unencrypted and
// read back without a key.
function putOptionsJson(options: R2PutOptions | undefined): string | undefined {
  if (options === undefined || options === null) return undefined;
  return JSON.stringify({
    httpMetadata: httpMetadataJson(options.httpMetadata),
    customMetadata: customMetadataJson(options.customMetadata),
    checksums: checksumsJson(options),
    onlyIf: conditionalJson(options.onlyIf),
    storageClass: options.storageClass,
  });
}

function getOptionsJson(options: R2GetOptions | undefined): string | undefined {
  if (options === undefined || options === null) return undefined;
  let range: Record<string, unknown> | undefined;
  if (options.range instanceof Headers) {
    const header = options.range.get("range");
    range = header === null ? undefined : { header };
  } else if (options.range !== undefined && options.range !== null) {
    const { offset, length, suffix } = options.range;
    range = {
      offset: offset === undefined ? undefined : Number(offset),
      length: length === undefined ? undefined : Number(length),
      suffix: suffix === undefined ? undefined : Number(suffix),
    };
  }
  return JSON.stringify({ range, onlyIf: conditionalJson(options.onlyIf) });
}

const INVALID_VALUE_MESSAGE =
  "Failed to execute 'put' on 'R2Bucket': parameter 2 is not of type 'ReadableStream or ArrayBuffer or ArrayBufferView or string or Blob'.";

/** Returns a body small enough for one call (a string or bytes), or null for a stream or a large Blob. */
async function wholeBody(value: R2PutValue): Promise<string | Buffer | null> {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof Blob) return value.size <= CHUNK_BYTES ? Buffer.from(await value.arrayBuffer()) : null;
  if (value instanceof ReadableStream) return null;
  throw new TypeError(INVALID_VALUE_MESSAGE);
}

/** Streams `value` into `writer` chunk by chunk and commits it; aborts the writer on failure. */
async function streamInto(writer: NativeR2Writer, value: ReadableStream | Blob): Promise<string | null> {
  const stream = value instanceof Blob ? value.stream() : value;
  try {
    const encoder = new TextEncoder();
    for await (const chunk of stream as ReadableStream<unknown>) {
      const bytes =
        typeof chunk === "string"
          ? encoder.encode(chunk)
          : chunk instanceof Uint8Array
            ? chunk
            : ArrayBuffer.isView(chunk)
              ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
              : chunk instanceof ArrayBuffer
                ? new Uint8Array(chunk)
                : null;
      if (bytes === null) throw new TypeError("This TransformStream is being used as a byte stream, but received an object of non-ArrayBuffer/ArrayBufferView type on its writable side.");
      if (bytes.byteLength > 0) callNative(() => writer.write(bytes));
    }
  } catch (error) {
    writer.abort();
    throw error;
  }
  return callNative(() => writer.commit());
}

/** A multipart upload in progress, as `createMultipartUpload` and `resumeMultipartUpload` return it. */
export class R2MultipartUpload {
  readonly key: string;
  readonly uploadId: string;
  readonly #native: NativeR2Bucket;

  constructor(handle: NativeR2Bucket, key: string, uploadId: string) {
    this.#native = handle;
    this.key = key;
    this.uploadId = uploadId;
  }

  /** Uploads part `partNumber` (1 to 10000); every part but the last must be at least 5 MiB. */
  async uploadPart(partNumber: number, value: R2PutValue): Promise<R2UploadedPart> {
    const number = Number(partNumber);
    const body = await wholeBody(value);
    let json: string | null;
    if (body !== null) {
      json = callNative(() => this.#native.uploadPart(this.key, this.uploadId, number, body));
    } else {
      const writer = callNative(() => native.R2Writer.forPart(this.#native, this.key, this.uploadId, number));
      json = await streamInto(writer, value as ReadableStream | Blob);
    }
    return JSON.parse(json!) as R2UploadedPart;
  }

  /** Removes the upload and its parts; aborting a finished upload does nothing. */
  async abort(): Promise<void> {
    callNative(() => this.#native.abortMultipartUpload(this.key, this.uploadId));
  }

  /** Joins `uploadedParts` (in part-number order) into the object. */
  async complete(uploadedParts: R2UploadedPart[]): Promise<R2Object> {
    const parts = JSON.stringify(uploadedParts.map((part) => ({ partNumber: Number(part.partNumber), etag: String(part.etag) })));
    const json = callNative(() => this.#native.completeMultipartUpload(this.key, this.uploadId, parts));
    return new R2Object(JSON.parse(json) as ObjectJson);
  }
}

/** R2: production's `R2Bucket`, backed by one bucket of a bunflare data directory. */
export class R2Bucket {
  readonly #native: NativeR2Bucket;

  constructor(handle: NativeR2Bucket) {
    this.#native = handle;
  }

  /** Reads an object's metadata, or null when the key is missing. */
  async head(key: string): Promise<R2Object | null> {
    const json = callNative(() => this.#native.head(String(key)));
    return json === null ? null : new R2Object(JSON.parse(json) as ObjectJson);
  }

  /**
   * Reads an object with its body, or null when the key is missing. When
   * `onlyIf` fails, returns the object without a body (an `R2Object`).
   */
  async get(key: string, options?: R2GetOptions): Promise<R2ObjectBody | R2Object | null> {
    const name = String(key);
    const optionsJson = getOptionsJson(options);

    // Another process may delete the blob between the lookup and the open; look it up again then.
    for (let attempt = 0; ; attempt++) {
      const result = callNative(() => this.#native.get(name, optionsJson));
      if (result === null) return null;
      const json = JSON.parse(result.metadata) as ObjectJson;
      if (result.preconditionFailed) return new R2Object(json);
      if (result.body) return new R2ObjectBody(json, { bytes: result.body });

      try {
        const reader = new native.R2BodyReader(this.#native, result.blobId!, result.offset!, result.length!);
        return new R2ObjectBody(json, { reader, length: result.length! });
      } catch (error) {
        if (attempt >= 2) throw error;
      }
    }
  }

  /** Stores an object; returns it, or null when `onlyIf` failed. */
  async put(key: string, value: R2PutValue, options?: R2PutOptions): Promise<R2Object | null> {
    const name = String(key);
    const optionsJson = putOptionsJson(options);
    const body = await wholeBody(value);

    let json: string | null;
    if (body !== null) {
      json = callNative(() => this.#native.put(name, body, optionsJson));
    } else {
      // NOTE: production requires a stream of known length (a request body or
      // a FixedLengthStream); bunflare accepts any ReadableStream.
      const writer = callNative(() => native.R2Writer.forObject(this.#native, name, optionsJson));
      json = await streamInto(writer, value as ReadableStream | Blob);
    }
    return json === null ? null : new R2Object(JSON.parse(json) as ObjectJson);
  }

  /** Deletes one key or many; missing keys are ignored. */
  // NOTE: production accepts at most 1000 keys per call; bunflare deletes any number.
  async delete(keys: string | string[]): Promise<void> {
    const names = Array.isArray(keys) ? keys.map(String) : [String(keys)];
    callNative(() => this.#native.delete(names));
  }

  /** Lists objects in UTF-8 byte order, grouping keys by `delimiter` into `delimitedPrefixes`. */
  async list(options?: R2ListOptions): Promise<R2Objects> {
    const json = callNative(() =>
      this.#native.list(
        options === undefined || options === null
          ? undefined
          : JSON.stringify({
              limit: options.limit === undefined ? undefined : Number(options.limit),
              prefix: options.prefix,
              cursor: options.cursor,
              delimiter: options.delimiter,
              startAfter: options.startAfter,
              include: options.include,
            }),
      ),
    );
    const page = JSON.parse(json) as { objects: ObjectJson[]; truncated: boolean; cursor?: string; delimitedPrefixes: string[] };
    return { ...page, objects: page.objects.map((object) => new R2Object(object)) } as R2Objects;
  }

  /** Starts a multipart upload of `key` with the metadata the object will get. */
  async createMultipartUpload(key: string, options?: R2MultipartOptions): Promise<R2MultipartUpload> {
    const name = String(key);
    const optionsJson =
      options === undefined || options === null
        ? undefined
        : JSON.stringify({
            httpMetadata: httpMetadataJson(options.httpMetadata),
            customMetadata: customMetadataJson(options.customMetadata),
            storageClass: options.storageClass,
          });
    const uploadId = callNative(() => this.#native.createMultipartUpload(name, optionsJson));
    return new R2MultipartUpload(this.#native, name, uploadId);
  }

  /** Returns a handle to an existing upload; production checks the id only at the next call. */
  resumeMultipartUpload(key: string, uploadId: string): R2MultipartUpload {
    return new R2MultipartUpload(this.#native, String(key), String(uploadId));
  }
}

/** Creates the `R2Bucket` for `bucketName` in an open data directory; the env builder calls this. */
export function createR2Bucket(storage: Storage, bucketName: string): R2Bucket {
  const handle = callNative(() => new native.R2Bucket(storage, bucketName));
  log.debug("r2 bucket opened", { bucket: bucketName, dir: storage.path ?? ":memory:" });
  return new R2Bucket(handle);
}
