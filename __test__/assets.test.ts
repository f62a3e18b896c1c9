import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { AssetServer } from "../lib/assets/server.ts";
import { parseHeaders, parseRedirects, MAX_HEADER_RULES } from "../lib/assets/rules.ts";
import type { HtmlHandling, NotFoundHandling } from "../lib/assets/resolve.ts";
import { startWorker, type WorkerHandle } from "../lib/index.ts";
import { workerDir, wranglerConfig } from "./fixtures.ts";

const SITE: Record<string, string> = {
  "index.html": "root index",
  "about.html": "about page",
  "blog/index.html": "blog index",
  "style.css": "body { color: red }",
  "404.html": "root 404",
  "sub/404.html": "sub 404",
  "data.json": JSON.stringify({ text: "x".repeat(2000) }),
};

/** Creates `assets/` holding `files` inside a fresh temp directory, with a secret file beside it. */
function siteDir(files: Record<string, string> = SITE): string {
  const root = mkdtempSync(join(tmpdir(), "bunflare-assets-"));
  writeFileSync(join(root, "secret.txt"), "top secret");
  const dir = join(root, "assets");
  for (const [path, contents] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), contents);
  }
  return dir;
}

function server(
  htmlHandling: HtmlHandling = "auto-trailing-slash",
  notFoundHandling: NotFoundHandling = "none",
  directory = siteDir(),
): AssetServer {
  return new AssetServer({ directory, htmlHandling, notFoundHandling, navigationPrefersAssets: true });
}

/**
 * Resolves once `check` returns `expected`, polling for up to two seconds,
 * because file changes reach the server through a directory watcher.
 */
async function eventually<T>(check: () => Promise<T> | T, expected: T): Promise<T> {
  let value = await check();
  for (let attempt = 0; attempt < 200 && value !== expected; attempt++) {
    await Bun.sleep(10);
    value = await check();
  }
  return value;
}

/** Fetches `path` through the binding and summarizes the response as "200 body", "307 /to" or "404". */
async function outcome(assets: AssetServer, path: string, init?: RequestInit): Promise<string> {
  const response = assets.fetch(new Request(`http://localhost${path}`, init));
  if (response.status >= 300 && response.status < 400) return `${response.status} ${response.headers.get("location")}`;
  if (response.status === 404 && (await response.clone().text()) === "Not Found") return "404";
  return `${response.status} ${await response.text()}`;
}

const HTML_HANDLING_TABLE: Record<HtmlHandling, [string, string][]> = {
  "auto-trailing-slash": [
    ["/", "200 root index"],
    ["/index.html", "307 /"],
    ["/index", "307 /"],
    ["/about", "200 about page"],
    ["/about.html", "307 /about"],
    ["/about/", "307 /about"],
    ["/blog", "307 /blog/"],
    ["/blog/", "200 blog index"],
    ["/blog/index.html", "307 /blog/"],
    ["/blog.html", "307 /blog/"],
    ["/style.css", "200 body { color: red }"],
    ["/missing", "404"],
  ],
  "force-trailing-slash": [
    ["/", "200 root index"],
    ["/index.html", "307 /"],
    ["/about", "307 /about/"],
    ["/about/", "200 about page"],
    ["/about.html", "307 /about/"],
    ["/blog", "307 /blog/"],
    ["/blog/", "200 blog index"],
    ["/blog/index.html", "307 /blog/"],
    ["/style.css", "200 body { color: red }"],
    ["/missing/", "404"],
  ],
  "drop-trailing-slash": [
    ["/", "200 root index"],
    ["/index.html", "307 /"],
    ["/about", "200 about page"],
    ["/about/", "307 /about"],
    ["/about.html", "307 /about"],
    ["/blog", "200 blog index"],
    ["/blog/", "307 /blog"],
    ["/blog/index.html", "307 /blog"],
    ["/style.css", "200 body { color: red }"],
    ["/missing", "404"],
  ],
  none: [
    ["/", "404"],
    ["/index.html", "200 root index"],
    ["/about", "404"],
    ["/about.html", "200 about page"],
    ["/blog/", "404"],
    ["/blog/index.html", "200 blog index"],
    ["/style.css", "200 body { color: red }"],
  ],
};

