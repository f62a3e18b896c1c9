// The `bun test` preload (`preload = ["bunflare/test"]` in bunfig.toml):
// registers the `cloudflare:*` modules and fills `env` from the wrangler
// config in the working directory, so tests can `import { env } from "cloudflare:workers"`.

import { ConfigError, loadConfig } from "../config.ts";
import { buildEnv, openStorage, replaceEnv } from "../env.ts";
import { registerCloudflareModules } from "../plugin.ts";
import { log } from "../log.ts";

registerCloudflareModules();

// NOTE: Workflow bindings are in env, but no runner starts here, so the
// instances a test creates stay queued.

try {
  const config = loadConfig({ cwd: process.cwd() });
  replaceEnv(buildEnv(config, openStorage(config.persistTo)));
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // A test run without a usable config still gets the modules, with an empty env.
  log.warn(`bunflare/test: env is empty because the config could not be loaded: ${error.message}`);
}
