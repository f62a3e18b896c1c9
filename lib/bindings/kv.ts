// The Workers KV binding: production's `KVNamespace` API over the Rust
// `KvNamespace` engine.
//
// Each method turns its JavaScript arguments into the engine's types, makes
// one synchronous native call (validation included) and shapes the result.
// Limits and messages live in `src/kv.rs`; this file only maps error codes to
// the classes production throws.

import type { KvNamespace as NativeKvNamespace, Storage } from "../../index.js";
import { callNative, registerErrorClasses } from "../errors.ts";
import { log } from "../log.ts";
import { native } from "../native.ts";

// The runtime itself throws TypeError for these; the KV service's errors
// reach user code as plain `Error("KV <METHOD> failed: <status> <message>")`.
registerErrorClasses({
  KV_EMPTY_KEY: (message) => new TypeError(message),
  KV_ILLEGAL_KEY: (message) => new TypeError(message),
  KV_INVALID_TYPE: (message) => new TypeError(message),
  KV_KEY_TOO_LONG: (message) => new Error(message),
  KV_SERVICE_EMPTY_KEY: (message) => new Error(message),
  KV_SERVICE_ILLEGAL_KEY: (message) => new Error(message),
  KV_BULK_INVALID_TYPE: (message) => new Error(message),
  KV_BULK_TOO_MANY_KEYS: (message) => new Error(message),
  KV_BULK_NO_KEYS: (message) => new Error(message),
  KV_BULK_NOT_JSON: (message) => new Error(message),
  KV_BULK_TOO_LARGE: (message) => new Error(message),
  KV_INVALID_CACHE_TTL: (message) => new Error(message),
  KV_VALUE_TOO_LARGE: (message) => new Error(message),
  KV_METADATA_TOO_LARGE: (message) => new Error(message),
  KV_INVALID_METADATA: (message) => new Error(message),
  KV_INVALID_EXPIRATION_TTL: (message) => new Error(message),
  KV_EXPIRATION_TTL_TOO_SMALL: (message) => new Error(message),
  KV_INVALID_EXPIRATION: (message) => new Error(message),
  KV_EXPIRATION_TOO_SOON: (message) => new Error(message),
  KV_LIST_LIMIT_TOO_LARGE: (message) => new Error(message),
  KV_INVALID_CURSOR: (message) => new Error(message),
});

/** The `type` values of a single `get`, by the code the engine takes. */
export const GET_TYPE_CODES = new Map<string, number>([
  ["text", 0],
  ["json", 1],
  ["arrayBuffer", 2],
  ["stream", 3],
]);

/** Any code the engine does not know; it raises production's unknown-type error. */
const UNKNOWN_TYPE_CODE = 255;

const INVALID_VALUE_MESSAGE =
  "KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.";

export type KVValueType = "text" | "json" | "arrayBuffer" | "stream";

export interface KVNamespaceGetOptions {
  type?: KVValueType | string;
  cacheTtl?: number;
}

export interface KVNamespacePutOptions {
  expiration?: number;
  expirationTtl?: number;
  metadata?: unknown;
}

export interface KVNamespaceListOptions {
  limit?: number;
  prefix?: string | null;
  cursor?: string | null;
}

export interface KVNamespaceListKey<Metadata = unknown> {
  name: string;
  expiration?: number;
  metadata?: Metadata;
}

export type KVNamespaceListResult<Metadata = unknown> =
  | { list_complete: false; keys: KVNamespaceListKey<Metadata>[]; cursor: string; cacheStatus: string | null }
  | { list_complete: true; keys: KVNamespaceListKey<Metadata>[]; cacheStatus: string | null };

export interface KVNamespaceGetWithMetadataResult<Value, Metadata> {
  value: Value | null;
  metadata: Metadata | null;
  cacheStatus: string | null;
}

/** `get`'s second argument for one value type: the type's name or an options object. */
type TypeArgument<Type extends KVValueType> = Type | { type?: Type; cacheTtl?: number };

type GetArgument = string | KVNamespaceGetOptions | null | undefined;

