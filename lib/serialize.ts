// The structured clone serializer for values that bunflare persists or
// passes between runs: Workflow params, step results and event payloads, and
// queue messages with the `v8` content type.
//
// It accepts what production's storage and RPC accept (plain objects,
// arrays, Date, Map, Set, RegExp, ArrayBuffer views, errors, BigInt…) and
// rejects functions and symbols with a `DataCloneError`, as production does.
// Durable Object storage calls `bun:jsc` itself because it hands the engine
// an ArrayBuffer rather than a Buffer; the bytes are the same format.

import { deserialize, serialize } from "bun:jsc";

/** Serializes `value` with the structured clone algorithm; throws a `DataCloneError` for what cannot be cloned. */
export function serializeValue(value: unknown): Buffer {
  return serialize(value, { binaryType: "nodebuffer" }) as Buffer;
}

/** Reads a value written by `serializeValue`. */
export function deserializeValue<T = unknown>(bytes: Uint8Array): T {
  return deserialize(bytes) as T;
}
