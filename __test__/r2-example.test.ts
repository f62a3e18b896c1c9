import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, type WorkerHandle } from "../lib/worker.ts";
import { ROOT } from "./fixtures.ts";

let handle: WorkerHandle;

beforeAll(async () => {
  handle = await startWorker({
    cwd: join(ROOT, "examples", "r2-uploads"),
    persistTo: mkdtempSync(join(tmpdir(), "bunflare-r2-example-")),
  });
});

afterAll(async () => {
  await handle.stop();
});

const url = (path: string) => new URL(path, handle.url);

test("example upload and range download", async () => {
  const upload = await fetch(url("/files/docs/readme.txt"), { method: "PUT", body: "0123456789", headers: { "content-type": "text/plain" } });
  expect(upload.status).toBe(201);
  const etag = upload.headers.get("etag")!;

  const whole = await fetch(url("/files/docs/readme.txt"));
  expect(await whole.text()).toBe("0123456789");
  expect(whole.headers.get("content-type")).toBe("text/plain");

  const partial = await fetch(url("/files/docs/readme.txt"), { headers: { range: "bytes=3-5" } });
  expect(partial.status).toBe(206);
  expect(partial.headers.get("content-range")).toBe("bytes 3-5/10");
  expect(await partial.text()).toBe("345");

  const cached = await fetch(url("/files/docs/readme.txt"), { headers: { "if-none-match": etag } });
  expect(cached.status).toBe(304);

  const listing = (await (await fetch(url("/files?prefix="))).json()) as { folders: string[] };
  expect(listing.folders).toEqual(["docs/"]);
});

test("example multipart upload", async () => {
  const { uploadId } = (await (await fetch(url("/uploads/video.bin"), { method: "POST" })).json()) as { uploadId: string };
  const first = new Uint8Array(5 * 1024 * 1024).fill(1);
  const part1 = await (await fetch(url(`/uploads/video.bin?uploadId=${uploadId}&part=1`), { method: "PUT", body: first })).json();
  const part2 = await (await fetch(url(`/uploads/video.bin?uploadId=${uploadId}&part=2`), { method: "PUT", body: "tail" })).json();
  const done = await fetch(url(`/uploads/video.bin?uploadId=${uploadId}`), { method: "POST", body: JSON.stringify([part1, part2]) });
  expect(done.status).toBe(200);
  expect(((await done.json()) as { size: number }).size).toBe(5 * 1024 * 1024 + 4);

  const tail = await fetch(url("/files/video.bin"), { headers: { range: "bytes=-4" } });
  expect(await tail.text()).toBe("tail");
});
