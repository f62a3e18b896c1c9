// The `bun test` preload (`preload = ["bunflare/test"]` in bunfig.toml):
// registers the `cloudflare:*` modules and fills `env` from the wrangler
// config in the working directory, so tests can `import { env } from "cloudflare:workers"`.

import { ConfigError, loadConfig } from "../config.ts";
import { buildEnv, openStorage, replaceEnv } from "../env.ts";
import { registerCloudflareModules } from "../plugin.ts";
import { setDurableObjectExports } from "../bindings/durable-object.ts";
import { installImageResizing } from "../bindings/image-resizing.ts";
import { log } from "../log.ts";

registerCloudflareModules();
installImageResizing();

try {
  const config = loadConfig({ cwd: process.cwd() });
  replaceEnv(buildEnv(config, openStorage(config.persistTo)));

  // Durable Objects are constructed from the Worker's exported classes, so
  // the entry module is loaded when the config binds any.
  if (config.durableObjects.length > 0 && config.main !== null) {
    setDurableObjectExports((await import(config.main)) as Record<string, unknown>);
  }
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // A test run without a usable config still gets the modules, with an empty env.
  log.warn(`bunflare/test: env is empty because the config could not be loaded: ${error.message}`);
}
