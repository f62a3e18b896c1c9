// Types for the parts of `cloudflare:workers` this example uses, so it
// type-checks with Bun's types alone. A deployed project would take them
// from @cloudflare/workers-types instead. `DurableObject` is declared once for
// the whole repository, in examples/durable-objects/src/cloudflare-workers.d.ts.
declare module "cloudflare:workers" {
  export abstract class WorkerEntrypoint<Env = unknown, Props = unknown> {
    protected ctx: { waitUntil(promise: Promise<unknown>): void; readonly props: Props; readonly exports: Record<string, unknown> };
    protected env: Env;
    constructor(ctx: unknown, env: Env);
  }
}
