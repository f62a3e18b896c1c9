// Types of the `cloudflare:test` module that the `bunflare/test` preload
// provides. Add "bunflare/test/types" to `compilerOptions.types` in
// tsconfig.json, next to @cloudflare/workers-types, and describe your
// bindings by extending `ProvidedEnv`:
//
//   declare module "cloudflare:test" {
//     interface ProvidedEnv extends Env {}
//   }

declare module "cloudflare:test" {
  /** The bindings of `env`; extend it with your Worker's `Env`. */
  interface ProvidedEnv {}

  /** One migration file, as `readD1Migrations` returns it. */
  interface D1Migration {
    name: string;
    queries: string[];
  }

  /** A message for `createMessageBatch` and `SELF.queue`. */
  interface TestQueueMessage<Body = unknown> {
    id: string;
    timestamp: Date;
    attempts?: number;
    body: Body;
  }

  /** What a `queue()` handler did with a batch. */
  interface FetcherQueueResult {
    outcome: "ok" | "exception";
    ackAll: boolean;
    retryBatch: { retry: boolean; delaySeconds?: number };
    explicitAcks: string[];
    retryMessages: { msgId: string; delaySeconds?: number }[];
  }

  /** The outcome of a `scheduled()` handler. */
  interface FetcherScheduledResult {
    outcome: "ok" | "exception";
    noRetry: boolean;
  }

  interface ScheduledOptions {
    scheduledTime?: Date | number;
    cron?: string;
  }

  /** A loopback service binding to the Worker under test. */
  interface SelfFetcher {
    fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
    scheduled(options?: ScheduledOptions): Promise<FetcherScheduledResult>;
    queue(queueName: string, messages: TestQueueMessage[]): Promise<FetcherQueueResult>;
    [method: string]: any;
  }

  /** A mock agent with the API of undici's `MockAgent`. */
  interface FetchMock {
    activate(): void;
    deactivate(): void;
    readonly isActive: boolean;
    disableNetConnect(): void;
    enableNetConnect(host?: string | RegExp | ((host: string) => boolean)): void;
    get(origin: string | RegExp | ((origin: string) => boolean)): MockPool;
    pendingInterceptors(): { origin: string; path: string; method: string; timesInvoked: number; persist: boolean }[];
    assertNoPendingInterceptors(): void;
  }

  type Matcher = string | RegExp | ((value: string) => boolean);

  interface MockInterceptOptions {
    path: Matcher;
    method?: Matcher;
    body?: Matcher;
    headers?: Record<string, Matcher> | ((headers: Record<string, string>) => boolean);
    query?: Record<string, string | number | boolean>;
  }

  interface MockRequestOptions {
    origin: string;
    path: string;
    method: string;
    headers: Record<string, string>;
    body: string;
  }

  interface MockPool {
    intercept(options: MockInterceptOptions): MockInterceptor;
  }

  interface MockInterceptor {
    defaultReplyHeaders(headers: Record<string, string>): MockInterceptor;
    reply(callback: (options: MockRequestOptions) => { statusCode: number; data?: unknown; responseOptions?: { headers?: Record<string, string | string[]> } }): MockScope;
    reply(statusCode: number, data?: unknown, options?: { headers?: Record<string, string | string[]> }): MockScope;
    replyWithError(error: Error): MockScope;
  }

  interface MockScope {
    delay(ms: number): MockScope;
    persist(): MockScope;
    times(count: number): MockScope;
  }

  export const env: ProvidedEnv;
  export const SELF: SelfFetcher;
  export const fetchMock: FetchMock;

  export function createExecutionContext(): ExecutionContext;
  export function waitOnExecutionContext(ctx: ExecutionContext): Promise<void>;
  export function createScheduledController(options?: ScheduledOptions): ScheduledController;
  export function createMessageBatch<Body = unknown>(queueName: string, messages: TestQueueMessage<Body>[]): MessageBatch<Body>;
  export function getQueueResult(batch: MessageBatch, ctx: ExecutionContext): Promise<FetcherQueueResult>;
  export function applyD1Migrations(db: D1Database, migrations: D1Migration[], migrationsTableName?: string): Promise<void>;
  export function readD1Migrations(migrationsPath: string): Promise<D1Migration[]>;

  /** Empties every binding's storage and puts the clock back on system time. */
  export function reset(): void;
  /** Rolls storage back after each test to its state before the file's first test. */
  export function rollbackAfterEach(): void;
  /** Moves bunflare's clock forward and waits for the queue deliveries and crons that fell due. */
  export function advanceClock(ms: number): Promise<number>;

  /** Runs `callback(instance, ctx)` inside the object behind `stub`, through its input and output gates. */
  export function runInDurableObject<O, R>(stub: DurableObjectStub, callback: (instance: O, state: DurableObjectState) => R | Promise<R>): Promise<R>;
  /** Deletes and runs the object's pending alarm now; resolves to whether there was one. */
  export function runDurableObjectAlarm(stub: DurableObjectStub): Promise<boolean>;
  /** Lists the objects of `namespace` that have storage in this test file. */
  export function listDurableObjectIds(namespace: DurableObjectNamespace): Promise<DurableObjectId[]>;
  /** Evicts the object's instance; its storage stays and the next call constructs it again. */
  export function evictDurableObject(stub: DurableObjectStub, options?: { webSockets?: "hibernate" | "close" }): Promise<void>;
  /** Evicts every object's instance, committing pending writes; storage stays. */
  export function evictAllDurableObjects(): Promise<void>;

  /** A step chosen by name and occurrence (1-based, default 1). */
  interface StepSelector {
    name: string;
    index?: number;
  }

  /** Mocks the steps of the instances an introspector covers. */
  interface WorkflowInstanceModifier {
    disableSleeps(steps?: StepSelector[]): Promise<void>;
    disableRetryDelays(steps?: StepSelector[]): Promise<void>;
    mockStepResult(step: StepSelector, stepResult: unknown): Promise<void>;
    mockStepError(step: StepSelector, error: Error, times?: number): Promise<void>;
    forceStepTimeout(step: StepSelector, times?: number): Promise<void>;
    mockEvent(event: { type: string; payload: unknown }): Promise<void>;
    forceEventTimeout(step: StepSelector): Promise<void>;
  }

  interface WorkflowInstanceIntrospector {
    modify(fn: (m: WorkflowInstanceModifier) => Promise<void> | void): Promise<WorkflowInstanceIntrospector>;
    waitForStepResult(step: StepSelector): Promise<unknown>;
    waitForStatus(status: InstanceStatus["status"]): Promise<void>;
    getOutput(): Promise<unknown>;
    getError(): Promise<{ name: string; message: string }>;
    dispose(): Promise<void>;
    [Symbol.asyncDispose](): Promise<void>;
  }

  interface WorkflowIntrospector {
    modifyAll(fn: (m: WorkflowInstanceModifier) => Promise<void> | void): Promise<void>;
    get(): WorkflowInstanceIntrospector[];
    dispose(): Promise<void>;
    [Symbol.asyncDispose](): Promise<void>;
  }

  /** Introspects every instance of `workflow` created from now on. */
  export function introspectWorkflow(workflow: Workflow): Promise<WorkflowIntrospector>;
  /** Introspects the instance `instanceId` of `workflow`, which may be created later. */
  export function introspectWorkflowInstance(workflow: Workflow, instanceId: string): Promise<WorkflowInstanceIntrospector>;
}
