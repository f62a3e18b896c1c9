// Service bindings: production's `Fetcher` with RPC, calling another Worker
// (or one of this Worker's own entrypoints, for `ctx.exports`) in-process.
//
// `fetch` dispatches a fetch event. Every other member is RPC through
// lib/rpc.ts, the serializer and stubs that Durable Object stubs use too:
// arguments and results are structured-cloned, functions and `RpcTarget`s
// become stubs, errors keep their built-in class and message, and members of
// a pending result can be pipelined.

import { log } from "../log.ts";
import { createStub, settleForCaller, type RemoteTarget } from "../rpc.ts";

/** The receiver of a stub's calls: one Worker entrypoint, resolved at call time so reloads are picked up. */
export interface EntrypointTarget {
  /** A name for log lines and errors: `worker` or `worker#Entrypoint`. */
  readonly label: string;
  fetch(request: Request): Promise<Response>;
  /** Reads member `name` of a fresh entrypoint instance, uncloned. */
  get(name: string): Promise<unknown>;
  /** Calls `method` on a fresh entrypoint instance with arguments already cloned; the result is uncloned. */
  call(method: string, args: unknown[]): Promise<unknown>;
}

/**
 * Creates the `Fetcher` a service binding (or `ctx.exports` entry) puts in
 * `env`: `fetch()` dispatches a fetch event, any other member is an RPC method
 * or property of the entrypoint.
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

  // The stub clones arguments on the caller's side; the result or error is
  // cloned here, on the callee's side, before the caller sees it.
  const remote: RemoteTarget = {
    get: (name) => {
      log.debug("rpc get", { service: target.label, property: name });
      return settleForCaller(() => target.get(name));
    },
    call: (name, args) => {
      log.debug("rpc call", { service: target.label, method: name });
      return settleForCaller(() => target.call(name, args));
    },
  };
  return createStub(remote, { fetch, connect });
}
