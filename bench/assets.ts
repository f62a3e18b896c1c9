// Compares a static asset served through `bunflare dev` (assets-only Worker,
// request log off) with a bare Bun.serve that returns the same file with
// `new Response(Bun.file(path))`. wrk drives each server over 127.0.0.1 in
// turn; each server runs in its own process. Prints requests/s and the ratio.
//
// Run: bun bench/assets.ts [seconds per server, default 5]. Needs `wrk`
// (apt-get install wrk). A full run takes about twice the given seconds plus start-up.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SECONDS = Number(process.argv[2] ?? 5);
const CONNECTIONS = 32;
const CLI = join(import.meta.dir, "..", "lib", "dev", "cli.ts");

/** A 10 KiB JavaScript file, the size of a small bundle chunk. */
const FILE_BODY = `console.log(${JSON.stringify("x".repeat(10 * 1024 - 20))});\n`;

/** Starts `args` with Bun and resolves with the child once it prints its URL. */
async function startServer(args: string[], cwd: string, env: Record<string, string> = {}) {
  const child = Bun.spawn([process.execPath, ...args], { cwd, env: { ...Bun.env, ...env }, stdout: "pipe", stderr: "inherit" });
  const decoder = new TextDecoder();
  let output = "";
  for await (const chunk of child.stdout) {
    output += decoder.decode(chunk);
    const match = /(?:Ready on|Listening on) (http:\/\/\S+)/.exec(output);
    if (match) return { child, url: match[1]!.replace(/\/$/, "") };
  }
  throw new Error(`server exited before it was ready:\n${output}`);
}

/** Runs wrk against `url` and returns requests per second. */
function runWrk(url: string): number {
  const result = Bun.spawnSync(["wrk", "-t1", `-c${CONNECTIONS}`, `-d${SECONDS}s`, url]);
  const text = result.stdout.toString();
  const match = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!match) throw new Error(`wrk printed no rate:\n${text}${result.stderr.toString()}`);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  if (errors) throw new Error(`wrk saw ${errors[1]} error responses from ${url}`);
  return Number(match[1]);
}

const dir = mkdtempSync(join(tmpdir(), "bunflare-bench-assets-"));
try {
  mkdirSync(join(dir, "public"));
  writeFileSync(join(dir, "public", "app.js"), FILE_BODY);
  writeFileSync(join(dir, "wrangler.jsonc"), JSON.stringify({ name: "bench-assets", compatibility_date: "2025-06-01", assets: { directory: "public" } }));
  writeFileSync(
    join(dir, "bare.ts"),
    `const file = ${JSON.stringify(join(dir, "public", "app.js"))};
     const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response(Bun.file(file)) });
     console.log("Listening on " + server.url.href);`,
  );

  console.log(`bun ${Bun.version}, wrk -t1 -c${CONNECTIONS} -d${SECONDS}s, ${FILE_BODY.length}-byte file\n`);

  const bunflare = await startServer([CLI, "dev", "--port", "0"], dir, { BUNFLARE_LOG: "warn" });
  let bunflareRate: number;
  try {
    bunflareRate = runWrk(`${bunflare.url}/app.js`);
  } finally {
    bunflare.child.kill();
  }

  const bare = await startServer([join(dir, "bare.ts")], dir);
  let bareRate: number;
  try {
    bareRate = runWrk(`${bare.url}/app.js`);
  } finally {
    bare.child.kill();
  }

  console.log(`bunflare dev (assets)     ${Math.round(bunflareRate).toLocaleString("en-US").padStart(10)} req/s`);
  console.log(`bare Bun.serve(Bun.file)  ${Math.round(bareRate).toLocaleString("en-US").padStart(10)} req/s`);
  console.log(`\nratio (bunflare/bare): ${(bunflareRate / bareRate).toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
