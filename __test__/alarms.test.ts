import { test, expect, describe, afterEach, setDefaultTimeout } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { startWorker, evictAllDurableObjects, type WorkerHandle } from "../lib/index.ts";
import type { DurableObjectNamespace, DurableObjectStub } from "../lib/bindings/durable-object.ts";
import { native } from "../lib/native.ts";
import { workerDir, wranglerConfig } from "./fixtures.ts";

const WORKER_SOURCE = join(import.meta.dir, "fixtures", "realtime-worker.ts");

const CONFIG = {
  durable_objects: {
    bindings: [
      { name: "ALARMED", class_name: "Alarmed" },
      { name: "SQL_ALARMED", class_name: "SqlAlarmed" },
    ],
  },
  migrations: [{ tag: "v1", new_classes: ["Alarmed"], new_sqlite_classes: ["SqlAlarmed"] }],
};

const handles: WorkerHandle[] = [];

afterEach(async () => {
  for (const handle of handles.splice(0)) await handle.stop();
  evictAllDurableObjects();
  native.resetClock();
});

async function start(extra: Record<string, unknown> = {}, dir?: string) {
  const cwd = dir ?? workerDir({});
  await Bun.write(join(cwd, "wrangler.jsonc"), wranglerConfig({ ...CONFIG, ...extra }));
  copyFileSync(WORKER_SOURCE, join(cwd, "src-index.ts"));
  await Bun.write(
    join(cwd, "src", "index.ts"),
    `export * from "../src-index.ts";\nexport { default, Alarmed as SqlAlarmed } from "../src-index.ts";\n`,
  );
  const handle = await startWorker({ cwd });
  handles.push(handle);
  const env = handle.env as { ALARMED: DurableObjectNamespace; SQL_ALARMED: DurableObjectNamespace };
  return { handle, cwd, alarmed: env.ALARMED, sqlAlarmed: env.SQL_ALARMED };
}

type Stub = DurableObjectStub & { run: (code: string, ...args: unknown[]) => Promise<any> };

interface Run {
  retryCount: number;
  isRetry: boolean;
  blockDone: boolean | null;
  alarmDuringRun: number | null;
}

function stubOf(namespace: DurableObjectNamespace, name = "a"): Stub {
  return namespace.getByName(name) as Stub;
}

// Every wait below polls for a state, so the deadlines only bound a stuck run. They are
// long because a loaded 2-core CI machine can take seconds to start a Worker.
setDefaultTimeout(60_000);

/** Polls the object's recorded alarm runs until there are `count`, for at most 20 seconds. */
async function waitForRuns(stub: Stub, count: number): Promise<Run[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const runs: Run[] = (await stub.run(`return (await storage.get("runs")) ?? []`)) as Run[];
    if (runs.length >= count) return runs;
    if (Date.now() > deadline) throw new Error(`expected ${count} alarm runs, saw ${runs.length}`);
    await Bun.sleep(20);
  }
}

describe("alarm firing", () => {
  test("alarm fires once and is deleted", async () => {
    const { alarmed } = await start();
    const stub = stubOf(alarmed);
    await stub.run(`await storage.setAlarm(Date.now() + 50)`);

    const runs = await waitForRuns(stub, 1);
    expect(runs[0]!.retryCount).toBe(0);
    expect(runs[0]!.isRetry).toBe(false);
    expect(runs[0]!.alarmDuringRun).toBeNull();
    expect(await stub.run(`return await storage.getAlarm()`)).toBeNull();
  });

  test("setAlarm replaces the earlier alarm", async () => {
    const { alarmed } = await start();
    const stub = stubOf(alarmed);
    const later = Date.now() + 60_000;
    await stub.run(`await storage.setAlarm(Date.now() + 30); await storage.setAlarm(new Date(args[0]))`, later);
    await Bun.sleep(150);

    expect(await stub.run(`return (await storage.get("runs")) ?? []`)).toEqual([]);
    expect(await stub.run(`return await storage.getAlarm()`)).toBe(later);
    await stub.run(`await storage.deleteAlarm()`);
  });

  test("deleteAlarm stops the alarm", async () => {
    const { alarmed } = await start();
    const stub = stubOf(alarmed);
    await stub.run(`await storage.setAlarm(Date.now() + 40); await storage.deleteAlarm()`);
    await Bun.sleep(150);
    expect(await stub.run(`return (await storage.get("runs")) ?? []`)).toEqual([]);
  });

  test("alarm constructs an evicted object", async () => {
    const { alarmed } = await start();
    const stub = stubOf(alarmed);
    await stub.run(`await storage.setAlarm(Date.now() + 80)`);
    evictAllDurableObjects();
    expect((await waitForRuns(stub, 1)).length).toBe(1);
  });

  test("alarm set during the handler is kept", async () => {
    const { alarmed } = await start();
    const stub = stubOf(alarmed);
    const next = Date.now() + 60_000;
    await stub.run(`await storage.put("reschedule", args[0]); await storage.setAlarm(Date.now())`, next);

    await waitForRuns(stub, 1);
    expect(await stub.run(`return await storage.getAlarm()`)).toBe(next);
    await stub.run(`await storage.deleteAlarm()`);
  });

  test("alarm waits for the input gate", async () => {
    const { alarmed } = await start();
    const stub = stubOf(alarmed);
    await stub.run(`
      await ctx.blockConcurrencyWhile(async () => {
        await storage.setAlarm(Date.now());
        await sleep(200);
        await storage.put("blockDone", true);
      });
    `);
    const runs = await waitForRuns(stub, 1);
    expect(runs[0]!.blockDone).toBe(true);
  });

  test("alarm due while stopped fires at start-up", async () => {
    const first = await start();
    const id = first.alarmed.idFromName("a").toString();
    await stubOf(first.alarmed).run(`await storage.setAlarm(Date.now() + 3_600_000)`);
    await first.handle.stop();
    handles.splice(0);
    evictAllDurableObjects();

    // Move the stored time into the past, as if the process had been down past it.
    const database = new Database(join(first.cwd, ".bunflare", "data.sqlite"));
    database.run("UPDATE do_alarms SET scheduled_time = ? WHERE object_id = ?", [Date.now() - 60_000, id]);
    database.close();

    const second = await start({}, first.cwd);
    expect((await waitForRuns(stubOf(second.alarmed), 1)).length).toBe(1);
  });
});

