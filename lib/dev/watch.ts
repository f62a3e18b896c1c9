// Watches a Worker's sources and reloads it after a change.

import { watch, type FSWatcher } from "node:fs";
import { dirname, join, sep } from "node:path";
import { describeError } from "../execution-context.ts";
import { log } from "../log.ts";

/** Quiet period after the last file event before a reload starts, in milliseconds. */
const DEBOUNCE_MS = 100;

/** Directory names whose changes never trigger a reload (state, dependencies, VCS). */
const IGNORED_DIRS = new Set(["node_modules", ".git", ".bunflare", ".wrangler"]);

export interface WatchOptions {
  /** Directories to watch recursively. */
  dirs: string[];
  /** Paths under which changes are ignored (the persist directory). */
  ignore: string[];
  /** Rebuilds (when configured) and reloads; called once per debounced burst of changes. */
  reload: (changedFile: string) => Promise<void>;
}

/** Watches `dirs` and calls `reload` after each burst of changes; returns a function that stops watching. */
export function watchSources(options: WatchOptions): () => void {
  const watchers: FSWatcher[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let lastChange = "";
  let running: Promise<void> | null = null;
  let rerun = false;

  const trigger = async () => {
    // Only one reload runs at a time. Changes made during a reload, such as a
    // build writing into a watched folder, schedule one more reload at most.
    if (running) {
      rerun = true;
      return;
    }
    running = options.reload(lastChange).catch((error) => {
      log.error(`Reload failed; the previous version keeps serving: ${describeError(error)}`);
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

  for (const dir of options.dirs) {
    try {
      const watcher = watch(dir, { recursive: true }, (_event, file) => {
        if (!file) return;
        const path = join(dir, file.toString());
        if (isIgnored(path, dir, options.ignore)) return;
        lastChange = path;
        schedule();
      });
      watchers.push(watcher);
    } catch (error) {
      log.warn(`Cannot watch ${dir} for changes: ${(error as Error).message}`);
    }
  }

  return () => {
    if (timer) clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
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
