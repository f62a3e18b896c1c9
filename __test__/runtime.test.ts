import { test, expect, spyOn, afterEach } from "bun:test";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { startWorker, openStorage, registerCloudflareModules, workerEnv, type WorkerHandle } from "../lib/index.ts";
import { NonRetryableError, DurableObject, WorkflowEntrypoint, WorkerEntrypoint } from "../lib/plugin.ts";
import { prefersHtml } from "../lib/dev/server.ts";
import { workerDir, wranglerConfig, runBun, killChildren, TEST_PRELOAD } from "./fixtures.ts";

afterEach(killChildren);

const handles: WorkerHandle[] = [];

async function start(files: Record<string, string>, options: Parameters<typeof startWorker>[0] = {}) {
  const cwd = workerDir({ "wrangler.jsonc": wranglerConfig({ vars: { GREETING: "hello" } }), ...files });
  const handle = await startWorker({ cwd, ...options });
  handles.push(handle);
  return { cwd, handle };
}

afterEach(async () => {
  for (const handle of handles.splice(0)) await handle.stop();
});

test("object handler receives request, env and ctx", async () => {
  const { handle } = await start({
    "src/index.ts": `
      export default {
        async fetch(request, env, ctx) {
          return Response.json({
            url: request.url,
            greeting: env.GREETING,
            waitUntil: typeof ctx.waitUntil,
            passThrough: typeof ctx.passThroughOnException,
            props: ctx.props,
          });
        },
      };`,
  });

  const response = await fetch(new URL("/path?q=1", handle.url));
  const body = await response.json();

  expect(response.status).toBe(200);
  expect(body.url).toBe(new URL("/path?q=1", handle.url).href);
  expect(body.greeting).toBe("hello");
  expect(body.waitUntil).toBe("function");
  expect(body.passThrough).toBe("function");
  expect(body.props).toEqual({});
});

test("object handler keeps this bound to the export", async () => {
  const { handle } = await start({
    "src/index.ts": `
      export default {
        name: "self",
        fetch() { return new Response(this.name); },
      };`,
  });

  expect(await (await handle.fetch("/")).text()).toBe("self");
});

test("WorkerEntrypoint class gets ctx and env per request", async () => {
  const { handle } = await start({
    "src/index.ts": `
      import { WorkerEntrypoint } from "cloudflare:workers";
      let instances = 0;
      export default class Worker extends WorkerEntrypoint {
        constructor(ctx, env) { super(ctx, env); instances += 1; }
        fetch(request) {
          return Response.json({ greeting: this.env.GREETING, ctx: typeof this.ctx.waitUntil, instances });
        }
      }`,
  });

  const first = await (await handle.fetch("/")).json();
  const second = await (await handle.fetch("/")).json();

  expect(first.greeting).toBe("hello");
  expect(first.ctx).toBe("function");
  expect(first.instances).toBe(1);
  expect(second.instances).toBe(2);
});

test("env from top-level import is the handler env", async () => {
  const { handle } = await start({
    "src/index.ts": `
      import { env } from "cloudflare:workers";
      const atLoad = env.GREETING;
      export default {
        fetch(request, handlerEnv) {
          return Response.json({ same: env === handlerEnv, atLoad });
        },
      };`,
  });

  const body = await (await handle.fetch("/")).json();

  expect(body.same).toBe(true);
  expect(body.atLoad).toBe("hello");
  expect(handle.env).toBe(workerEnv);
});

test("vars keep JSON types and --var overrides", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig({ vars: { TEXT: "a", NUMBER: 42, OBJECT: { nested: [1, 2] } } }),
    "src/index.ts": `export default { fetch(r, env) { return Response.json({ TEXT: env.TEXT, NUMBER: env.NUMBER, OBJECT: env.OBJECT }); } };`,
  });
  const handle = await startWorker({ cwd, vars: { TEXT: "overridden" } });
  handles.push(handle);

  const body = await (await handle.fetch("/")).json();

  expect(body).toEqual({ TEXT: "overridden", NUMBER: 42, OBJECT: { nested: [1, 2] } });
});

test("request.cf has local values", async () => {
  const { handle } = await start({
    "src/index.ts": `export default { fetch(request) { return Response.json(request.cf); } };`,
  });

  const cf = await (await fetch(handle.url)).json();

  expect(typeof cf.colo).toBe("string");
  expect(cf.country).toBe("US");
  expect(typeof cf.city).toBe("string");
  expect(typeof cf.asn).toBe("number");
  expect(cf.timezone).toBe("America/Chicago");
  expect(cf.httpProtocol).toBe("HTTP/1.1");
  expect(cf.tlsVersion).toBe("TLSv1.3");
});

