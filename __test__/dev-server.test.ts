import { test, expect, afterEach } from "bun:test";
import { writeFileSync, existsSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathAndQuery } from "../lib/dev/server.ts";
import { CLI, killChildren, REGISTER, fetchWhenListening, freePort, runBun, spawnBun, workerDir, wranglerConfig } from "./fixtures.ts";

afterEach(killChildren);

/** Starts `bunflare dev --port 0` in `cwd` and returns the child and the URL it printed. */
async function startDev(cwd: string, extraArgs: string[] = []) {
  const child = spawnBun([CLI, "dev", "--port", "0", ...extraArgs], cwd);
  const [, url] = await child.waitFor(/Ready on (http:\/\/127\.0\.0\.1:\d+\/)/);
  return { child, url: url! };
}

const THROWING_WORKER = `
  export default {
    fetch(request) {
      if (new URL(request.url).pathname === "/boom") throw new Error("kaboom <script>");
      return new Response("fine");
    },
  };`;

test("dev logs each request", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig(),
    "src/index.ts": `export default { fetch() { return new Response("created", { status: 201 }); } };`,
  });
  const { child, url } = await startDev(cwd);

  const response = await fetch(new URL("/items?page=2", url), { method: "POST", body: "x" });
  const [line] = await child.waitFor(/POST \/items\?page=2 201 Created \(\d+ms\)/);

  expect(response.status).toBe(201);
  expect(line).toBeDefined();
});

test("request log path and query", () => {
  const cases: [string, string][] = [
    ["http://127.0.0.1:8787/", "/"],
    ["http://127.0.0.1:8787/items?page=2", "/items?page=2"],
    ["http://127.0.0.1:8787/items?", "/items"],
    ["http://127.0.0.1:8787/a/b#top", "/a/b"],
    ["http://127.0.0.1:8787/a?x=1#top", "/a?x=1"],
    ["http://user@[::1]:8787/v6?q", "/v6?q"],
  ];
  for (const [url, expected] of cases) {
    expect(pathAndQuery(url)).toBe(expected);
    const parsed = new URL(url);
    expect(pathAndQuery(url)).toBe(parsed.pathname + parsed.search);
  }
});

test("dev logs every request once", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig(),
    "src/index.ts": `export default { fetch(request) { return new Response(new URL(request.url).pathname); } };`,
  });
  const { child, url } = await startDev(cwd);

  const paths = Array.from({ length: 50 }, (_, i) => `/n${i}`);
  await Promise.all(paths.map((path) => fetch(new URL(path, url)).then((response) => response.text())));
  // Request lines are buffered, so wait for the last batch to be written.
  for (let tries = 0; tries < 100 && child.count(/GET \/n\d+ 200 OK/) < paths.length; tries++) await Bun.sleep(10);

  for (const path of paths) {
    expect(child.count(new RegExp(`GET ${path} 200 OK \\(\\d+ms\\)\n`))).toBe(1);
  }
});

test("dev error is HTML for browsers", async () => {
  const cwd = workerDir({ "wrangler.jsonc": wranglerConfig(), "src/index.ts": THROWING_WORKER });
  const { child, url } = await startDev(cwd);

  const response = await fetch(new URL("/boom", url), {
    headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" },
  });
  const body = await response.text();

  expect(response.status).toBe(500);
  expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
  expect(body).toStartWith("<!doctype html>");
  expect(body).toContain("kaboom &#60;script&#62;");
  expect(body).toContain("src/index.ts");
  await child.waitFor(/Uncaught error in test-worker fetch handler: Error: kaboom <script>/);
  await child.waitFor(/GET \/boom 500 Internal Server Error/);
});

test("dev error is text for other clients", async () => {
  const cwd = workerDir({ "wrangler.jsonc": wranglerConfig(), "src/index.ts": THROWING_WORKER });
  const { url } = await startDev(cwd);

  const response = await fetch(new URL("/boom", url), { headers: { accept: "*/*" } });
  const body = await response.text();

  expect(response.status).toBe(500);
  expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
  expect(body).toStartWith("Error: kaboom <script>\n");
  expect(body).toContain("src/index.ts");
  expect((await fetch(url)).status).toBe(200);
});

