import { test, expect, afterEach } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CLI, killChildren, freePort, runBun, spawnBun, workerDir, wranglerConfig } from "./fixtures.ts";

import packageJson from "../package.json" with { type: "json" };

afterEach(killChildren);

const WORKER = `export default { fetch(request, env) { return Response.json(env); } };`;

test("cli prints the version", async () => {
  const { exitCode, output } = await runBun([CLI, "--version"], workerDir({}));

  expect(output.trim()).toBe(packageJson.version);
  expect(exitCode).toBe(0);
});

test("cli help lists commands", async () => {
  const { exitCode, output } = await runBun([CLI, "--help"], workerDir({}));

  expect(output).toContain("bunflare dev");
  expect(output).toContain("bunflare kv");
  expect(output).toContain("bunflare d1");
  expect(exitCode).toBe(0);
});

test("cli help aligns command descriptions", async () => {
  const { output } = await runBun([CLI, "--help"], workerDir({}));
  const columns = output
    .split("\n")
    .filter((line) => line.startsWith("  bunflare "))
    .map((line) => line.search(/(?<=\S {2,})\S/));

  expect(columns.length).toBe(7);
  expect(new Set(columns).size).toBe(1);
});

test("cli dev help lists flags", async () => {
  const { exitCode, output } = await runBun([CLI, "dev", "--help"], workerDir({}));

  for (const flag of ["--port", "--ip", "--env", "--config", "--var", "--persist-to"]) {
    expect(output).toContain(flag);
  }
  expect(exitCode).toBe(0);
});

test("cli rejects an unknown command", async () => {
  const { exitCode, output } = await runBun([CLI, "deploy"], workerDir({}));

  expect(output.trim()).toBe(`✘ Unknown command "deploy". Run "bunflare --help" for the list of commands.`);
  expect(exitCode).toBe(1);
});

test("cli kv and d1 alone print help", async () => {
  const cwd = workerDir({});
  const kv = await runBun([CLI, "kv"], cwd);
  const d1 = await runBun([CLI, "d1"], cwd);

  expect(kv.output).toStartWith("Usage: bunflare kv key <command> [options]");
  expect(kv.exitCode).toBe(1);
  expect(d1.output).toStartWith("Usage:\n  bunflare d1 execute <database>");
  expect(d1.exitCode).toBe(1);
});

test("cli rejects an unknown flag", async () => {
  const { exitCode, output } = await runBun([CLI, "dev", "--bogus"], workerDir({}));

  expect(output.trim()).toBe(`✘ Unknown option '--bogus'. Run "bunflare dev --help" for the options.`);
  expect(exitCode).toBe(1);
});

test("cli rejects a missing config file", async () => {
  const cwd = workerDir({});
  const { exitCode, output } = await runBun([CLI, "dev", "--config", "missing.jsonc"], cwd);

  expect(output.trim()).toBe(`✘ Config file not found: ${cwd}/missing.jsonc (from --config missing.jsonc)`);
  expect(exitCode).toBe(1);
});

test("cli prints config errors without a stack", async () => {
  const cwd = workerDir({ "wrangler.jsonc": `{\n  "name": "broken",\n  "main": \n}\n` });
  const { exitCode, output } = await runBun([CLI, "dev", "--port", "0"], cwd);

  expect(output).toStartWith(`✘ wrangler.jsonc:4: column 1: invalid JSON`);
  expect(output).not.toContain("    at ");
  expect(exitCode).toBe(1);
});

test("cli rejects an unknown environment", async () => {
  const cwd = workerDir({ "wrangler.jsonc": wranglerConfig({ env: { production: {} } }), "src/index.ts": WORKER });
  const { exitCode, output } = await runBun([CLI, "dev", "--env", "staging", "--port", "0"], cwd);

  expect(output.trim()).toStartWith(`✘ No environment "staging" in wrangler.jsonc. Available environments: "production".`);
  expect(exitCode).toBe(1);
});

test("cli rejects a malformed --var", async () => {
  const cwd = workerDir({ "wrangler.jsonc": wranglerConfig(), "src/index.ts": WORKER });
  const { exitCode, output } = await runBun([CLI, "dev", "--var", "NOVALUE"], cwd);

  expect(output.trim()).toBe(`✘ Invalid --var "NOVALUE": expected KEY:VALUE`);
  expect(exitCode).toBe(1);
});

test("cli rejects an invalid port", async () => {
  const cwd = workerDir({ "wrangler.jsonc": wranglerConfig(), "src/index.ts": WORKER });
  const { exitCode, output } = await runBun([CLI, "dev", "--port", "99999"], cwd);

  expect(output.trim()).toBe(`✘ Invalid --port "99999": expected an integer from 0 to 65535`);
  expect(exitCode).toBe(1);
});

