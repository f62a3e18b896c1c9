// Workers RPC inside one process: the structured-clone rules for arguments
// and results, stubs, and promise pipelining. Durable Object stubs and
// service bindings (`WorkerEntrypoint` RPC, `ctx.exports`) both use it.
//
// Production serializes every argument and result with V8's structured
// clone, except that functions and `RpcTarget` instances travel by
// reference, as stubs whose calls go back to the original. Here both sides
// share a heap, so `cloneForRpc` copies data with `structuredClone` and
// wraps functions and `RpcTarget`s in stubs, and a call on a stub runs the
// original directly.

/** Base class of objects that are passed by reference over RPC. */
export class RpcTarget {}

/** The receiver of a stub's calls: a Durable Object's delivery queue, or a local RpcTarget. */
export interface RemoteTarget {
  /** Reads a property of the target; the value is already cloned for the caller. */
  get(name: string): Promise<unknown>;
  /** Calls a method of the target; arguments and result are already cloned. */
  call(name: string, args: unknown[]): Promise<unknown>;
}

/** Marks a stub proxy and gives back its remote target. */
const STUB_REMOTE = Symbol("bunflare.rpcStubRemote");

/** Member names a stub never forwards, so it is not mistaken for a promise or a JSON value. */
const LOCAL_ONLY_NAMES = new Set(["then", "catch", "finally", "toJSON", "constructor"]);

/** Methods that objects inherit from Object.prototype; RPC does not expose them. */
const OBJECT_PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

/** Returns whether `value` is a stub made by this module. */
export function isRpcStub(value: unknown): boolean {
  return (typeof value === "object" || typeof value === "function") && value !== null && STUB_REMOTE in value;
}

/** Production's error for a value that structured clone cannot carry. */
function dataCloneError(value: unknown): DOMException {
  const type = (value as { constructor?: { name?: string } })?.constructor?.name ?? typeof value;
  return new DOMException(
    `Could not serialize object of type "${type}". This type does not support serialization.`,
    "DataCloneError",
  );
}

/** Classes whose instances travel by reference locally (production streams or copies them). */
function isPassedByReference(value: object): boolean {
  // NOTE: production sends a Request, Response or ReadableStream over RPC by
  // streaming its body to the other side. In one process the same object is
  // handed over, so both sides share one body.
  return value instanceof Request || value instanceof Response || value instanceof ReadableStream || value instanceof Headers;
}

/**
 * Copies `value` as production's RPC serializer does: structured clone for
 * data, stubs for functions and `RpcTarget`s, and a `DataCloneError` for
 * anything else, such as an instance of an ordinary class or a symbol.
 */
export function cloneForRpc(value: unknown): unknown {
  if (value === null || typeof value !== "object") {
    if (typeof value === "function") return isRpcStub(value) ? value : functionStub(value as (...args: unknown[]) => unknown);
    if (typeof value === "symbol") throw dataCloneError(value);
    return value;
  }

  if (isRpcStub(value)) return value;
  if (value instanceof RpcTarget) return createStub(localRemote(value));
  if (isPassedByReference(value)) return value;

  if (Array.isArray(value)) return value.map(cloneForRpc);

  const prototype = Object.getPrototypeOf(value);
  if (prototype === Object.prototype || prototype === null) {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) copy[key] = cloneForRpc((value as Record<string, unknown>)[key]);
    return copy;
  }

  // Built-in types (Date, Map, Set, RegExp, ArrayBuffer, typed arrays,
  // errors, boxed primitives) are cloned by the platform's structured clone.
  if (isStructuredCloneable(value)) return structuredClone(value);
  throw dataCloneError(value);
}

function isStructuredCloneable(value: object): boolean {
  return (
    value instanceof Date ||
    value instanceof Map ||
    value instanceof Set ||
    value instanceof RegExp ||
    value instanceof ArrayBuffer ||
    ArrayBuffer.isView(value) ||
    value instanceof Error ||
    value instanceof Boolean ||
    value instanceof Number ||
    value instanceof String ||
    value instanceof BigInt ||
    value instanceof Blob
  );
}

/** Clones a thrown value for the caller, keeping built-in error classes and messages. */
export function cloneError(error: unknown): unknown {
  if (error instanceof Error) {
    try {
      return structuredClone(error);
    } catch {
      return error;
    }
  }
  try {
    return cloneForRpc(error);
  } catch {
    return error;
  }
}

/** Runs `work` on the callee's side and clones its result, or its error, for the caller. */
export async function settleForCaller(work: () => unknown): Promise<unknown> {
  let result: unknown;
  try {
    result = await work();
  } catch (error) {
    throw cloneError(error);
  }
  return cloneForRpc(result);
}

/** Returns production's error for a method the target does not have. */
export function missingMethodError(name: string): TypeError {
  return new TypeError(`The RPC receiver does not implement the method "${name}".`);
}

/**
 * Reads member `name` of an RPC receiver for a remote caller: a method comes
 * back bound to the receiver, a property as its value. Names inherited from
 * Object.prototype and private (`#`) members are not reachable, as in production.
 */
export function readReceiverMember(receiver: object, name: string): unknown {
  const member = receiverMember(receiver, name);
  return typeof member === "function" ? member.bind(receiver) : member;
}

/** Calls method `name` of an RPC receiver with arguments already cloned. */
export function callReceiverMethod(receiver: object, name: string, args: unknown[]): unknown {
  const member = receiverMember(receiver, name);
  if (typeof member !== "function") throw missingMethodError(name);
  return (member as (...a: unknown[]) => unknown).apply(receiver, args);
}

