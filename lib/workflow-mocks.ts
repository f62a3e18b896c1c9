// Step mocks of Workflow instances, set by the introspectors of
// `cloudflare:test` (lib/test/workflows.ts) and read by `WorkflowStep`
// before each step. Outside tests the table stays empty and every lookup
// misses.

/** A step chosen by name and by occurrence of that name in the run (1-based, default 1). */
export interface StepSelector {
  name: string;
  index?: number;
}

/** How many more attempts a mocked failure applies to; `Infinity` for every attempt. */
interface Remaining {
  times: number;
}

/** The mocks of one instance, keyed by `<name>#<occurrence>` where a step is chosen. */
export class InstanceMocks {
  /** The sleeps that end at once: "all", the chosen ones, or none (null). */
  sleepsDisabled: Set<string> | "all" | null = null;
  retryDelaysDisabled: Set<string> | "all" | null = null;
  readonly results = new Map<string, unknown>();
  readonly errors = new Map<string, Remaining & { error: Error }>();
  readonly timeouts = new Map<string, Remaining>();
  readonly eventTimeouts = new Set<string>();
  /** Events to deliver to the first `waitForEvent` of their type, oldest first. */
  readonly events: { type: string; payload: unknown }[] = [];
}

/** Returns the key of the `count`th step named `name`. */
export function stepKey(name: string, count: number): string {
  return `${name}#${count}`;
}

/** Returns the key of the step `selector` chooses, checking its fields. */
export function selectorKey(selector: StepSelector, method: string): string {
  if (typeof selector !== "object" || selector === null || typeof selector.name !== "string") {
    throw new TypeError(`${method}() needs a step selector { name: string; index?: number }.`);
  }
  const index = selector.index ?? 1;
  if (!Number.isInteger(index) || index < 1) {
    throw new TypeError(`${method}(): step index must be a whole number of 1 or more, got ${String(selector.index)}.`);
  }
  return stepKey(selector.name, index);
}

/** Returns whether `choice` (all steps, chosen steps or none) covers `key`. */
export function covers(choice: Set<string> | "all" | null, key: string): boolean {
  return choice === "all" || (choice !== null && choice.has(key));
}

/** Mocks by `<workflow>/<instance id>`. */
const mocksByInstance = new Map<string, InstanceMocks>();

/** Hooks that run before an instance of a Workflow is created, by Workflow name. */
const createHooks = new Map<string, Set<(id: string) => Promise<void>>>();

/** Returns the mocks of an instance, or undefined when it has none. */
export function mocksFor(workflow: string, id: string): InstanceMocks | undefined {
  return mocksByInstance.get(`${workflow}/${id}`);
}

/** Returns the mocks of an instance, creating an empty set on first use. */
export function ensureMocks(workflow: string, id: string): InstanceMocks {
  const key = `${workflow}/${id}`;
  let mocks = mocksByInstance.get(key);
  if (!mocks) {
    mocks = new InstanceMocks();
    mocksByInstance.set(key, mocks);
  }
  return mocks;
}

/** Removes the mocks of an instance. */
export function removeMocks(workflow: string, id: string): void {
  mocksByInstance.delete(`${workflow}/${id}`);
}

/** Registers `hook` to run before each instance of `workflow` is created; returns its removal. */
export function onBeforeCreate(workflow: string, hook: (id: string) => Promise<void>): () => void {
  let hooks = createHooks.get(workflow);
  if (!hooks) {
    hooks = new Set();
    createHooks.set(workflow, hooks);
  }
  hooks.add(hook);
  return () => hooks.delete(hook);
}

/** Runs the create hooks of `workflow` for each id, before the engine creates the instances. */
export async function beforeCreate(workflow: string, ids: string[]): Promise<void> {
  const hooks = createHooks.get(workflow);
  if (!hooks || hooks.size === 0) return;
  for (const id of ids) {
    for (const hook of [...hooks]) await hook(id);
  }
}

/** Forgets every mock and create hook, when a new test file starts. */
export function clearWorkflowMocks(): void {
  mocksByInstance.clear();
  createHooks.clear();
}