/** Splits `get`'s second argument (a type name or an options object) into its parts. */
function parseGetArgument(argument: GetArgument): { type: string; cacheTtl: number | undefined } {
  if (argument === undefined || argument === null) return { type: "text", cacheTtl: undefined };
  if (typeof argument !== "object") return { type: String(argument), cacheTtl: undefined };
  const type = argument.type === undefined || argument.type === null ? "text" : String(argument.type);
  const cacheTtl = argument.cacheTtl === undefined || argument.cacheTtl === null ? undefined : Number(argument.cacheTtl);
  return { type, cacheTtl };
}

/** Converts what the engine returned to the JavaScript value that `type` names. */
function shapeValue(value: string | Buffer, type: string): unknown {
  if (typeof value === "string") return type === "json" ? JSON.parse(value) : value;
  if (type === "stream") return bytesToStream(value);
  return toArrayBuffer(value);
}

/** Returns the bytes of a Buffer as an ArrayBuffer, without a copy when the Buffer owns all of it. */
function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const buffer = bytes.buffer as ArrayBuffer;
  if (bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength) return buffer;
  return buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

/** Wraps a value in a byte stream, as production's `get(key, "stream")` returns. */
function bytesToStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    type: "bytes",
    start(controller) {
      // A byte stream rejects empty chunks, so an empty value is just a closed stream.
      if (bytes.byteLength > 0) controller.enqueue(bytes as Uint8Array<ArrayBuffer>);
      controller.close();
    },
  });
}

/** Parses stored metadata JSON, or returns null when the entry has none. */
function parseMetadata(metadata: string | null | undefined): unknown {
  return metadata === null || metadata === undefined ? null : JSON.parse(metadata);
}

/** Converts an expiration option to the number the engine checks; NaN reports a non-numeric value. */
function toSeconds(value: unknown): number | undefined {
  return value === undefined || value === null ? undefined : Number(value);
}

/** Workers KV: production's `KVNamespace`, backed by one namespace of a bunflare data directory. */
export class KVNamespace {
  readonly #native: NativeKvNamespace;

  constructor(handle: NativeKvNamespace) {
    this.#native = handle;
  }

