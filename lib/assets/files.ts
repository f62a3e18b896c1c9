// Reads the files of an assets directory from disk, so files added or changed
// while the server runs are served without a restart.
//
// File metadata is cached until a watcher on the directory reports any
// change, because a stat per lookup costs more than the rest of serving a
// small file. Where the directory cannot be watched, every lookup stats the
// file. Small files are kept in memory with their ETag and compressed forms,
// keyed by the file's identity (inode, size, mtime), so an unchanged file is
// read and hashed once. Lookups reject any path that could leave the directory.

import { readFileSync, statSync, watch, type FSWatcher, type Stats } from "node:fs";
import { join, resolve, sep } from "node:path";
import { brotliCompressSync, gzipSync } from "node:zlib";

/** Largest file kept in memory, in bytes; larger ones are read on each request. */
const MAX_CACHED_FILE_BYTES = 1024 * 1024;

/** How many files stay in memory at most. */
const MAX_CACHED_FILES = 2000;

/** Files of the assets directory that configure it and are never served. */
const CONFIG_FILES = new Set(["_headers", "_redirects", ".assetsignore"]);

/** An asset file, read and hashed. */
export interface AssetFile {
  /** The absolute path on disk. */
  path: string;
  /** The stat result the file was read with; the same object while it stays in the metadata cache. */
  stats: Stats;
  /** Equal for the same unchanged file: inode, size and mtime. */
  identity: string;
  bytes: Uint8Array<ArrayBuffer>;
  /** The strong ETag, quoted: a hash of the contents. */
  etag: string;
  contentType: string;
  /** Compressed bodies, filled on first use. */
  encoded: Map<string, Uint8Array<ArrayBuffer>>;
}

/** Returns the identity of a stat result: it changes when the file is replaced or written. */
function identityOf(stats: Stats): string {
  return `${stats.ino}-${stats.size}-${stats.mtimeMs}`;
}

/** Stats `path` and returns the result only for a regular file. */
function statFile(path: string): Stats | null {
  const stats = statSync(path, { throwIfNoEntry: false });
  return stats?.isFile() ? stats : null;
}

/** Returns `Content-Type` for a file name, with `; charset=utf-8` for text as production sends it. */
export function contentTypeFor(path: string): string {
  const type = Bun.file(path).type;
  return type.replace(/;\s*charset=/i, "; charset=");
}

/** The files of one assets directory. */
export class AssetFiles {
  readonly root: string;
  readonly #cache = new Map<string, AssetFile>();
  #ignore: Bun.Glob[];

  /** Stat results by absolute path (null: no file), valid until the watcher reports a change. */
  readonly #stats = new Map<string, Stats | null>();
  readonly #watcher: FSWatcher | null;

  /** Incremented on every change the watcher reports, so callers can drop what they derived from the files. */
  generation = 0;

  constructor(directory: string) {
    this.root = resolve(directory);
    this.#ignore = this.#readIgnore();
    this.#watcher = this.#watch();
  }

  /** Whether a watcher keeps the metadata cache (and anything keyed by `generation`) current. */
  get watching(): boolean {
    return this.#watcher !== null;
  }

  /** Stops watching the directory; later lookups stat every file. */
  close(): void {
    this.#watcher?.close();
    this.#stats.clear();
  }

