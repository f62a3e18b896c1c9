// The Images binding through its public API, on the sample photographs in
// the samples folder beside the repository (copied to a temp dir first). Pixel checks compare
// probes and means, decoded back to raw RGBA with the binding itself.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createImagesBinding, ImagesBinding, ImagesError, type ImageTransformer } from "../lib/bindings/images.ts";
import { installImageResizing } from "../lib/bindings/image-resizing.ts";
import { ConfigError, loadConfig } from "../lib/config.ts";
import { buildEnv } from "../lib/env.ts";
import { native } from "../lib/native.ts";
import { rejection } from "./fixtures.ts";

const SAMPLES = process.env.BUNFLARE_SAMPLE_IMAGES ?? join(import.meta.dir, "..", "..", "shared", "data", "images");

let dir = "";
const images = createImagesBinding();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "bunflare-images-"));
  for (const name of readdirSync(SAMPLES)) copyFileSync(join(SAMPLES, name), join(dir, name));
});

function stream(name: string): ReadableStream<Uint8Array> {
  return new Blob([readFileSync(join(dir, name))]).stream();
}

/** Raw RGBA pixels of an encoded image, with its size. */
interface Pixels {
  width: number;
  height: number;
  data: Uint8Array;
}

async function decode(bytes: ReadableStream<Uint8Array>): Promise<Pixels> {
  const buffer = new Uint8Array(await new Response(bytes).arrayBuffer());
  const info = (await images.info(new Blob([buffer]).stream())) as { width: number; height: number };
  const raw = await images.input(new Blob([buffer]).stream()).output({ format: "rgba" });
  const data = new Uint8Array(await raw.response().arrayBuffer());
  return { width: info.width, height: info.height, data };
}

/** Runs a transformer to PNG and decodes the result. */
async function render(transformer: ImageTransformer, format: "image/png" | "image/webp" | "image/jpeg" = "image/png"): Promise<Pixels> {
  const result = await transformer.output({ format });
  return decode(result.image());
}

function pixel(image: Pixels, x: number, y: number): number[] {
  const offset = (y * image.width + x) * 4;
  return Array.from(image.data.subarray(offset, offset + 4));
}

function mean(image: Pixels, channel = 0): number {
  let sum = 0;
  for (let i = channel; i < image.data.length; i += 4) sum += image.data[i]!;
  return sum / (image.data.length / 4);
}

function variance(image: Pixels): number {
  const average = mean(image);
  let sum = 0;
  for (let i = 0; i < image.data.length; i += 4) sum += (image.data[i]! - average) ** 2;
  return sum / (image.data.length / 4);
}

function expectClose(actual: number[], expected: number[], tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(tolerance);
}

async function expectImagesError(promise: Promise<unknown>, code: number, message: string): Promise<void> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(ImagesError);
  expect((error as ImagesError).code).toBe(code);
  expect(error.message).toBe(message);
}

/** Builds a PNG of only a header (and an empty IDAT) claiming `width` x `height`, to test limits without the pixels. */
function pngHeader(width: number, height: number): Uint8Array<ArrayBuffer> {
  const body = new Uint8Array(17);
  body.set([0x49, 0x48, 0x44, 0x52]);
  const view = new DataView(body.buffer);
  view.setUint32(4, width);
  view.setUint32(8, height);
  body.set([8, 2, 0, 0, 0], 12);
  const chunk = new Uint8Array(4 + 17 + 4);
  new DataView(chunk.buffer).setUint32(0, 13);
  chunk.set(body, 4);
  new DataView(chunk.buffer).setUint32(21, crc32(body));
  // An empty IDAT chunk ends the header; decoders read the size before it.
  const idat = new Uint8Array([0, 0, 0, 0, 0x49, 0x44, 0x41, 0x54, 0, 0, 0, 0]);
  new DataView(idat.buffer).setUint32(8, crc32(idat.subarray(4, 8)));
  const png = new Uint8Array(8 + chunk.length + idat.length);
  png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  png.set(chunk, 8);
  png.set(idat, 8 + chunk.length);
  return png;
}

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Counts a GIF's frames by their image descriptors (one per frame in these samples). */
function gifFrames(bytes: Uint8Array): number {
  let frames = 0;
  for (let i = 0; i + 2 < bytes.length; i++) {
    // A graphic control extension (21 F9 04) precedes each frame.
    if (bytes[i] === 0x21 && bytes[i + 1] === 0xf9 && bytes[i + 2] === 0x04) frames++;
  }
  return frames;
}