  /** Reads a value, or up to 100 values at once when `key` is an array. */
  get(key: string, argument?: TypeArgument<"text"> | null): Promise<string | null>;
  get<Value = unknown>(key: string, argument: TypeArgument<"json">): Promise<Value | null>;
  get(key: string, argument: TypeArgument<"arrayBuffer">): Promise<ArrayBuffer | null>;
  get(key: string, argument: TypeArgument<"stream">): Promise<ReadableStream | null>;
  get(keys: string[], argument?: TypeArgument<"text"> | null): Promise<Map<string, string | null>>;
  get<Value = unknown>(keys: string[], argument: TypeArgument<"json">): Promise<Map<string, Value | null>>;
  async get(key: string | string[], argument?: GetArgument): Promise<unknown> {
    const { type, cacheTtl } = parseGetArgument(argument);
    if (Array.isArray(key)) return this.#getBulk(key, argument, cacheTtl, false);

    const code = GET_TYPE_CODES.get(type) ?? UNKNOWN_TYPE_CODE;
    const value = callNative(() => this.#native.get(String(key), code, cacheTtl));
    return value === null ? null : shapeValue(value, type);
  }

  /** Reads a value with its metadata, or up to 100 of them when `key` is an array. */
  getWithMetadata<Metadata = unknown>(
    key: string,
    argument?: TypeArgument<"text"> | null,
  ): Promise<KVNamespaceGetWithMetadataResult<string, Metadata>>;
  getWithMetadata<Value = unknown, Metadata = unknown>(
    key: string,
    argument: TypeArgument<"json">,
  ): Promise<KVNamespaceGetWithMetadataResult<Value, Metadata>>;
  getWithMetadata<Metadata = unknown>(
    key: string,
    argument: TypeArgument<"arrayBuffer">,
  ): Promise<KVNamespaceGetWithMetadataResult<ArrayBuffer, Metadata>>;
  getWithMetadata<Metadata = unknown>(
    key: string,
    argument: TypeArgument<"stream">,
  ): Promise<KVNamespaceGetWithMetadataResult<ReadableStream, Metadata>>;
  getWithMetadata<Metadata = unknown>(
    keys: string[],
    argument?: TypeArgument<"text"> | null,
  ): Promise<Map<string, { value: string; metadata: Metadata | null } | null>>;
  getWithMetadata<Value = unknown, Metadata = unknown>(
    keys: string[],
    argument: TypeArgument<"json">,
  ): Promise<Map<string, { value: Value; metadata: Metadata | null } | null>>;
  async getWithMetadata(key: string | string[], argument?: GetArgument): Promise<unknown> {
    const { type, cacheTtl } = parseGetArgument(argument);
    if (Array.isArray(key)) return this.#getBulk(key, argument, cacheTtl, true);

    const code = GET_TYPE_CODES.get(type) ?? UNKNOWN_TYPE_CODE;
    const entry = callNative(() => this.#native.getWithMetadata(String(key), code, cacheTtl));
    if (entry === null) return { value: null, metadata: null, cacheStatus: null };
    return { value: shapeValue(entry.value, type), metadata: parseMetadata(entry.metadata), cacheStatus: null };
  }

  /** Runs a bulk read in one native call; the engine returns a JSON array in request order. */
  #getBulk(keys: string[], argument: GetArgument, cacheTtl: number | undefined, withMetadata: boolean) {
    // Only an explicit type reaches the engine, which names it in its error.
    const explicitType =
      argument === undefined || argument === null
        ? undefined
        : typeof argument === "object"
          ? argument.type === undefined || argument.type === null
            ? undefined
            : String(argument.type)
          : String(argument);
    // NOTE: the Map follows request order and keeps every key. workerd builds
    // it from a JSON object, which puts integer-like keys first and skips them.
    const names = keys.map(String);
    const json = callNative(() => this.#native.getBulk(names, explicitType, cacheTtl, withMetadata));
    const values = JSON.parse(json) as unknown[];
    const result = new Map<string, unknown>();
    for (let index = 0; index < names.length; index++) result.set(names[index]!, values[index] ?? null);
    return result;
  }

  /** Stores a value, replacing any previous value and metadata of the key. */
  async put(
    key: string,
    value: string | ArrayBuffer | ArrayBufferView | ReadableStream,
    options?: KVNamespacePutOptions,
  ): Promise<void> {
    const name = String(key);
    const expiration = toSeconds(options?.expiration);
    const expirationTtl = toSeconds(options?.expirationTtl);
    const metadata =
      options?.metadata === undefined || options.metadata === null ? undefined : JSON.stringify(options.metadata);

    if (typeof value === "string") {
      callNative(() => this.#native.putText(name, value, expiration, expirationTtl, metadata));
      return;
    }

    // Production checks the key before it looks at the value's type or reads a stream.
    const bytes = await this.#valueBytes(name, value);
    callNative(() => this.#native.putBytes(name, bytes, expiration, expirationTtl, metadata));
  }

  /** Converts a non-string value to bytes, reading a stream to its end. */
  async #valueBytes(name: string, value: unknown): Promise<Uint8Array> {
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);

    callNative(() => this.#native.validatePutKey(name));

    // The whole stream is read before the engine checks its size, so a value
    // over the limit is held in memory once before it is rejected.
    if (value instanceof ReadableStream) return new Uint8Array(await new Response(value).arrayBuffer());

    // NOTE: numbers and booleans are rejected here; workerd may instead convert them to strings.
    throw new TypeError(INVALID_VALUE_MESSAGE);
  }

  /** Removes a key; removing a missing key succeeds. */
  async delete(key: string): Promise<void> {
    callNative(() => this.#native.delete(String(key)));
  }

  /** Lists keys in UTF-8 byte order, up to `limit` (default and maximum 1000) per page. */
  async list<Metadata = unknown>(options?: KVNamespaceListOptions): Promise<KVNamespaceListResult<Metadata>> {
    const prefix = options?.prefix === undefined || options.prefix === null ? undefined : String(options.prefix);
    const limit = options?.limit === undefined || options.limit === null ? undefined : Number(options.limit);
    const cursor = options?.cursor === undefined || options.cursor === null ? undefined : String(options.cursor);
    const json = callNative(() => this.#native.list(prefix, limit, cursor));
    return JSON.parse(json) as KVNamespaceListResult<Metadata>;
  }
}

/** Creates the `KVNamespace` for `namespaceId` in an open data directory; the env builder calls this. */
export function createKVNamespace(storage: Storage, namespaceId: string): KVNamespace {
  const handle = callNative(() => new native.KvNamespace(storage, namespaceId));
  log.debug("kv namespace opened", { namespace: namespaceId, dir: storage.path ?? ":memory:" });
  return new KVNamespace(handle);
}
