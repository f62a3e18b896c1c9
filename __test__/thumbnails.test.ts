// The thumbnails example Worker (examples/thumbnails), driven through its
// fetch handler over a KV namespace seeded with the sample photographs.

import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import worker, { type Env } from "../examples/thumbnails/src/index.ts";
import { createImagesBinding } from "../lib/bindings/images.ts";
import { createKVNamespace } from "../lib/bindings/kv.ts";
import { native } from "../lib/native.ts";

const SAMPLES = process.env.BUNFLARE_SAMPLE_IMAGES ?? join(import.meta.dir, "..", "..", "shared", "data", "images");
const images = createImagesBinding();
let env: Env;

beforeAll(async () => {
  const storage = native.Storage.open(mkdtempSync(join(tmpdir(), "bunflare-thumbnails-")));
  const photos = createKVNamespace(storage, "PHOTOS");
  for (const name of readdirSync(SAMPLES)) await photos.put(name, readFileSync(join(SAMPLES, name)));
  env = { PHOTOS: photos, IMAGES: images } as unknown as Env;
});

function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return worker.fetch(new Request(`http://thumbnails.test${path}`, { headers }), env);
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

  test("put rejects non-image", async () => {
    const response = await worker.fetch(new Request("http://thumbnails.test/photos/note.txt", { method: "PUT", body: "hello" }), env);
    expect(response.status).toBe(415);
    expect(await response.text()).toBe("IMAGES_INFO_ERROR 9412: The requested file is not an image\n");
  });
});