describe("info", () => {
  const expected: Record<string, [string, number, number]> = {
    "astronaut.png": ["image/png", 512, 512],
    "camera.png": ["image/png", 512, 512],
    "chelsea.png": ["image/png", 451, 300],
    "chessboard_GRAY.png": ["image/png", 200, 200],
    "logo.png": ["image/png", 500, 500],
    "no_time_for_that_tiny.gif": ["image/gif", 14, 25],
    "rocket.jpg": ["image/jpeg", 640, 427],
  };

  for (const [name, [format, width, height]] of Object.entries(expected)) {
    test(`info ${name}`, async () => {
      const info = await images.info(stream(name));
      expect(info).toEqual({ format, fileSize: statSync(join(dir, name)).size, width, height });
    });
  }

  test("info svg reports format only", async () => {
    const svg = '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>';
    expect(await images.info(new Blob([svg]).stream())).toEqual({ format: "image/svg+xml" });
  });

  test("info rejects non-image", async () => {
    await expectImagesError(images.info(new Blob(["<html>not found</html>"]).stream()), 9412, "IMAGES_INFO_ERROR 9412: The requested file is not an image");
  });

  test("info base64 input", async () => {
    const base64 = readFileSync(join(dir, "chessboard_GRAY.png")).toString("base64");
    const info = await images.info(new Blob([base64]).stream(), { encoding: "base64" });
    expect(info).toMatchObject({ format: "image/png", width: 200, height: 200 });
  });
});

describe("fit", () => {
  // [image, fit, target width, target height, expected width, expected height]
  const cases: [string, string, number, number, number, number][] = [
    ["astronaut.png", "scale-down", 200, 100, 100, 100],
    ["astronaut.png", "contain", 200, 100, 100, 100],
    ["astronaut.png", "cover", 200, 100, 200, 100],
    ["astronaut.png", "crop", 200, 100, 200, 100],
    ["astronaut.png", "pad", 200, 100, 200, 100],
    ["astronaut.png", "squeeze", 200, 100, 200, 100],
    ["astronaut.png", "scale-down", 100, 200, 100, 100],
    ["astronaut.png", "contain", 100, 200, 100, 100],
    ["astronaut.png", "cover", 100, 200, 100, 200],
    ["astronaut.png", "crop", 100, 200, 100, 200],
    ["astronaut.png", "pad", 100, 200, 100, 200],
    ["astronaut.png", "squeeze", 100, 200, 100, 200],
    ["chelsea.png", "contain", 200, 100, 150, 100],
    ["chelsea.png", "cover", 200, 100, 200, 100],
    ["chelsea.png", "cover", 120, 80, 120, 80],
    ["chelsea.png", "contain", 100, 200, 100, 67],
    ["chelsea.png", "cover", 100, 200, 100, 200],
    ["chelsea.png", "pad", 100, 200, 100, 200],
    ["chessboard_GRAY.png", "scale-down", 400, 300, 200, 200],
    ["chessboard_GRAY.png", "contain", 400, 300, 300, 300],
    ["chessboard_GRAY.png", "crop", 400, 300, 200, 200],
    ["chessboard_GRAY.png", "cover", 400, 300, 400, 300],
    ["chessboard_GRAY.png", "scale-up", 100, 50, 200, 200],
  ];

  for (const [name, fit, width, height, expectedWidth, expectedHeight] of cases) {
    test(`fit ${fit} ${name} to ${width}x${height}`, async () => {
      const result = await images.input(stream(name)).transform({ width, height, fit }).output({ format: "image/png" });
      const info = await images.info(result.image());
      expect(info).toMatchObject({ width: expectedWidth, height: expectedHeight });
    });
  }

  test("fit width only keeps aspect", async () => {
    const info = await images.info((await images.input(stream("rocket.jpg")).transform({ width: 320 }).output({ format: "image/png" })).image());
    expect(info).toMatchObject({ width: 320, height: 214 });
  });

  test("fit dpr multiplies size", async () => {
    const info = await images.info((await images.input(stream("astronaut.png")).transform({ width: 100, dpr: 2 }).output({ format: "image/png" })).image());
    expect(info).toMatchObject({ width: 200, height: 200 });
  });

  test("fit pad fills with background", async () => {
    const out = await render(images.input(stream("astronaut.png")).transform({ width: 200, height: 100, fit: "pad", background: "#ff0000" }));
    expect(pixel(out, 10, 50)).toEqual([255, 0, 0, 255]);
    expect(pixel(out, 190, 50)).toEqual([255, 0, 0, 255]);
  });

  test("gravity picks cover window", async () => {
    const original = await decode(stream("chelsea.png"));
    const left = await render(images.input(stream("chelsea.png")).transform({ width: 300, height: 300, fit: "cover", gravity: "left" }));
    const right = await render(images.input(stream("chelsea.png")).transform({ width: 300, height: 300, fit: "cover", gravity: "right" }));
    const point = await render(images.input(stream("chelsea.png")).transform({ width: 300, height: 300, fit: "cover", gravity: { x: 0.5, y: 0.5, mode: "remainder" } }));
    expectClose(pixel(left, 5, 5), pixel(original, 5, 5), 3);
    expectClose(pixel(right, 5, 5), pixel(original, 151 + 5, 5), 3);
    expectClose(pixel(point, 5, 5), pixel(original, 76 + 5, 5), 3);
  });
});

