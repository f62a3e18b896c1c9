// `bunflare r2 object get|put|delete <bucket>/<key>` and `bunflare r2 object
// list <bucket>`: wrangler's local R2 object commands, on the same engine and
// data directory the Worker's R2 bindings use.
//
// Flags keep wrangler's names (`--file`, `--pipe`, `--content-type`…), so
// scripts written for `wrangler r2 object … --local` work unchanged. Bodies
// stream in both directions, so a large file is never read whole.

import { basename, resolve } from "node:path";
import type { Storage } from "../../index.js";
import { createR2Bucket, type R2HTTPMetadata, type R2ObjectBody } from "../bindings/r2.ts";
import type { WorkerConfig } from "../config.ts";
import { CONFIG_FLAGS_USAGE } from "./config-flags.ts";
import { commandOutput, parseCommandArgs, UsageError } from "./command.ts";
import { translateError } from "../errors.ts";

export interface R2CommandContext {
  /** The open data directory (`Storage.open(config.persistTo)`). */
  storage: Storage;
  config: WorkerConfig;
  /** Writer for normal output; defaults to the process's stdout. */
  stdout?: (chunk: string | Uint8Array) => void;
  /** Writer for error messages; defaults to the process's stderr. */
  stderr?: (text: string) => void;
  /** Body for `put --pipe`; defaults to the process's stdin. */
  stdin?: ReadableStream<Uint8Array>;
  /** Directory that relative `--file` paths resolve against; defaults to the working directory. */
  cwd?: string;
}

const USAGE = `Usage: bunflare r2 object <command> [options]

Commands:
  get <bucket>/<key>      Download an object to a file (or stdout with --pipe)
  put <bucket>/<key>      Upload a file (or stdin with --pipe) as an object
  delete <bucket>/<key>   Remove an object
  list <bucket>           Print the bucket's objects as JSON

Options:
  -f, --file <path>                 get: file to write (default: the key's last segment); put: file to upload
  -p, --pipe                        get: write the body to stdout; put: read the body from stdin
      --prefix <prefix>             list: only keys that start with this prefix
      --content-type <type>         put: Content-Type to store (alias --ct)
      --content-disposition <text>  put: Content-Disposition to store (alias --cd)
      --content-encoding <text>     put: Content-Encoding to store (alias --ce)
      --content-language <text>     put: Content-Language to store (alias --cl)
      --cache-control <text>        put: Cache-Control to store (alias --cc)
      --expires <date>              put: Expires date to store
  -s, --storage-class <class>       put: Standard or InfrequentAccess
      --local                       Accepted for wrangler compatibility; bunflare data is always local
${CONFIG_FLAGS_USAGE}
`;

