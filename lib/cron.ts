// Fires a Worker's `triggers.crons` on schedule through the native scheduler.
// The expressions are parsed and their next times computed in Rust
// (src/cron.rs); this file only calls `scheduled()` when one falls due.

import { native } from "./native.ts";
import type { ScheduledResult } from "./runtime.ts";
import { registerScheduledHandler } from "./scheduler.ts";

/** Dispatches a scheduled event to the Worker. */
export interface ScheduledTarget {
  scheduled(cron: string, scheduledTime: number): Promise<ScheduledResult>;
}

/** Schedules every expression in `crons` and returns the function that cancels them. */
export function startCronTriggers(target: ScheduledTarget, crons: string[]): () => void {
  if (crons.length === 0) return () => {};

  const triggers = new native.CronTriggers(crons);
  const unregister = registerScheduledHandler("cron", triggers.owner, async (key, due) => {
    const cron = triggers.fired(Number(key), due);
    // NOTE: production may retry a failed run unless it called noRetry();
    // here a failure is only logged, and the next run is the next tick.
    if (cron !== null) await target.scheduled(cron, due);
  });
  triggers.start();

  return () => {
    triggers.stop();
    unregister();
  };
}
