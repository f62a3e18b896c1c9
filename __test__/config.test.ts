import { afterEach, beforeEach, describe, expect, spyOn, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { BuildError, ConfigError, loadConfig, parseVarArgs, runBuild, warnUnsupportedBindings } from "../lib/config.ts";

/** Creates a temp project with the given files (paths relative to its root) and returns its root. */
function project(files: Record<string, string>): string {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "bunflare-config-")));
  for (const [path, text] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, text);
  }
  return root;
}

/** Lines written through console.log and console.error while `run` executes. */
function captureOutput<T>(run: () => T): { result: T; lines: string[] } {
  const lines: string[] = [];
  const record = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  const error = spyOn(console, "error").mockImplementation(record);
  const info = spyOn(console, "log").mockImplementation(record);
  try {
    return { result: run(), lines };
  } finally {
    error.mockRestore();
    info.mockRestore();
  }
}

/** Runs loadConfig and returns the ConfigError it throws. */
function configError(run: () => unknown): ConfigError {
  try {
    captureOutput(run);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

const MAIN = { "src/index.ts": "export default {};\n" };

const ENV_VARIABLES = ["CLOUDFLARE_ENV", "CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV", "CLOUDFLARE_INCLUDE_PROCESS_ENV"];
let savedEnv: Record<string, string | undefined> = {};
beforeEach(() => {
  savedEnv = Object.fromEntries(ENV_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of ENV_VARIABLES) delete process.env[name];
});
afterEach(() => {
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe("config file lookup", () => {
  test("wrangler.jsonc wins over json and toml", () => {
    const root = project({
      ...MAIN,
      "wrangler.json": `{ "name": "from-json" }`,
      "wrangler.jsonc": `{ "name": "from-jsonc" }`,
      "wrangler.toml": `name = "from-toml"`,
    });
    const config = captureOutput(() => loadConfig({ cwd: root })).result;
    expect(config.name).toBe("from-jsonc");
    expect(config.configPath).toBe(join(root, "wrangler.jsonc"));
  });

  test("wrangler.json wins over toml", () => {
    const root = project({ "wrangler.json": `{ "name": "from-json" }`, "wrangler.toml": `name = "from-toml"` });
    expect(loadConfig({ cwd: root }).name).toBe("from-json");
  });

  test("wrangler.toml alone", () => {
    const root = project({ "wrangler.toml": `name = "from-toml"` });
    const config = loadConfig({ cwd: root });
    expect(config.name).toBe("from-toml");
    expect(config.rootDir).toBe(root);
  });

  test("search goes up from cwd", () => {
    const root = project({ "wrangler.toml": `name = "parent"`, "packages/app/readme.md": "" });
    const config = loadConfig({ cwd: join(root, "packages/app") });
    expect(config.configPath).toBe(join(root, "wrangler.toml"));
    expect(config.rootDir).toBe(root);
  });

  test("--config picks a file by path", () => {
    const root = project({ "wrangler.toml": `name = "default"`, "conf/other.jsonc": `{ "name": "other", "main": "../src/index.ts" }`, ...MAIN });
    const config = loadConfig({ cwd: root, config: "conf/other.jsonc" });
    expect(config.name).toBe("other");
    expect(config.main).toBe(join(root, "src/index.ts"));
    expect(config.rootDir).toBe(join(root, "conf"));
  });

  test("--config to a missing file", () => {
    const root = project({});
    const error = configError(() => loadConfig({ cwd: root, config: "nope.toml" }));
    expect(error.message).toBe(`Config file not found: ${join(root, "nope.toml")} (from --config nope.toml)`);
  });

  test("no config and no script", () => {
    const root = project({});
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toContain(`No config file found in ${root}`);
    expect(error.message).toContain("wrangler.jsonc, wrangler.json, wrangler.toml");
  });

  test("no config with an entry script", () => {
    const root = project({ "My App/src/index.ts": "export default {};\n" });
    const cwd = join(root, "My App");
    const config = loadConfig({ cwd, script: "./src/index.ts" });
    expect(config.configPath).toBeNull();
    expect(config.userConfigPath).toBeNull();
    expect(config.name).toBe("my-app");
    expect(config.main).toBe(join(cwd, "src/index.ts"));
    expect(config.rootDir).toBe(cwd);
    expect(config.persistTo).toBe(join(cwd, ".bunflare"));
  });

  test("entry script replaces main", () => {
    const root = project({ "wrangler.toml": `main = "src/index.ts"`, ...MAIN, "src/other.ts": "" });
    expect(loadConfig({ cwd: root, script: "src/other.ts" }).main).toBe(join(root, "src/other.ts"));
  });

  test("entry script that does not exist", () => {
    const root = project({});
    const error = configError(() => loadConfig({ cwd: root, script: "src/missing.ts" }));
    expect(error.message).toBe(`Entry script not found: ${join(root, "src/missing.ts")}`);
  });
});

describe("main", () => {
  test("resolved against the config directory", () => {
    const root = project({ "wrangler.jsonc": `{ "main": "./src/index.ts" }`, ...MAIN, "src/nested/x.txt": "" });
    expect(loadConfig({ cwd: join(root, "src/nested") }).main).toBe(join(root, "src/index.ts"));
  });

  test("missing main names file, line and path", () => {
    const root = project({ "wrangler.jsonc": `{\n  "name": "x",\n  "main": "src/missing.ts"\n}\n` });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toBe(`${join(root, "wrangler.jsonc")}:3: "main" points to ${join(root, "src/missing.ts")}, which does not exist`);
    expect(error.line).toBe(3);
    expect(error.key).toBe("main");
  });

  test("absent main means null", () => {
    const root = project({ "wrangler.toml": `name = "assets-only"` });
    expect(loadConfig({ cwd: root }).main).toBeNull();
  });
});

describe("environments", () => {
  const TOML = `
name = "app"
main = "src/index.ts"
compatibility_date = "2025-01-01"
compatibility_flags = ["nodejs_compat"]

[build]
command = "echo hi"

[vars]
GREETING = "top"
LEVEL = 1

[[kv_namespaces]]
binding = "CACHE"
id = "top-cache"

[[d1_databases]]
binding = "DB"

[triggers]
crons = ["0 * * * *"]

[env.staging]

[env.prod]
name = "app-production"

[env.prod.vars]
GREETING = "prod"

[[env.prod.kv_namespaces]]
binding = "OTHER"
`;

  test("inherits name with suffix and inheritable keys", () => {
    const root = project({ "wrangler.toml": TOML, ...MAIN });
    const config = captureOutput(() => loadConfig({ cwd: root, env: "staging" })).result;
    expect(config.environment).toBe("staging");
    expect(config.name).toBe("app-staging");
    expect(config.main).toBe(join(root, "src/index.ts"));
    expect(config.compatibilityDate).toBe("2025-01-01");
    expect(config.compatibilityFlags).toEqual(["nodejs_compat"]);
    expect(config.build?.command).toBe("echo hi");
    expect(config.crons).toEqual(["0 * * * *"]);
  });

  test("does not inherit vars and bindings", () => {
    const root = project({ "wrangler.toml": TOML, ...MAIN });
    const { result: config, lines } = captureOutput(() => loadConfig({ cwd: root, env: "staging" }));
    expect(config.vars).toEqual({});
    expect(config.kvNamespaces).toEqual([]);
    expect(config.d1Databases).toEqual([]);
    expect(config.raw.vars).toBeUndefined();
    const warnings = lines.filter((line) => line.startsWith("[warn]"));
    for (const key of ["vars", "kv_namespaces", "d1_databases"]) {
      expect(warnings.some((line) => line.includes(`"${key}" is set at the top level but not in "env.staging"`))).toBe(true);
    }
  });

  test("own name and own bindings", () => {
    const root = project({ "wrangler.toml": TOML, ...MAIN });
    const { result: config, lines } = captureOutput(() => loadConfig({ cwd: root, env: "prod" }));
    expect(config.name).toBe("app-production");
    expect(config.vars).toEqual({ GREETING: "prod" });
    expect(config.kvNamespaces).toEqual([{ binding: "OTHER", id: "OTHER" }]);
    const missingBinding = lines.find((line) => line.includes(`"kv_namespaces" entries are set at the top level but not in "env.prod.kv_namespaces"`));
    expect(missingBinding).toContain("CACHE");
    const missingVar = lines.find((line) => line.includes(`"vars" entries are set at the top level but not in "env.prod.vars"`));
    expect(missingVar).toContain("LEVEL");
  });

  test("top level without --env", () => {
    const root = project({ "wrangler.toml": TOML, ...MAIN });
    const config = loadConfig({ cwd: root });
    expect(config.environment).toBeNull();
    expect(config.name).toBe("app");
    expect(config.vars).toEqual({ GREETING: "top", LEVEL: 1 });
    expect(config.kvNamespaces).toEqual([{ binding: "CACHE", id: "top-cache" }]);
  });

  test("unknown env names the available ones", () => {
    const root = project({ "wrangler.toml": TOML, ...MAIN });
    const error = configError(() => loadConfig({ cwd: root, env: "qa" }));
    expect(error.message).toContain(`No environment "qa" in ${join(root, "wrangler.toml")}`);
    expect(error.message).toContain(`Available environments: "staging", "prod"`);
  });

  test("unknown env without any declared warns", () => {
    const root = project({ "wrangler.jsonc": `{ "name": "solo", "vars": { "A": "1" } }` });
    const { result: config, lines } = captureOutput(() => loadConfig({ cwd: root, env: "qa" }));
    expect(config.name).toBe("solo-qa");
    expect(config.environment).toBe("qa");
    expect(config.vars).toEqual({ A: "1" });
    expect(lines.some((line) => line.includes(`No environment "qa" in the config`))).toBe(true);
  });

  test("CLOUDFLARE_ENV selects the env", () => {
    const root = project({ "wrangler.toml": TOML, ...MAIN });
    process.env.CLOUDFLARE_ENV = "prod";
    expect(captureOutput(() => loadConfig({ cwd: root })).result.name).toBe("app-production");
    expect(captureOutput(() => loadConfig({ cwd: root, env: "staging" })).result.name).toBe("app-staging");
  });

  test("error inside env names its path", () => {
    const root = project({
      "wrangler.jsonc": `{\n  "name": "app",\n  "env": {\n    "staging": {\n      "kv_namespaces": [{ "binding": false }]\n    }\n  }\n}\n`,
    });
    const error = configError(() => loadConfig({ cwd: root, env: "staging" }));
    expect(error.message).toBe(`${join(root, "wrangler.jsonc")}:5: "env.staging.kv_namespaces[0].binding" must be a string, got boolean`);
    expect(error.key).toBe("env.staging.kv_namespaces[0].binding");
  });

  test("missing main inherited from top level", () => {
    const root = project({ "wrangler.toml": `main = "gone.ts"\n[env.staging]\nname = "s"\n` });
    const error = configError(() => loadConfig({ cwd: root, env: "staging" }));
    expect(error.message).toBe(`${join(root, "wrangler.toml")}:1: "main" points to ${join(root, "gone.ts")}, which does not exist`);
  });
});

describe("vars", () => {
  test("keep JSON values from JSONC", () => {
    const root = project({
      "wrangler.jsonc": `{ "vars": { "S": "text", "N": 42, "B": true, "O": { "url": "x", "ids": [1, 2] }, "A": ["a"] } }`,
    });
    expect(loadConfig({ cwd: root }).vars).toEqual({ S: "text", N: 42, B: true, O: { url: "x", ids: [1, 2] }, A: ["a"] });
  });

  test("keep JSON values from TOML", () => {
    const root = project({ "wrangler.toml": `[vars]\nN = 1.5\nB = false\nO = { URL = "u", MY_ID = 123 }\n` });
    expect(loadConfig({ cwd: root }).vars).toEqual({ N: 1.5, B: false, O: { URL: "u", MY_ID: 123 } });
  });

  test("TOML date in vars", () => {
    const root = project({ "wrangler.toml": `name = "x"\n\n[vars]\nRELEASED = 2025-12-19\n` });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toBe(
      `${join(root, "wrangler.toml")}:4: "vars.RELEASED" is a TOML date, which vars do not support; quote it to make it a string`,
    );
  });

  test("vars must be an object", () => {
    const root = project({ "wrangler.json": `{\n  "vars": ["A"]\n}` });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toBe(`${join(root, "wrangler.json")}:2: "vars" must be an object, got array`);
  });

  test("--var overrides and splits at the first colon", () => {
    const root = project({ "wrangler.jsonc": `{ "vars": { "URL": "a", "N": 1 } }`, ".dev.vars": "TOKEN=file\n" });
    const config = captureOutput(() => loadConfig({ cwd: root, vars: ["URL:http://x:8080/p", "TOKEN:cli"] })).result;
    expect(config.vars).toEqual({ URL: "http://x:8080/p", N: 1, TOKEN: "cli" });
    expect(config.secretNames).toEqual([]);
  });

  test("--var as a map", () => {
    const root = project({ "wrangler.jsonc": `{ "vars": { "A": "1" } }` });
    expect(loadConfig({ cwd: root, vars: { A: "2", B: "3" } }).vars).toEqual({ A: "2", B: "3" });
  });

  test("--var without a colon", () => {
    expect(() => parseVarArgs(["NOCOLON"])).toThrow(new ConfigError(`Invalid --var "NOCOLON": expected KEY:VALUE`));
    expect(() => parseVarArgs([":value"])).toThrow(`Invalid --var ":value": expected KEY:VALUE`);
    expect(parseVarArgs(["EMPTY:"])).toEqual({ EMPTY: "" });
  });
});

describe("secrets", () => {
  const CONFIG = { "wrangler.jsonc": `{ "name": "s", "vars": { "PLAIN": "v", "TOKEN": "from-config" }, "env": { "staging": { "vars": {} } } }` };

  test(".dev.vars overrides vars and records names", () => {
    const root = project({ ...CONFIG, ".dev.vars": "TOKEN=secret-1\nAPI_KEY=secret-2\n" });
    const config = captureOutput(() => loadConfig({ cwd: root })).result;
    expect(config.vars).toEqual({ PLAIN: "v", TOKEN: "secret-1", API_KEY: "secret-2" });
    expect(config.secretNames.sort()).toEqual(["API_KEY", "TOKEN"]);
  });

  test("secret files listed, not logged", () => {
    const root = project({ ...CONFIG, ".env": "A=1\n", ".env.local": "B=2\n" });
    const { result: config, lines } = captureOutput(() => loadConfig({ cwd: root }));

    expect(config.secretFiles).toEqual([join(root, ".env"), join(root, ".env.local")]);
    expect(lines.filter((line) => line.includes("Using secrets"))).toEqual([]);
  });

  test(".dev.vars.<env> replaces .dev.vars", () => {
    const root = project({ ...CONFIG, ".dev.vars": "ONLY_DEFAULT=1\nSHARED=default\n", ".dev.vars.staging": "SHARED=staging\n" });
    const config = captureOutput(() => loadConfig({ cwd: root, env: "staging" })).result;
    expect(config.vars).toEqual({ SHARED: "staging" });
    expect(config.secretNames).toEqual(["SHARED"]);
  });

  test(".dev.vars when .dev.vars.<env> is absent", () => {
    const root = project({ ...CONFIG, ".dev.vars": "SHARED=default\n" });
    expect(captureOutput(() => loadConfig({ cwd: root, env: "staging" })).result.vars).toEqual({ SHARED: "default" });
  });

  test(".dev.vars.<env> ignored without --env", () => {
    const root = project({ ...CONFIG, ".dev.vars.staging": "SHARED=staging\n" });
    expect(captureOutput(() => loadConfig({ cwd: root })).result.secretNames).toEqual([]);
  });

  test(".dev.vars present means .env is ignored", () => {
    const root = project({ ...CONFIG, ".dev.vars": "A=dev\n", ".env": "A=env\nB=env\n", ".env.local": "C=local\n" });
    const config = captureOutput(() => loadConfig({ cwd: root })).result;
    expect(config.vars.A).toBe("dev");
    expect(config.vars.B).toBeUndefined();
    expect(config.vars.C).toBeUndefined();
  });

  test(".dev.vars.<env> alone also hides .env", () => {
    const root = project({ ...CONFIG, ".dev.vars.staging": "A=dev\n", ".env": "B=env\n" });
    const config = captureOutput(() => loadConfig({ cwd: root, env: "staging" })).result;
    expect(config.vars).toEqual({ A: "dev" });
  });

  test(".env files merge, most specific wins", () => {
    const root = project({
      ...CONFIG,
      ".env": "A=env\nB=env\nC=env\nD=env\n",
      ".env.local": "B=local\nC=local\nD=local\n",
      ".env.staging": "C=staging\nD=staging\n",
      ".env.staging.local": "D=staging-local\n",
    });
    const config = captureOutput(() => loadConfig({ cwd: root, env: "staging" })).result;
    expect(config.vars).toEqual({ A: "env", B: "local", C: "staging", D: "staging-local" });
    expect(config.secretNames.sort()).toEqual(["A", "B", "C", "D"]);
  });

  test(".env.<env> files ignored without --env", () => {
    const root = project({ ...CONFIG, ".env": "A=env\n", ".env.local": "B=local\n", ".env.staging": "A=staging\n" });
    const config = captureOutput(() => loadConfig({ cwd: root })).result;
    expect(config.vars).toMatchObject({ A: "env", B: "local" });
  });

  test(".env values expand references", () => {
    const root = project({ ...CONFIG, ".env": "HOST=example.com\nURL=https://${HOST}/api\nESCAPED=\\$HOST\n" });
    const config = captureOutput(() => loadConfig({ cwd: root })).result;
    expect(config.vars.URL).toBe("https://example.com/api");
    expect(config.vars.ESCAPED).toBe("$HOST");
  });

  test(".dev.vars values do not expand", () => {
    const root = project({ ...CONFIG, ".dev.vars": "HOST=example.com\nURL=https://${HOST}/api\n" });
    expect(captureOutput(() => loadConfig({ cwd: root })).result.vars.URL).toBe("https://${HOST}/api");
  });

  test("dotenv syntax", () => {
    const text = [
      "# a comment",
      "export EXPORTED=yes",
      "SPACED = padded   ",
      "DOUBLE=\"two words # not a comment\"",
      "SINGLE='raw \\n stays'",
      "ESCAPES=\"line1\\nline2\"",
      "INLINE=value # trailing comment",
      "MULTI=\"first",
      "second\"",
      "EMPTY=",
      "",
    ].join("\n");
    const root = project({ ...CONFIG, ".dev.vars": text });
    const vars = captureOutput(() => loadConfig({ cwd: root })).result.vars;
    expect(vars.EXPORTED).toBe("yes");
    expect(vars.SPACED).toBe("padded");
    expect(vars.DOUBLE).toBe("two words # not a comment");
    expect(vars.SINGLE).toBe("raw \\n stays");
    expect(vars.ESCAPES).toBe("line1\nline2");
    expect(vars.INLINE).toBe("value");
    expect(vars.MULTI).toBe("first\nsecond");
    expect(vars.EMPTY).toBe("");
  });

  test("CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV=false skips .env", () => {
    const root = project({ ...CONFIG, ".env": "A=env\n" });
    process.env.CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV = "false";
    expect(loadConfig({ cwd: root }).vars.A).toBeUndefined();
  });

  test("CLOUDFLARE_INCLUDE_PROCESS_ENV=true adds the process environment", () => {
    const root = project({ ...CONFIG, ".env": "A=${CLOUDFLARE_INCLUDE_PROCESS_ENV}\n" });
    process.env.CLOUDFLARE_INCLUDE_PROCESS_ENV = "true";
    const vars = captureOutput(() => loadConfig({ cwd: root })).result.vars;
    expect(vars.A).toBe("true");
    expect(vars.CLOUDFLARE_INCLUDE_PROCESS_ENV).toBe("true");
  });

  test("secrets.required filters keys", () => {
    const root = project({
      "wrangler.jsonc": `{ "vars": { "PLAIN": "v" }, "secrets": { "required": ["TOKEN", "MISSING"] } }`,
      ".dev.vars": "TOKEN=t\nPLAIN=override\nEXTRA=dropped\n",
    });
    const { result: config, lines } = captureOutput(() => loadConfig({ cwd: root }));
    expect(config.vars).toEqual({ PLAIN: "override", TOKEN: "t" });
    expect(config.secretNames.sort()).toEqual(["PLAIN", "TOKEN"]);
    expect(lines.some((line) => line.includes("secrets.required") && line.includes("MISSING"))).toBe(true);
  });

  test("secret values never logged", () => {
    const root = project({ ...CONFIG, ".dev.vars": "TOKEN=super-secret-value\n" });
    const { lines } = captureOutput(() => loadConfig({ cwd: root, env: "staging", vars: ["X:y"] }));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join("\n")).not.toContain("super-secret-value");
  });
});

describe("redirect", () => {
  const USER = { "wrangler.jsonc": `{ "name": "user", "main": "src/index.ts" }`, ...MAIN };
  const GENERATED = `{
  "name": "generated",
  "main": "index.js",
  "d1_databases": [{ "binding": "DB", "migrations_dir": "m" }],
  "targetEnvironment": "staging"
}`;

  test("follows .wrangler/deploy/config.json", () => {
    const root = project({
      ...USER,
      "dist/app/wrangler.json": GENERATED,
      "dist/app/index.js": "",
      ".wrangler/deploy/config.json": `{ "configPath": "../../dist/app/wrangler.json" }`,
      ".dev.vars": "SECRET=1\n",
    });
    const { result: config, lines } = captureOutput(() => loadConfig({ cwd: root }));
    expect(config.configPath).toBe(join(root, "dist/app/wrangler.json"));
    expect(config.userConfigPath).toBe(join(root, "wrangler.jsonc"));
    expect(config.rootDir).toBe(root);
    expect(config.name).toBe("generated");
    expect(config.main).toBe(join(root, "dist/app/index.js"));
    expect(config.d1Databases[0]!.migrationsDir).toBe(join(root, "dist/app/m"));
    expect(config.environment).toBe("staging");
    expect(config.secretNames).toEqual(["SECRET"]);
    expect(config.persistTo).toBe(join(root, ".bunflare"));
    expect(lines.some((line) => line.includes("Using redirected config"))).toBe(true);
  });

  test("found from a subdirectory", () => {
    const root = project({
      ...USER,
      "dist/wrangler.json": `{ "name": "generated" }`,
      ".wrangler/deploy/config.json": `{ "configPath": "../../dist/wrangler.json" }`,
    });
    const config = captureOutput(() => loadConfig({ cwd: join(root, "src") })).result;
    expect(config.configPath).toBe(join(root, "dist/wrangler.json"));
  });

  test("without a user config", () => {
    const root = project({
      "dist/wrangler.json": `{ "name": "generated" }`,
      ".wrangler/deploy/config.json": `{ "configPath": "../../dist/wrangler.json" }`,
    });
    const config = captureOutput(() => loadConfig({ cwd: root })).result;
    expect(config.userConfigPath).toBeNull();
    expect(config.configPath).toBe(join(root, "dist/wrangler.json"));
    expect(config.rootDir).toBe(root);
  });

  test("--config skips the redirect", () => {
    const root = project({
      ...USER,
      "dist/wrangler.json": `{ "name": "generated" }`,
      ".wrangler/deploy/config.json": `{ "configPath": "../../dist/wrangler.json" }`,
    });
    const config = loadConfig({ cwd: root, config: "wrangler.jsonc" });
    expect(config.name).toBe("user");
    expect(config.configPath).toBe(config.userConfigPath!);
  });

  test("redirect beside another directory's config", () => {
    const root = project({
      "app/wrangler.jsonc": `{ "name": "app" }`,
      "dist/wrangler.json": `{ "name": "generated" }`,
      ".wrangler/deploy/config.json": `{ "configPath": "../../dist/wrangler.json" }`,
    });
    const error = configError(() => loadConfig({ cwd: join(root, "app") }));
    expect(error.message).toContain("but they are not in the same directory");
  });

  test("redirect without configPath", () => {
    const root = project({ ...USER, ".wrangler/deploy/config.json": `{ "other": 1 }` });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toContain(`must contain a string "configPath"`);
    expect(error.file).toBe(join(root, ".wrangler/deploy/config.json"));
  });

  test("redirect to a missing file", () => {
    const root = project({ ...USER, ".wrangler/deploy/config.json": `{ "configPath": "../../dist/none.json" }` });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toContain(`points to ${join(root, "dist/none.json")}, which does not exist`);
  });

  test("redirect with invalid JSON", () => {
    const root = project({ ...USER, ".wrangler/deploy/config.json": `{ "configPath": ` });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toContain("Could not parse the redirect file");
  });

  test("redirected config must not define environments", () => {
    const root = project({
      ...USER,
      "dist/wrangler.json": `{ "name": "g", "env": { "a": {} } }`,
      ".wrangler/deploy/config.json": `{ "configPath": "../../dist/wrangler.json" }`,
    });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toContain("a redirected config must not define environments, but it defines: a");
  });

  test("--env must match targetEnvironment", () => {
    const root = project({
      ...USER,
      "dist/wrangler.json": `{ "name": "g", "targetEnvironment": "staging" }`,
      ".wrangler/deploy/config.json": `{ "configPath": "../../dist/wrangler.json" }`,
    });
    const error = configError(() => loadConfig({ cwd: root, env: "prod" }));
    expect(error.message).toContain(`--env prod does not match the environment "staging"`);
    expect(captureOutput(() => loadConfig({ cwd: root, env: "staging" })).result.environment).toBe("staging");
  });
});

describe("build", () => {
  test("defaults cwd and watch_dir", () => {
    const root = project({ "wrangler.toml": `main = "dist/index.js"\n[build]\ncommand = "true"\n` });
    const config = loadConfig({ cwd: root });
    expect(config.build).toEqual({ command: "true", cwd: root, watchDir: [join(root, "src")] });
  });

  test("cwd and watch_dir array resolve against the config", () => {
    const root = project({ "wrangler.jsonc": `{ "build": { "command": "make", "cwd": "tools", "watch_dir": ["lib", "assets"] } }` });
    expect(loadConfig({ cwd: root }).build).toEqual({
      command: "make",
      cwd: join(root, "tools"),
      watchDir: [join(root, "lib"), join(root, "assets")],
    });
  });

  test("build without command is ignored", () => {
    const root = project({ "wrangler.jsonc": `{ "build": { "watch_dir": "src" } }` });
    expect(loadConfig({ cwd: root }).build).toBeNull();
  });

  test("runBuild runs the command and main may appear later", async () => {
    const root = project({
      "wrangler.toml": `main = "dist/index.js"\n[build]\ncommand = "mkdir -p dist && echo built > dist/index.js && echo done"\n`,
    });
    const config = loadConfig({ cwd: root });
    expect(existsSync(join(root, "dist/index.js"))).toBe(false);
    const output = spyOn(process.stdout, "write").mockImplementation(() => true);
    let written: string[] = [];
    try {
      await runBuild(config);
    } finally {
      written = output.mock.calls.map((call) => String(call[0]));
      output.mockRestore();
    }
    expect(existsSync(join(root, "dist/index.js"))).toBe(true);
    expect(written).toContain("[custom build] done\n");
  });

  test("runBuild failure reports the exit code", async () => {
    const root = project({ "wrangler.toml": `[build]\ncommand = "echo broken >&2; exit 3"\n` });
    const config = loadConfig({ cwd: root });
    const output = spyOn(process.stderr, "write").mockImplementation(() => true);
    let caught: unknown;
    let written: string[] = [];
    try {
      await runBuild(config);
    } catch (error) {
      caught = error;
    } finally {
      written = output.mock.calls.map((call) => String(call[0]));
      output.mockRestore();
    }
    expect(caught).toBeInstanceOf(BuildError);
    expect((caught as BuildError).exitCode).toBe(3);
    expect((caught as BuildError).message).toBe(`Custom build \`echo broken >&2; exit 3\` failed with exit code 3 (in ${root}); its output is above`);
    expect(written).toContain("[custom build] broken\n");
  });

  test("runBuild success without main", async () => {
    const root = project({ "wrangler.toml": `main = "dist/index.js"\n[build]\ncommand = "true"\n` });
    const config = loadConfig({ cwd: root });
    await expect(runBuild(config)).rejects.toThrow(`The custom build \`true\` succeeded, but "main" (${join(root, "dist/index.js")}) still does not exist`);
  });

  test("runBuild without build does nothing", async () => {
    const root = project({ "wrangler.toml": `name = "x"` });
    await runBuild(loadConfig({ cwd: root }));
  });

  test("build.command must be a string", () => {
    const root = project({ "wrangler.toml": `[build]\ncommand = ["npm", "run"]\n` });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toBe(`${join(root, "wrangler.toml")}:2: "build.command" must be a string, got array`);
  });

  test("build.watch_dir type", () => {
    const root = project({ "wrangler.jsonc": `{\n "build": { "command": "x",\n "watch_dir": 5 } }` });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toBe(`${join(root, "wrangler.jsonc")}:3: "build.watch_dir" must be a string or an array of strings, got number`);
  });
});

describe("bindings", () => {
  test("kv id falls back to binding", () => {
    const root = project({ "wrangler.jsonc": `{ "kv_namespaces": [{ "binding": "A" }, { "binding": "B", "id": "b-id" }] }` });
    expect(loadConfig({ cwd: root }).kvNamespaces).toEqual([
      { binding: "A", id: "A" },
      { binding: "B", id: "b-id" },
    ]);
  });

  test("d1 defaults and fields", () => {
    const root = project({
      "wrangler.jsonc": `{ "d1_databases": [
        { "binding": "DB" },
        { "binding": "OTHER", "database_name": "other-db", "database_id": "uuid", "migrations_dir": "db/migrations", "migrations_table": "_m" }
      ] }`,
    });
    expect(loadConfig({ cwd: root }).d1Databases).toEqual([
      { binding: "DB", databaseName: "DB", databaseId: null, migrationsDir: join(root, "migrations"), migrationsTable: "d1_migrations" },
      { binding: "OTHER", databaseName: "other-db", databaseId: "uuid", migrationsDir: join(root, "db/migrations"), migrationsTable: "_m" },
    ]);
  });

  test("persistTo default and --persist-to", () => {
    const root = project({ "wrangler.toml": `name = "p"`, "sub/x": "" });
    expect(loadConfig({ cwd: join(root, "sub") }).persistTo).toBe(join(root, ".bunflare"));
    expect(loadConfig({ cwd: join(root, "sub"), persistTo: "state" }).persistTo).toBe(join(root, "sub/state"));
  });

  test("unsupported bindings listed and warned once each", () => {
    const root = project({
      "wrangler.jsonc": `{ "name": "u", "hyperdrive": [{ "binding": "H" }], "vectorize": [{ "binding": "V" }], "ai": { "binding": "AI" }, "kv_namespaces": [] }`,
    });
    const config = loadConfig({ cwd: root });
    expect(config.unsupportedBindings).toEqual(["vectorize", "hyperdrive", "ai"]);
    const { lines } = captureOutput(() => warnUnsupportedBindings(config));
    expect(lines).toEqual([
      `[warn] "vectorize" is not supported by bunflare yet; these bindings are left out of env worker=u key=vectorize`,
      `[warn] "hyperdrive" is not supported by bunflare yet; these bindings are left out of env worker=u key=hyperdrive`,
      `[warn] "ai" is not supported by bunflare yet; these bindings are left out of env worker=u key=ai`,
    ]);
  });

  test("unsupported bindings follow the env", () => {
    const root = project({ "wrangler.jsonc": `{ "hyperdrive": [{ "binding": "H" }], "env": { "e": { "vectorize": [] } } }` });
    const config = captureOutput(() => loadConfig({ cwd: root, env: "e" })).result;
    expect(config.unsupportedBindings).toEqual(["vectorize"]);
  });
});

describe("config errors", () => {
  test("JSONC allows comments and trailing commas", () => {
    const root = project({ "wrangler.jsonc": `{\n  // comment\n  "name": "c", /* block */\n  "compatibility_flags": ["a",],\n}\n` });
    const config = loadConfig({ cwd: root });
    expect(config.name).toBe("c");
    expect(config.compatibilityFlags).toEqual(["a"]);
  });

  test("JSONC syntax error has line and column", () => {
    const root = project({ "wrangler.jsonc": `{\n  "name": "x"\n  "main": "y"\n}\n` });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toBe(`${join(root, "wrangler.jsonc")}:3: column 3: invalid JSON: comma expected`);
    expect(error.line).toBe(3);
  });

  test("JSON type error names line and key", () => {
    const root = project({
      "wrangler.json": `{\n  "name": "x",\n  "kv_namespaces": [\n    { "binding": "A" },\n    {\n      "id": "b",\n      "binding": 7\n    }\n  ]\n}\n`,
    });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toBe(`${join(root, "wrangler.json")}:7: "kv_namespaces[1].binding" must be a string, got number`);
    expect(error.file).toBe(join(root, "wrangler.json"));
    expect(error.line).toBe(7);
    expect(error.key).toBe("kv_namespaces[1].binding");
  });

  test("missing required binding field", () => {
    const root = project({ "wrangler.jsonc": `{\n  "d1_databases": [\n    { "database_name": "x" }\n  ]\n}` });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toBe(`${join(root, "wrangler.jsonc")}:3: "d1_databases[0].binding" is required and must be a string`);
  });

  test("binding entry must be an object", () => {
    const root = project({ "wrangler.jsonc": `{\n  "kv_namespaces": [\n    "KV"\n  ]\n}` });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toBe(`${join(root, "wrangler.jsonc")}:3: "kv_namespaces[0]" must be an object, got string`);
  });

  test("TOML syntax error has line", () => {
    const root = project({ "wrangler.toml": `name = "x"\nmain = \n` });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toMatch(new RegExp(`^${join(root, "wrangler.toml").replace(/[.]/g, "\\.")}:2: column \\d+: invalid TOML: `));
    expect(error.line).toBe(2);
  });

  test("TOML type error in array of tables", () => {
    const root = project({
      "wrangler.toml": `name = "x"\n\n[[kv_namespaces]]\nbinding = "A"\n\n[[kv_namespaces]]\nid = "b"\nbinding = 3\n`,
    });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toBe(`${join(root, "wrangler.toml")}:8: "kv_namespaces[1].binding" must be a string, got number`);
  });

  test("TOML type error in multi-line inline array", () => {
    const root = project({
      "wrangler.toml": `name = "x"\nkv_namespaces = [\n  { binding = "A" },\n  { id = "b", binding = true },\n]\n`,
    });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toBe(`${join(root, "wrangler.toml")}:4: "kv_namespaces[1].binding" must be a string, got boolean`);
  });

  test("TOML type error in env table", () => {
    const root = project({
      "wrangler.toml": `name = "x"\n\n[env.staging]\nname = "s"\n\n[[env.staging.d1_databases]]\nbinding = "DB"\nmigrations_dir = 5\n`,
    });
    const error = configError(() => loadConfig({ cwd: root, env: "staging" }));
    expect(error.message).toBe(`${join(root, "wrangler.toml")}:8: "env.staging.d1_databases[0].migrations_dir" must be a string, got number`);
  });

  test("TOML dotted key line", () => {
    const root = project({ "wrangler.toml": `name = "x"\nbuild.command = 1\n` });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toBe(`${join(root, "wrangler.toml")}:2: "build.command" must be a string, got number`);
  });

  test("compatibility_date format", () => {
    const root = project({ "wrangler.jsonc": `{\n  "compatibility_date": "2025-13-01"\n}` });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toBe(`${join(root, "wrangler.jsonc")}:2: "compatibility_date" must be a date in the form YYYY-MM-DD, got "2025-13-01"`);
    const other = project({ "wrangler.jsonc": `{ "compatibility_date": "2025-1-1" }` });
    expect(configError(() => loadConfig({ cwd: other })).message).toContain(`got "2025-1-1"`);
  });

  test("compatibility_date as TOML date", () => {
    const root = project({ "wrangler.toml": `compatibility_date = 2025-01-01\n` });
    const error = configError(() => loadConfig({ cwd: root }));
    expect(error.message).toBe(
      `${join(root, "wrangler.toml")}:1: "compatibility_date" must be a quoted string in the form YYYY-MM-DD, got an unquoted TOML date`,
    );
  });

  test("name type and format", () => {
    const root = project({ "wrangler.jsonc": `{ "name": 5 }` });
    expect(configError(() => loadConfig({ cwd: root })).message).toBe(`${join(root, "wrangler.jsonc")}:1: "name" must be a string, got number`);
    const upper = project({ "wrangler.jsonc": `{ "name": "My Worker" }` });
    expect(configError(() => loadConfig({ cwd: upper })).message).toContain(`"name" must contain only lowercase letters, digits, "-" and "_", got "My Worker"`);
  });

  test("compatibility_flags and crons types", () => {
    const root = project({ "wrangler.jsonc": `{\n  "compatibility_flags": ["a", 2],\n  "triggers": { "crons": "* * * * *" }\n}` });
    const error = configError(() => loadConfig({ cwd: root }));
    const file = join(root, "wrangler.jsonc");
    expect(error.message).toBe(
      `${file}:2: "compatibility_flags[1]" must be a string, got number\n${file}:3: "triggers.crons" must be an array of strings, got string`,
    );
    expect(error.line).toBe(2);
  });

  test("main and kv_namespaces types", () => {
    const root = project({ "wrangler.toml": `main = 1\nkv_namespaces = "KV"\n` });
    const error = configError(() => loadConfig({ cwd: root }));
    const file = join(root, "wrangler.toml");
    expect(error.message).toBe(`${file}:1: "main" must be a string, got number\n${file}:2: "kv_namespaces" must be an array, got string`);
    expect(error.key).toBe("main");
  });

  test("byte order mark is ignored", () => {
    const root = project({ "wrangler.jsonc": `\uFEFF{ "name": "bom" }` });
    expect(loadConfig({ cwd: root }).name).toBe("bom");
    const toml = project({ "wrangler.toml": `\uFEFFname = "bom"` });
    expect(loadConfig({ cwd: toml }).name).toBe("bom");
  });

  test("env section must be an object", () => {
    const root = project({ "wrangler.jsonc": `{\n  "env": { "a": 1 }\n}` });
    const error = configError(() => loadConfig({ cwd: root, env: "a" }));
    expect(error.message).toBe(`${join(root, "wrangler.jsonc")}:2: "env.a" must be an object, got number`);
  });

  test("top-level config must be an object", () => {
    const root = project({ "wrangler.json": `[1, 2]` });
    expect(configError(() => loadConfig({ cwd: root })).message).toBe(`${join(root, "wrangler.json")}:1: the config must be a JSON object`);
  });

  test("unknown top-level key warns", () => {
    const root = project({ "wrangler.jsonc": `{\n  "name": "w",\n  "colour": "blue"\n}` });
    const { result: config, lines } = captureOutput(() => loadConfig({ cwd: root }));
    expect(config.raw.colour).toBe("blue");
    expect(lines).toContain(`[warn] Unexpected field "colour" in the config; it is ignored file=${join(root, "wrangler.jsonc")} line=3`);
  });

  test("misspelled key suggests the known one", () => {
    const root = project({ "wrangler.jsonc": `{\n  "name": "w",\n  "kv_namespace": [{ "binding": "KV" }],\n  "mian": "src/index.ts",\n  "D1_Databases": []\n}` });
    const { lines } = captureOutput(() => loadConfig({ cwd: root }));
    const file = join(root, "wrangler.jsonc");

    expect(lines).toContain(`[warn] Unexpected field "kv_namespace" in the config; it is ignored. Did you mean "kv_namespaces"? file=${file} line=3`);
    expect(lines).toContain(`[warn] Unexpected field "mian" in the config; it is ignored. Did you mean "main"? file=${file} line=4`);
    expect(lines).toContain(`[warn] Unexpected field "D1_Databases" in the config; it is ignored. Did you mean "d1_databases"? file=${file} line=5`);
  });

  test("misspelled env key suggests the known one", () => {
    const root = project({ "wrangler.jsonc": `{\n  "env": {\n    "e": { "vras": {} }\n  }\n}` });
    const { lines } = captureOutput(() => loadConfig({ cwd: root, env: "e" }));

    expect(lines.some((line) => line.includes(`Unexpected field "env.e.vras" in the config; it is ignored. Did you mean "vars"?`))).toBe(true);
  });

  test("unrelated key gets no suggestion", () => {
    const root = project({ "wrangler.jsonc": `{ "colour": "blue", "xyz": 1 }` });
    const { lines } = captureOutput(() => loadConfig({ cwd: root }));

    expect(lines.filter((line) => line.includes("Did you mean"))).toEqual([]);
  });

  test("unknown env key warns", () => {
    const root = project({ "wrangler.jsonc": `{\n  "env": {\n    "e": { "dev": {} }\n  }\n}` });
    const { lines } = captureOutput(() => loadConfig({ cwd: root, env: "e" }));
    expect(lines.some((line) => line.includes(`Unexpected field "env.e.dev"`))).toBe(true);
  });
});