function receiverMember(receiver: object, name: string): unknown {
  if (OBJECT_PROTOTYPE_NAMES.has(name) || !(name in receiver)) return undefined;
  return (receiver as Record<string, unknown>)[name];
}

/** Builds the remote target that calls an `RpcTarget` in this process. */
// NOTE: production delivers calls on an RpcTarget returned by a Durable
// Object through that object's input gate; here they run at once.
function localRemote(target: object): RemoteTarget {
  return {
    get: (name) => settleForCaller(() => readReceiverMember(target, name)),
    call: (name, args) => settleForCaller(() => callReceiverMethod(target, name, args.map(cloneForRpc))),
  };
}

/** Wraps a function passed over RPC: calling the stub calls it, asynchronously, with cloned values. */
function functionStub(fn: (...args: unknown[]) => unknown): (...args: unknown[]) => Promise<unknown> {
  const stub = (...args: unknown[]) => {
    const cloned = args.map(cloneForRpc);
    return settleForCaller(() => fn(...cloned));
  };
  Object.defineProperty(stub, STUB_REMOTE, { value: localRemote(fn) });
  return stub;
}

/**
 * Builds a stub for `remote`. `own` contains the members the stub returns
 * itself (a Durable Object stub's `id`, `name` and `fetch`, a service
 * binding's `fetch` and `connect`). Every other
 * string member is a pipelined RPC promise for that remote property or method.
 */
export function createStub(remote: RemoteTarget, own: Record<string, unknown> = {}): Record<string, unknown> {
  return new Proxy(own, {
    get(target, name) {
      if (name === STUB_REMOTE) return remote;
      if (typeof name === "symbol") return undefined;
      if (Object.hasOwn(target, name)) return target[name];
      if (LOCAL_ONLY_NAMES.has(name)) return undefined;
      return remoteMember(Promise.resolve(remote), name, true);
    },
    has(target, name) {
      return name === STUB_REMOTE || Object.hasOwn(target, name);
    },
  });
}

/** Reads `name` from a value the caller already holds: a stub reads remotely, data locally. */
function readMember(holder: unknown, name: string): unknown {
  const remote = remoteOf(holder);
  if (remote) return remote.get(name);
  if (holder === null || holder === undefined) {
    throw new TypeError(`Cannot read properties of ${holder} (reading '${name}')`);
  }
  return (holder as Record<string, unknown>)[name];
}

function callMember(holder: unknown, name: string, args: unknown[]): unknown {
  const remote = remoteOf(holder);
  if (remote) return remote.call(name, args.map(cloneForRpc));
  const member = holder === null || holder === undefined ? undefined : (holder as Record<string, unknown>)[name];
  if (typeof member !== "function") throw new TypeError(`"${name}" is not a function`);
  return (member as (...a: unknown[]) => unknown).apply(holder, args);
}

function remoteOf(holder: unknown): RemoteTarget | null {
  if ((typeof holder === "object" || typeof holder === "function") && holder !== null && STUB_REMOTE in holder) {
    return (holder as { [STUB_REMOTE]: RemoteTarget })[STUB_REMOTE];
  }
  return null;
}

/**
 * Builds an RPC promise for member `name` of what `parent` resolves to. Awaiting it
 * reads the member; calling it calls the member as a method. Reading a
 * member of it pipelines: `stub.getUser().name` resolves to the returned
 * user's `name` without awaiting the user first.
 */
function remoteMember(parent: Promise<unknown>, name: string, parentIsRemote: boolean): unknown {
  let value: Promise<unknown> | null = null;
  const read = () => {
    value ??= parent.then((holder) => {
      // The parent is the remote target itself for members of a stub.
      if (parentIsRemote) return (holder as RemoteTarget).get(name);
      return readMember(holder, name);
    });
    return value;
  };
  const call = (args: unknown[]) =>
    parent.then((holder) => {
      if (parentIsRemote) return (holder as RemoteTarget).call(name, args.map(cloneForRpc));
      return callMember(holder, name, args);
    });
  return rpcPromise(read, call);
}

/** Builds the callable, thenable proxy behind every RPC promise. */
function rpcPromise(read: () => Promise<unknown>, call: (args: unknown[]) => Promise<unknown>): unknown {
  const callable = function rpcPromise() {};
  return new Proxy(callable, {
    apply(_target, _this, args: unknown[]) {
      return pipelined(call(args));
    },
    get(_target, name) {
      if (name === "then" || name === "catch" || name === "finally") {
        const promise = read();
        return (promise[name] as (...a: unknown[]) => unknown).bind(promise);
      }
      if (typeof name === "symbol") return undefined;
      return remoteMember(read(), name, false);
    },
  });
}

/**
 * The prototype of RPC promises: Promise.prototype, plus any other string
 * member read as a pipelined RPC promise for that member of the result.
 */
const RPC_PROMISE_PROTOTYPE: object = new Proxy(Promise.prototype, {
  get(target, name, receiver) {
    if (typeof name === "symbol" || name in target) return Reflect.get(target, name, receiver);
    return remoteMember(receiver as Promise<unknown>, name, false);
  },
});

/**
 * Wraps the promise of a call's result so that its members can be
 * pipelined. It stays a real Promise, as production's RpcPromise is; only
 * its prototype changes.
 */
function pipelined(result: Promise<unknown>): Promise<unknown> {
  // A pipelined chain handles the rejection at its end; the intermediate
  // promise must not also report it as unhandled.
  result.catch(() => {});
  Object.setPrototypeOf(result, RPC_PROMISE_PROTOTYPE);
  return result;
}