test("request.cf is one read-only object", async () => {
  const { handle } = await start({
    "src/index.ts": `export default {
      fetch(request) {
        const first = request.cf;
        const descriptor = Object.getOwnPropertyDescriptor(request, "cf");
        return Response.json({
          same: first === request.cf,
          keys: Object.keys(request).includes("cf"),
          enumerable: descriptor.enumerable,
          writable: descriptor.writable,
          colo: first.colo,
        });
      },
    };`,
  });

  const body = await (await fetch(handle.url)).json();

  expect(body.same).toBe(true);
  expect(body.keys).toBe(true);
  expect(body.enumerable).toBe(true);
  expect(body.writable).toBe(false);
  expect(body.colo).toBe("DFW");
});

test("waitUntil rejection is logged, not fatal", async () => {
  const errors = spyOn(console, "error");
  try {
    const { handle } = await start({
      "src/index.ts": `
        export default {
          fetch(request, env, ctx) {
            ctx.waitUntil(Promise.reject(new Error("background failed")));
            return new Response("sent");
          },
        };`,
    });

    const response = await handle.fetch("/");
    await handle.waitUntilSettled();
    const logged = errors.mock.calls.map((call) => String(call[0])).join("\n");

    expect(await response.text()).toBe("sent");
    expect(logged).toContain("waitUntil promise rejected");
    expect(logged).toContain("background failed");
    expect((await handle.fetch("/")).status).toBe(200);
  } finally {
    errors.mockRestore();
  }
});

test("top-level waitUntil rejection is logged", async () => {
  const errors = spyOn(console, "error");
  try {
    const { handle } = await start({
      "src/index.ts": `
        import { waitUntil } from "cloudflare:workers";
        export default {
          fetch() {
            waitUntil(Promise.reject(new Error("module-level failure")));
            return new Response("ok");
          },
        };`,
    });

    await handle.fetch("/");
    await handle.waitUntilSettled();

    expect(errors.mock.calls.map((call) => String(call[0])).join("\n")).toContain("module-level failure");
  } finally {
    errors.mockRestore();
  }
});

test("thrown error becomes a 500 with the stack", async () => {
  const errors = spyOn(console, "error");
  try {
    const { handle } = await start({
      "src/index.ts": `export default { fetch() { throw new RangeError("out of range"); } };`,
    });

    const response = await handle.fetch("/");
    const body = await response.text();

    expect(response.status).toBe(500);
    expect(response.headers.get("content-type")).toStartWith("text/plain");
    expect(body).toStartWith("RangeError: out of range");
    expect(body).toContain("src/index.ts");
  } finally {
    errors.mockRestore();
  }
});

test("passThroughOnException still returns the 500", async () => {
  const errors = spyOn(console, "error");
  try {
    const { handle } = await start({
      "src/index.ts": `
        export default {
          fetch(request, env, ctx) {
            ctx.passThroughOnException();
            throw new Error("after pass-through");
          },
        };`,
    });

    const response = await handle.fetch("/");
    const logged = errors.mock.calls.map((call) => String(call[0])).join("\n");

    expect(response.status).toBe(500);
    expect(await response.text()).toStartWith("Error: after pass-through");
    expect(logged).toContain("no origin to forward to");
  } finally {
    errors.mockRestore();
  }
});

test("non-Response return is a TypeError 500", async () => {
  const errors = spyOn(console, "error");
  try {
    const { handle } = await start({
      "src/index.ts": `export default { fetch() { return "text"; } };`,
    });

    const response = await handle.fetch("/");

    expect(response.status).toBe(500);
    expect(await response.text()).toStartWith(
      "TypeError: Incorrect type for Promise: the Promise did not resolve to 'Response'.",
    );
  } finally {
    errors.mockRestore();
  }
});

test("non-Response from async fetch is a 500", async () => {
  const errors = spyOn(console, "error");
  try {
    const { handle } = await start({
      "src/index.ts": `export default {
        async fetch(request) {
          if (new URL(request.url).pathname === "/later") await new Promise((resolve) => setTimeout(resolve, 1));
          return 42;
        },
      };`,
    });

    for (const path of ["/now", "/later"]) {
      const response = await handle.fetch(path);
      expect(response.status).toBe(500);
      expect(await response.text()).toStartWith("TypeError: Incorrect type for Promise");
    }
  } finally {
    errors.mockRestore();
  }
});

