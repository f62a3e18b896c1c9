// The Images binding: production's `ImagesBinding`, `ImageTransformer` and
// `ImageTransformationResult` over the Rust engine in `src/images/`.
//
// A transformer only records steps. `output()` reads every input stream,
// flattens the steps into one plan (image 0 is the canvas, each drawn image
// gets the next index, its own transforms listed before its draw), and hands
// plan and bytes to one native AsyncTask. Validation and limits live in Rust;
// this file maps its errors to production's `ImagesError` messages.

import { native } from "../native.ts";
import { registerErrorClasses, translateError } from "../errors.ts";
import { log } from "../log.ts";

/** Production's `ImagesError`: a plain Error with a numeric `code`. */
export class ImagesError extends Error {
  readonly code: number;

  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

/** An engine error, before the binding adds the operation (INFO or TRANSFORM) that raised it. */
class EngineImagesError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`${status}: ${detail}`);
  }
}

/** Parses the engine's `<status>: <message>` text. */
function engineError(message: string): Error {
  const match = /^(\d+): ([\s\S]*)$/.exec(message);
  return match ? new EngineImagesError(Number(match[1]), match[2]!) : new Error(message);
}

registerErrorClasses({
  IMAGES_INVALID_OPTION: engineError,
  IMAGES_NOT_AN_IMAGE: engineError,
  IMAGES_FILE_TOO_LARGE: engineError,
  IMAGES_DIMENSION_TOO_LARGE: engineError,
  IMAGES_AREA_TOO_LARGE: engineError,
  IMAGES_OUTPUT_UNAVAILABLE: engineError,
  IMAGES_CODEC: engineError,
});

/** Rethrows a native error as production's `IMAGES_<operation>_ERROR <code>: <message>`. */
function toImagesError(operation: "INFO" | "TRANSFORM", error: unknown): unknown {
  const translated = translateError(error);
  if (translated instanceof EngineImagesError) {
    return new ImagesError(`IMAGES_${operation}_ERROR ${translated.status}: ${translated.detail}`, translated.status);
  }
  return translated;
}

/** Message and code production uses when a transformer is used twice. */
const CONSUMED_MESSAGE =
  "IMAGES_TRANSFORM_ERROR 9525: ImageTransformer consumed; you may only call .output() or draw a transformer once";
const CONSUMED_CODE = 9525;

export interface ImageInputOptions {
  encoding?: "base64";
}

export type ImageTransform = Record<string, unknown>;
export type ImageDrawOptions = Record<string, unknown>;

export interface ImageOutputOptions {
  format: "image/jpeg" | "image/png" | "image/gif" | "image/webp" | "image/avif" | "rgb" | "rgba";
  quality?: number;
  background?: string;
  anim?: boolean;
}

export type ImageInfoResponse = { format: "image/svg+xml" } | { format: string; fileSize: number; width: number; height: number };

type ImageSource = ReadableStream<Uint8Array> | ArrayBuffer | ArrayBufferView | Blob;

/** Reads an input to bytes, decoding base64 text when `encoding` is "base64". */
async function readSource(source: ImageSource, encoding: string | undefined): Promise<Buffer> {
  let bytes: Buffer;
  if (source instanceof ReadableStream || source instanceof Blob) {
    bytes = Buffer.from(await new Response(source).arrayBuffer());
  } else if (ArrayBuffer.isView(source)) {
    bytes = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  } else if (source instanceof ArrayBuffer) {
    bytes = Buffer.from(source);
  } else {
    throw new TypeError("The image must be a ReadableStream of bytes");
  }
  return encoding === "base64" ? Buffer.from(bytes.toString("latin1"), "base64") : bytes;
}

/** The result of `output()`: encoded bytes and their content type. */
export class ImageTransformationResult {
  readonly #bytes: Buffer;
  readonly #contentType: string;

  constructor(bytes: Buffer, contentType: string) {
    this.#bytes = bytes;
    this.#contentType = contentType;
  }