/** Runs `bunflare r2 <args>`, where `args` is everything after `r2`; returns the exit code. */
export async function runR2Command(args: string[], context: R2CommandContext): Promise<number> {
  const { stdout, stderr } = commandOutput(context);

  try {
    const { values, positionals } = parseCommandArgs(args, {
      file: { type: "string", short: "f" },
      pipe: { type: "boolean", short: "p" },
      prefix: { type: "string" },
      "content-type": { type: "string" },
      ct: { type: "string" },
      "content-disposition": { type: "string" },
      cd: { type: "string" },
      "content-encoding": { type: "string" },
      ce: { type: "string" },
      "content-language": { type: "string" },
      cl: { type: "string" },
      "cache-control": { type: "string" },
      cc: { type: "string" },
      expires: { type: "string" },
      "storage-class": { type: "string", short: "s" },
      jurisdiction: { type: "string", short: "J" },
      local: { type: "boolean" },
      remote: { type: "boolean" },
    });

    if (values.help) {
      stdout(USAGE);
      return 0;
    }
    if (values.remote) throw new UsageError("--remote is not supported: bunflare r2 reads and writes local data only.");

    const [group, command, target, ...extra] = positionals;
    if (group !== "object") throw new UsageError(`Unknown r2 command "${group ?? ""}". Use "bunflare r2 object <command>".`);
    if (extra.length > 0) throw new UsageError(`Unexpected argument "${extra[0]}".`);
    if (target === undefined) throw new UsageError(`${command ?? "r2 object"} needs a <bucket>/<key> argument.`);

    const cwd = context.cwd ?? process.cwd();
    switch (command) {
      case "list": {
        const bucket = createR2Bucket(context.storage, target.replace(/\/$/, ""));
        const objects: unknown[] = [];
        let cursor: string | undefined;
        for (;;) {
          const page = await bucket.list({ prefix: values.prefix, cursor, include: ["httpMetadata", "customMetadata"] });
          for (const object of page.objects) {
            objects.push({ key: object.key, size: object.size, etag: object.etag, uploaded: object.uploaded.toISOString(), httpMetadata: object.httpMetadata, customMetadata: object.customMetadata });
          }
          if (!page.truncated) break;
          cursor = page.cursor;
        }
        stdout(`${JSON.stringify(objects, undefined, 2)}\n`);
        return 0;
      }

      case "get": {
        const { bucketName, key } = splitObjectPath(target);
        const object = (await createR2Bucket(context.storage, bucketName).get(key)) as R2ObjectBody | null;
        if (object === null) throw new UsageError(`The specified key "${key}" does not exist in bucket "${bucketName}".`);
        if (values.pipe) {
          for await (const chunk of object.body) stdout(chunk);
          return 0;
        }
        const file = resolve(cwd, values.file ?? basename(key));
        stderr(`Downloading "${key}" from "${bucketName}".\n`);
        await Bun.write(file, new Response(object.body));
        stderr(`Download complete.\n`);
        return 0;
      }

      case "put": {
        const { bucketName, key } = splitObjectPath(target);
        if (Boolean(values.pipe) === (values.file !== undefined)) throw new UsageError("put needs exactly one of --file <path> and --pipe.");
        const body = values.pipe ? (context.stdin ?? Bun.stdin.stream()) : Bun.file(resolve(cwd, values.file!));
        if (!values.pipe && !(await (body as Blob & { exists(): Promise<boolean> }).exists())) {
          throw new UsageError(`The file "${values.file}" does not exist.`);
        }
        const httpMetadata: R2HTTPMetadata = {};
        const contentType = values["content-type"] ?? values.ct;
        if (contentType !== undefined) httpMetadata.contentType = contentType;
        const contentDisposition = values["content-disposition"] ?? values.cd;
        if (contentDisposition !== undefined) httpMetadata.contentDisposition = contentDisposition;
        const contentEncoding = values["content-encoding"] ?? values.ce;
        if (contentEncoding !== undefined) httpMetadata.contentEncoding = contentEncoding;
        const contentLanguage = values["content-language"] ?? values.cl;
        if (contentLanguage !== undefined) httpMetadata.contentLanguage = contentLanguage;
        const cacheControl = values["cache-control"] ?? values.cc;
        if (cacheControl !== undefined) httpMetadata.cacheControl = cacheControl;
        if (values.expires !== undefined) {
          const expires = new Date(values.expires);
          if (Number.isNaN(expires.getTime())) throw new UsageError(`Invalid --expires "${values.expires}": expected a date.`);
          httpMetadata.cacheExpiry = expires;
        }

        stderr(`Creating object "${key}" in bucket "${bucketName}".\n`);
        await createR2Bucket(context.storage, bucketName).put(key, body, { httpMetadata, storageClass: values["storage-class"] });
        stderr(`Upload complete.\n`);
        return 0;
      }

      case "delete": {
        const { bucketName, key } = splitObjectPath(target);
        stderr(`Deleting object "${key}" from bucket "${bucketName}".\n`);
        await createR2Bucket(context.storage, bucketName).delete(key);
        stderr(`Delete complete.\n`);
        return 0;
      }

      default:
        throw new UsageError(`Unknown r2 object command "${command ?? ""}". Use get, put, delete or list.`);
    }
  } catch (error) {
    const translated = translateError(error);
    const message = translated instanceof Error ? translated.message : String(translated);
    stderr(`✘ ${message}\n`);
    if (translated instanceof UsageError) stderr(`Run "bunflare r2 object --help" for the options.\n`);
    return 1;
  }
}

/** Splits `<bucket>/<key>` at the first slash; the key keeps any further slashes. */
function splitObjectPath(path: string): { bucketName: string; key: string } {
  const slash = path.indexOf("/");
  if (slash <= 0 || slash === path.length - 1) {
    throw new UsageError(`Invalid object path "${path}": expected <bucket>/<key>.`);
  }
  return { bucketName: path.slice(0, slash), key: path.slice(slash + 1) };
}
