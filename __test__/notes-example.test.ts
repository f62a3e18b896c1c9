import { afterAll, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker } from "../lib/index.ts";
import { loadProjectConfig } from "../lib/dev/project-config.ts";

const EXAMPLE = join(import.meta.dir, "..", "examples", "notes");

const handle = await startWorker({
  config: (await loadProjectConfig(EXAMPLE))!,
  persistTo: mkdtempSync(join(tmpdir(), "bunflare-notes-")),
});
afterAll(() => handle.stop());

test("notes example serves the SPA", async () => {
  const page = await handle.fetch("/");
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("<h1>Notes</h1>");

  const deepLink = await handle.fetch("/notes/123", { headers: { "sec-fetch-mode": "navigate" } });
  expect(await deepLink.text()).toContain("<h1>Notes</h1>");
  expect((await handle.fetch("/app.js")).headers.get("x-content-type-options")).toBe("nosniff");
});

test("notes example calls the API and caches", async () => {
  const created = await handle.fetch("/api/notes", { method: "POST", body: JSON.stringify({ text: "buy milk" }) });
  expect(created.status).toBe(201);

  const first = await handle.fetch("/api/notes");
  expect(first.headers.get("cf-cache-status")).toBeNull();
  expect((await first.json()).map((note: { text: string }) => note.text)).toEqual(["buy milk"]);
  await handle.waitUntilSettled();

  const second = await handle.fetch("/api/notes");
  expect(second.headers.get("cf-cache-status")).toBe("HIT");

  const rejected = await handle.fetch("/api/notes", { method: "POST", body: JSON.stringify({ text: "" }) });
  expect(rejected.status).toBe(400);
  expect(await rejected.json()).toEqual({ error: "A note must have 1 to 500 characters, got 0." });

  expect(await (await handle.fetch("/api/health")).json()).toEqual({ ok: true, worker: "notes-api" });
});
