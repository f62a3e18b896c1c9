import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { startWorker, type WorkerHandle } from "../lib/index.ts";
import { CLI, killChildren, spawnBun, workerDir } from "./fixtures.ts";

afterEach(killChildren);

const handles: WorkerHandle[] = [];
afterEach(async () => {
  for (const handle of handles.splice(0)) await handle.stop();
});

/** A wrangler.jsonc for one Worker of a multi-Worker test. */
function config(name: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ name, main: "index.ts", compatibility_date: "2026-01-01", ...extra });
}

const API_WORKER = `
  import { WorkerEntrypoint, RpcTarget } from "cloudflare:workers";

  class Counter extends RpcTarget {
    count = 0;
    increment(by = 1) { this.count += by; return this.count; }
  }

  class Plain { value = 1; }

  export class Admin extends WorkerEntrypoint {
    whoami() { return { role: "admin", props: this.ctx.props }; }
    async fetch(request) { return new Response("admin fetch " + new URL(request.url).pathname); }
  }

  export default class Api extends WorkerEntrypoint {
    async fetch(request) {
      return Response.json({ path: new URL(request.url).pathname, method: request.method, body: await request.text() });
    }
    add(a, b) { return a + b; }
    echo(value) { return value; }
    greeting = "hello from api";
    counter() { return new Counter(); }
    nested() { return { inner: { value: 42 }, add: (a, b) => a + b }; }
    async fail(kind) {
      if (kind === "range") throw new RangeError("out of range: 7");
      if (kind === "custom") { class MyError extends Error { name = "MyError"; } throw new MyError("custom failure"); }
      throw new TypeError("bad type");
    }
    callback(fn) { return fn(20); }
    async useTarget(target) {
      const isStub = !(target instanceof RpcTarget);
      // Writing to a stub does not reach the caller's object.
      target.count = 100;
      return { isStub, first: await target.increment(5), second: await target.increment(1) };
    }
    plain() { return new Plain(); }
    throwString() { throw "plain string"; }
    method() { return "bound " + this.greeting; }
    env_name() { return this.env.NAME; }
    selfCall() { return this.ctx.exports.Admin.whoami(); }
  }
`;

async function startPair(webWorker: string, services: unknown[] = [{ binding: "API", service: "api" }]) {
  const root = workerDir({
    "web/wrangler.jsonc": config("web", { services }),
    "web/index.ts": webWorker,
    "api/wrangler.jsonc": config("api", { vars: { NAME: "api-vars" } }),
    "api/index.ts": API_WORKER,
  });
  const handle = await startWorker({ cwd: root, config: [join(root, "web/wrangler.jsonc"), join(root, "api/wrangler.jsonc")] });
  handles.push(handle);
  return handle;
}

/** A front Worker whose fetch runs `body` with `env` in scope and returns its JSON. */
function runner(body: string): string {
  return `export default { async fetch(request, env, ctx) { try { const result = await (async () => { ${body} })(); return Response.json({ result }); } catch (error) { return Response.json({ error: { class: error.constructor.name, name: error.name, message: error.message } }); } } };`;
}

async function run(handle: WorkerHandle): Promise<{ result?: unknown; error?: { class: string; name: string; message: string } }> {
  return (await (await handle.fetch("/")).json()) as never;
}

test("service fetch reaches the other Worker", async () => {
  const handle = await startPair(runner(`
    const response = await env.API.fetch("https://api.internal/items?x=1", { method: "POST", body: "payload" });
    return await response.json();
  `));
  expect((await run(handle)).result).toEqual({ path: "/items", method: "POST", body: "payload" });
});

test("RPC method with arguments", async () => {
  const handle = await startPair(runner(`return await env.API.add(2, 3);`));
  expect((await run(handle)).result).toBe(5);
});

test("RPC arguments are cloned", async () => {
  const handle = await startPair(runner(`
    const input = { list: [1, 2], when: new Date(0) };
    const output = await env.API.echo(input);
    return { same: output === input, list: output.list, isDate: output.when instanceof Date };
  `));
  expect((await run(handle)).result).toEqual({ same: false, list: [1, 2], isDate: true });
});

test("RPC property read", async () => {
  const handle = await startPair(runner(`return await env.API.greeting;`));
  expect((await run(handle)).result).toBe("hello from api");
});

test("RPC errors keep class and message", async () => {
  for (const [kind, expected] of [
    ["range", { class: "RangeError", name: "RangeError", message: "out of range: 7" }],
    ["type", { class: "TypeError", name: "TypeError", message: "bad type" }],
    ["custom", { class: "Error", name: "Error", message: "custom failure" }],
  ] as const) {
    const handle = await startPair(runner(`return await env.API.fail(${JSON.stringify(kind)});`));
    expect((await run(handle)).error).toEqual(expected);
  }
});