test("dev reloads on file change", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig({ vars: { GREETING: "hi" } }),
    "src/index.ts": `
      import { env } from "cloudflare:workers";
      import { version } from "./version.ts";
      export default { fetch(request, handlerEnv) { return Response.json({ version, same: env === handlerEnv, greeting: handlerEnv.GREETING }); } };`,
    "src/version.ts": `export const version = 1;`,
  });
  const { child, url } = await startDev(cwd);

  expect(await (await fetch(url)).json()).toEqual({ version: 1, same: true, greeting: "hi" });
  expect(existsSync(join(cwd, ".bunflare", "data.sqlite"))).toBe(true);

  writeFileSync(join(cwd, "src/version.ts"), `export const version = 2;`);
  await child.waitFor(/Reloaded test-worker after a change to .*version\.ts/);

  expect(await (await fetch(url)).json()).toEqual({ version: 2, same: true, greeting: "hi" });
  expect(child.count(/Reloaded test-worker/)).toBe(1);
  // Storage is opened once per process, so a reload must not open it again.
  expect(child.count(/Local state in /)).toBe(1);
});

test("dev reload names the file an editor saved", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig(),
    "src/index.ts": `import { version } from "./version.ts"; export default { fetch() { return Response.json({ version }); } };`,
    "src/version.ts": `export const version = 1;`,
  });
  const { child, url } = await startDev(cwd);

  // vim writes a swap file, and sed -i writes a temp file and renames it over the original.
  writeFileSync(join(cwd, "src/.version.ts.swp"), "swap");
  writeFileSync(join(cwd, "src/sedz3lYu5"), `export const version = 2;`);
  renameSync(join(cwd, "src/sedz3lYu5"), join(cwd, "src/version.ts"));
  rmSync(join(cwd, "src/.version.ts.swp"));
  await child.waitFor(/Reloaded test-worker after a change to /);

  expect(await (await fetch(url)).json()).toEqual({ version: 2 });
  expect(child.output).toMatch(/Reloaded test-worker after a change to \S*src\/version\.ts\n/);
  expect(child.output).not.toContain("sedz3lYu5");
  expect(child.output).not.toContain(".swp");
});

/** A Worker that returns its vars and a KV value, to see what a config reload changed and kept. */
const ENV_WORKER = `
  export default {
    async fetch(request, env) {
      if (request.method === "PUT") {
        await env.KV.put("kept", "stored before the edit");
        return new Response("written");
      }
      return Response.json({ greeting: env.GREETING, token: env.TOKEN ?? null, kept: await env.KV.get("kept") });
    },
  };`;

test("dev reloads on config change", async () => {
  const kv = { kv_namespaces: [{ binding: "KV", id: "config-reload-kv" }] };
  const cwd = workerDir({ "wrangler.jsonc": wranglerConfig({ ...kv, vars: { GREETING: "hi" } }), "src/index.ts": ENV_WORKER });
  const { child, url } = await startDev(cwd);
  expect(await (await fetch(url, { method: "PUT" })).text()).toBe("written");

  writeFileSync(join(cwd, "wrangler.jsonc"), wranglerConfig({ ...kv, vars: { GREETING: "hello" } }));
  await child.waitFor(/Reloaded test-worker after a change to .*wrangler\.jsonc/);

  expect(await (await fetch(url)).json()).toEqual({ greeting: "hello", token: null, kept: "stored before the edit" });
  expect(child.count(/Reloaded test-worker/)).toBe(1);
  expect(child.count(/Local state in /)).toBe(1);
});

test("dev reloads on secret file change", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig({ kv_namespaces: [{ binding: "KV", id: "secret-reload-kv" }], vars: { GREETING: "hi" } }),
    ".dev.vars": "TOKEN=first\n",
    "src/index.ts": ENV_WORKER,
  });
  const { child, url } = await startDev(cwd);

  writeFileSync(join(cwd, ".dev.vars"), "TOKEN=second\n");
  await child.waitFor(/Reloaded test-worker after a change to .*\.dev\.vars/);

  expect(await (await fetch(url)).json()).toEqual({ greeting: "hi", token: "second", kept: null });
  const reloadOutput = child.output.slice(child.output.indexOf("Ready on"));
  expect(reloadOutput).not.toContain("Using secrets");
  expect(reloadOutput).not.toContain("second");
});

test("dev reloads when a .env file appears", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig({ kv_namespaces: [{ binding: "KV", id: "dotenv-reload-kv" }], vars: { GREETING: "hi" } }),
    "src/index.ts": ENV_WORKER,
  });
  const { child, url } = await startDev(cwd);

  writeFileSync(join(cwd, ".env.local"), "TOKEN=from-env\n");
  await child.waitFor(/Reloaded test-worker after a change to .*\.env\.local/);

  expect(await (await fetch(url)).json()).toEqual({ greeting: "hi", token: "from-env", kept: null });
});