describe("rotate and flip", () => {
  test("rotate 90 moves pixel", async () => {
    const original = await decode(stream("chelsea.png"));
    const rotated = await render(images.input(stream("chelsea.png")).transform({ rotate: 90 }));
    expect([rotated.width, rotated.height]).toEqual([300, 451]);
    // Clockwise: (x, y) lands on (height - 1 - y, x).
    expect(pixel(rotated, 299 - 20, 10)).toEqual(pixel(original, 10, 20));
  });

  test("rotate 180 and 270 move pixel", async () => {
    const original = await decode(stream("chelsea.png"));
    const half = await render(images.input(stream("chelsea.png")).transform({ rotate: 180 }));
    expect(pixel(half, 450 - 10, 299 - 20)).toEqual(pixel(original, 10, 20));
    const three = await render(images.input(stream("chelsea.png")).transform({ rotate: 270 }));
    expect(pixel(three, 20, 450 - 10)).toEqual(pixel(original, 10, 20));
  });

  test("flip h and v mirror pixel", async () => {
    const original = await decode(stream("chelsea.png"));
    const horizontal = await render(images.input(stream("chelsea.png")).transform({ flip: "h" }));
    expect(pixel(horizontal, 450 - 10, 20)).toEqual(pixel(original, 10, 20));
    const vertical = await render(images.input(stream("chelsea.png")).transform({ flip: "v" }));
    expect(pixel(vertical, 10, 299 - 20)).toEqual(pixel(original, 10, 20));
  });

  test("flip before rotate", async () => {
    const original = await decode(stream("chelsea.png"));
    const both = await render(images.input(stream("chelsea.png")).transform({ flip: "h", rotate: 90 }));
    // Mirrored to (450 - 10, 20), then rotated to (299 - 20, 440).
    expect(pixel(both, 299 - 20, 450 - 10)).toEqual(pixel(original, 10, 20));
  });

  test("transforms chain in order", async () => {
    const chained = await images.input(stream("chelsea.png")).transform({ rotate: 90 }).transform({ width: 100, height: 100, fit: "squeeze" }).transform({ width: 50 }).output({ format: "image/png" });
    expect(await images.info(chained.image())).toMatchObject({ width: 50, height: 50 });
  });
});