test("missing RPC method is a TypeError", async () => {
  const handle = await startPair(runner(`return await env.API.nothingHere();`));
  expect((await run(handle)).error).toEqual({
    class: "TypeError",
    name: "TypeError",
    message: 'The RPC receiver does not implement the method "nothingHere".',
  });
});

test("promise pipelining", async () => {
  const handle = await startPair(runner(`
    const value = await env.API.nested().inner.value;
    const sum = await env.API.nested().add(1, 2);
    return { value, sum };
  `));
  expect((await run(handle)).result).toEqual({ value: 42, sum: 3 });
});

test("RpcTarget result is a stub", async () => {
  const handle = await startPair(runner(`
    const counter = await env.API.counter();
    await counter.increment(2);
    const count = await counter.increment(3);
    const pipelined = await env.API.counter().increment(4);
    return { count, pipelined, field: await counter.count, isTarget: counter instanceof RpcTarget };
  `).replace("export default", 'import { RpcTarget } from "cloudflare:workers";\nexport default'));
  expect((await run(handle)).result).toEqual({ count: 5, pipelined: 4, field: 5, isTarget: false });
});

test("RpcTarget argument is a stub", async () => {
  const handle = await startPair(`
    import { RpcTarget } from "cloudflare:workers";
    class Tally extends RpcTarget {
      count = 0;
      increment(by) { this.count += by; return this.count; }
    }
    ${runner(`
      const tally = new Tally();
      const seen = await env.API.useTarget(tally);
      return { ...seen, callerCount: tally.count };
    `)}
  `);
  expect((await run(handle)).result).toEqual({ isStub: true, first: 5, second: 6, callerCount: 6 });
});

test("callback functions", async () => {
  const handle = await startPair(runner(`
    const calls = [];
    const result = await env.API.callback((n) => { calls.push(n); return n + 1; });
    return { result, calls };
  `));
  expect((await run(handle)).result).toEqual({ result: 21, calls: [20] });
});

test("RPC rejects non-serializable argument", async () => {
  const handle = await startPair(runner(`class Local {} return await env.API.echo(new Local());`));
  expect((await run(handle)).error).toEqual({
    class: "DOMException",
    name: "DataCloneError",
    message: 'Could not serialize object of type "Local". This type does not support serialization.',
  });
});

test("RPC rejects non-serializable result", async () => {
  const handle = await startPair(runner(`return await env.API.plain();`));
  expect((await run(handle)).error).toEqual({
    class: "DOMException",
    name: "DataCloneError",
    message: 'Could not serialize object of type "Plain". This type does not support serialization.',
  });
});

test("RPC rejects symbol argument", async () => {
  const handle = await startPair(runner(`return await env.API.echo(Symbol("s"));`));
  expect((await run(handle)).error?.name).toBe("DataCloneError");
});

test("RPC non-error throw arrives as thrown", async () => {
  const handle = await startPair(runner(`
    try { await env.API.throwString(); return "no throw"; } catch (thrown) { return { thrown }; }
  `));
  expect((await run(handle)).result).toEqual({ thrown: "plain string" });
});

test("RPC method read as property is bound", async () => {
  const handle = await startPair(runner(`const method = await env.API.method; return await method();`));
  expect((await run(handle)).result).toBe("bound hello from api");
});

test("RPC missing property is undefined", async () => {
  const handle = await startPair(runner(`return { value: await env.API.noSuchProperty };`));
  expect((await run(handle)).result).toEqual({});
});

test("callee sees its own env", async () => {
  const handle = await startPair(runner(`return await env.API.env_name();`));
  expect((await run(handle)).result).toBe("api-vars");
});

test("named entrypoint with props", async () => {
  const handle = await startPair(runner(`
    const who = await env.ADMIN.whoami();
    const text = await (await env.ADMIN.fetch("https://x/panel")).text();
    return { who, text };
  `), [{ binding: "ADMIN", service: "api", entrypoint: "Admin", props: { tenant: "t1" } }]);
  expect((await run(handle)).result).toEqual({ who: { role: "admin", props: { tenant: "t1" } }, text: "admin fetch /panel" });
});

test("ctx.exports loops back", async () => {
  const handle = await startPair(runner(`return await env.API.selfCall();`));
  expect((await run(handle)).result).toEqual({ role: "admin", props: {} });
});

test("unknown service fails start", async () => {
  const root = workerDir({ "wrangler.jsonc": config("web", { services: [{ binding: "API", service: "nowhere" }] }), "index.ts": runner("return 1") });
  await expect(startWorker({ cwd: root })).rejects.toThrow(
    'Service binding "API" of Worker "web" refers to Worker "nowhere", which is not running. Running: web.',
  );
});