test("cli reports a port in use", async () => {
  const cwd = workerDir({ "wrangler.jsonc": wranglerConfig(), "src/index.ts": WORKER });
  const blocker = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  try {
    const { exitCode, output } = await runBun([CLI, "dev", "--port", String(blocker.port)], cwd);

    expect(output).toContain(
      `✘ Port ${blocker.port} on 127.0.0.1 is already in use. Pass --port with another port, or 0 for a free one.\n`,
    );
    expect(exitCode).toBe(1);
  } finally {
    blocker.stop(true);
  }
});

test("cli dev rejects a port another dev server holds", async () => {
  const port = String(freePort());
  const cwd = workerDir({ "wrangler.jsonc": wranglerConfig(), "src/index.ts": WORKER });
  const first = spawnBun([CLI, "dev", "--port", port], cwd);
  await first.waitFor(/Ready on/);

  const second = await runBun([CLI, "dev", "--port", port], cwd);

  expect(second.output).toContain(`✘ Port ${port} on 127.0.0.1 is already in use.`);
  expect(second.output).not.toContain("Ready on");
  expect(second.exitCode).toBe(1);
});

test("cli dev prints bindings with secrets hidden", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig({ vars: { PUBLIC: "visible" } }),
    ".dev.vars": `API_TOKEN=very-secret-value\n`,
    "src/index.ts": WORKER,
  });
  const child = spawnBun([CLI, "dev", "--port", "0", "--var", "EXTRA:from:flag"], cwd);
  const [, url] = await child.waitFor(/Ready on (http:\/\/127\.0\.0\.1:\d+\/)/);
  const env = await (await fetch(url!)).json();

  expect(child.output).toContain("Your Worker has access to the following bindings:");
  expect(child.output).toMatch(/env\.PUBLIC \("visible"\)\s+Environment Variable/);
  expect(child.output).toMatch(/env\.API_TOKEN \("\(hidden\)"\)\s+Environment Variable/);
  expect(child.output).toMatch(/env\.EXTRA \("from:flag"\)\s+Environment Variable/);
  expect(child.output).not.toContain("very-secret-value");
  expect(env).toEqual({ PUBLIC: "visible", API_TOKEN: "very-secret-value", EXTRA: "from:flag" });
});

test("cli d1 names the environment of a database", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig({
      d1_databases: [{ binding: "DB", database_name: "appdb" }],
      env: {
        staging: { d1_databases: [{ binding: "DB", database_name: "appdb-staging" }] },
        qa: { d1_databases: [{ binding: "QA_DB", database_name: "appdb-qa" }] },
      },
    }),
    "src/index.ts": WORKER,
  });

  const other = await runBun([CLI, "d1", "execute", "appdb-staging", "--command", "SELECT 1"], cwd);
  const topLevel = await runBun([CLI, "d1", "execute", "appdb", "--env", "qa", "--command", "SELECT 1"], cwd);
  const nowhere = await runBun([CLI, "d1", "execute", "appdb-prod", "--command", "SELECT 1"], cwd);

  expect(other.output).toContain(
    "✘ Couldn't find a D1 DB with the name or binding 'appdb-staging' in your config file. Configured bindings: DB. " +
      "It is defined in env.staging; pass --env staging.",
  );
  expect(other.exitCode).toBe(1);
  expect(topLevel.output).toContain("Configured bindings: QA_DB. It is defined at the top level; run without --env.");
  expect(topLevel.exitCode).toBe(1);
  expect(nowhere.output).toContain("Couldn't find a D1 DB with the name or binding 'appdb-prod' in your config file. Configured bindings: DB.\n");
  expect(nowhere.exitCode).toBe(1);
});

test("cli names secret files for dev only", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig({ d1_databases: [{ binding: "DB", database_name: "appdb" }] }),
    ".dev.vars": `TOKEN=secret\n`,
    "src/index.ts": WORKER,
  });

  const execute = await runBun([CLI, "d1", "execute", "appdb", "--command", "SELECT 1"], cwd);
  const dev = spawnBun([CLI, "dev", "--port", "0"], cwd);
  await dev.waitFor(/Ready on/);

  expect(execute.exitCode).toBe(0);
  expect(execute.output).not.toContain("Using secrets");
  expect(dev.output).toContain("Using secrets defined in .dev.vars\n");
});

