import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startWorker, type WorkerHandle } from "../lib/worker.ts";
import { ConfigError } from "../lib/config.ts";
import { native } from "../lib/native.ts";
import { CLI, freePort, killChildren, spawnBun, fetchWhenListening, workerDir, wranglerConfig, until } from "./fixtures.ts";

interface Controller {
  cron: string;
  scheduledTime: number;
  noRetry(): void;
}

const handlers = globalThis as unknown as Record<string, (controller: Controller) => unknown>;

let nextWorker = 0;
const running: WorkerHandle[] = [];

afterEach(async () => {
  for (const worker of running.splice(0)) await worker.stop();
  native.resetClock();
  await killChildren();
});

/** Starts a Worker with `crons` whose scheduled() handler calls `handler`. */
async function startCronWorker(crons: string[], handler: (controller: Controller) => unknown, options: { crons?: boolean } = {}) {
  const name = `cron-worker-${process.pid}-${nextWorker++}`;
  handlers[name] = handler;
  const dir = workerDir({
    "wrangler.jsonc": wranglerConfig({ name, triggers: { crons } }),
    "src/index.ts": `export default { fetch() { return new Response("ok"); }, scheduled(controller) { return globalThis[${JSON.stringify(name)}](controller); } };`,
  });
  const worker = await startWorker({ cwd: dir, crons: options.crons });
  running.push(worker);
  return worker;
}

// Every wait below polls for a state, so the deadlines only bound a stuck run. They are
// long because a loaded 2-core CI machine can take seconds to start a Worker.
setDefaultTimeout(60_000);

const MINUTE = 60_000;

describe("next fire times", () => {
  // Cloudflare's Cron Triggers documentation, from 2026-03-04 10:07 UTC (a Wednesday).
  const start = Date.UTC(2026, 2, 4, 10, 7);
  const table: [string, number][] = [
    ["* * * * *", Date.UTC(2026, 2, 4, 10, 8)],
    ["*/30 * * * *", Date.UTC(2026, 2, 4, 10, 30)],
    ["45 * * * *", Date.UTC(2026, 2, 4, 10, 45)],
    ["0 17 * * sun", Date.UTC(2026, 2, 8, 17, 0)],
    ["0 17 * * 1", Date.UTC(2026, 2, 8, 17, 0)],
    ["10 7 * * mon-fri", Date.UTC(2026, 2, 5, 7, 10)],
    ["10 7 * * 2-6", Date.UTC(2026, 2, 5, 7, 10)],
    ["0 15 1 * *", Date.UTC(2026, 3, 1, 15, 0)],
    ["0 18 * * 6L", Date.UTC(2026, 2, 27, 18, 0)],
    ["0 18 * * friL", Date.UTC(2026, 2, 27, 18, 0)],
    ["59 23 LW * *", Date.UTC(2026, 2, 31, 23, 59)],
    ["0 9 * * MON#2", Date.UTC(2026, 2, 9, 9, 0)],
    ["0 0 15W * *", Date.UTC(2026, 2, 16, 0, 0)],
    ["0 0 1 JAN,jul *", Date.UTC(2026, 6, 1, 0, 0)],
  ];
  for (const [expression, expected] of table) {
    test(`cron ${expression}`, () => {
      expect(native.nextCronTime(expression, start)).toBe(expected);
    });
  }

  test("invalid expression gives the reason", () => {
    expect(native.validateCron("* * * * 0")).toBe("day of week value 0 is outside 1-7 (days of the week run from 1 = Sunday to 7 = Saturday)");
    expect(native.validateCron("*/5 * * * *")).toBeNull();
  });
});

