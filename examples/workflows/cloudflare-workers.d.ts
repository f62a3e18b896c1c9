// Types for the parts of `cloudflare:workers` and `cloudflare:workflows`
// this example uses, so it type-checks with Bun's types alone. A deployed
// project would take them from @cloudflare/workers-types instead.
declare module "cloudflare:workers" {
  export type WorkflowEvent<T> = { payload: Readonly<T>; timestamp: Date; instanceId: string; workflowName: string };

  export type WorkflowStepConfig = {
    retries?: { limit: number; delay: string | number; backoff?: "constant" | "linear" | "exponential" };
    timeout?: string | number;
  };

  export type WorkflowStepContext = { step: { name: string; count: number }; attempt: number; config: WorkflowStepConfig };

  export abstract class WorkflowStep {
    do<T>(name: string, callback: (ctx: WorkflowStepContext) => Promise<T>): Promise<T>;
    do<T>(name: string, config: WorkflowStepConfig, callback: (ctx: WorkflowStepContext) => Promise<T>): Promise<T>;
    sleep(name: string, duration: string | number): Promise<void>;
    sleepUntil(name: string, timestamp: Date | number): Promise<void>;
    waitForEvent<T>(name: string, options: { type: string; timeout?: string | number }): Promise<{ payload: T; timestamp: Date; type: string }>;
  }

  export abstract class WorkflowEntrypoint<Env = unknown, T = unknown> {
    protected ctx: { waitUntil(promise: Promise<unknown>): void };
    protected env: Env;
    constructor(ctx: unknown, env: Env);
    run(event: Readonly<WorkflowEvent<T>>, step: WorkflowStep): Promise<unknown>;
  }
}

declare module "cloudflare:workflows" {
  export class NonRetryableError extends Error {
    constructor(message: string, name?: string);
  }
}
