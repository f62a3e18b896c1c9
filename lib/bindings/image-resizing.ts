// Image Resizing on outgoing fetch: `fetch(url, { cf: { image: {...} } })`
// fetches the image, then runs the `cf.image` options through the same
// engine as the Images binding.
//
// A failure returns what production's resizer returns: an error response
// whose `cf-resized` header carries `err=<code>`, with the message as body.

import { createImagesBinding, ImagesError, type ImagesBinding, type ImageOutputOptions } from "./images.ts";
import { log } from "../log.ts";

type ImageOptions = Record<string, unknown> & { draw?: Record<string, unknown>[] };

/** `format` values and the output they select; `json` and absence are handled apart. */
const FORMATS: Record<string, ImageOutputOptions["format"]> = {
  // NOTE: AVIF is not compiled into bunflare, so `format: "avif"` gives WebP.
  // Production also treats the format as best-effort.
  avif: "image/webp",
  webp: "image/webp",
  jpeg: "image/jpeg",
  "baseline-jpeg": "image/jpeg",
  png: "image/png",
  "png-force": "image/png",
};

// NOTE: production does not document the numbers behind the named quality
// levels; these are bunflare's estimates.
const NAMED_QUALITY: Record<string, number> = { low: 50, "medium-low": 65, "medium-high": 75, high: 90 };

/** Options that belong to output or fetching, not to the transform itself. */
const NON_TRANSFORM_KEYS = new Set(["format", "quality", "anim", "metadata", "draw", "onerror", "compression", "origin-auth", "zoom", "upscale"]);

/** Options of a `draw` entry that place the overlay rather than transform it. */
const PLACEMENT_KEYS = new Set(["url", "opacity", "repeat", "top", "left", "bottom", "right", "composite"]);

/** HTTP status of an error response, by Images error code. */
function statusFor(code: number): number {
  if (code === 9412) return 415;
  if (code === 9413 || code === 9402) return 413;
  if (code === 9401) return 400;
  return 500;
}

let installed = false;

/** Wraps the global `fetch` once per process so `cf.image` options resize the response. */
export function installImageResizing(): void {
  if (installed) return;
  installed = true;

  const baseFetch = globalThis.fetch;
  const resizingFetch = async (input: RequestInfo | URL, init?: RequestInit & { cf?: { image?: ImageOptions } }): Promise<Response> => {
    const options = init?.cf?.image ?? (input instanceof Request ? (input as Request & { cf?: { image?: ImageOptions } }).cf?.image : undefined);
    if (!options) return baseFetch(input, init);

    const { cf: _cf, ...rest } = init ?? {};
    const origin = await baseFetch(input, rest);
    if (!origin.ok || !origin.body) return origin;
    return resize(origin, options, baseFetch);
  };
  globalThis.fetch = Object.assign(resizingFetch, baseFetch) as typeof fetch;
}

/** Splits `cf.image` options into the transform and leaves output options out. */
function transformOptions(options: Record<string, unknown>, skip: Set<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).filter(([key]) => !skip.has(key)));
}

async function resize(origin: Response, options: ImageOptions, baseFetch: typeof fetch): Promise<Response> {
  const bytes = new Uint8Array(await origin.arrayBuffer());
  const started = performance.now();
  try {
    const sourceFormat = (await images().info(new Blob([bytes]).stream())).format;
    if (sourceFormat === "image/svg+xml" || options.format === "svg") {
      // Production does not resize SVG; it passes it through.
      return new Response(bytes, { status: origin.status, headers: origin.headers });
    }

    const transformer = images().input(new Blob([bytes]).stream()).transform(transformOptions(options, NON_TRANSFORM_KEYS));
    for (const overlay of options.draw ?? []) {
      const overlayResponse = await baseFetch(String(overlay.url));
      if (!overlayResponse.ok || !overlayResponse.body) throw new ImagesError(`ERROR 9404: The overlay image ${String(overlay.url)} could not be fetched (${overlayResponse.status})`, 9404);
      const child = images().input(overlayResponse.body).transform(transformOptions(overlay, PLACEMENT_KEYS));
      const placement = Object.fromEntries(Object.entries(overlay).filter(([key]) => PLACEMENT_KEYS.has(key) && key !== "url"));
      transformer.draw(child, placement);
    }

    const quality = typeof options.quality === "string" ? NAMED_QUALITY[options.quality] : (options.quality as number | undefined);
    const format = options.format === undefined || options.format === "json" ? sameFormat(sourceFormat) : FORMATS[String(options.format)];
    if (!format) throw new ImagesError(`ERROR 9401: Unsupported format ${JSON.stringify(options.format)}`, 9401);

    const result = await transformer.output({ format, quality, anim: options.anim as boolean | undefined });
    const headers = new Headers(origin.headers);
    headers.delete("content-length");
    headers.set("cf-resized", `internal=ok n=${Math.round(performance.now() - started)}`);

    if (options.format === "json") {
      // NOTE: production's JSON output carries more fields; bunflare returns
      // the original's format, size and dimensions and the output's dimensions.
      const output = await images().info(result.image());
      headers.set("content-type", "application/json");
      const original = await images().info(new Blob([bytes]).stream());
      return new Response(JSON.stringify({ original: snakeCase(original), ...dimensions(output) }), { status: origin.status, headers });
    }

    headers.set("content-type", result.contentType());
    return new Response(result.image(), { status: origin.status, headers });
  } catch (error) {
    if (!(error instanceof ImagesError)) throw error;
    const message = error.message.replace(/^IMAGES_[A-Z]+_ERROR /, "ERROR ");
    log.warn("cf.image resizing failed", { url: origin.url, code: error.code });
    return new Response(message, { status: statusFor(error.code), headers: { "cf-resized": `err=${error.code}`, "content-type": "text/plain" } });
  }
}

/** Output format when `cf.image` names none: the input's own, where the engine can encode it. */
function sameFormat(sourceFormat: string): ImageOutputOptions["format"] {
  if (sourceFormat === "image/png" || sourceFormat === "image/gif" || sourceFormat === "image/webp") return sourceFormat;
  return "image/jpeg";
}

function snakeCase(info: Record<string, unknown>): Record<string, unknown> {
  return { file_size: info.fileSize, width: info.width, height: info.height, format: info.format };
}

function dimensions(info: Record<string, unknown>): { width: unknown; height: unknown } {
  return { width: info.width, height: info.height };
}

/** The engine behind resizing: one unnamed Images binding per process. */
const engine = createImagesBinding("cf.image");

function images(): ImagesBinding {
  return engine;
}
