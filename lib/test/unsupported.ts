// The `cloudflare:test` helpers for Durable Objects and Workflows. They
// exist with the Vitest integration's signatures so that test files import
// cleanly, and each call rejects with an error naming the missing feature.

// NOTE: bunflare has no Durable Objects or Workflows yet, so these helpers
// only reject. They are wired to the engines when those exist.

function unsupported(helper: string, feature: string): Error {
  return new Error(`${helper}() is not supported by bunflare yet, because ${feature} are not implemented.`);
}

/** Runs `callback(instance, state)` inside the Durable Object behind `stub`. */
async function runInDurableObject<T>(_stub: unknown, _callback: (instance: unknown, state: unknown) => T | Promise<T>): Promise<T> {
  throw unsupported("runInDurableObject", "Durable Objects");
}

/** Runs the Durable Object's pending alarm now; resolves to whether one ran. */
async function runDurableObjectAlarm(_stub: unknown): Promise<boolean> {
  throw unsupported("runDurableObjectAlarm", "Durable Objects");
}

/** Lists the ids of the objects of `namespace` that have stored data. */
async function listDurableObjectIds(_namespace: unknown): Promise<unknown[]> {
  throw unsupported("listDurableObjectIds", "Durable Objects");
}

/** Drops the in-memory instance behind `stub`, so the next call constructs it again. */
async function evictDurableObject(_stub: unknown): Promise<void> {
  throw unsupported("evictDurableObject", "Durable Objects");
}

/** Returns an introspector that mocks the steps of every instance `workflow` creates. */
async function introspectWorkflow(_workflow: unknown): Promise<never> {
  throw unsupported("introspectWorkflow", "Workflows");
}

/** Returns an introspector that mocks the steps of one workflow instance. */
async function introspectWorkflowInstance(_workflow: unknown, _instanceId: string): Promise<never> {
  throw unsupported("introspectWorkflowInstance", "Workflows");
}

export const unsupportedHelpers = {
  runInDurableObject,
  runDurableObjectAlarm,
  listDurableObjectIds,
  evictDurableObject,
  introspectWorkflow,
  introspectWorkflowInstance,
};