describe("output", () => {
  test("jpeg quality orders sizes", async () => {
    const sizes: number[] = [];
    for (const quality of [10, 50, 90]) {
      const result = await images.input(stream("astronaut.png")).output({ format: "image/jpeg", quality });
      sizes.push((await result.response().arrayBuffer()).byteLength);
    }
    expect(sizes[0]!).toBeLessThan(sizes[1]!);
    expect(sizes[1]!).toBeLessThan(sizes[2]!);
  });

  // logo.png is stored as RGBA but every pixel is opaque, so the transparent
  // input is made here: the logo padded onto a transparent 500x300 canvas.
  async function transparentPng(): Promise<Uint8Array<ArrayBuffer>> {
    const padded = await images.input(stream("logo.png")).transform({ width: 500, height: 300, fit: "pad", background: "transparent" }).output({ format: "image/png" });
    return new Uint8Array(await padded.response().arrayBuffer());
  }

  test("png and webp keep transparency", async () => {
    const source = await transparentPng();
    const original = await decode(new Blob([source]).stream());
    expect(pixel(original, 10, 150)[3]).toBe(0);
    expect(pixel(original, 250, 150)[3]).toBe(255);
    for (const format of ["image/png", "image/webp"] as const) {
      const result = await images.input(new Blob([source]).stream()).output({ format });
      expect(result.contentType()).toBe(format);
      const out = await decode(result.image());
      expect(pixel(out, 10, 150)[3]).toBe(0);
      // WebP at the default quality is lossy, so its colors are compared with a tolerance.
      expectClose(pixel(out, 250, 150), pixel(original, 250, 150), format === "image/png" ? 0 : 24);
    }
  });

  test("webp quality orders sizes", async () => {
    const sizes: number[] = [];
    for (const quality of [20, 60, 95]) {
      const result = await images.input(stream("astronaut.png")).output({ format: "image/webp", quality });
      sizes.push((await result.response().arrayBuffer()).byteLength);
    }
    expect(sizes[0]!).toBeLessThan(sizes[1]!);
    expect(sizes[1]!).toBeLessThan(sizes[2]!);
  });

  test("webp quality 100 is lossless", async () => {
    const original = await decode(stream("chelsea.png"));
    const out = await decode((await images.input(stream("chelsea.png")).output({ format: "image/webp", quality: 100 })).image());
    for (const [x, y] of [[0, 0], [100, 100], [450, 299]]) expect(pixel(out, x!, y!)).toEqual(pixel(original, x!, y!));
  });

  test("jpeg fills transparency with background", async () => {
    const source = await transparentPng();
    const red = await decode((await images.input(new Blob([source]).stream()).output({ format: "image/jpeg", background: "#ff0000" })).image());
    expectClose(pixel(red, 10, 150), [255, 0, 0, 255], 8);
    const white = await decode((await images.input(new Blob([source]).stream()).output({ format: "image/jpeg" })).image());
    expectClose(pixel(white, 10, 150), [255, 255, 255, 255], 8);
  });

  test("rgb and rgba raw sizes", async () => {
    const rgb = await images.input(stream("chelsea.png")).output({ format: "rgb" });
    expect((await rgb.response().arrayBuffer()).byteLength).toBe(451 * 300 * 3);
    const rgba = await images.input(stream("chessboard_GRAY.png")).output({ format: "rgba" });
    expect((await rgba.response().arrayBuffer()).byteLength).toBe(200 * 200 * 4);
  });

  test("gif keeps animation", async () => {
    const original = new Uint8Array(readFileSync(join(dir, "no_time_for_that_tiny.gif")));
    const frames = gifFrames(original);
    expect(frames).toBeGreaterThan(1);
    const animated = await images.input(stream("no_time_for_that_tiny.gif")).transform({ width: 7 }).output({ format: "image/gif" });
    const bytes = new Uint8Array(await animated.response().arrayBuffer());
    expect(gifFrames(bytes)).toBe(frames);
    expect(await images.info(new Blob([bytes]).stream())).toMatchObject({ width: 7, height: 13 });
  });

  test("gif anim false keeps one frame", async () => {
    const still = await images.input(stream("no_time_for_that_tiny.gif")).output({ format: "image/gif", anim: false });
    expect(gifFrames(new Uint8Array(await still.response().arrayBuffer()))).toBe(1);
  });

  test("response sets content type and headers", async () => {
    const result = await images.input(stream("chessboard_GRAY.png")).output({ format: "image/webp" });
    const response = result.response({ headers: { "cache-control": "max-age=60" } });
    expect(response.headers.get("content-type")).toBe("image/webp");
    expect(response.headers.get("cache-control")).toBe("max-age=60");
  });

  test("image base64 encoding", async () => {
    const result = await images.input(stream("chessboard_GRAY.png")).output({ format: "image/png" });
    const text = await new Response(result.image({ encoding: "base64" })).text();
    const again = await images.info(new Blob([text]).stream(), { encoding: "base64" });
    expect(again).toMatchObject({ width: 200, height: 200 });
  });

  test("outputs run concurrently", async () => {
    const widths = [64, 96, 128, 160];
    const results = await Promise.all(widths.map((width) => images.input(stream("rocket.jpg")).transform({ width }).output({ format: "image/jpeg" })));
    const infos = await Promise.all(results.map((result) => images.info(result.image())));
    expect(infos.map((info) => (info as { width: number }).width)).toEqual(widths);
  });
});

