// Routes the native scheduler's due items to their JavaScript handlers.
//
// The Rust scheduler (src/scheduler.rs) calls `dispatch` once per wake-up
// with every item that fell due. An item's key is `<owner>:<rest>`: the owner
// prefix names the engine handle that scheduled it (a queue broker, a Worker's
// cron triggers), and `<rest>` is the engine's own key (a queue name, a cron
// index). Handlers register by kind and owner prefix. After routing a batch,
// the dispatcher calls `schedulerReady()` from `setImmediate`, so Bun's
// timers and I/O run between two wake-ups.

import { native } from "./native.ts";
import { describeError } from "./execution-context.ts";
import { log } from "./log.ts";

/** The kinds of timed items, as `ItemKind` in Rust names them; workflows are not wired yet. */
export type ScheduledKind = "queue" | "cron" | "alarm" | "workflow";

/** Handles one due item: `key` is the part after the owner prefix, `due` the deadline in ms. */
export type ScheduledHandler = (key: string, due: number) => void | Promise<void>;

const handlers = new Map<string, ScheduledHandler>();

let started = false;

function dispatch(items: { kind: string; key: string; due: number }[]): void {
  for (const item of items) {
    const colon = item.key.indexOf(":") + 1;
    const handler = handlers.get(`${item.kind} ${item.key.slice(0, colon)}`);
    if (!handler) {
      log.debug("scheduler: no handler for a due item", { kind: item.kind, key: item.key });
      continue;
    }
    run(handler, item.key.slice(colon), item.due, item.kind);
  }
  setImmediate(() => native.schedulerReady());
}

/** Runs one handler; its error is logged, since the engine has already recorded the item as delivered. */
function run(handler: ScheduledHandler, key: string, due: number, kind: string): void {
  try {
    const result = handler(key, due);
    if (result instanceof Promise) {
      result.catch((error: unknown) => log.error(`scheduler: ${kind} handler failed: ${describeError(error)}`, { key }));
    }
  } catch (error) {
    log.error(`scheduler: ${kind} handler failed: ${describeError(error)}`, { key });
  }
}

/**
 * Routes due items of `kind` whose key starts with `ownerPrefix` to
 * `handler`, starting the scheduler on first use. Returns the function that
 * removes the route.
 */
export function registerScheduledHandler(kind: ScheduledKind, ownerPrefix: string, handler: ScheduledHandler): () => void {
  if (!started) {
    native.startScheduler(dispatch);
    started = true;
  }
  const route = `${kind} ${ownerPrefix}`;
  handlers.set(route, handler);
  return () => {
    if (handlers.get(route) === handler) handlers.delete(route);
  };
}

/** Stops the scheduler thread and releases its threadsafe function; deadlines stay for a later start. */
export function stopScheduler(): void {
  if (!started) return;
  native.stopScheduler();
  started = false;
}
