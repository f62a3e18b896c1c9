// `fetchMock` from `cloudflare:test`: intercepts the Worker's outgoing
// `fetch()` with the API of undici's `MockAgent`, which the Vitest
// integration exports under that name:
//
//   fetchMock.activate();
//   fetchMock.disableNetConnect();
//   fetchMock.get("https://api.example.com").intercept({ path: "/users/1" }).reply(200, { id: 1 });
//
// While active, the global `fetch` goes through the interceptors. Each
// interceptor replies once (or `times(n)`, or forever after `persist()`), and
// interceptors are tried in the order they were added. A request no interceptor matches goes to the
// network unless `disableNetConnect()` was called, in which case `fetch`
// rejects with a `MockNotMatchedError`, as the Vitest integration's does.
//
// NOTE: this is bunflare's own implementation of the common part of
// MockAgent (no trailers, call history or `replyContentLength`), and its
// pending-interceptor message is shorter than undici's table. It replaces the
// process's global `fetch`, so a test's own `fetch` calls are intercepted
// too, not only the Worker's.

/** A value an interceptor option is compared with. */
type Matcher = string | RegExp | ((value: string) => boolean);

export interface MockInterceptOptions {
  /** The path with its query string (`/users?id=1`), or a matcher of it. */
  path: Matcher;
  /** Default "GET". */
  method?: Matcher;
  body?: Matcher;
  /** Each named header must match; or a function given every header. */
  headers?: Record<string, Matcher> | ((headers: Record<string, string>) => boolean);
  /** Query parameters compared with the request's, in place of a query string in `path`. */
  query?: Record<string, string | number | boolean>;
}

/** The request as reply callbacks receive it. */
export interface MockRequestOptions {
  origin: string;
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

export interface MockReplyOptions {
  headers?: Record<string, string | string[]>;
}

type ReplyData = string | ArrayBuffer | Uint8Array | Record<string, unknown> | unknown[] | null | undefined;

interface MockReplyDefinition {
  statusCode: number;
  data?: ReplyData;
  responseOptions?: MockReplyOptions;
}

type Reply =
  | { kind: "data"; statusCode: number; data: ReplyData | ((options: MockRequestOptions) => ReplyData); options?: MockReplyOptions }
  | { kind: "callback"; callback: (options: MockRequestOptions) => MockReplyDefinition }
  | { kind: "error"; error: Error };

interface Interceptor {
  origin: Matcher;
  options: MockInterceptOptions;
  reply: Reply | null;
  /** Replies left; Infinity after `persist()`. */
  remaining: number;
  /** Replies sent so far. */
  timesInvoked: number;
  persist: boolean;
  delayMs: number;
  defaultHeaders: Record<string, string>;
}

/** The error a disabled network connection raises for a request no interceptor matched. */
export class MockNotMatchedError extends Error {
  readonly code = "UND_MOCK_ERR_MOCK_NOT_MATCHED";

  constructor(message: string) {
    super(message);
    this.name = "MockNotMatchedError";
  }
}

/** Returned by `reply()`: sets how often and how late the interceptor replies. */
export class MockScope {
  constructor(private readonly interceptor: Interceptor) {}

  /** Delays the reply by `ms` milliseconds. */
  delay(ms: number): this {
    if (typeof ms !== "number" || !Number.isInteger(ms) || ms < 0) {
      throw new TypeError(`delay() expects a non-negative integer number of milliseconds, got ${String(ms)}.`);
    }
    this.interceptor.delayMs = ms;
    return this;
  }

  /** Replies to every matching request, never running out. */
  persist(): this {
    this.interceptor.persist = true;
    this.interceptor.remaining = Number.POSITIVE_INFINITY;
    return this;
  }

  /** Replies to `count` matching requests instead of one. */
  times(count: number): this {
    if (typeof count !== "number" || !Number.isInteger(count) || count <= 0) {
      throw new TypeError(`times() expects a positive integer, got ${String(count)}.`);
    }
    this.interceptor.remaining = count;
    return this;
  }
}

/** Returned by `intercept()`: sets the reply. */
export class MockInterceptor {
  constructor(private readonly interceptor: Interceptor) {}

  /** Adds headers to every reply of this interceptor. */
  defaultReplyHeaders(headers: Record<string, string>): this {
    this.interceptor.defaultHeaders = { ...this.interceptor.defaultHeaders, ...headers };
    return this;
  }

