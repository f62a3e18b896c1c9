// Watches a Worker's sources and config files and reloads it after a change.

import { existsSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname, join, sep } from "node:path";
import { BuildError, ConfigError } from "../config.ts";
import { describeError } from "../execution-context.ts";
import { log } from "../log.ts";

/** Quiet period after the last file event before a reload starts, in milliseconds. */
const DEBOUNCE_MS = 100;

/** Directory names whose changes never trigger a reload (state, dependencies, VCS). */
const IGNORED_DIRS = new Set(["node_modules", ".git", ".bunflare", ".wrangler"]);

/**
 * File names that editors and tools write next to a file while saving it: GNU sed -i's
 * "sedXXXXXX", vim's swap files and its "4913" probe, backups ending in "~", Emacs lock and
 * autosave files, JetBrains' safe-write copies, GNOME's output streams and ".tmp" files.
 */
const EDITOR_TEMP_FILE = /^(sed[A-Za-z0-9]{6}|4913|\.#.*|#.*#|\.goutputstream-.*)$|(\.sw[a-p]|~|\.tmp|___jb_(tmp|old)___)$/;

/** A directory watched without recursion, for the files in it whose names `matches` accepts. */
export interface WatchedFiles {
  dir: string;
  matches: (name: string) => boolean;
}

export interface WatchOptions {
  /** Directories to watch recursively. */
  dirs: string[];
  /** Files watched one by one: the wrangler config and the `.dev.vars` and `.env` files beside it. */
  files?: WatchedFiles[];
  /** Paths under which changes are ignored (the persist directory). */
  ignore: string[];
  /**
   * Rebuilds (when configured) and reloads; called once per debounced burst
   * of changes, with the absolute paths that changed in that burst.
   */
  reload: (changedFiles: string[]) => Promise<void>;
}

/** Watches `dirs` and calls `reload` after each burst of changes; returns a function that stops watching. */
export function watchSources(options: WatchOptions): () => void {
  const watchers: FSWatcher[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  const changed = new Set<string>();
  // A removed config or secret file changes the config, so these count even when they are gone.
  const watchedFiles = new Set<string>();
  let running: Promise<void> | null = null;
  let rerun = false;

  const trigger = async () => {
    // Only one reload runs at a time. Changes made during a reload, such as a
    // build writing into a watched folder, schedule one more reload at most.
    if (running) {
      rerun = true;
      return;
    }
    // A source path that is gone by now was an editor's temp file renamed over the real one,
    // whose own event names the file that changed.
    const files = [...changed].filter((path) => watchedFiles.has(path) || existsSync(path));
    changed.clear();
    watchedFiles.clear();
    if (files.length === 0) return;
    running = options.reload(files).catch((error) => {
      log.error(`Reload failed; the previous version keeps serving: ${describeReloadError(error)}`);
    });
    await running;
    running = null;
    if (rerun) {
      rerun = false;
      schedule();
    }
  };

  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void trigger();
    }, DEBOUNCE_MS);
  };

  const record = (path: string) => {
    if (EDITOR_TEMP_FILE.test(basename(path))) return;
    changed.add(path);
    schedule();
  };

  for (const dir of options.dirs) {
    try {
      const watcher = watch(dir, { recursive: true }, (_event, file) => {
        if (!file) return;
        const path = join(dir, file.toString());
        if (isIgnored(path, dir, options.ignore)) return;
        record(path);
      });
      watchers.push(watcher);
    } catch (error) {
      log.warn(`Cannot watch ${dir} for changes: ${(error as Error).message}`);
    }
  }

  // Watching the folder rather than each file also detects a file that is
  // created later (a new .env.local) or replaced by an editor's rename.
  for (const { dir, matches } of options.files ?? []) {
    try {
      const watcher = watch(dir, (_event, file) => {
        if (!file || !matches(file.toString())) return;
        watchedFiles.add(join(dir, file.toString()));
        record(join(dir, file.toString()));
      });
      watchers.push(watcher);
    } catch (error) {
      log.warn(`Failed to watch ${dir} for config changes: ${(error as Error).message}`);
    }
  }

  return () => {
    if (timer) clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}

/** Formats a reload error: a config or build error as its one-line message, anything else with its stack. */
function describeReloadError(error: unknown): string {
  if (error instanceof ConfigError || error instanceof BuildError) return error.message;
  return describeError(error);
}

function isIgnored(path: string, root: string, ignore: string[]): boolean {
  if (ignore.some((prefix) => path === prefix || path.startsWith(prefix + sep))) return true;

  let current = dirname(path);
  while (current.length >= root.length && current !== dirname(current)) {
    const name = current.slice(current.lastIndexOf(sep) + 1);
    if (IGNORED_DIRS.has(name)) return true;
    current = dirname(current);
  }
  return false;
}