test("dev keeps serving after an invalid config", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig({ kv_namespaces: [{ binding: "KV", id: "bad-config-kv" }], vars: { GREETING: "hi" } }),
    "src/index.ts": ENV_WORKER,
  });
  const { child, url } = await startDev(cwd);

  writeFileSync(join(cwd, "wrangler.jsonc"), `{ "name": "test-worker", "vars": [] }`);
  const [failure] = await child.waitFor(/\[error\] Reload failed[^\n]*/);

  expect(failure).toBe(`[error] Reload failed; the previous version keeps serving: wrangler.jsonc:1: "vars" must be an object, got array`);
  expect(await (await fetch(url)).json()).toEqual({ greeting: "hi", token: null, kept: null });

  writeFileSync(join(cwd, "wrangler.jsonc"), wranglerConfig({ kv_namespaces: [{ binding: "KV", id: "bad-config-kv" }], vars: { GREETING: "fixed" } }));
  await child.waitFor(/Reloaded test-worker after a change to .*wrangler\.jsonc/);
  expect(await (await fetch(url)).json()).toEqual({ greeting: "fixed", token: null, kept: null });
});

test("dev runs the build command before reload", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig({
      main: "dist/index.js",
      build: { command: "mkdir -p dist && cp src/worker.js dist/index.js", watch_dir: "src" },
    }),
    "src/worker.js": `export default { fetch() { return new Response("built v1"); } };`,
  });
  const { child, url } = await startDev(cwd);

  expect(await (await fetch(url)).text()).toBe("built v1");

  writeFileSync(join(cwd, "src/worker.js"), `export default { fetch() { return new Response("built v2"); } };`);
  await child.waitFor(/Reloaded test-worker/);

  expect(await (await fetch(url)).text()).toBe("built v2");
  expect(child.count(/\[custom build\] Running:/)).toBe(2);
});

test("dev keeps serving after a broken edit", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig(),
    "src/index.ts": `export default { fetch() { return new Response("good"); } };`,
  });
  const { child, url } = await startDev(cwd);

  writeFileSync(join(cwd, "src/index.ts"), `export default { fetch() { return new Response("unterminated); } };`);
  await child.waitFor(/Reload failed; the previous version keeps serving/);

  expect(await (await fetch(url)).text()).toBe("good");
});

test("dev reload names the syntax error", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig(),
    "src/index.ts": `export default { fetch() { return new Response("good"); } };`,
  });
  const { child } = await startDev(cwd);

  writeFileSync(join(cwd, "src/index.ts"), `export default { fetch() { return new Response("unterminated); } };`);
  const [failure] = await child.waitFor(/Reload failed[^\n]*\n[^\n]*/);

  expect(failure).toMatch(/src\/index\.ts:1:\d+: Unterminated string literal/);
});

test("dev reload names a missing import", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig(),
    "src/index.ts": `export default { fetch() { return new Response("good"); } };`,
  });
  const { child, url } = await startDev(cwd);

  writeFileSync(join(cwd, "src/index.ts"), `// uses a helper\nimport { helper } from "./missing.ts";\nexport default { fetch() { return new Response(helper()); } };\n`);
  const [failure] = await child.waitFor(/Reload failed[^\n]*\n[^\n]*/);

  expect(failure).toContain(`keeps serving: ${cwd}/src/index.ts:2:24: Cannot find module './missing.ts'`);
  expect(failure).toContain(`\n    import { helper } from "./missing.ts";`);
  expect(failure).not.toContain("ResolveMessage");
  expect(await (await fetch(url)).text()).toBe("good");
});

test("dev exits 1 on a syntax error at start", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig(),
    "src/index.ts": `export default { fetch() { return new Response("unterminated); } };`,
  });

  const { exitCode, output } = await runBun([CLI, "dev", "--port", "0"], cwd);

  expect(exitCode).toBe(1);
  expect(output).toMatch(/src\/index\.ts:1:\d+: Unterminated string literal/);
  expect(output).not.toContain("Ready on");
});