test("cli dev takes an entry script", async () => {
  const cwd = workerDir({
    "w.jsonc": wranglerConfig({ vars: { FROM: "config" } }),
    "src/index.ts": `export default { fetch() { return new Response("main"); } };`,
    "src/other.ts": `export default { fetch(request, env) { return new Response("other " + env.FROM); } };`,
  });
  const child = spawnBun([CLI, "dev", "-c", "w.jsonc", "src/other.ts", "--port", "0"], cwd);
  const [, url] = await child.waitFor(/Ready on (http:\/\/127\.0\.0\.1:\d+\/)/);

  expect(await (await fetch(url!)).text()).toBe("other config");
});

test("cli dev rejects two scripts", async () => {
  const cwd = workerDir({ "wrangler.jsonc": wranglerConfig(), "src/index.ts": WORKER });
  const { exitCode, output } = await runBun([CLI, "dev", "src/index.ts", "src/other.ts"], cwd);

  expect(output.trim()).toBe(`✘ Expected at most one entry script, got 2: src/index.ts src/other.ts. Run "bunflare dev --help" for the options.`);
  expect(exitCode).toBe(1);
});

test("cli dev rejects a missing script", async () => {
  const cwd = workerDir({ "wrangler.jsonc": wranglerConfig(), "src/index.ts": WORKER });
  const { exitCode, output } = await runBun([CLI, "dev", "src/missing.ts"], cwd);

  expect(output.trim()).toBe(`✘ Entry script not found: ${cwd}/src/missing.ts`);
  expect(exitCode).toBe(1);
});

test("cli dev uses --env, --ip and --port", async () => {
  const port = freePort();
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig({ vars: { STAGE: "top" }, env: { staging: { vars: { STAGE: "staging" } } } }),
    "src/index.ts": WORKER,
  });
  const child = spawnBun([CLI, "dev", "--env", "staging", "--ip", "127.0.0.1", "--port", String(port)], cwd);
  await child.waitFor(/Ready on/);

  expect(child.output).toContain(`Ready on http://127.0.0.1:${port}/`);
  expect(await (await fetch(`http://127.0.0.1:${port}/`)).json()).toEqual({ STAGE: "staging" });
});

test("cli dev --persist-to moves local state", async () => {
  const cwd = workerDir({ "wrangler.jsonc": wranglerConfig(), "src/index.ts": WORKER });
  const child = spawnBun([CLI, "dev", "--port", "0", "--persist-to", "state"], cwd);
  await child.waitFor(/Ready on/);

  expect(child.output).toContain(`Local state in ${cwd}/state`);
});

test("cli reports a failed build", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig({ build: { command: "exit 3" } }),
    "src/index.ts": WORKER,
  });
  const { exitCode, output } = await runBun([CLI, "dev", "--port", "0"], cwd);

  expect(output).toContain(`✘ Custom build \`exit 3\` failed with exit code 3 (in ${cwd}); its output is above`);
  expect(output).not.toContain("    at ");
  expect(exitCode).toBe(1);
});

test("cli commands share state with a busy dev server", async () => {
  const cwd = workerDir({
    "wrangler.jsonc": wranglerConfig({
      kv_namespaces: [{ binding: "KV", id: "shared-kv" }],
      d1_databases: [{ binding: "DB", database_name: "shared-db", database_id: "local" }],
    }),
    "src/index.ts": `
      export default {
        async fetch(request, env) {
          const url = new URL(request.url);
          if (url.pathname === "/setup") {
            await env.DB.exec("CREATE TABLE events (source TEXT NOT NULL)");
            return new Response("ready");
          }
          if (url.pathname === "/write") {
            const name = url.searchParams.get("name");
            await env.DB.batch([env.DB.prepare("INSERT INTO events (source) VALUES (?)").bind(name)]);
            await env.DB.prepare("INSERT INTO events (source) VALUES (?)").bind(name + "-single").run();
            await env.KV.put(name, "from the server");
            return new Response("written");
          }
          const count = (like) => env.DB.prepare("SELECT count(*) AS n FROM events WHERE source LIKE ?").bind(like).first("n");
          let keys = 0;
          for (let cursor; ; ) {
            const page = await env.KV.list({ cursor });
            keys += page.keys.length;
            if (page.list_complete) break;
            cursor = page.cursor;
          }
          return Response.json({ server: await count("server-%"), cli: await count("cli-%"), keys });
        },
      };`,
  });
  const child = spawnBun([CLI, "dev", "--port", "0", "--persist-to", "state"], cwd);
  const [, url] = await child.waitFor(/Ready on (http:\/\/127\.0\.0\.1:\d+\/)/);
  expect(await (await fetch(new URL("/setup", url))).text()).toBe("ready");

  // Four clients write through the server for as long as the CLI commands run.
  let running = true;
  const statuses: number[] = [];
  const clients = Array.from({ length: 4 }, async (_, client) => {
    for (let request = 0; running; request++) {
      const response = await fetch(new URL(`/write?name=server-${client}-${request}`, url), { method: "POST" });
      statuses.push(response.status);
      await response.text();
    }
  });

  const cliRuns = 5;
  for (let run = 0; run < cliRuns; run++) {
    const d1 = await runBun(
      [CLI, "d1", "execute", "shared-db", "--persist-to", "state", "--command", `INSERT INTO events (source) VALUES ('cli-${run}')`],
      cwd,
    );
    expect(d1.output).not.toContain("✘");
    expect(d1.exitCode).toBe(0);
    const kv = await runBun([CLI, "kv", "key", "put", "--binding", "KV", "--persist-to", "state", `cli-${run}`, "from the cli"], cwd);
    expect(kv.output).not.toContain("✘");
    expect(kv.exitCode).toBe(0);
  }
  running = false;
  await Promise.all(clients);

  expect(statuses.length).toBeGreaterThan(0);
  expect(statuses.filter((status) => status !== 200)).toEqual([]);
  const counts = await (await fetch(new URL("/count", url))).json();
  expect(counts).toEqual({ server: 2 * statuses.length, cli: cliRuns, keys: statuses.length + cliRuns });
  expect(child.output).not.toContain("SQLITE_BUSY");
  expect(child.output).not.toContain("Uncaught");
}, 30_000);