describe("filters", () => {
  test("blur lowers variance", async () => {
    const original = await decode(stream("camera.png"));
    const blurred = await render(images.input(stream("camera.png")).transform({ blur: 10 }));
    expect(variance(blurred)).toBeLessThan(variance(original) * 0.9);
    expect(Math.abs(mean(blurred) - mean(original))).toBeLessThan(3);
  });

  test("sharpen raises variance", async () => {
    const original = await decode(stream("camera.png"));
    const sharpened = await render(images.input(stream("camera.png")).transform({ sharpen: 5 }));
    expect(variance(sharpened)).toBeGreaterThan(variance(original));
  });

  test("brightness contrast gamma", async () => {
    const original = await decode(stream("camera.png"));
    const darker = await render(images.input(stream("camera.png")).transform({ brightness: 0.5 }));
    expect(mean(darker)).toBeLessThan(mean(original) * 0.6);
    const flat = await render(images.input(stream("camera.png")).transform({ contrast: 0.5 }));
    expect(variance(flat)).toBeLessThan(variance(original) * 0.3);
    const lighter = await render(images.input(stream("camera.png")).transform({ gamma: 2 }));
    expect(mean(lighter)).toBeGreaterThan(mean(original));
    const same = await render(images.input(stream("camera.png")).transform({ brightness: 0 }));
    expect(mean(same)).toBe(mean(original));
  });

  test("saturation zero makes gray", async () => {
    const gray = await render(images.input(stream("chelsea.png")).transform({ saturation: 0 }));
    const [r, g, b] = pixel(gray, 200, 150);
    expect(r).toBe(g!);
    expect(g).toBe(b!);
  });

  test("border adds edges", async () => {
    const out = await render(images.input(stream("chessboard_GRAY.png")).transform({ border: { color: "#00ff00", width: 10 } }));
    expect([out.width, out.height]).toEqual([220, 220]);
    expect(pixel(out, 3, 100)).toEqual([0, 255, 0, 255]);
    const sides = await images.info((await images.input(stream("chessboard_GRAY.png")).transform({ border: { color: "red", top: 1, right: 2, bottom: 3, left: 4 } }).output({ format: "image/png" })).image());
    expect(sides).toMatchObject({ width: 206, height: 204 });
  });

  test("trim sides and size", async () => {
    const original = await decode(stream("chelsea.png"));
    const out = await render(images.input(stream("chelsea.png")).transform({ trim: { top: 10, left: 20, right: 30, bottom: 40 } }));
    expect([out.width, out.height]).toEqual([401, 250]);
    expect(pixel(out, 0, 0)).toEqual(pixel(original, 20, 10));
    const sized = await images.info((await images.input(stream("chelsea.png")).transform({ trim: { left: 20, width: 100, height: 50 } }).output({ format: "image/png" })).image());
    expect(sized).toMatchObject({ width: 100, height: 50 });
  });

  test("trim border removes frame", async () => {
    const framed = await images.input(stream("chessboard_GRAY.png")).transform({ border: { color: "#ff0000", width: 12 } }).output({ format: "image/png" });
    const trimmed = await images.input(framed.image()).transform({ trim: "border" }).output({ format: "image/png" });
    expect(await images.info(trimmed.image())).toMatchObject({ width: 200, height: 200 });
    const kept = await images.input((await images.input(stream("chessboard_GRAY.png")).transform({ border: { color: "#ff0000", width: 12 } }).output({ format: "image/png" })).image()).transform({ trim: { border: { color: "#ff0000", tolerance: 10, keep: 2 } } }).output({ format: "image/png" });
    expect(await images.info(kept.image())).toMatchObject({ width: 204, height: 204 });
  });
});