test("fetch settled and pending both respond", async () => {
  const errors = spyOn(console, "error");
  const { handle } = await start({
    "src/index.ts": `export default {
      async fetch(request) {
        const path = new URL(request.url).pathname;
        if (path === "/later") await new Promise((resolve) => setTimeout(resolve, 1));
        if (path === "/throw") throw new Error("thrown " + path);
        return new Response("body " + path);
      },
    };`,
  });

  const now = await fetch(new URL("/now", handle.url));
  const later = await fetch(new URL("/later", handle.url));
  const thrown = await fetch(new URL("/throw", handle.url));
  errors.mockRestore();

  expect(now.status).toBe(200);
  expect(await now.text()).toBe("body /now");
  expect(later.status).toBe(200);
  expect(await later.text()).toBe("body /later");
  expect(thrown.status).toBe(500);
  expect(await thrown.text()).toContain("Error: thrown /throw");
});

test("missing fetch handler is a 500", async () => {
  const errors = spyOn(console, "error");
  try {
    const { handle } = await start({
      "src/index.ts": `export default { scheduled() {} };`,
    });

    const response = await handle.fetch("/");

    expect(response.status).toBe(500);
    expect(await response.text()).toStartWith("Error: Handler does not export a fetch() function.");
  } finally {
    errors.mockRestore();
  }
});

test("missing default export fails start", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig(),
    "src/index.ts": `addEventListener("fetch", () => {}); export const x = 1;`,
  });

  const started = startWorker({ cwd });

  await expect(started).rejects.toThrow(TypeError);
  await expect(started).rejects.toThrow(
    `${join(cwd, "src/index.ts")} has no default export. Export an object with a fetch() method or a class extending WorkerEntrypoint; service-worker syntax (addEventListener) is not supported.`,
  );
});

test("function default export fails start", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig(),
    "src/index.ts": `export default function handler() {}`,
  });

  await expect(startWorker({ cwd })).rejects.toThrow(
    `The default export of ${join(cwd, "src/index.ts")} is a function. Export an object with a fetch() method or a class extending WorkerEntrypoint.`,
  );
});

test("missing main fails start", async () => {
  const cwd = workerDir({ "wrangler.jsonc": `{ "name": "no-main" }` });

  await expect(startWorker({ cwd })).rejects.toThrow(`No entry module for no-main: set "main" in ${join(cwd, "wrangler.jsonc")} or pass a script`);
});

test("scheduled handler gets the controller", async () => {
  const { handle } = await start({
    "src/index.ts": `
      export let seen = null;
      export default {
        fetch() { return Response.json(globalThis.__scheduledSeen ?? null); },
        scheduled(controller, env, ctx) {
          globalThis.__scheduledSeen = { cron: controller.cron, time: controller.scheduledTime, greeting: env.GREETING, ctx: typeof ctx.waitUntil };
          controller.noRetry();
        },
      };`,
  });

  const result = await handle.scheduled("*/5 * * * *", 1_700_000_000_000);
  const seen = await (await handle.fetch("/")).json();

  expect(result).toEqual({ outcome: "ok", noRetry: true });
  expect(seen).toEqual({ cron: "*/5 * * * *", time: 1_700_000_000_000, greeting: "hello", ctx: "function" });
});

test("scheduled handler throw reports exception", async () => {
  const errors = spyOn(console, "error");
  try {
    const { handle } = await start({
      "src/index.ts": `export default { fetch() { return new Response(); }, scheduled() { throw new Error("cron failed"); } };`,
    });

    expect(await handle.scheduled("0 * * * *")).toEqual({ outcome: "exception", noRetry: false });
  } finally {
    errors.mockRestore();
  }
});

test("reload loads new code and keeps storage and env", async () => {
  const { cwd, handle } = await start({
    "src/index.ts": `import { message } from "./message.ts"; export default { fetch(r, env) { return new Response(message); } };`,
    "src/message.ts": `export const message = "before";`,
  });
  const storage = openStorage(handle.config.persistTo);

  expect(await (await handle.fetch("/")).text()).toBe("before");

  writeFileSync(join(cwd, "src/message.ts"), `export const message = "after";`);
  await handle.reload();

  expect(await (await handle.fetch("/")).text()).toBe("after");
  expect(openStorage(handle.config.persistTo)).toBe(storage);
  expect(handle.env).toBe(workerEnv);
  expect(handle.env.GREETING).toBe("hello");
});

test("reload keeps the old code when the new one fails", async () => {
  const { cwd, handle } = await start({
    "src/index.ts": `export default { fetch() { return new Response("v1"); } };`,
  });

  writeFileSync(join(cwd, "src/index.ts"), `export const broken = 1;`);

  await expect(handle.reload()).rejects.toThrow("has no default export");
  expect(await (await handle.fetch("/")).text()).toBe("v1");
});

test("NonRetryableError matches production", () => {
  const plain = new NonRetryableError("step failed");
  const named = new NonRetryableError("bad input", "ValidationError");

  expect(plain).toBeInstanceOf(Error);
  expect(plain.name).toBe("NonRetryableError");
  expect(plain.message).toBe("step failed");
  expect(plain.__brand).toBe("NonRetryableError");
  expect(named.name).toBe("ValidationError");
  expect(named.message).toBe("bad input");
  expect(String(named)).toBe("ValidationError: bad input");
});