describe("html_handling", () => {
  for (const [mode, table] of Object.entries(HTML_HANDLING_TABLE) as [HtmlHandling, [string, string][]][]) {
    test(`${mode} over the path table`, async () => {
      const assets = server(mode);
      for (const [path, expected] of table) {
        expect(`${path} -> ${await outcome(assets, path)}`).toBe(`${path} -> ${expected}`);
      }
    });
  }

  test("redirect keeps the query string", async () => {
    expect(await outcome(server(), "/about.html?x=1")).toBe("307 /about?x=1");
  });

  test("non-canonical encoding redirects", async () => {
    const assets = server("auto-trailing-slash", "none", siteDir({ "[id].html": "bracket page" }));
    expect(await outcome(assets, "/[id]")).toBe("307 /%5Bid%5D");
    expect(await outcome(assets, "/%5Bid%5D")).toBe("200 bracket page");
  });

  test("both foo.html and foo/index.html", async () => {
    const assets = server("force-trailing-slash", "none", siteDir({ "docs.html": "docs file", "docs/index.html": "docs folder" }));
    expect(await outcome(assets, "/docs/")).toBe("200 docs folder");
    expect(await outcome(assets, "/docs.html")).toBe("200 docs file");
  });
});

describe("not_found_handling", () => {
  const table: [NotFoundHandling, string, string][] = [
    ["none", "/nope", "404"],
    ["404-page", "/nope", "404 root 404"],
    ["404-page", "/sub/deep/nope", "404 sub 404"],
    ["404-page", "/other/nope", "404 root 404"],
    ["single-page-application", "/app/route", "200 root index"],
    ["single-page-application", "/style.css", "200 body { color: red }"],
  ];
  for (const [mode, path, expected] of table) {
    test(`${mode} for ${path}`, async () => {
      expect(await outcome(server("auto-trailing-slash", mode), path)).toBe(expected);
    });
  }

  test("404-page without any 404.html", async () => {
    const assets = server("auto-trailing-slash", "404-page", siteDir({ "index.html": "x" }));
    expect(await outcome(assets, "/nope")).toBe("404");
  });
});

describe("traversal", () => {
  const attempts = [
    "/..%2fsecret.txt",
    "/..%2F..%2Fsecret.txt",
    "/%2e%2e/secret.txt",
    "/%2e%2e%2fsecret.txt",
    "/blog/..%2f..%2fsecret.txt",
    "/..%5csecret.txt",
    "/..%255csecret.txt",
    "/..%252fsecret.txt",
    "/%00secret.txt",
    "/.%2e/secret.txt",
    "/_headers",
    "/_redirects",
  ];
  for (const attempt of attempts) {
    test(`rejects ${attempt}`, async () => {
      const dir = siteDir();
      writeFileSync(join(dir, "_headers"), "/*\n  X-Test: 1\n");
      writeFileSync(join(dir, "_redirects"), "/never /here\n");
      const response = server("none", "none", dir).fetch(new Request(`http://localhost${attempt}`));
      expect(response.status).toBe(404);
      const body = await response.text();
      expect(body).not.toContain("top secret");
      expect(body).not.toContain("X-Test");
    });
  }

  test("locate refuses dot segments", () => {
    const assets = server();
    for (const path of ["/../secret.txt", "/a/../../secret.txt", "/./index.html", "/a\\..\\b", "relative"]) {
      expect(assets.files.locate(path)).toBeNull();
    }
  });
});

