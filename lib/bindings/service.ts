// Service bindings: production's `Fetcher` with RPC, calling another Worker
// (or one of this Worker's own entrypoints, for `ctx.exports`) in-process.
//
// A stub sends each call through an `EntrypointTarget`: fetch a Request, or
// call a method by name with arguments already cloned by the RPC codec. The
// codec is a seam: the Durable Object RPC layer installs its serialization
// (structured clone with RpcTarget and function stubs) with `setRpcCodec`, and
// service bindings then pass values exactly as Durable Object stubs do.

import { log } from "../log.ts";

/** The receiver of a stub's calls: one Worker entrypoint, resolved at call time so reloads are picked up. */
export interface EntrypointTarget {
  /** A name for log lines and errors: `worker` or `worker#Entrypoint`. */
  readonly label: string;
  fetch(request: Request): Promise<Response>;
  /** Calls `method` on a fresh entrypoint instance with arguments the codec has already cloned. */
  call(method: string, args: unknown[]): Promise<unknown>;
}

/** The serialization of RPC arguments, results and errors between two Workers. */
export interface RpcCodec {
  /** Clones arguments on the caller's side, before the call. */
  encodeArguments(args: unknown[]): unknown[];
  /** Clones a result on the callee's side, before the caller sees it. */
  encodeResult(value: unknown): unknown;
  /** Rebuilds an error thrown by the callee, keeping its class and message. */
  encodeError(error: unknown): unknown;
}

/** Error classes that keep their identity across an RPC boundary, by name. */
const ERROR_CLASSES: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/**
 * The default codec: structured clone for data. Functions and `RpcTarget`
 * instances pass by reference, because a same-process call can reach them directly.
 */
// NOTE: production turns functions and RpcTarget instances into stubs whose
// calls are themselves RPC with cloned arguments. Here they are the original
// objects, so the caller sees a callee's changes to them.
const defaultCodec: RpcCodec = {
  encodeArguments: (args) => args.map(cloneValue),
  encodeResult: cloneValue,
  // NOTE: the caller gets a fresh error of the built-in class without the
  // callee's stack; a subclass such as `class MyError extends Error` arrives as `Error`.
  encodeError(error) {
    if (!(error instanceof Error)) return cloneValue(error);
    const ErrorClass = ERROR_CLASSES[error.name] ?? Error;
    const copy = new ErrorClass(error.message);
    // A subclass of a built-in error arrives as that built-in, as in production.
    if (!(error.name in ERROR_CLASSES)) copy.name = "Error";
    return copy;
  },
};

let codec: RpcCodec = defaultCodec;

/** Replaces the RPC codec for every service binding in the process. */
export function setRpcCodec(next: RpcCodec): void {
  codec = next;
}

const RPC_TARGET_BRAND = Symbol.for("bunflare.RpcTarget");

/** Clones a value for RPC: plain objects and arrays are walked so nested functions and RpcTargets keep their identity. */
function cloneValue(value: unknown): unknown {
  if (typeof value === "function") return value;
  if (typeof value !== "object" || value === null) return value;

  if ((value.constructor as unknown as Record<symbol, unknown> | undefined)?.[RPC_TARGET_BRAND]) return value;
  if (value instanceof Request || value instanceof Response || value instanceof ReadableStream) return value;
  if (Array.isArray(value)) return value.map(cloneValue);

  const prototype = Object.getPrototypeOf(value);
  if (prototype === Object.prototype || prototype === null) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = cloneValue(item);
    return copy;
  }
  return structuredClone(value);
}

/**
 * Wraps a pending value so that production's promise pipelining works:
 * `await stub.a().b()` calls `b` on the result of `a`, and `await stub.a().x`
 * reads `x`, without awaiting `a` first.
 */
function pipeline(pending: Promise<unknown>): unknown {
  const call = (...args: unknown[]) =>
    pipeline(
      pending.then((value) => {
        if (typeof value !== "function") throw new TypeError("The RPC result is not a function.");
        return value(...args);
      }),
    );
  return new Proxy(call, {
    get(_target, property) {
      if (property === "then") return pending.then.bind(pending);
      if (property === "catch") return pending.catch.bind(pending);
      if (property === "finally") return pending.finally.bind(pending);
      if (typeof property === "symbol") return undefined;
      return pipelineMember(pending, property);
    },
  });
}

/** A member of a pending value: callable as a method, awaitable as a property. */
function pipelineMember(pending: Promise<unknown>, name: string): unknown {
  const read = () => pending.then((value) => (value as Record<string, unknown> | null | undefined)?.[name]);
  const call = (...args: unknown[]) =>
    pipeline(
      pending.then((value) => {
        const method = (value as Record<string, unknown> | null | undefined)?.[name];
        if (typeof method !== "function") throw new TypeError(`The RPC receiver does not implement the method "${name}".`);
        return method.apply(value, args);
      }),
    );
  return new Proxy(call, {
    get(_target, property) {
      if (property === "then") return (resolve: (v: unknown) => unknown, reject: (e: unknown) => unknown) => read().then(resolve, reject);
      if (typeof property === "symbol") return undefined;
      return pipelineMember(read(), property);
    },
  });
}

/** Members of a stub that are not RPC calls. */
const STUB_RESERVED = new Set(["then", "catch", "finally", "toJSON", "constructor"]);

/**
 * Creates the `Fetcher` a service binding (or `ctx.exports` entry) puts in
 * `env`: `fetch()` dispatches a fetch event, any other member is an RPC method.
 */
export function createServiceStub(target: EntrypointTarget): Record<string, unknown> {
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    return await target.fetch(request);
  };

  const connect = () => {
    // NOTE: TCP sockets to a service binding are not supported locally.
    throw new Error(`connect() on service binding ${target.label} is not supported by bunflare.`);
  };

  return new Proxy({} as Record<string, unknown>, {
    get(_object, property) {
      if (property === "fetch") return fetch;
      if (property === "connect") return connect;
      if (typeof property === "symbol" || STUB_RESERVED.has(property)) return undefined;
      return rpcMember(target, property);
    },
  });
}

/** A stub member: calling it runs the method remotely; awaiting it reads the property. */
function rpcMember(target: EntrypointTarget, method: string): unknown {
  const invoke = (args: unknown[]) => {
    const encoded = codec.encodeArguments(args);
    log.debug("rpc call", { service: target.label, method });
    return target.call(method, encoded).then(
      (value) => codec.encodeResult(value),
      (error: unknown) => {
        throw codec.encodeError(error);
      },
    );
  };
  const call = (...args: unknown[]) => pipeline(invoke(args));
  return new Proxy(call, {
    get(_target, property) {
      if (property === "then") {
        return (resolve: (v: unknown) => unknown, reject: (e: unknown) => unknown) => invoke([]).then(resolve, reject);
      }
      if (typeof property === "symbol") return undefined;
      return pipelineMember(invoke([]), property);
    },
  });
}
