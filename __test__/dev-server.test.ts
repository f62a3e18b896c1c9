import { test, expect, afterEach } from "bun:test";
import { writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { pathAndQuery } from "../lib/dev/server.ts";
import { CLI, killChildren, REGISTER, fetchWhenListening, freePort, spawnBun, workerDir, wranglerConfig } from "./fixtures.ts";

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