describe("schedule", () => {
  test("cron fires when the clock reaches it", async () => {
    const fired: Controller[] = [];
    await startCronWorker(["* * * * *"], (controller) => void fired.push(controller));
    const now = native.clockNow();
    const nextMinute = Math.floor(now / MINUTE) * MINUTE + MINUTE;

    native.advanceClock(nextMinute - now);
    await until(() => fired.length === 1, "the cron tick");
    expect(fired[0]!.cron).toBe("* * * * *");
    expect(fired[0]!.scheduledTime).toBe(nextMinute);
    expect(typeof fired[0]!.noRetry).toBe("function");
  });

  test("cron skips missed ticks", async () => {
    const fired: number[] = [];
    await startCronWorker(["* * * * *"], (controller) => void fired.push(controller.scheduledTime));

    native.advanceClock(10 * MINUTE);
    await until(() => fired.length === 1, "one tick");
    await Bun.sleep(100);
    expect(fired.length).toBe(1);
  });

  test("crons off leaves the schedule empty", async () => {
    const fired: Controller[] = [];
    await startCronWorker(["* * * * *"], (controller) => void fired.push(controller), { crons: false });

    native.advanceClock(2 * MINUTE);
    await Bun.sleep(100);
    expect(fired).toEqual([]);
  });

  test("stop cancels the ticks", async () => {
    const fired: Controller[] = [];
    const worker = await startCronWorker(["* * * * *"], (controller) => void fired.push(controller));
    const pending = native.schedulerPending();
    await worker.stop();
    running.splice(running.indexOf(worker), 1);

    expect(native.schedulerPending()).toBe(pending - 1);
    native.advanceClock(2 * MINUTE);
    await Bun.sleep(100);
    expect(fired).toEqual([]);
  });

  test("invalid cron fails the start", async () => {
    let error: unknown;
    try {
      await startCronWorker(["0 0 * * 8"], () => {});
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('"triggers.crons[0]" is not a valid cron expression: day of week value 8 is outside 1-7');
  });
});

describe("trigger endpoints", () => {
  test("cdn-cgi route runs scheduled", async () => {
    const fired: Controller[] = [];
    const worker = await startCronWorker(["*/5 * * * *"], (controller) => void fired.push(controller), { crons: false });

    const response = await fetch(new URL("/cdn-cgi/handler/scheduled?cron=*/5+*+*+*+*&time=1700000000000", worker.url));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok");
    expect(fired.map(({ cron, scheduledTime }) => ({ cron, scheduledTime }))).toEqual([{ cron: "*/5 * * * *", scheduledTime: 1_700_000_000_000 }]);
  });

  test("cdn-cgi route reports an exception", async () => {
    const worker = await startCronWorker([], () => {
      throw new Error("cron failed");
    });

    const response = await fetch(new URL("/cdn-cgi/handler/scheduled", worker.url));
    expect(response.status).toBe(500);
    expect(await response.text()).toBe("exception");
  });

  test("wrangler route runs scheduled", async () => {
    const fired: Controller[] = [];
    const worker = await startCronWorker([], (controller) => void fired.push(controller));

    const response = await fetch(new URL("/__scheduled?cron=0+0+*+*+*", worker.url));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("Ran scheduled event");
    expect(fired[0]!.cron).toBe("0 0 * * *");
  });

  test("dev no-crons flag", async () => {
    const dir = workerDir({
      "wrangler.jsonc": wranglerConfig({ triggers: { crons: ["0 * * * *"] } }),
      "src/index.ts": `export default { fetch() { return new Response("ok"); }, scheduled(c) { console.log("SCHEDULED " + c.cron); } };`,
    });
    const port = freePort();
    const child = spawnBun([CLI, "dev", "--port", String(port), "--no-crons"], dir);
    await child.waitFor(/Ready on/);
    expect(child.output).toContain("Cron triggers not scheduled (--no-crons): 0 * * * *");

    const response = await fetchWhenListening(`http://127.0.0.1:${port}/__scheduled?cron=0+*+*+*+*`);
    expect(await response.text()).toBe("Ran scheduled event");
    await child.waitFor(/SCHEDULED 0 \* \* \* \*/);
  });
});
