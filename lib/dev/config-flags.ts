// The flags that pick a wrangler config, its environment and the local state
// directory. The CLI applies them before it runs a command, and each command
// accepts them again so that its own strict parsing does not reject them.

import type { ParseArgsConfig } from "node:util";

/** `-c/--config`, `-e/--env` and `--persist-to`, for a command's `parseArgs` options. */
export const CONFIG_FLAGS = {
  config: { type: "string", short: "c" },
  env: { type: "string", short: "e" },
  "persist-to": { type: "string" },
} as const satisfies ParseArgsConfig["options"];

/** The help lines for `CONFIG_FLAGS`. */
export const CONFIG_FLAGS_USAGE = `  -c, --config <path>     The wrangler config to read (default: wrangler.jsonc, .json or .toml here)
  -e, --env <name>        Use the config's environment <name>
      --persist-to <dir>  Directory for local state (default: .bunflare beside the config)`;
