// The `cloudflare:workers` and `cloudflare:workflows` modules, provided to
// user code through a Bun runtime plugin.
//
// Bun resolves a virtual module only after the plugin that provides it is
// registered, so every entry point (dev server, register preload, test
// preload) calls `registerCloudflareModules()` before it imports user code.

import { plugin } from "bun";
import { workerEnv } from "./env.ts";
import { trackWaitUntil } from "./execution-context.ts";
import { RpcTarget } from "./rpc.ts";
import { installWebSocketGlobals } from "./websocket.ts";
import type { DurableObjectState } from "./durable-object/instance.ts";
import { WorkflowStep } from "./workflow-step.ts";

export { RpcTarget };

/**
 * Marks a class as a `WorkerEntrypoint` subclass. A static symbol, rather
 * than `instanceof`, still matches if two copies of this module get loaded.
 */
export const WORKER_ENTRYPOINT_BRAND = Symbol.for("bunflare.WorkerEntrypoint");

/** Base class of a named or default entrypoint; the runtime constructs it with `(ctx, env)` per event. */
export class WorkerEntrypoint<Env = Record<string, unknown>, Props = unknown> {
  static readonly [WORKER_ENTRYPOINT_BRAND] = true;

  protected ctx: ExecutionContextLike<Props>;
  protected env: Env;

  constructor(ctx: ExecutionContextLike<Props>, env: Env) {
    this.ctx = ctx;
    this.env = env;
  }
}

/** Marks a class as a `WorkflowEntrypoint` subclass, so the runtime does not treat it as an RPC entrypoint. */
export const WORKFLOW_ENTRYPOINT_BRAND = Symbol.for("bunflare.WorkflowEntrypoint");

/** Base class of a Durable Object; the runtime constructs it with `(state, env)`. */
export class DurableObject<Env = Record<string, unknown>> {
  protected ctx: DurableObjectState;
  protected env: Env;

  constructor(ctx: DurableObjectState, env: Env) {
    this.ctx = ctx;
    this.env = env;
  }
}

/** Base class of a Workflow; the runner constructs it with `(ctx, env)` and calls `run(event, step)`. */
export class WorkflowEntrypoint<Env = Record<string, unknown>> {
  static readonly [WORKFLOW_ENTRYPOINT_BRAND] = true;

  protected ctx: ExecutionContextLike;
  protected env: Env;

  constructor(ctx: ExecutionContextLike, env: Env) {
    this.ctx = ctx;
    this.env = env;
  }
}

/**
 * An error that fails a Workflow step at once, without retries. `name`
 * defaults to the class name; `__brand` lets the engine recognise subclasses
 * that override `name`, as production's does.
 */
export class NonRetryableError extends Error {
  readonly __brand = "NonRetryableError";

  constructor(message: string, name = "NonRetryableError") {
    super(message);
    this.name = name;
  }
}

/** The part of `ExecutionContext` the base classes need; defined here to keep this module free of runtime imports. */
interface ExecutionContextLike<Props = unknown> {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
  readonly props: Props;
}

/** Extends the current process's lifetime until `promise` settles, logging a rejection. */
// NOTE: production ties a top-level `waitUntil` to the request that is
// running. Here it is tracked process-wide, which matters only for when the
// process may exit, not for what the Worker sees.
export function waitUntil(promise: Promise<unknown>): void {
  trackWaitUntil(promise, "cloudflare:workers");
}

/** Looks up one member of `exports` by name; set by the entry point that loads the Worker. */
export type ExportsResolver = (name: string) => unknown;

let exportsResolver: ExportsResolver | null = null;

/**
 * The `exports` of `cloudflare:workers`: a loopback stub for each of the
 * Worker's entrypoints, resolved by name on first use because the module
 * exists before the Worker is loaded.
 */
// NOTE: only the `bun test` preload sets a resolver. Under `bunflare dev`
// and the register preload, `exports` is empty; `ctx.exports` works there.
export const workerExports: Record<string, unknown> = new Proxy({} as Record<string, unknown>, {
  get(_target, name) {
    if (typeof name !== "string" || !exportsResolver) return undefined;
    return exportsResolver(name);
  },
});

/** Sets how `exports` from `cloudflare:workers` finds its members. */
export function setExportsResolver(resolver: ExportsResolver | null): void {
  exportsResolver = resolver;
}

const REGISTERED = Symbol.for("bunflare.cloudflareModulesRegistered");

/** Registers the `cloudflare:*` modules with Bun; later calls in the same process do nothing. */
export function registerCloudflareModules(): void {
  const state = globalThis as { [REGISTERED]?: boolean };
  if (state[REGISTERED]) return;
  state[REGISTERED] = true;

  installWebSocketGlobals();

  plugin({
    name: "bunflare:cloudflare-modules",
    setup(build) {
      build.module("cloudflare:workers", () => ({
        loader: "object",
        exports: {
          DurableObject,
          WorkerEntrypoint,
          WorkflowEntrypoint,
          WorkflowStep,
          RpcTarget,
          env: workerEnv,
          exports: workerExports,
          waitUntil,
        },
      }));

      build.module("cloudflare:workflows", () => ({
        loader: "object",
        exports: { NonRetryableError },
      }));
    },
  });
}