test("dev exits 1 on a top-level throw", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig(),
    "src/index.ts": `import { env } from "cloudflare:workers";\nthrow new Error("init failed");\nexport default { fetch() { return new Response("never"); } };\n`,
  });

  const { exitCode, output } = await runBun([CLI, "dev", "--port", "0"], cwd);

  expect(exitCode).toBe(1);
  expect(output).toContain("✘ Error: init failed");
  expect(output).toMatch(/src\/index\.ts:2:\d+/);
  expect(output).not.toContain("Uncaught exception");
  expect(output).not.toContain("Ready on");
});

test("dev reload logs a top-level throw", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig(),
    "src/index.ts": `export default { fetch() { return new Response("good"); } };`,
  });
  const { child, url } = await startDev(cwd);

  writeFileSync(join(cwd, "src/index.ts"), `throw new Error("init failed");\nexport default { fetch() { return new Response("bad"); } };\n`);
  const [failure] = await child.waitFor(/Reload failed[^\n]*\n[^\n]*/);

  expect(failure).toContain("the previous version keeps serving: Error: init failed");
  expect(failure).toMatch(/src\/index\.ts:1:\d+/);
  expect(await (await fetch(url)).text()).toBe("good");
  expect(child.process.exitCode).toBeNull();
});

test("dev reload keeps stored data", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig({
      kv_namespaces: [{ binding: "KV", id: "reload-kv" }],
      d1_databases: [{ binding: "DB", database_name: "reload-db", database_id: "local" }],
    }),
    "src/index.ts": `
      export default {
        async fetch(request, env) {
          if (request.method === "PUT") {
            await env.KV.put("greeting", "stored before the edit");
            await env.DB.exec("CREATE TABLE notes (text TEXT)");
            await env.DB.prepare("INSERT INTO notes VALUES (?)").bind("kept").run();
            return new Response("written");
          }
          return new Response("v1");
        },
      };`,
  });
  const { child, url } = await startDev(cwd);
  expect(await (await fetch(url, { method: "PUT" })).text()).toBe("written");

  writeFileSync(
    join(cwd, "src/index.ts"),
    `export default {
      async fetch(request, env) {
        const note = await env.DB.prepare("SELECT text FROM notes").first("text");
        return Response.json({ kv: await env.KV.get("greeting"), note });
      },
    };`,
  );
  await child.waitFor(/Reloaded test-worker/);

  expect(await (await fetch(url)).json()).toEqual({ kv: "stored before the edit", note: "kept" });
});

test("dev serves edge-case requests", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig(),
    "src/index.ts": `
      export default {
        async fetch(request) {
          const path = new URL(request.url).pathname;
          if (path === "/hang") return new Promise(() => {});
          if (path === "/text") return "not a response";
          if (path === "/echo") return new Response(String((await request.arrayBuffer()).byteLength));
          if (path === "/stream") {
            let sent = 0;
            return new Response(new ReadableStream({
              async pull(controller) {
                if (sent === 3) return controller.close();
                sent += 1;
                controller.enqueue(new TextEncoder().encode("chunk " + sent + "\\n"));
                await Bun.sleep(5);
              },
            }));
          }
          return new Response("body", { headers: { "x-route": "root" } });
        },
      };`,
  });
  const { url } = await startDev(cwd);

  // A handler that never settles holds only its own request.
  const hung = fetch(new URL("/hang", url), { signal: AbortSignal.timeout(200) });
  expect(await (await fetch(url)).text()).toBe("body");
  await expect(hung).rejects.toThrow();

  const wrongType = await fetch(new URL("/text", url));
  expect(wrongType.status).toBe(500);
  expect(await wrongType.text()).toStartWith(
    "TypeError: Incorrect type for Promise: the Promise did not resolve to 'Response'.",
  );

  const eightMiB = new Uint8Array(8 * 1024 * 1024);
  expect(await (await fetch(new URL("/echo", url), { method: "POST", body: eightMiB })).text()).toBe(String(eightMiB.byteLength));

  expect(await (await fetch(new URL("/stream", url))).text()).toBe("chunk 1\nchunk 2\nchunk 3\n");

  const head = await fetch(url, { method: "HEAD" });
  expect(head.status).toBe(200);
  expect(head.headers.get("x-route")).toBe("root");
  expect(await head.text()).toBe("");
});

