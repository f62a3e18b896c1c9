// `bunflare.config.ts`: a project file that lists the wrangler configs
// `bunflare dev` runs together when no `--config` is given.
//
//     export default { workers: ["./web/wrangler.jsonc", "./api/wrangler.jsonc"] };
//
// The first Worker serves HTTP; paths are relative to the file.

import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ConfigError } from "../config.ts";

export const PROJECT_CONFIG_FILE = "bunflare.config.ts";

/** The shape of the default export of `bunflare.config.ts`. */
export interface ProjectConfig {
  workers: string[];
}

/** Reads `bunflare.config.ts` in `cwd` and returns absolute config paths, or null when there is no such file. */
export async function loadProjectConfig(cwd: string): Promise<string[] | null> {
  const path = join(cwd, PROJECT_CONFIG_FILE);
  if (!existsSync(path)) return null;

  const module = (await import(path)) as { default?: unknown };
  const exported = module.default as Partial<ProjectConfig> | undefined;
  const workers = exported?.workers;
  if (!Array.isArray(workers) || workers.length === 0 || workers.some((item) => typeof item !== "string")) {
    throw new ConfigError(
      `${path}: the default export must be { workers: [...] } with at least one wrangler config path, got ${JSON.stringify(exported)}`,
      path,
    );
  }
  return workers.map((worker) => resolve(dirname(path), worker));
}
