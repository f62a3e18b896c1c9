// Loads the Rust addon once per process.
//
// Bun refuses an ESM `import` of a `.node` file, so the addon goes through
// napi's generated CommonJS loader (`index.js`) with `require`. When no
// prebuilt binary matches this machine, the addon is compiled from the Rust
// sources shipped in the package, once, before the first binding is used.

import { createRequire } from "node:module";
import { existsSync, copyFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { log } from "./log.ts";

type Addon = typeof import("../index.js");

const require = createRequire(import.meta.url);
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Returns the file name napi's loader looks for on this platform, e.g. `bunflare.linux-x64-gnu.node`. */
function binaryFileName(): string {
  const { platform, arch } = process;
  if (platform === "linux") {
    const report = (process.report?.getReport?.() ?? {}) as { header?: { glibcVersionRuntime?: string } };
    const abi = report.header?.glibcVersionRuntime ? "gnu" : "musl";
    return `bunflare.linux-${arch}-${abi}.node`;
  }
  if (platform === "win32") return `bunflare.win32-${arch}-msvc.node`;
  return `bunflare.${platform}-${arch}.node`;
}

/** Returns the library name cargo gives a cdylib on this platform. */
function cargoLibraryName(): string {
  if (process.platform === "win32") return "bunflare.dll";
  if (process.platform === "darwin") return "libbunflare.dylib";
  return "libbunflare.so";
}

/** Compiles the release addon with cargo and puts it where napi's loader finds it. */
function buildAddon(): void {
  if (!existsSync(join(packageRoot, "Cargo.toml"))) {
    throw new Error("bunflare: no native addon for this platform and no Rust sources to build one from");
  }
  log.info("bunflare: compiling the native addon with cargo (first run only; about a minute on an idle 2-core machine)...");
  const started = performance.now();
  const result = Bun.spawnSync(["cargo", "build", "--release", "--lib"], {
    cwd: packageRoot,
    stdout: "inherit",
    stderr: "inherit",
  });
  if (!result.success) {
    throw new Error(
      "bunflare: building the native addon failed (see cargo's output above). Install Rust from https://rustup.rs and try again.",
    );
  }
  const targetDir = process.env.CARGO_TARGET_DIR ?? join(packageRoot, "target");
  copyFileSync(join(targetDir, "release", cargoLibraryName()), join(packageRoot, binaryFileName()));
  log.info(`bunflare: native addon built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

function loadAddon(): Addon {
  const local = join(packageRoot, binaryFileName());
  if (!existsSync(local)) {
    try {
      return require("../index.js") as Addon;
    } catch {
      buildAddon();
    }
  }
  return require("../index.js") as Addon;
}

/** The native addon: storage engines, the clock and, later, the scheduler. */
export const native: Addon = loadAddon();