test("dev upgrades WebSocket connections", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig(),
    "src/index.ts": `
      export default {
        fetch(request) {
          const [client, server] = Object.values(new WebSocketPair());
          server.accept();
          server.addEventListener("message", (event) => server.send("echo " + event.data));
          return new Response(null, { status: 101, webSocket: client });
        },
      };`,
  });
  const { url } = await startDev(cwd);

  const socket = new WebSocket(url.replace("http:", "ws:"));
  const reply = new Promise<string>((resolve, reject) => {
    socket.addEventListener("message", (event) => resolve(String(event.data)));
    socket.addEventListener("error", () => reject(new Error("WebSocket connection failed")));
  });
  socket.addEventListener("open", () => socket.send("hello"));

  expect(await reply).toBe("echo hello");
  socket.close();
});

test("register serves the default export once", async () => {
  const port = freePort();
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig({ vars: { GREETING: "registered" } }),
    "src/index.ts": `
      import { env } from "cloudflare:workers";
      await new Promise((resolve) => setTimeout(resolve, 20));
      export default {
        fetch(request, handlerEnv, ctx) {
          return Response.json({
            args: [request instanceof Request, typeof handlerEnv, typeof ctx?.waitUntil],
            same: env === handlerEnv,
            greeting: handlerEnv.GREETING,
            colo: request.cf?.colo,
          });
        },
      };`,
  });

  const child = spawnBun(["--preload", REGISTER, "./src/index.ts"], cwd, { BUNFLARE_PORT: String(port) });
  await child.waitFor(/Ready on http:\/\/127\.0\.0\.1:\d+\//);
  const response = await fetchWhenListening(`http://127.0.0.1:${port}/hello`);
  const body = await response.json();

  expect(body).toEqual({ args: [true, "object", "function"], same: true, greeting: "registered", colo: "DFW" });
  await child.waitFor(/GET \/hello 200 OK/);
  expect(child.count(/GET \/hello 200/)).toBe(1);
  // Bun's own default-export server would listen on 3000 if it had started unhooked.
  expect(child.output).not.toContain(":3000");
});

test("register prints one ready line", async () => {
  const port = freePort();
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig(),
    "src/index.ts": `
      console.debug("debug from the worker");
      export default { fetch() { return new Response("ok"); } };`,
  });

  const child = spawnBun(["--preload", REGISTER, "./src/index.ts"], cwd, { BUNFLARE_PORT: String(port) });
  await child.waitFor(/Ready on/);
  expect(await (await fetchWhenListening(`http://127.0.0.1:${port}/`)).text()).toBe("ok");
  await child.waitFor(/GET \/ 200 OK/);

  expect(child.output).toContain(`Ready on http://127.0.0.1:${port}/ worker=test-worker\n`);
  expect(child.output).not.toContain("Started server");
  expect(child.count(/127\.0\.0\.1:\d+/)).toBe(1);
  expect(child.output).toContain("debug from the worker");
});

test("register serves a WorkerEntrypoint class", async () => {
  const port = freePort();
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig({ vars: { GREETING: "class" } }),
    "src/index.ts": `
      import { WorkerEntrypoint } from "cloudflare:workers";
      export default class extends WorkerEntrypoint {
        fetch(request) { return Response.json({ greeting: this.env.GREETING, ctx: typeof this.ctx.waitUntil }); }
      }`,
  });

  const child = spawnBun(["--preload", REGISTER, "./src/index.ts"], cwd, { BUNFLARE_PORT: String(port) });
  await child.waitFor(/Ready on/);

  expect(await (await fetchWhenListening(`http://127.0.0.1:${port}/`)).json()).toEqual({ greeting: "class", ctx: "function" });
});

test("dev survives an async throw", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig(),
    "src/index.ts": `
      export default {
        fetch(request) {
          if (new URL(request.url).pathname === "/later") setTimeout(() => { throw new Error("timer failed"); }, 0);
          return new Response("alive");
        },
      };`,
  });
  const { child, url } = await startDev(cwd);

  await fetch(new URL("/later", url));
  await child.waitFor(/Uncaught exception: Error: timer failed/);

  expect(await (await fetch(url)).text()).toBe("alive");
});

test("register rejects a frozen default export", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig(),
    "src/index.ts": `export default Object.freeze({ fetch() { return new Response("frozen"); } });`,
  });

  const child = spawnBun(["--preload", REGISTER, "./src/index.ts"], cwd, { BUNFLARE_PORT: String(freePort()) });
  const exitCode = await child.process.exited;
  await Bun.sleep(20);

  expect(exitCode).toBe(1);
  expect(child.output).toContain(`is frozen, so bunflare cannot route Bun's server through env and ctx. Export a plain object.`);
});
