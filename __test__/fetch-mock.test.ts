// fetchMock's matching, replies and errors, driven through the global fetch
// it replaces. No request leaves the machine: every origin is mocked and
// net connect is disabled, except in the pass-through test, which calls a
// server on 127.0.0.1.

import { afterEach, expect, test } from "bun:test";
import { FetchMock, MockNotMatchedError } from "../lib/test/fetch-mock.ts";

const ORIGIN = "https://api.example.com";
const mock = new FetchMock();
const realFetch = globalThis.fetch;

afterEach(() => mock.reset());

function activate(): void {
  mock.activate();
  mock.disableNetConnect();
}

async function fetchError(input: string, init?: RequestInit): Promise<Error> {
  return (await fetch(input, init).catch((error: unknown) => error)) as Error;
}

test("activate replaces and deactivate restores fetch", () => {
  activate();
  expect(globalThis.fetch).not.toBe(realFetch);
  expect(mock.isActive).toBe(true);

  mock.deactivate();
  expect(globalThis.fetch).toBe(realFetch);
});

test("reply sends status, body and headers", async () => {
  activate();
  mock.get(ORIGIN).intercept({ path: "/a" }).reply(201, "made", { headers: { "x-id": "7" } });

  const response = await fetch(`${ORIGIN}/a`);

  expect(response.status).toBe(201);
  expect(response.headers.get("x-id")).toBe("7");
  expect(await response.text()).toBe("made");
});

test("object data is sent as JSON", async () => {
  activate();
  mock.get(ORIGIN).intercept({ path: "/json" }).reply(200, { ok: true });

  expect(await (await fetch(`${ORIGIN}/json`)).json()).toEqual({ ok: true });
});

test("interceptor answers once by default", async () => {
  activate();
  mock.get(ORIGIN).intercept({ path: "/once" }).reply(200, "first");

  expect(await (await fetch(`${ORIGIN}/once`)).text()).toBe("first");
  const error = await fetchError(`${ORIGIN}/once`);

  expect(error).toBeInstanceOf(MockNotMatchedError);
  expect(String(error)).toStartWith("MockNotMatchedError: ");
  expect(error.message).toBe(
    "Mock dispatch not matched for GET /once: subsequent request to origin https://api.example.com was not allowed (net.connect disabled)",
  );
});

test("times and persist repeat replies", async () => {
  activate();
  mock.get(ORIGIN).intercept({ path: "/twice" }).reply(200, "x").times(2);
  mock.get(ORIGIN).intercept({ path: "/always" }).reply(200, "y").persist();

  for (let i = 0; i < 2; i += 1) expect((await fetch(`${ORIGIN}/twice`)).status).toBe(200);
  expect(await fetchError(`${ORIGIN}/twice`)).toBeInstanceOf(MockNotMatchedError);
  for (let i = 0; i < 3; i += 1) expect((await fetch(`${ORIGIN}/always`)).status).toBe(200);
});

test("method, body, headers and query must match", async () => {
  activate();
  mock
    .get(ORIGIN)
    .intercept({ path: "/post", method: "POST", body: /"n":1/, headers: { "content-type": "application/json" }, query: { b: 2, a: 1 } })
    .reply(200, "matched");

  expect(await fetchError(`${ORIGIN}/post?a=1&b=2`, { method: "PUT", body: '{"n":1}', headers: { "content-type": "application/json" } })).toBeInstanceOf(MockNotMatchedError);
  expect(await fetchError(`${ORIGIN}/post?a=1&b=2`, { method: "POST", body: '{"n":2}', headers: { "content-type": "application/json" } })).toBeInstanceOf(MockNotMatchedError);
  expect(await fetchError(`${ORIGIN}/post?a=1`, { method: "POST", body: '{"n":1}', headers: { "content-type": "application/json" } })).toBeInstanceOf(MockNotMatchedError);

  const response = await fetch(`${ORIGIN}/post?a=1&b=2`, { method: "POST", body: '{"n":1}', headers: { "content-type": "application/json" } });
  expect(await response.text()).toBe("matched");
});

test("reply callback sees the request", async () => {
  activate();
  mock
    .get(/example\.com$/)
    .intercept({ path: (path) => path.startsWith("/users/") })
    .reply((request) => ({ statusCode: 200, data: `${request.method} ${request.path} ${request.headers["x-who"]}` }));

  const response = await fetch(`${ORIGIN}/users/9`, { headers: { "x-who": "ada" } });

  expect(await response.text()).toBe("GET /users/9 ada");
});

test("replyWithError rejects fetch", async () => {
  activate();
  mock.get(ORIGIN).intercept({ path: "/down" }).replyWithError(new Error("connection reset"));

  const error = await fetchError(`${ORIGIN}/down`);

  expect(error.message).toBe("connection reset");
});

test("pending interceptors are reported", () => {
  activate();
  mock.get(ORIGIN).intercept({ path: "/never", method: "DELETE" }).reply(204);

  expect(mock.pendingInterceptors()).toEqual([
    { origin: ORIGIN, path: "/never", method: "DELETE", timesInvoked: 0, persist: false },
  ]);
  expect(() => mock.assertNoPendingInterceptors()).toThrow(
    "1 interceptor is pending:\n  DELETE https://api.example.com/never (called 0 times)",
  );
});

test("enableNetConnect lets matching hosts through", async () => {
  using server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("real") });
  activate();
  mock.enableNetConnect(`127.0.0.1:${server.port}`);

  expect(await (await fetch(`http://127.0.0.1:${server.port}/`)).text()).toBe("real");
  expect(await fetchError(`${ORIGIN}/other`)).toBeInstanceOf(MockNotMatchedError);
});

test("bad arguments are rejected", () => {
  expect(() => mock.get("not a url")).toThrow(
    new TypeError('fetchMock.get() expects an origin such as "https://example.com", got "not a url".'),
  );
  const pool = mock.get(ORIGIN);
  expect(() => pool.intercept({} as never)).toThrow(new TypeError("intercept() expects an object with a path."));
  const interceptor = pool.intercept({ path: "/" });
  expect(() => interceptor.reply("200" as never)).toThrow(new TypeError("reply() expects a status code or a callback, got 200."));
  expect(() => interceptor.replyWithError("boom" as never)).toThrow(new TypeError("replyWithError() expects an Error."));
  const scope = interceptor.reply(200);
  expect(() => scope.times(0)).toThrow(new TypeError("times() expects a positive integer, got 0."));
  expect(() => scope.delay(-5)).toThrow(new TypeError("delay() expects a non-negative integer number of milliseconds, got -5."));
});