test("base classes set ctx and env", () => {
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} };
  const env = { A: 1 };

  class Room extends DurableObject { read() { return [this.ctx, this.env]; } }
  class Flow extends WorkflowEntrypoint { read() { return [this.ctx, this.env]; } }
  class Entry extends WorkerEntrypoint { read() { return [this.ctx, this.env]; } }

  expect(new Room(ctx as never, env).read()).toEqual([ctx, env]);
  expect(new Flow(ctx, env).read()).toEqual([ctx, env]);
  expect(new Entry(ctx, env).read()).toEqual([ctx, env]);
});

test("cloudflare:workflows exports NonRetryableError", async () => {
  const { handle } = await start({
    "src/index.ts": `
      import { NonRetryableError } from "cloudflare:workflows";
      export default { fetch() { const e = new NonRetryableError("m"); return Response.json({ name: e.name, message: e.message }); } };`,
  });

  expect(await (await handle.fetch("/")).json()).toEqual({ name: "NonRetryableError", message: "m" });
});

test("accept header decides HTML", () => {
  expect(prefersHtml("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")).toBe(true);
  expect(prefersHtml("text/html")).toBe(true);
  expect(prefersHtml("*/*")).toBe(false);
  expect(prefersHtml(null)).toBe(false);
  expect(prefersHtml("application/json, text/html;q=0.5")).toBe(false);
  expect(prefersHtml("text/plain;q=0.2, text/html;q=0.9")).toBe(true);
  expect(prefersHtml("text/html;q=0")).toBe(false);
});

test("test preload constructs durable objects", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig({
      durable_objects: { bindings: [{ name: "COUNTER", class_name: "Counter" }] },
      migrations: [{ tag: "v1", new_sqlite_classes: ["Counter"] }],
    }),
    "src/index.ts": `
      import { DurableObject } from "cloudflare:workers";
      export class Counter extends DurableObject { add(n) { return n + 1; } }
      export default { fetch() { return new Response("ok"); } };`,
    "do.test.ts": `
      import { test, expect } from "bun:test";
      import { env } from "cloudflare:workers";
      test("rpc", async () => {
        expect(await env.COUNTER.getByName("a").add(1)).toBe(2);
      });`,
  });

  const { exitCode, output } = await runBun(["test", "--preload", TEST_PRELOAD, "./do.test.ts"], cwd);

  expect(output).toContain("1 pass");
  expect(exitCode).toBe(0);
});

test("test preload provides env to bun test", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig({ vars: { FROM_CONFIG: "yes" } }),
    "src/index.ts": `export default { fetch() { return new Response("ok"); } };`,
    "env.test.ts": `
      import { test, expect, afterEach } from "bun:test";
      import { env, WorkerEntrypoint } from "cloudflare:workers";
      test("env", () => {
        expect(env.FROM_CONFIG).toBe("yes");
        expect(typeof WorkerEntrypoint).toBe("function");
      });`,
  });

  const { exitCode, output } = await runBun(["test", "--preload", TEST_PRELOAD, "./env.test.ts"], cwd);

  expect(output).toContain("1 pass");
  expect(exitCode).toBe(0);
});

test("unsupported bindings warn once", async () => {
  const errors = spyOn(console, "error");
  try {
    const cwd = workerDir({
      "wrangler.jsonc": wranglerConfig({
        hyperdrive: [{ binding: "DB_POOL", id: "pool" }],
        vectorize: [{ binding: "INDEX", index_name: "docs" }],
      }),
      "src/index.ts": `export default { fetch(r, env) { return Response.json(Object.keys(env)); } };`,
    });
    const handle = await startWorker({ cwd });
    handles.push(handle);
    await handle.reload();

    const warnings = errors.mock.calls.map((call) => String(call[0]));

    expect(warnings.filter((line) => line.includes(`"hyperdrive" bindings`))).toHaveLength(1);
    expect(warnings.filter((line) => line.includes(`"vectorize" bindings`))).toHaveLength(1);
    expect(await (await handle.fetch("/")).json()).toEqual([]);
  } finally {
    errors.mockRestore();
  }
});

test("plugin registration is idempotent", async () => {
  registerCloudflareModules();
  registerCloudflareModules();
  const { handle } = await start({
    "src/index.ts": `import { RpcTarget } from "cloudflare:workers"; export default { fetch() { return new Response(typeof RpcTarget); } };`,
  });

  expect(await (await handle.fetch("/")).text()).toBe("function");
});