describe("responses", () => {
  test("content type and ETag", async () => {
    const assets = server();
    const css = assets.fetch(new Request("http://localhost/style.css"));
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(css.headers.get("etag")).toMatch(/^"[0-9a-f]{16}"$/);
    expect(css.headers.get("cache-control")).toBe("public, max-age=0, must-revalidate");
    const html = assets.fetch(new Request("http://localhost/about"));
    expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8");
  });

  test("If-None-Match gives 304", async () => {
    const assets = server();
    const etag = assets.fetch(new Request("http://localhost/style.css")).headers.get("etag")!;
    for (const tag of [etag, `W/${etag}`, "*"]) {
      const response = assets.fetch(new Request("http://localhost/style.css", { headers: { "if-none-match": tag } }));
      expect(response.status).toBe(304);
      expect(response.headers.get("etag")).toBe(etag);
    }
    const other = assets.fetch(new Request("http://localhost/style.css", { headers: { "if-none-match": '"other"' } }));
    expect(other.status).toBe(200);
  });

  test("Range gives 206 and 416", async () => {
    const assets = server();
    const part = assets.fetch(new Request("http://localhost/style.css", { headers: { range: "bytes=0-3" } }));
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 0-3/${SITE["style.css"]!.length}`);
    expect(part.headers.get("cache-control")).toBeNull();
    expect(await part.text()).toBe("body");

    const beyond = assets.fetch(new Request("http://localhost/style.css", { headers: { range: "bytes=999-" } }));
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("content-range")).toBe(`bytes */${SITE["style.css"]!.length}`);
  });

  test("HEAD has headers only", async () => {
    const response = server().fetch(new Request("http://localhost/style.css", { method: "HEAD" }));
    expect(response.status).toBe(200);
    expect(response.headers.get("etag")).not.toBeNull();
    expect(await response.text()).toBe("");
  });

  test("POST to an asset is 405", async () => {
    expect(await outcome(server(), "/style.css", { method: "POST" })).toBe("405 Method Not Allowed");
  });

  test("compression follows Accept-Encoding", async () => {
    const assets = server();
    const request = (encoding: string) =>
      new Request("http://localhost/data.json", { headers: { "accept-encoding": encoding } });

    const gzip = assets.serve(request("gzip, deflate"), { compress: true, notFoundFallback: true })!;
    expect(gzip.headers.get("content-encoding")).toBe("gzip");
    expect(gzip.headers.get("etag")).toStartWith('W/"');
    expect(gzip.headers.get("vary")).toBe("Accept-Encoding");
    expect(new TextDecoder().decode(gunzipSync(new Uint8Array(await gzip.arrayBuffer())))).toBe(SITE["data.json"]!);

    const br = assets.serve(request("gzip, br"), { compress: true, notFoundFallback: true })!;
    expect(br.headers.get("content-encoding")).toBe("br");

    const refused = assets.serve(request("br;q=0, identity"), { compress: true, notFoundFallback: true })!;
    expect(refused.headers.get("content-encoding")).toBeNull();

    const binding = assets.fetch(request("gzip"));
    expect(binding.headers.get("content-encoding")).toBeNull();
  });

  test("changed files are served at once", async () => {
    const dir = siteDir();
    const assets = server("auto-trailing-slash", "none", dir);
    const first = assets.fetch(new Request("http://localhost/style.css"));
    await first.text();

    writeFileSync(join(dir, "style.css"), "body { color: blue; }");
    expect(await eventually(() => outcome(assets, "/style.css"), "200 body { color: blue; }")).toBe("200 body { color: blue; }");
    const second = assets.fetch(new Request("http://localhost/style.css"));
    expect(second.headers.get("etag")).not.toBe(first.headers.get("etag"));

    writeFileSync(join(dir, "new.html"), "added later");
    expect(await eventually(() => outcome(assets, "/new"), "200 added later")).toBe("200 added later");
    rmSync(join(dir, "new.html"));
    expect(await eventually(() => outcome(assets, "/new"), "404")).toBe("404");
  });
});

describe("_headers", () => {
  const HEADERS = [
    "# comment",
    "/*",
    "  X-Frame-Options: DENY",
    "  X-Multi: one",
    "/blog/*",
    "  X-Multi: two",
    "  ! X-Frame-Options",
    "/about/:name",
    "  X-Name: :name",
    "https://:sub.example.com/*",
    "  X-Sub: :sub",
  ].join("\n");

  test("rules set, append and unset", async () => {
    const dir = siteDir();
    writeFileSync(join(dir, "_headers"), HEADERS);
    const assets = server("auto-trailing-slash", "none", dir);

    const root = assets.fetch(new Request("http://localhost/style.css"));
    expect(root.headers.get("x-frame-options")).toBe("DENY");
    expect(root.headers.get("x-multi")).toBe("one");

    const blog = assets.fetch(new Request("http://localhost/blog/"));
    expect(blog.headers.get("x-frame-options")).toBeNull();
    expect(blog.headers.get("x-multi")).toBe("one, two");
  });

  test("placeholders and hosts substitute", async () => {
    const dir = siteDir({ "about/me.html": "me" });
    writeFileSync(join(dir, "_headers"), HEADERS);
    const assets = server("auto-trailing-slash", "none", dir);
    expect(assets.fetch(new Request("http://localhost/about/me")).headers.get("x-name")).toBe("me");
    expect(assets.fetch(new Request("http://docs.example.com/about/me")).headers.get("x-sub")).toBe("docs");
  });

  test("redirects get custom headers", async () => {
    const dir = siteDir();
    writeFileSync(join(dir, "_headers"), HEADERS);
    const response = server("auto-trailing-slash", "none", dir).fetch(new Request("http://localhost/about.html"));
    expect(response.status).toBe(307);
    expect(response.headers.get("x-frame-options")).toBe("DENY");
  });

  test("edits apply without restart", async () => {
    const dir = siteDir();
    const assets = server("auto-trailing-slash", "none", dir);
    expect(assets.fetch(new Request("http://localhost/style.css")).headers.get("x-late")).toBeNull();
    writeFileSync(join(dir, "_headers"), "/*\n  X-Late: yes\n");
    const header = () => assets.fetch(new Request("http://localhost/style.css")).headers.get("x-late");
    expect(await eventually(header, "yes")).toBe("yes");
  });

  test("invalid lines are reported", () => {
    const parsed = parseHeaders(["  X-Orphan: 1", "/ok", "  no colon here", "  !", "/x", `  X-Long: ${"a".repeat(2000)}`].join("\n"));
    expect(parsed.rules.length).toBe(2);
    expect(parsed.invalid).toEqual([
      "line 1: a header must follow a path",
      'line 3: expected "Name: value"',
      'line 4: "!" must be followed by a header name',
      "line 6: longer than 2000 characters",
    ]);
  });

  test("rule count limit", () => {
    const text = Array.from({ length: MAX_HEADER_RULES + 1 }, (_, index) => `/p${index}\n  X-A: 1`).join("\n");
    const parsed = parseHeaders(text);
    expect(parsed.rules.length).toBe(MAX_HEADER_RULES);
    expect(parsed.invalid).toEqual([`line ${MAX_HEADER_RULES * 2 + 1}: more than ${MAX_HEADER_RULES} rules`]);
  });
});

describe("_redirects", () => {
  const REDIRECTS = [
    "/old /about 301",
    "/temp /about",
    "/go https://example.com/target?from=site",
    "/blog/* /posts/:splat 308",
    "/users/:id /profiles/:id/view",
    "/rewrite /about 200",
    "/rewrite-missing /nothing 200",
  ].join("\n");

  function redirecting(): AssetServer {
    const dir = siteDir();
    writeFileSync(join(dir, "_redirects"), REDIRECTS);
    return server("auto-trailing-slash", "none", dir);
  }

  const table: [string, string][] = [
    ["/old", "301 /about"],
    ["/temp", "302 /about"],
    ["/temp?q=1", "302 /about?q=1"],
    ["/go", "302 https://example.com/target?from=site"],
    ["/blog/2024/post", "308 /posts/2024/post"],
    ["/users/42", "302 /profiles/42/view"],
    ["/rewrite", "200 about page"],
    ["/rewrite-missing", "404"],
  ];
  for (const [path, expected] of table) {
    test(`${path} -> ${expected}`, async () => {
      expect(await outcome(redirecting(), path)).toBe(expected);
    });
  }

  test("invalid lines are reported", () => {
    const parsed = parseRedirects(
      ["/a", "/b /c 404", "b /c", "/q?x=1 /c", "/p https://example.com 200", "/d /e", "/d /f", "/x /y 301 extra"].join("\n"),
    );
    expect(parsed.rules.map((rule) => rule.from)).toEqual(["/d"]);
    expect(parsed.invalid).toEqual([
      'line 1: expected "/from /to [status]"',
      "line 2: status 404 is not one of 200, 301, 302, 303, 307, 308",
      'line 3: the source must start with "/" or "https://"',
      "line 4: the source may not contain a query string",
      "line 5: a 200 rewrite must point to a path, not a URL",
      "line 7: /d already has a rule; the first one applies",
      'line 8: expected "/from /to [status]"',
    ]);
  });

  test("dynamic rule limit", () => {
    const text = Array.from({ length: 101 }, (_, index) => `/d${index}/* /x`).join("\n");
    const parsed = parseRedirects(text);
    expect(parsed.rules.length).toBe(100);
    expect(parsed.invalid).toEqual(["line 101: more than 100 dynamic rules"]);
  });
});

describe("routing through the dev server", () => {
  const handles: WorkerHandle[] = [];
  afterEach(async () => {
    for (const handle of handles.splice(0)) await handle.stop();
  });

  async function start(files: Record<string, string>, assets: Record<string, unknown>, main = true) {
    const config = JSON.parse(wranglerConfig({ assets: { directory: "public", ...assets } }).replace(/^\/\/.*\n/, ""));
    if (!main) delete config.main;
    const cwd = workerDir({ "wrangler.jsonc": JSON.stringify(config), ...files });
    const handle = await startWorker({ cwd });
    handles.push(handle);
    return handle;
  }

  const WORKER = `
    export default {
      async fetch(request, env) {
        const url = new URL(request.url);
        if (url.pathname === "/via-binding") return env.ASSETS.fetch(new URL("/page", request.url));
        return new Response("worker " + url.pathname);
      },
    };`;

  test("assets first, then the Worker", async () => {
    const handle = await start({ "src/index.ts": WORKER, "public/page.html": "asset page" }, { binding: "ASSETS" });
    expect(await (await handle.fetch("/page")).text()).toBe("asset page");
    expect(await (await handle.fetch("/api")).text()).toBe("worker /api");
    expect(await (await handle.fetch("/via-binding")).text()).toBe("asset page");
  });

  test("run_worker_first true", async () => {
    const handle = await start({ "src/index.ts": WORKER, "public/page.html": "asset page" }, { binding: "ASSETS", run_worker_first: true });
    expect(await (await handle.fetch("/page")).text()).toBe("worker /page");
    expect(await (await handle.fetch("/via-binding")).text()).toBe("asset page");
  });

  test("run_worker_first patterns", async () => {
    const handle = await start(
      { "src/index.ts": WORKER, "public/api/doc.html": "doc", "public/api/open.html": "open" },
      { run_worker_first: ["/api/*", "!/api/open"] },
    );
    expect(await (await handle.fetch("/api/doc")).text()).toBe("worker /api/doc");
    expect(await (await handle.fetch("/api/open")).text()).toBe("open");
  });

  test("SPA fallback only for navigation", async () => {
    const handle = await start(
      { "src/index.ts": WORKER, "public/index.html": "spa shell" },
      { not_found_handling: "single-page-application" },
    );
    expect(await (await handle.fetch("/route")).text()).toBe("worker /route");
    const navigation = await handle.fetch("/route", { headers: { "sec-fetch-mode": "navigate" } });
    expect(await navigation.text()).toBe("spa shell");
  });

  test("assets-only Worker", async () => {
    const handle = await start({ "public/index.html": "only assets" }, { not_found_handling: "404-page" }, false);
    expect(await (await handle.fetch("/")).text()).toBe("only assets");
    const missing = await handle.fetch("/missing");
    expect(missing.status).toBe(404);
  });

  test("compression over HTTP", async () => {
    const handle = await start({ "src/index.ts": WORKER, "public/big.txt": "hello ".repeat(1000) }, {});
    const response = await fetch(new URL("/big.txt", handle.url), { headers: { "accept-encoding": "gzip" }, decompress: false } as RequestInit);
    expect(response.headers.get("content-encoding")).toBe("gzip");
  });

  test("invalid html_handling fails start", async () => {
    const cwd = workerDir({ "wrangler.jsonc": wranglerConfig({ assets: { directory: "public", html_handling: "sometimes" } }), "src/index.ts": WORKER });
    await expect(startWorker({ cwd })).rejects.toThrow(
      `"assets.html_handling" must be one of "auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash", "none", got "sometimes"`,
    );
  });

  test("invalid run_worker_first fails start", async () => {
    const cwd = workerDir({ "wrangler.jsonc": wranglerConfig({ assets: { directory: "public", run_worker_first: ["api/*"] } }), "src/index.ts": WORKER });
    await expect(startWorker({ cwd })).rejects.toThrow(`"assets.run_worker_first[0]" must start with "/" or "!/", got "api/*"`);
  });

  test("skipped rules are logged", async () => {
    const warn = spyOn(console, "error").mockImplementation(() => {});
    try {
      const handle = await start({ "src/index.ts": WORKER, "public/page.html": "p", "public/_redirects": "/bad\n" }, {});
      await handle.fetch("/page");
      expect(warn.mock.calls.some((call) => String(call[0]).includes('Skipped an invalid rule in _redirects: line 1: expected "/from /to [status]"'))).toBe(true);
    } finally {
      warn.mockRestore();
    }
  });
});