describe("draw", () => {
  test("draw places overlay at offsets", async () => {
    const canvas = await decode(stream("chelsea.png"));
    const overlay = await decode(stream("chessboard_GRAY.png"));
    const out = await render(images.input(stream("chelsea.png")).draw(stream("chessboard_GRAY.png"), { left: 30, top: 40 }));
    expect([out.width, out.height]).toEqual([451, 300]);
    for (const [dx, dy] of [[0, 0], [25, 25], [199, 199], [120, 60]]) {
      expect(pixel(out, 30 + dx!, 40 + dy!)).toEqual(pixel(overlay, dx!, dy!));
    }
    expect(pixel(out, 29, 40)).toEqual(pixel(canvas, 29, 40));
    expect(pixel(out, 30, 240)).toEqual(pixel(canvas, 30, 240));
  });

  test("draw opacity blends", async () => {
    const canvas = await decode(stream("chelsea.png"));
    const overlay = await decode(stream("chessboard_GRAY.png"));
    const out = await render(images.input(stream("chelsea.png")).draw(stream("chessboard_GRAY.png"), { right: 5, bottom: 7, opacity: 0.25 }));
    const x = 451 - 200 - 5;
    const y = 300 - 200 - 7;
    for (const [dx, dy] of [[0, 0], [25, 25], [199, 199]]) {
      const top = pixel(overlay, dx!, dy!);
      const bottom = pixel(canvas, x + dx!, y + dy!);
      const expected = [0, 1, 2].map((c) => top[c]! * 0.25 + bottom[c]! * 0.75);
      expectClose(pixel(out, x + dx!, y + dy!).slice(0, 3), expected, 1);
    }
  });

  test("draw centers without offsets", async () => {
    const overlay = await decode(stream("chessboard_GRAY.png"));
    const out = await render(images.input(stream("astronaut.png")).draw(stream("chessboard_GRAY.png")));
    expect(pixel(out, 156 + 10, 156 + 10)).toEqual(pixel(overlay, 10, 10));
  });

  test("draw repeat tiles", async () => {
    const overlay = await decode(stream("chessboard_GRAY.png"));
    const out = await render(images.input(stream("astronaut.png")).draw(stream("chessboard_GRAY.png"), { left: 0, top: 0, repeat: true }));
    expect(pixel(out, 200 + 13, 400 + 17)).toEqual(pixel(overlay, 13, 17));
    const row = await render(images.input(stream("astronaut.png")).draw(stream("chessboard_GRAY.png"), { left: 0, top: 0, repeat: "x" }));
    expect(pixel(row, 400 + 13, 17)).toEqual(pixel(overlay, 13, 17));
    expect(pixel(row, 13, 400 + 17)).not.toEqual(pixel(overlay, 13, 17));
  });

  test("draw transformed overlay", async () => {
    const overlay = images.input(stream("logo.png")).transform({ width: 100 });
    const out = await render(images.input(stream("rocket.jpg")).draw(overlay, { top: 0, left: 0 }));
    const logo = await render(images.input(stream("logo.png")).transform({ width: 100 }));
    // An opaque pixel of the resized logo is copied unchanged.
    expect(pixel(logo, 50, 50)[3]).toBe(255);
    expect(pixel(out, 50, 50)).toEqual(pixel(logo, 50, 50));
  });

  test("draw both left and right rejected", async () => {
    await expectImagesError(
      images.input(stream("chelsea.png")).draw(stream("chessboard_GRAY.png"), { left: 1, right: 1 }).output({ format: "image/png" }),
      9401,
      "IMAGES_TRANSFORM_ERROR 9401: draw: setting both left and right is an error; give one of them",
    );
  });
});