  /** Returns the image as a Response with its content type (and any extra headers). */
  response(options?: { headers?: HeadersInit }): Response {
    const headers = new Headers(options?.headers);
    headers.set("content-type", this.#contentType);
    return new Response(this.image(), { headers });
  }

  contentType(): string {
    return this.#contentType;
  }

  /** Returns the bytes as a stream, base64-encoded when `encoding` is "base64". */
  image(options?: { encoding?: "base64" }): ReadableStream<Uint8Array> {
    const bytes = options?.encoding === "base64" ? Buffer.from(this.#bytes.toString("base64"), "latin1") : this.#bytes;
    return new ReadableStream({
      type: "bytes",
      start(controller) {
        if (bytes.byteLength > 0) controller.enqueue(new Uint8Array(bytes));
        controller.close();
      },
    });
  }
}

type Step = { transform: ImageTransform } | { draw: ImageTransformer; options: ImageDrawOptions };

/** A chain of transforms and draws on one input, run by `output()`. */
export class ImageTransformer {
  readonly #source: ImageSource;
  readonly #encoding: string | undefined;
  readonly #steps: Step[] = [];
  #consumed = false;

  constructor(source: ImageSource, encoding: string | undefined) {
    this.#source = source;
    this.#encoding = encoding;
  }

  /** Adds a transformation; transformations run in the order they are added. */
  transform(transform: ImageTransform): this {
    if (transform === null || typeof transform !== "object") {
      throw new TypeError("transform() takes an object of transformation options");
    }
    this.#steps.push({ transform: { ...transform } });
    return this;
  }

  /** Draws another image, or the output of another transformer, on this one. */
  draw(image: ImageSource | ImageTransformer, options: ImageDrawOptions = {}): this {
    let child: ImageTransformer;
    if (image instanceof ImageTransformer) {
      image.#consume();
      child = image;
    } else {
      child = new ImageTransformer(image, undefined);
    }
    this.#steps.push({ draw: child, options: { ...options } });
    return this;
  }

  /** Runs the chain off the JavaScript thread and encodes the result. */
  async output(options: ImageOutputOptions): Promise<ImageTransformationResult> {
    this.#consume();

    const sources: Promise<Buffer>[] = [];
    const operations: unknown[] = [];
    const walk = (transformer: ImageTransformer, index: number) => {
      for (const step of transformer.#steps) {
        if ("transform" in step) {
          operations.push({ image: index, transform: step.transform });
          continue;
        }
        const childIndex = sources.length;
        sources.push(readSource(step.draw.#source, step.draw.#encoding));
        walk(step.draw, childIndex);
        operations.push({ image: childIndex, target: index, draw: step.options });
      }
    };
    sources.push(readSource(this.#source, this.#encoding));
    walk(this, 0);

    const plan = JSON.stringify({ operations, output: options ?? {} });
    const images = await Promise.all(sources);
    const started = performance.now();
    try {
      const result = await native.transformImage(plan, images);
      log.debug("images output", { format: result.contentType, bytes: result.data.byteLength, ms: Math.round(performance.now() - started) });
      return new ImageTransformationResult(result.data, result.contentType);
    } catch (error) {
      throw toImagesError("TRANSFORM", error);
    }
  }

  #consume(): void {
    if (this.#consumed) throw new ImagesError(CONSUMED_MESSAGE, CONSUMED_CODE);
    this.#consumed = true;
  }
}

/** The unsupported hosted-images API: every method rejects with a clear error. */
function unsupportedHosted(): never {
  // NOTE: hosted images (upload, list, variants) are not emulated; only the
  // transformation API is.
  throw new Error("bunflare does not support env.IMAGES.hosted (hosted Cloudflare Images) yet");
}

/** Production's `ImagesBinding`: `info`, `input` and (unsupported) `hosted` and `text`. */
export class ImagesBinding {
  readonly #name: string;

  constructor(name: string) {
    this.#name = name;
  }

  /** Returns the format, file size and dimensions; SVG returns its format only. */
  async info(stream: ImageSource, options?: ImageInputOptions): Promise<ImageInfoResponse> {
    const bytes = await readSource(stream, options?.encoding);
    try {
      const info = native.imageInfo(bytes);
      if (info.width === undefined || info.width === null) return { format: "image/svg+xml" };
      return { format: info.format, fileSize: info.fileSize!, width: info.width, height: info.height! };
    } catch (error) {
      throw toImagesError("INFO", error);
    }
  }

  /** Starts a transformation chain on an image. */
  input(stream: ImageSource, options?: ImageInputOptions): ImageTransformer {
    return new ImageTransformer(stream, options?.encoding);
  }

  /** Production rasterizes text with a font fetched from a URL. */
  text(_content: string, _options: unknown): ImageTransformer {
    // NOTE: text rendering needs the font URL fetched and a rasterizer; bunflare has neither.
    throw new Error(`bunflare does not support ${this.#name}.text() yet`);
  }

  get hosted(): Record<string, (...args: unknown[]) => never> {
    return { image: unsupportedHosted, upload: unsupportedHosted, list: unsupportedHosted, createDirectUpload: unsupportedHosted };
  }
}

/** Creates the Images binding named `name` (the config's `images.binding`). */
export function createImagesBinding(name = "IMAGES"): ImagesBinding {
  return new ImagesBinding(name);
}
