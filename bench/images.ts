// Compares the Images binding with sharp (libvips) on one job: resize
// astronaut.png (512x512 RGB) to 256x256 and encode JPEG at quality 80,
// with 4 jobs in flight. Prints images/s for each and bunflare/sharp.
//
// Run: bun add --no-save sharp && bun bench/images.ts [seconds per case, default 5]
// The sample image is read from the samples folder beside the repository,
// or from the folder that BUNFLARE_SAMPLE_IMAGES names.

import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { createImagesBinding } from "../lib/bindings/images.ts";

const SECONDS_PER_CASE = Number(process.argv[2] ?? 5);
const IN_FLIGHT = 4;
const SAMPLES = process.env.BUNFLARE_SAMPLE_IMAGES ?? join(import.meta.dir, "..", "..", "shared", "data", "images");
const INPUT = readFileSync(join(SAMPLES, "astronaut.png"));

/** Runs `job` with `IN_FLIGHT` concurrent callers for the case's time and returns jobs/s. */
async function measure(name: string, job: () => Promise<number>): Promise<number> {
  // One warm-up job per caller, so first-use costs (thread start, tables) are not counted.
  await Promise.all(Array.from({ length: IN_FLIGHT }, job));

  const deadline = performance.now() + SECONDS_PER_CASE * 1000;
  const started = performance.now();
  let done = 0;
  let outputBytes = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      // Awaited first: `outputBytes += await job()` would read the sum before the await and drop other callers' additions.
      const size = await job();
      outputBytes += size;
      done++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));

  const rate = done / ((performance.now() - started) / 1000);
  const averageSize = Math.round(outputBytes / done);
  console.log(`${name.padEnd(10)} ${rate.toFixed(1).padStart(8)} images/s  (${done} images, ${averageSize} bytes each)`);
  return rate;
}

const images = createImagesBinding();

async function bunflareJob(): Promise<number> {
  const result = await images
    .input(new Blob([INPUT]).stream())
    .transform({ width: 256, height: 256, fit: "cover" })
    .output({ format: "image/jpeg", quality: 80 });
  return (await result.response().arrayBuffer()).byteLength;
}

type Sharp = (input: Buffer) => {
  resize(width: number, height: number): { jpeg(options: { quality: number }): { toBuffer(): Promise<Buffer> } };
};

let sharp: Sharp | null = null;
try {
  // A variable specifier keeps the type checker from requiring sharp, which is optional.
  const sharpModule = "sharp";
  sharp = (await import(sharpModule)).default as unknown as Sharp;
} catch {
  console.log("sharp is not installed; run `bun add --no-save sharp` to measure the reference.");
}

console.log(`${cpus().length} cores, ${IN_FLIGHT} in flight, ${SECONDS_PER_CASE} s per case`);
const bunflareRate = await measure("bunflare", bunflareJob);
if (sharp) {
  const sharpJob = async () => (await sharp!(INPUT).resize(256, 256).jpeg({ quality: 80 }).toBuffer()).byteLength;
  const sharpRate = await measure("sharp", sharpJob);
  console.log(`bunflare/sharp ${(bunflareRate / sharpRate).toFixed(2)}x`);
}