  /**
   * Replies with `statusCode` and `data` (an object is sent as JSON), or with
   * what `callback(request)` returns: `{ statusCode, data, responseOptions }`.
   */
  reply(callback: (options: MockRequestOptions) => MockReplyDefinition): MockScope;
  reply(statusCode: number, data?: ReplyData | ((options: MockRequestOptions) => ReplyData), options?: MockReplyOptions): MockScope;
  reply(
    statusOrCallback: number | ((options: MockRequestOptions) => MockReplyDefinition),
    data?: ReplyData | ((options: MockRequestOptions) => ReplyData),
    options?: MockReplyOptions,
  ): MockScope {
    if (typeof statusOrCallback === "function") {
      this.interceptor.reply = { kind: "callback", callback: statusOrCallback };
    } else if (typeof statusOrCallback === "number" && Number.isInteger(statusOrCallback)) {
      this.interceptor.reply = { kind: "data", statusCode: statusOrCallback, data, options };
    } else {
      throw new TypeError(`reply() expects a status code or a callback, got ${String(statusOrCallback)}.`);
    }
    return new MockScope(this.interceptor);
  }

  /** Makes the matching `fetch()` reject with `error`. */
  replyWithError(error: Error): MockScope {
    if (!(error instanceof Error)) throw new TypeError("replyWithError() expects an Error.");
    this.interceptor.reply = { kind: "error", error };
    return new MockScope(this.interceptor);
  }
}

/** The interceptors of one origin, from `fetchMock.get(origin)`. */
export class MockPool {
  constructor(
    private readonly agent: FetchMock,
    private readonly origin: Matcher,
  ) {}

  /** Adds an interceptor for requests to this origin that match `options`. */
  intercept(options: MockInterceptOptions): MockInterceptor {
    if (typeof options !== "object" || options === null || options.path === undefined) {
      throw new TypeError("intercept() expects an object with a path.");
    }
    const interceptor: Interceptor = {
      origin: this.origin,
      options,
      reply: null,
      remaining: 1,
      timesInvoked: 0,
      persist: false,
      delayMs: 0,
      defaultHeaders: {},
    };
    this.agent.add(interceptor);
    return new MockInterceptor(interceptor);
  }
}

/** A pending interceptor, as `pendingInterceptors()` lists it. */
export interface PendingInterceptor {
  origin: string;
  path: string;
  method: string;
  timesInvoked: number;
  persist: boolean;
}

/** The mock agent behind `fetchMock`. */
export class FetchMock {
  #interceptors: Interceptor[] = [];
  #active = false;
  /** Whether every unmatched request may reach the network (undici's default). */
  #netConnectAll = true;
  /** Hosts whose unmatched requests may reach the network when `#netConnectAll` is false. */
  #netConnect: Matcher[] = [];
  #realFetch: typeof fetch | null = null;