  #watch(): FSWatcher | null {
    try {
      const watcher = watch(this.root, { recursive: true }, (_event, file) => {
        this.#stats.clear();
        this.generation += 1;
        if (file?.toString() === ".assetsignore") this.#ignore = this.#readIgnore();
      });
      // The watcher must not keep a finished process (a test run, a script) alive.
      watcher.unref();
      watcher.on("error", () => {
        this.#stats.clear();
        this.generation += 1;
      });
      return watcher;
    } catch {
      return null;
    }
  }

  /** Returns the stat of a regular file at `path`, or null, from the cache while the watcher runs. */
  #stat(path: string): Stats | null {
    if (this.#watcher === null) return statFile(path);
    let stats = this.#stats.get(path);
    if (stats === undefined) {
      stats = statFile(path);
      this.#stats.set(path, stats);
    }
    return stats;
  }

  /**
   * Returns the absolute path for a decoded URL path, or null when the path
   * could leave the directory or names a file that is never served.
   */
  locate(urlPath: string): string | null {
    if (!urlPath.startsWith("/") || urlPath.includes("\0") || urlPath.includes("\\")) return null;
    const segments = urlPath.slice(1).split("/");
    if (segments.some((segment) => segment === ".." || segment === ".")) return null;

    const relative = segments.join("/");
    if (CONFIG_FILES.has(relative) || this.#ignore.some((glob) => glob.match(relative))) return null;

    // A second check after joining, in case a platform resolves something the segment test missed.
    const path = join(this.root, relative);
    if (path !== this.root && !path.startsWith(this.root + sep)) return null;
    return path;
  }

  /** Returns the identity of the file at a decoded URL path, or null when there is no such file. */
  exists(urlPath: string): string | null {
    const path = this.locate(urlPath);
    if (path === null) return null;
    const stats = this.#stat(path);
    return stats ? identityOf(stats) : null;
  }

  /** Reads the file at a decoded URL path, from memory when it is unchanged. */
  read(urlPath: string): AssetFile | null {
    const path = this.locate(urlPath);
    if (path === null) return null;
    const stats = this.#stat(path);
    if (!stats) return null;

    const cached = this.#cache.get(path);
    if (cached?.stats === stats) return cached;
    const identity = identityOf(stats);
    if (cached?.identity === identity) {
      cached.stats = stats;
      return cached;
    }

    const bytes = new Uint8Array(readFileSync(path));
    const file: AssetFile = {
      path,
      stats,
      identity,
      bytes,
      // NOTE: production's ETag is the content hash from the upload manifest;
      // this is a 64-bit hash of the contents, so the values differ.
      etag: `"${Bun.hash(bytes).toString(16).padStart(16, "0")}"`,
      contentType: contentTypeFor(path),
      encoded: new Map(),
    };
    if (bytes.byteLength <= MAX_CACHED_FILE_BYTES) {
      if (this.#cache.size >= MAX_CACHED_FILES) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(path, file);
    }
    return file;
  }

  /** Reads a configuration file (`_headers`, `_redirects`) of the directory, or returns null when it is absent. */
  readConfigFile(name: "_headers" | "_redirects"): string | null {
    const path = join(this.root, name);
    return this.#stat(path) ? readFileSync(path, "utf8") : null;
  }

  /** Returns the identity of a configuration file, or null when it is absent. */
  configFileIdentity(name: "_headers" | "_redirects"): string | null {
    const stats = this.#stat(join(this.root, name));
    return stats ? identityOf(stats) : null;
  }

  #readIgnore(): Bun.Glob[] {
    const path = join(this.root, ".assetsignore");
    const stats = statSync(path, { throwIfNoEntry: false });
    if (!stats?.isFile()) return [];
    // NOTE: lines are globs matched against the relative path; wrangler reads
    // .assetsignore with .gitignore semantics, which also match any folder level.
    return readFileSync(path, "utf8")
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"))
      .flatMap((line) => {
        const pattern = line.replace(/^\//, "").replace(/\/$/, "/**");
        return [new Bun.Glob(pattern), new Bun.Glob(`${pattern}/**`)];
      });
  }
}

/** Content types worth compressing; images, video and archives are compressed already. */
const COMPRESSIBLE = /^(text\/|application\/(javascript|json|xml|wasm|manifest\+json|ld\+json)|image\/svg\+xml)/;

/** Returns the body of `file` in `encoding` ("br" or "gzip"), compressing it once per file version. */
export function encodedBody(file: AssetFile, encoding: "br" | "gzip"): Uint8Array<ArrayBuffer> {
  let body = file.encoded.get(encoding);
  if (!body) {
    body = new Uint8Array(encoding === "br" ? brotliCompressSync(file.bytes) : gzipSync(file.bytes));
    file.encoded.set(encoding, body);
  }
  return body;
}

/** Returns whether a content type is compressed when the client accepts it. */
export function isCompressible(contentType: string): boolean {
  return COMPRESSIBLE.test(contentType);
}