describe("errors", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["rotate 45", { rotate: 45 }, "rotate must be 0, 90, 180, 270 or 360, got 45"],
    ["blur 251", { blur: 251 }, "blur must be at least 0 and at most 250, got 251"],
    ["sharpen 11", { sharpen: 11 }, "sharpen must be at least 0 and at most 10, got 11"],
    ["fit fill", { width: 10, fit: "fill" }, 'fit must be one of scale-down, scale-up, contain, cover, crop, pad, squeeze; got "fill"'],
    ["width 0", { width: 0 }, "width must be a positive integer, got 0"],
    ["width string", { width: "10" }, 'width must be a number, got "10"'],
    ["flip x", { flip: "x" }, 'flip must be "h", "v" or "hv", got "x"'],
    ["gravity x 2", { width: 10, height: 10, fit: "cover", gravity: { x: 2, y: 0 } }, "gravity.x must be between 0 and 1, got 2"],
    ["background bad", { background: "nope" }, 'invalid color "nope": use #rrggbb, #rrggbbaa, rgb(r,g,b), rgba(r,g,b,a) or a color name'],
    ["trim whole", { trim: { left: 300, right: 300 } }, "trim removes the whole 451x300 image; cut less from its sides"],
    ["dpr 0", { dpr: 0 }, "dpr must be greater than 0, got 0"],
  ];

  for (const [name, transform, message] of cases) {
    test(`transform ${name} rejected`, async () => {
      await expectImagesError(images.input(stream("chelsea.png")).transform(transform).output({ format: "image/png" }), 9401, `IMAGES_TRANSFORM_ERROR 9401: ${message}`);
    });
  }

  test("transform non-object rejected", () => {
    expect(() => images.input(stream("chelsea.png")).transform(5 as never)).toThrow(TypeError);
  });

  test("output format bogus", async () => {
    await expectImagesError(
      images.input(stream("chelsea.png")).output({ format: "image/bmp" as never }),
      9401,
      'IMAGES_TRANSFORM_ERROR 9401: Unsupported output format "image/bmp": use image/png, image/jpeg, image/gif, image/webp, image/avif, rgb or rgba',
    );
  });

  test("output quality out of range", async () => {
    await expectImagesError(images.input(stream("chelsea.png")).output({ format: "image/jpeg", quality: 101 }), 9401, "IMAGES_TRANSFORM_ERROR 9401: quality must be between 1 and 100, got 101");
  });

  test("output avif unavailable", async () => {
    await expectImagesError(
      images.input(stream("chelsea.png")).output({ format: "image/avif" }),
      9401,
      "IMAGES_TRANSFORM_ERROR 9401: Output format image/avif is not available in bunflare: its encoder is not compiled in. Use image/webp or image/png locally",
    );
  });

  test("output twice rejected", async () => {
    const transformer = images.input(stream("chelsea.png"));
    await transformer.output({ format: "image/png" });
    await expectImagesError(transformer.output({ format: "image/png" }), 9525, "IMAGES_TRANSFORM_ERROR 9525: ImageTransformer consumed; you may only call .output() or draw a transformer once");
  });

  test("draw consumed transformer throws", () => {
    const overlay = images.input(stream("logo.png"));
    const canvas = images.input(stream("chelsea.png")).draw(overlay);
    let error: unknown;
    try {
      canvas.draw(overlay);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ImagesError);
    expect((error as ImagesError).code).toBe(9525);
  });

  test("output non-image rejected", async () => {
    await expectImagesError(images.input(new Blob(["plain text"]).stream()).output({ format: "image/png" }), 9412, "IMAGES_TRANSFORM_ERROR 9412: The requested file is not an image");
  });

  test("input dimension over limit", async () => {
    await expectImagesError(
      images.input(new Blob([pngHeader(13_000, 10)]).stream()).output({ format: "image/png" }),
      9413,
      "IMAGES_TRANSFORM_ERROR 9413: The image size 13000x10 exceeds the maximum dimension of 12000 pixels",
    );
  });

  test("input area over limit", async () => {
    await expectImagesError(
      images.input(new Blob([pngHeader(11_000, 11_000)]).stream()).output({ format: "image/png" }),
      9413,
      "IMAGES_TRANSFORM_ERROR 9413: The image area 11000x11000x1 frames exceeds the maximum of 100000000 pixels (100 megapixels)",
    );
  });

  test("resize target over limit", async () => {
    await expectImagesError(
      images.input(stream("chessboard_GRAY.png")).transform({ width: 20_000, fit: "contain" }).output({ format: "image/png" }),
      9413,
      "IMAGES_TRANSFORM_ERROR 9413: The image size 20000x20000 exceeds the maximum dimension of 12000 pixels",
    );
  });

  test("input file over limit", async () => {
    const huge = new Uint8Array(100_000_001);
    huge.set(pngHeader(10, 10));
    await expectImagesError(images.info(new Blob([huge]).stream()), 9402, "IMAGES_INFO_ERROR 9402: The image is 100000001 bytes, over the limit of 100000000 bytes");
  });

  test("text and hosted unsupported", () => {
    expect(() => images.text("hello", {})).toThrow("bunflare does not support IMAGES.text() yet");
    expect(() => images.hosted.list!()).toThrow("bunflare does not support env.IMAGES.hosted (hosted Cloudflare Images) yet");
  });
});