  /** Routes the global `fetch` through the interceptors. */
  activate(): void {
    if (this.#active) return;
    this.#active = true;
    this.#realFetch = globalThis.fetch;
    const mockFetch = (input: RequestInfo | URL, init?: RequestInit) => this.#fetch(new Request(input, init));
    globalThis.fetch = Object.assign(mockFetch, { preconnect: this.#realFetch.preconnect }) as typeof fetch;
  }

  /** Puts the real global `fetch` back; interceptors stay for a later `activate()`. */
  deactivate(): void {
    if (!this.#active) return;
    this.#active = false;
    if (this.#realFetch) globalThis.fetch = this.#realFetch;
    this.#realFetch = null;
  }

  /** Whether `activate()` is in effect. */
  get isActive(): boolean {
    return this.#active;
  }

  /** Makes requests that no interceptor matches fail instead of reaching the network. */
  disableNetConnect(): void {
    this.#netConnectAll = false;
    this.#netConnect = [];
  }

  /** Lets unmatched requests reach the network: all of them, or those whose host matches. */
  enableNetConnect(host?: Matcher): void {
    if (host === undefined) {
      this.#netConnectAll = true;
      this.#netConnect = [];
      return;
    }
    this.#netConnectAll = false;
    this.#netConnect = [...this.#netConnect, host];
  }

  /** Returns the interceptors of `origin` (`https://host[:port]`, a RegExp or a function of the origin). */
  get(origin: Matcher): MockPool {
    if (typeof origin === "string") {
      const parsed = URL.canParse(origin) ? new URL(origin) : null;
      if (!parsed || parsed.origin === "null") {
        throw new TypeError(`fetchMock.get() expects an origin such as "https://example.com", got "${origin}".`);
      }
      return new MockPool(this, parsed.origin);
    }
    return new MockPool(this, origin);
  }

  /** Adds an interceptor; called by `MockPool.intercept`. */
  add(interceptor: Interceptor): void {
    this.#interceptors.push(interceptor);
  }

  /** Lists interceptors that still expect a request (persistent ones only until first used). */
  pendingInterceptors(): PendingInterceptor[] {
    return this.#interceptors
      .filter((each) => (each.persist ? each.timesInvoked === 0 : each.remaining > 0))
      .map((each) => ({
        origin: String(each.origin),
        path: String(each.options.path),
        method: String(each.options.method ?? "GET"),
        timesInvoked: each.timesInvoked,
        persist: each.persist,
      }));
  }

  /** Throws listing every pending interceptor, so a test can check that each mocked request was made. */
  assertNoPendingInterceptors(): void {
    const pending = this.pendingInterceptors();
    if (pending.length === 0) return;
    const lines = pending.map((each) => `  ${each.method} ${each.origin}${each.path} (called ${each.timesInvoked} times)`);
    const noun = pending.length === 1 ? "interceptor is" : "interceptors are";
    throw new MockNotMatchedError(`${pending.length} ${noun} pending:\n${lines.join("\n")}`);
  }

  /** Deactivates, removes every interceptor and allows the network again; run before each test file. */
  reset(): void {
    this.deactivate();
    this.#interceptors = [];
    this.enableNetConnect();
  }

  async #fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const body = request.body ? await request.clone().text() : "";
    const options: MockRequestOptions = {
      origin: url.origin,
      path: url.pathname + url.search,
      method: request.method,
      headers: Object.fromEntries(request.headers),
      body,
    };

    const interceptor = this.#interceptors.find((each) => each.remaining > 0 && each.reply && matches(each, url, options));
    if (!interceptor) return await this.#passThrough(request, url, options);

    interceptor.timesInvoked += 1;
    if (!interceptor.persist) interceptor.remaining -= 1;
    if (interceptor.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, interceptor.delayMs));
    return respond(interceptor, options);
  }

  async #passThrough(request: Request, url: URL, options: MockRequestOptions): Promise<Response> {
    const allowed = this.#netConnectAll || this.#netConnect.some((host) => matchValue(host, url.host));
    if (allowed && this.#realFetch) return await this.#realFetch(request);

    const reason = `Mock dispatch not matched for ${options.method} ${options.path}: subsequent request to origin ${url.origin} was not allowed (net.connect disabled)`;
    throw new MockNotMatchedError(reason);
  }
}

function matches(interceptor: Interceptor, url: URL, request: MockRequestOptions): boolean {
  const { options } = interceptor;
  if (!matchValue(interceptor.origin, url.origin)) return false;
  if (!matchValue(options.method ?? "GET", request.method)) return false;

  if (options.query) {
    if (!matchValue(options.path, url.pathname)) return false;
    const expected = new URLSearchParams(Object.entries(options.query).map(([name, value]) => [name, String(value)]));
    expected.sort();
    const actual = new URLSearchParams(url.search);
    actual.sort();
    if (expected.toString() !== actual.toString()) return false;
  } else if (!matchValue(options.path, request.path)) {
    return false;
  }

  if (options.body !== undefined && !matchValue(options.body, request.body)) return false;
  return matchHeaders(options.headers, request.headers);
}

function matchHeaders(expected: MockInterceptOptions["headers"], headers: Record<string, string>): boolean {
  if (expected === undefined) return true;
  if (typeof expected === "function") return expected(headers);
  return Object.entries(expected).every(([name, matcher]) => {
    const value = headers[name.toLowerCase()];
    return value !== undefined && matchValue(matcher, value);
  });
}

function matchValue(matcher: Matcher, value: string): boolean {
  if (typeof matcher === "string") return matcher === value;
  if (matcher instanceof RegExp) return matcher.test(value);
  return matcher(value);
}

function respond(interceptor: Interceptor, request: MockRequestOptions): Response {
  const reply = interceptor.reply!;
  if (reply.kind === "error") throw reply.error;

  const definition: MockReplyDefinition =
    reply.kind === "callback"
      ? reply.callback(request)
      : {
          statusCode: reply.statusCode,
          data: typeof reply.data === "function" ? reply.data(request) : reply.data,
          responseOptions: reply.options,
        };

  const headers = new Headers(interceptor.defaultHeaders);
  for (const [name, value] of Object.entries(definition.responseOptions?.headers ?? {})) {
    for (const each of Array.isArray(value) ? value : [value]) headers.append(name, each);
  }
  return new Response(replyBody(definition.data, definition.statusCode), { status: definition.statusCode, headers });
}

/** Encodes reply data: strings and bytes as they are, anything else as JSON, as undici does. */
function replyBody(data: ReplyData, status: number): BodyInit | null {
  // Statuses without a body cannot be constructed with one.
  if (status === 204 || status === 205 || status === 304 || (status >= 100 && status < 200)) return null;
  if (data === undefined || data === null) return null;
  if (typeof data === "string" || data instanceof ArrayBuffer || data instanceof Uint8Array) return data as BodyInit;
  return JSON.stringify(data);
}