test("unknown entrypoint fails start", async () => {
  await expect(startPair(runner("return 1"), [{ binding: "API", service: "api", entrypoint: "Missing" }])).rejects.toThrow(
    'Service binding "API" of Worker "web" refers to entrypoint "Missing" of Worker "api", which does not export it. Exported entrypoints: default, Admin.',
  );
});

test("duplicate Worker names fail start", async () => {
  const root = workerDir({ "a/wrangler.jsonc": config("same"), "a/index.ts": runner("return 1"), "b/wrangler.jsonc": config("same"), "b/index.ts": runner("return 1") });
  await expect(startWorker({ cwd: root, config: [join(root, "a/wrangler.jsonc"), join(root, "b/wrangler.jsonc")] })).rejects.toThrow(
    'Two configs define a Worker named "same"',
  );
});

test("service binding to an assets-only Worker", async () => {
  const root = workerDir({
    "web/wrangler.jsonc": config("web", { services: [{ binding: "SITE", service: "site" }] }),
    "web/index.ts": runner(`return await (await env.SITE.fetch("https://site/hello")).text();`),
    "site/wrangler.jsonc": JSON.stringify({ name: "site", compatibility_date: "2026-01-01", assets: { directory: "public" } }),
    "site/public/hello.html": "static hello",
  });
  const handle = await startWorker({ cwd: root, config: [join(root, "web/wrangler.jsonc"), join(root, "site/wrangler.jsonc")] });
  handles.push(handle);
  expect((await run(handle)).result).toBe("static hello");
});

test("dev CLI takes repeated --config", async () => {
  const root = workerDir({
    "web/wrangler.jsonc": config("web", { services: [{ binding: "API", service: "api" }] }),
    "web/index.ts": runner(`return await env.API.add(40, 2);`),
    "api/wrangler.jsonc": config("api"),
    "api/index.ts": API_WORKER,
  });
  const child = spawnBun([CLI, "dev", "-c", "web/wrangler.jsonc", "--config", "api/wrangler.jsonc", "--port", "0"], root);
  const [, url] = await child.waitFor(/Ready on (http:\/\/\S+)/);
  expect(child.output).toContain("Also running, through service bindings: api");
  expect(await (await fetch(url!)).json()).toEqual({ result: 42 });
});

test("dev CLI reads bunflare.config.ts", async () => {
  const root = workerDir({
    "bunflare.config.ts": `export default { workers: ["./web/wrangler.jsonc", "./api/wrangler.jsonc"] };`,
    "web/wrangler.jsonc": config("web", { services: [{ binding: "API", service: "api" }] }),
    "web/index.ts": runner(`return await env.API.add(1, 1);`),
    "api/wrangler.jsonc": config("api"),
    "api/index.ts": API_WORKER,
  });
  const child = spawnBun([CLI, "dev", "--port", "0"], root);
  const [, url] = await child.waitFor(/Ready on (http:\/\/\S+)/);
  expect(await (await fetch(url!)).json()).toEqual({ result: 2 });
});

test("bad bunflare.config.ts fails start", async () => {
  const root = workerDir({ "bunflare.config.ts": `export default { workers: [] };` });
  const child = spawnBun([CLI, "dev", "--port", "0"], root);
  expect(await child.process.exited).toBe(1);
  expect(child.output).toContain("the default export must be { workers: [...] } with at least one wrangler config path, got {\"workers\":[]}");
});

const DO_WORKER = `
  import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";

  export class Counter extends DurableObject {
    hits = 0;
    async increment() {
      this.hits += 1;
      const stored = ((await this.ctx.storage.get("count")) ?? 0) + 1;
      await this.ctx.storage.put("count", stored);
      return { hits: this.hits, stored, envName: this.env.NAME };
    }
    async fetch() { return new Response("counter " + (await this.increment()).hits); }
  }

  export default class Api extends WorkerEntrypoint {
    increment(name) { return this.env.COUNTER.getByName(name).increment(); }
    id(name) { return this.env.COUNTER.idFromName(name).toString(); }
  }
`;