/** One run of each config-reading command, against bindings that exist only in the config's "staging" environment. */
const CONFIG_COMMANDS: [string, string[]][] = [
  ["cache", ["cache", "purge"]],
  ["queues", ["queues", "list"]],
  ["r2", ["r2", "object", "list", "photos"]],
  ["workflows", ["workflows", "list"]],
  ["kv", ["kv", "key", "list", "--binding", "CACHE"]],
  ["d1", ["d1", "execute", "DB", "--command", "SELECT 1"]],
];

/** Creates a project whose config sits in app/, so a command finds it only through -c. */
function stagingProject(): string {
  const staging = {
    kv_namespaces: [{ binding: "CACHE", id: "cache" }],
    d1_databases: [{ binding: "DB", database_name: "db", database_id: "db" }],
    r2_buckets: [{ binding: "PHOTOS", bucket_name: "photos" }],
    queues: { producers: [{ binding: "JOBS", queue: "jobs" }] },
    workflows: [{ binding: "FLOW", name: "flow", class_name: "Flow" }],
  };
  return workerDir({
    "app/wrangler.jsonc": wranglerConfig({ env: { staging } }),
    "app/src/index.ts": WORKER,
  });
}

for (const [name, args] of CONFIG_COMMANDS) {
  for (const [config, env] of [["-c", "-e"], ["--config", "--env"]]) {
    test(`cli ${name} takes ${config}, ${env} and --persist-to`, async () => {
      const cwd = stagingProject();
      const { exitCode, output } = await runBun(
        [CLI, ...args, config!, "app/wrangler.jsonc", env!, "staging", "--persist-to", "state"],
        cwd,
      );

      expect(output).not.toContain("✘");
      expect(exitCode).toBe(0);
      expect(existsSync(join(cwd, "state"))).toBe(true);
      expect(existsSync(join(cwd, "app", ".bunflare"))).toBe(false);
    });
  }

  test(`cli ${name} help lists the config flags`, async () => {
    const cwd = workerDir({ "wrangler.jsonc": wranglerConfig(), "src/index.ts": WORKER });
    const { exitCode, output } = await runBun([CLI, ...args.slice(0, 1), "--help"], cwd);

    for (const flag of ["-c, --config <path>", "-e, --env <name>", "--persist-to <dir>"]) {
      expect(output).toContain(flag);
    }
    expect(exitCode).toBe(0);
  });
}

test("cli workflows describe names a missing instance", async () => {
  const cwd = stagingProject();
  const { exitCode, output } = await runBun([CLI, "workflows", "instances", "describe", "flow", "nope", "-c", "app/wrangler.jsonc", "-e", "staging"], cwd);

  expect(output).toContain(`✘ [ERROR] Instance "nope" of workflow "flow" not found (instance.not_found).`);
  expect(exitCode).toBe(1);
});

test("cli workflows rejects an unknown workflow", async () => {
  const cwd = stagingProject();
  const { exitCode, output } = await runBun([CLI, "workflows", "instances", "list", "nope-flow", "-c", "app/wrangler.jsonc", "-e", "staging"], cwd);

  expect(output).toContain(`✘ [ERROR] Workflow "nope-flow" not found. Known workflows: flow.`);
  expect(exitCode).toBe(1);
});