describe("alarm retries", () => {
  test("failed alarm retries with backoff", async () => {
    const { alarmed } = await start();
    const stub = stubOf(alarmed);
    await stub.run(`await storage.put("failures", 2); await storage.setAlarm(Date.now())`);

    await waitForRuns(stub, 1);
    const retryAt = (await stub.run(`return await storage.getAlarm()`)) as number;
    expect(retryAt - native.clockNow()).toBeGreaterThan(1_000);
    expect(retryAt - native.clockNow()).toBeLessThanOrEqual(2_000);

    native.advanceClock(2_000);
    await waitForRuns(stub, 2);
    const secondRetryAt = (await stub.run(`return await storage.getAlarm()`)) as number;
    expect(secondRetryAt - native.clockNow()).toBeGreaterThan(3_000);
    expect(secondRetryAt - native.clockNow()).toBeLessThanOrEqual(4_000);

    native.advanceClock(4_000);
    const runs = await waitForRuns(stub, 3);
    expect(runs.map((run) => [run.retryCount, run.isRetry])).toEqual([
      [0, false],
      [1, true],
      [2, true],
    ]);
    expect(await stub.run(`return await storage.getAlarm()`)).toBeNull();
  });

  test("alarm gives up after six retries", async () => {
    const { alarmed } = await start();
    const stub = stubOf(alarmed);
    await stub.run(`await storage.put("failures", 100); await storage.setAlarm(Date.now())`);

    for (let retry = 1; retry <= 6; retry++) {
      await waitForRuns(stub, retry);
      native.advanceClock(2_000 * 2 ** (retry - 1));
    }
    const runs = await waitForRuns(stub, 7);
    expect(runs.at(-1)!.retryCount).toBe(6);
    await Bun.sleep(100);
    expect(await stub.run(`return await storage.getAlarm()`)).toBeNull();
    native.advanceClock(200_000);
    await Bun.sleep(100);
    expect(((await stub.run(`return await storage.get("runs")`)) as Run[]).length).toBe(7);
  });
});

describe("deleteAll", () => {
  test("deleteAll keeps the alarm before 2026-02-24", async () => {
    const { alarmed } = await start({ compatibility_date: "2026-02-23" });
    const stub = stubOf(alarmed);
    const at = Date.now() + 60_000;
    await stub.run(`await storage.setAlarm(args[0]); await storage.deleteAll()`, at);
    expect(await stub.run(`return await storage.getAlarm()`)).toBe(at);
    await stub.run(`await storage.deleteAlarm()`);
  });

  test("deleteAll deletes the alarm from 2026-02-24", async () => {
    const { alarmed, sqlAlarmed } = await start({ compatibility_date: "2026-02-24" });
    for (const stub of [stubOf(alarmed), stubOf(sqlAlarmed)]) {
      await stub.run(`await storage.setAlarm(Date.now() + 60_000); await storage.deleteAll()`);
      expect(await stub.run(`return await storage.getAlarm()`)).toBeNull();
    }
  });
});

describe("alarm errors", () => {
  test("setAlarm rejects a non-time", async () => {
    const { alarmed } = await start();
    const error = await stubOf(alarmed).run(`try { await storage.setAlarm("soon") } catch (e) { return e }`);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe("setAlarm() requires a Date or a number of milliseconds since the epoch");
  });
});