/** Starts a front Worker and the Worker defining `Counter`; the front binds it with `script_name`. */
async function startDurablePair(webWorker: string, webExtra: Record<string, unknown> = {}) {
  const root = workerDir({
    "web/wrangler.jsonc": config("web", {
      services: [{ binding: "API", service: "api" }],
      durable_objects: { bindings: [{ name: "COUNTER", class_name: "Counter", script_name: "api" }] },
      ...webExtra,
    }),
    "web/index.ts": webWorker,
    "api/wrangler.jsonc": config("api", {
      vars: { NAME: "api-vars" },
      durable_objects: { bindings: [{ name: "COUNTER", class_name: "Counter" }] },
      migrations: [{ tag: "v1", new_sqlite_classes: ["Counter"] }],
    }),
    "api/index.ts": DO_WORKER,
  });
  const handle = await startWorker({ cwd: root, config: [join(root, "web/wrangler.jsonc"), join(root, "api/wrangler.jsonc")] });
  handles.push(handle);
  return handle;
}

test("Durable Object from another Worker", async () => {
  const handle = await startDurablePair(runner(`
    const first = await env.COUNTER.getByName("a").increment();
    const text = await (await env.COUNTER.getByName("a").fetch("https://do/")).text();
    return { first, text };
  `));
  expect((await run(handle)).result).toEqual({ first: { hits: 1, stored: 1, envName: "api-vars" }, text: "counter 2" });
});

test("Durable Object one instance across Workers", async () => {
  const handle = await startDurablePair(runner(`
    const fromWeb = await env.COUNTER.getByName("shared").increment();
    const fromApi = await env.API.increment("shared");
    const again = await env.COUNTER.getByName("shared").increment();
    const sameId = env.COUNTER.idFromName("shared").toString() === (await env.API.id("shared"));
    return { fromWeb, fromApi, again, sameId };
  `));
  expect((await run(handle)).result).toEqual({
    fromWeb: { hits: 1, stored: 1, envName: "api-vars" },
    fromApi: { hits: 2, stored: 2, envName: "api-vars" },
    again: { hits: 3, stored: 3, envName: "api-vars" },
    sameId: true,
  });
});

test("Durable Object of first Worker", async () => {
  // The class is the first Worker's, and another Worker loads after it.
  const root = workerDir({
    "web/wrangler.jsonc": config("web", {
      durable_objects: { bindings: [{ name: "COUNTER", class_name: "Counter" }] },
      migrations: [{ tag: "v1", new_classes: ["Counter"] }],
      vars: { NAME: "web-vars" },
    }),
    "web/index.ts": DO_WORKER.replace("export default class Api extends WorkerEntrypoint", "class Unused extends WorkerEntrypoint") +
      runner(`return await env.COUNTER.getByName("a").increment();`),
    "api/wrangler.jsonc": config("api"),
    "api/index.ts": API_WORKER,
  });
  const handle = await startWorker({ cwd: root, config: [join(root, "web/wrangler.jsonc"), join(root, "api/wrangler.jsonc")] });
  handles.push(handle);
  expect((await run(handle)).result).toEqual({ hits: 1, stored: 1, envName: "web-vars" });
});

test("Durable Object unknown script_name fails start", async () => {
  const root = workerDir({
    "wrangler.jsonc": config("web", { durable_objects: { bindings: [{ name: "COUNTER", class_name: "Counter", script_name: "nowhere" }] } }),
    "index.ts": runner("return 1"),
  });
  await expect(startWorker({ cwd: root })).rejects.toThrow(
    'Durable Object binding "COUNTER" of Worker "web" refers to class Counter of Worker "nowhere", which is not running. Running: web.',
  );
});

test("Durable Object class not exported fails start", async () => {
  const root = workerDir({
    "web/wrangler.jsonc": config("web", {
      durable_objects: { bindings: [{ name: "ROOM", class_name: "Room", script_name: "api" }] },
    }),
    "web/index.ts": runner("return 1"),
    "api/wrangler.jsonc": config("api", { migrations: [{ tag: "v1", new_classes: ["Room"] }] }),
    "api/index.ts": API_WORKER,
  });
  await expect(startWorker({ cwd: root, config: [join(root, "web/wrangler.jsonc"), join(root, "api/wrangler.jsonc")] })).rejects.toThrow(
    'Durable Object binding "ROOM" of Worker "web" refers to class Room of Worker "api", which does not export it.',
  );
});

test("Durable Object script_name without migration fails start", async () => {
  const root = workerDir({
    "web/wrangler.jsonc": config("web", {
      durable_objects: { bindings: [{ name: "ROOM", class_name: "Room", script_name: "api" }] },
    }),
    "web/index.ts": runner("return 1"),
    "api/wrangler.jsonc": config("api"),
    "api/index.ts": API_WORKER,
  });
  await expect(startWorker({ cwd: root, config: [join(root, "web/wrangler.jsonc"), join(root, "api/wrangler.jsonc")] })).rejects.toThrow(
    'Durable Object class "Room" has no migration: add it to new_sqlite_classes (or new_classes) in the config\'s "migrations"',
  );
});
