// Stores every PNG, JPEG, GIF and WebP file of a folder in the PHOTOS KV
// namespace, under its file name, through `bunflare kv key put`.
//
// Run: bun seed.ts <folder of images>

import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";

const folder = process.argv[2];
if (!folder) {
  console.error("usage: bun seed.ts <folder of images>");
  process.exit(2);
}

const cli = join(import.meta.dir, "..", "..", "lib", "dev", "cli.ts");
const names = readdirSync(folder).filter((name) => /\.(png|jpe?g|gif|webp)$/i.test(name));
for (const name of names) {
  const put = Bun.spawnSync(["bun", cli, "kv", "key", "put", "--binding", "PHOTOS", name, "--path", resolve(folder, name)], {
    cwd: import.meta.dir,
    stdout: "inherit",
    stderr: "inherit",
  });
  if (!put.success) process.exit(put.exitCode ?? 1);
}
console.log(`Stored ${names.length} images in PHOTOS.`);
