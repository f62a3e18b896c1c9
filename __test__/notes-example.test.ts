import { afterAll, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker } from "../lib/index.ts";
import { loadProjectConfig } from "../lib/dev/project-config.ts";

const EXAMPLE = join(import.meta.dir, "..", "examples", "notes");
const persistTo = mkdtempSync(join(tmpdir(), "bunflare-notes-"));

async function startNotes() {
  return startWorker({ config: (await loadProjectConfig(EXAMPLE))!, persistTo });
}

let handle = await startNotes();
afterAll(() => handle.stop());

function texts(notes: { text: string }[]): string[] {
  return notes.map((note) => note.text);
}

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
  expect((await created.json()).text).toBe("buy milk");

  const first = await handle.fetch("/api/notes");
  expect(first.headers.get("cf-cache-status")).toBeNull();
  expect(texts(await first.json())).toEqual(["buy milk"]);
  await handle.waitUntilSettled();

  const second = await handle.fetch("/api/notes");
  expect(second.headers.get("cf-cache-status")).toBe("HIT");
  expect(texts(await second.json())).toEqual(["buy milk"]);

  expect(await (await handle.fetch("/api/health")).json()).toEqual({ ok: true, worker: "notes-api" });
});

test("notes example rejects bad text", async () => {
  const empty = await handle.fetch("/api/notes", { method: "POST", body: JSON.stringify({ text: "  " }) });
  expect(empty.status).toBe(400);
  expect(await empty.json()).toEqual({ error: "A note must have 1 to 500 characters, got 0." });

  const long = await handle.fetch("/api/notes", { method: "POST", body: JSON.stringify({ text: "x".repeat(501) }) });
  expect(long.status).toBe(400);
  expect(await long.json()).toEqual({ error: "A note must have 1 to 500 characters, got 501." });
});

test("notes example adding drops cached list", async () => {
  await handle.fetch("/api/notes");
  await handle.waitUntilSettled();

  const created = await handle.fetch("/api/notes", { method: "POST", body: JSON.stringify({ text: "call mum" }) });
  expect(created.status).toBe(201);

  const after = await handle.fetch("/api/notes");
  expect(after.headers.get("cf-cache-status")).toBeNull();
  expect(texts(await after.json())).toEqual(["call mum", "buy milk"]);
});

test("notes example keeps notes across restart", async () => {
  await handle.stop();
  handle = await startNotes();

  // Adding deletes the cached list, so the read below comes from the Durable Object.
  await handle.fetch("/api/notes", { method: "POST", body: JSON.stringify({ text: "pay rent" }) });
  const list = await handle.fetch("/api/notes");
  expect(list.headers.get("cf-cache-status")).toBeNull();
  expect(texts(await list.json())).toEqual(["pay rent", "call mum", "buy milk"]);
});
