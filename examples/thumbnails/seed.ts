// Uploads every PNG, JPEG, GIF and WebP file of a folder to the PHOTOS R2
// bucket (bucket name "photos"), keyed by file name, through
// `bunflare r2 object put`, with the Content-Type its extension names.
//
// Run: bun seed.ts <folder of images> [--persist-to <dir>]
// `--persist-to` is passed on to the CLI, for a data directory other than
// `.bunflare/` in this folder.

import { readdirSync } from "node:fs";
import { extname, join, resolve } from "node:path";

const CONTENT_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
};

const [folder, ...cliFlags] = process.argv.slice(2);
if (!folder) {
  console.error("usage: bun seed.ts <folder of images> [--persist-to <dir>]");
  process.exit(2);
}

const cli = join(import.meta.dir, "..", "..", "lib", "dev", "cli.ts");
const names = readdirSync(folder).filter((name) => extname(name).toLowerCase() in CONTENT_TYPES);
for (const name of names) {
  const contentType = CONTENT_TYPES[extname(name).toLowerCase()]!;
  const put = Bun.spawnSync(
    ["bun", cli, "r2", "object", "put", `photos/${name}`, "--file", resolve(folder, name), "--content-type", contentType, ...cliFlags],
    { cwd: import.meta.dir, stdout: "inherit", stderr: "inherit" },
  );
  if (!put.success) process.exit(put.exitCode ?? 1);
}
console.log(`Uploaded ${names.length} images to the photos bucket.`);