describe("config", () => {
  test("images key builds env binding", () => {
    const root = mkdtempSync(join(tmpdir(), "bunflare-images-config-"));
    writeFileSync(join(root, "wrangler.jsonc"), JSON.stringify({ name: "images-test", images: { binding: "IMAGES" } }));
    const config = loadConfig({ cwd: root });
    expect(config.images).toEqual({ binding: "IMAGES" });
    expect(config.unsupportedBindings).not.toContain("images");
    const env = buildEnv(config, native.Storage.open(null));
    expect(env.IMAGES).toBeInstanceOf(ImagesBinding);
  });

  test("images binding must be string", () => {
    const root = mkdtempSync(join(tmpdir(), "bunflare-images-config-"));
    writeFileSync(join(root, "wrangler.jsonc"), JSON.stringify({ name: "images-test", images: { binding: 5 } }));
    expect(() => loadConfig({ cwd: root })).toThrow(ConfigError);
  });
});

describe("cf.image fetch", () => {
  let origin: ReturnType<typeof Bun.serve>;

  beforeAll(() => {
    installImageResizing();
    origin = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(request) {
        const name = new URL(request.url).pathname.slice(1);
        if (name === "page.html") return new Response("<html>not found</html>", { headers: { "content-type": "text/html" } });
        return new Response(readFileSync(join(dir, name)), { headers: { "content-type": name.endsWith(".jpg") ? "image/jpeg" : "image/png" } });
      },
    });
  });

  afterAll(() => origin.stop(true));

  function url(name: string): string {
    return `http://127.0.0.1:${origin.port}/${name}`;
  }

  test("cf.image resizes response", async () => {
    const response = await fetch(url("rocket.jpg"), { cf: { image: { width: 320, format: "webp", quality: 70 } } } as RequestInit);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/webp");
    expect(response.headers.get("cf-resized")).toStartWith("internal=ok");
    expect(await images.info(response.body!)).toMatchObject({ format: "image/webp", width: 320, height: 214 });
  });

  test("cf.image keeps input format", async () => {
    const response = await fetch(url("chelsea.png"), { cf: { image: { width: 100, height: 100, fit: "cover" } } } as RequestInit);
    expect(await images.info(response.body!)).toMatchObject({ format: "image/png", width: 100, height: 100 });
  });

  test("cf.image draws overlay url", async () => {
    const overlay = await decode(stream("chessboard_GRAY.png"));
    const response = await fetch(url("astronaut.png"), { cf: { image: { format: "png", draw: [{ url: url("chessboard_GRAY.png"), top: 0, left: 0 }] } } } as RequestInit);
    const out = await decode(response.body!);
    expect(pixel(out, 13, 17)).toEqual(pixel(overlay, 13, 17));
  });

  test("cf.image json format", async () => {
    const response = await fetch(url("rocket.jpg"), { cf: { image: { width: 64, format: "json" } } } as RequestInit);
    expect(await response.json()).toEqual({ original: { file_size: statSync(join(dir, "rocket.jpg")).size, width: 640, height: 427, format: "image/jpeg" }, width: 64, height: 43 });
  });

  test("cf.image non-image is err 9412", async () => {
    const response = await fetch(url("page.html"), { cf: { image: { width: 64 } } } as RequestInit);
    expect(response.status).toBe(415);
    expect(response.headers.get("cf-resized")).toBe("err=9412");
    expect(await response.text()).toBe("ERROR 9412: The requested file is not an image");
  });

  test("cf.image bad option is err 9401", async () => {
    const response = await fetch(url("rocket.jpg"), { cf: { image: { rotate: 45 } } } as RequestInit);
    expect(response.status).toBe(400);
    expect(response.headers.get("cf-resized")).toBe("err=9401");
    expect(await response.text()).toBe("ERROR 9401: rotate must be 0, 90, 180, 270 or 360, got 45");
  });

  test("fetch without cf.image untouched", async () => {
    const response = await fetch(url("rocket.jpg"));
    expect(response.headers.get("cf-resized")).toBeNull();
    expect((await response.arrayBuffer()).byteLength).toBe(statSync(join(dir, "rocket.jpg")).size);
  });
});
