// The thumbnails example (examples/thumbnails) under its own wrangler.jsonc:
// its seed script uploads the sample photographs to the R2 bucket through
// `bunflare r2 object put`, then the Worker serves them through env.IMAGES.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createImagesBinding } from "../lib/bindings/images.ts";
import { startWorker, type WorkerHandle } from "../lib/worker.ts";
import { ROOT } from "./fixtures.ts";

const EXAMPLE = join(ROOT, "examples", "thumbnails");
const SAMPLES = process.env.BUNFLARE_SAMPLE_IMAGES ?? join(ROOT, "..", "shared", "data", "images");
const images = createImagesBinding();
let handle: WorkerHandle;

beforeAll(async () => {
  const persistTo = mkdtempSync(join(tmpdir(), "bunflare-thumbnails-"));
  const seed = Bun.spawnSync(["bun", join(EXAMPLE, "seed.ts"), SAMPLES, "--persist-to", persistTo], { cwd: EXAMPLE });
  if (!seed.success) throw new Error(`seed.ts failed: ${seed.stderr.toString()}`);

  handle = await startWorker({ cwd: EXAMPLE, persistTo });
});

afterAll(async () => {
  await handle.stop();
});

function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return handle.fetch(path, { headers });
}

describe("thumbnails example", () => {
  test("gallery lists photos", async () => {
    const response = await get("/");
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await response.text();
    expect(html).toContain('<img src="/thumb/rocket.jpg"');
    expect(html).toContain('<img src="/thumb/astronaut.png"');
  });

  test("thumb default is 200x200 jpeg", async () => {
    const response = await get("/thumb/rocket.jpg");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/jpeg");
    expect(await images.info(response.body!)).toMatchObject({ format: "image/jpeg", width: 200, height: 200 });
  });

  test("thumb negotiates webp", async () => {
    const response = await get("/thumb/chelsea.png?width=120&height=80", { accept: "image/avif,image/webp,*/*" });
    expect(response.headers.get("content-type")).toBe("image/webp");
    expect(await images.info(response.body!)).toMatchObject({ format: "image/webp", width: 120, height: 80 });
  });

  test("thumb contain keeps aspect", async () => {
    const response = await get("/thumb/rocket.jpg?width=320&height=320&fit=contain&format=png");
    expect(await images.info(response.body!)).toMatchObject({ format: "image/png", width: 320, height: 214 });
  });

  test("thumb bad query is 400", async () => {
    expect((await get("/thumb/rocket.jpg?width=abc")).status).toBe(400);
    expect((await get("/thumb/rocket.jpg?fit=fill")).status).toBe(400);
    expect((await get("/thumb/rocket.jpg?format=bmp")).status).toBe(400);
  });

  test("missing photo is 404", async () => {
    expect((await get("/thumb/nope.png")).status).toBe(404);
    expect((await get("/info/nope.png")).status).toBe(404);
  });

  test("info and original", async () => {
    expect(await (await get("/info/no_time_for_that_tiny.gif")).json()).toEqual({ format: "image/gif", fileSize: 4438, width: 14, height: 25 });
    const original = await get("/photos/rocket.jpg");
    expect(original.headers.get("content-type")).toBe("image/jpeg");
    expect((await original.arrayBuffer()).byteLength).toBe(readFileSync(join(SAMPLES, "rocket.jpg")).byteLength);
  });

  test("seed uploads every sample", async () => {
    const html = await (await get("/")).text();
    for (const name of readdirSync(SAMPLES)) expect(html).toContain(`<img src="/thumb/${encodeURIComponent(name)}"`);
  });

  test("original keeps stored metadata", async () => {
    const original = await get("/photos/astronaut.png");
    expect(original.headers.get("content-type")).toBe("image/png");
    expect(original.headers.get("etag")).toMatch(/^"[0-9a-f]{32}"$/);
  });

  test("put stores photo in R2", async () => {
    const bytes = readFileSync(join(SAMPLES, "logo.png"));
    const put = await handle.fetch("/photos/uploads/logo-copy.png", { method: "PUT", body: bytes });
    expect(put.status).toBe(201);

    const original = await get("/photos/uploads/logo-copy.png");
    expect(original.headers.get("content-type")).toBe("image/png");
    expect((await original.arrayBuffer()).byteLength).toBe(bytes.byteLength);

    const thumb = await get("/thumb/uploads/logo-copy.png?width=64&height=48&format=png");
    expect(await images.info(thumb.body!)).toMatchObject({ format: "image/png", width: 64, height: 48 });
  });

  test("put rejects non-image", async () => {
    const response = await handle.fetch("/photos/note.txt", { method: "PUT", body: "hello" });
    expect(response.status).toBe(415);
    expect(await response.text()).toBe("IMAGES_INFO_ERROR 9412: The requested file is not an image\n");
    expect((await get("/photos/note.txt")).status).toBe(404);
  });
});
