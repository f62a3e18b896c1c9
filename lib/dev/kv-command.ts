// `bunflare kv key list|get|put|delete`: wrangler's local KV commands, on
// the same engine and data directory the Worker's KV bindings use.
//
// Flags keep wrangler's names, so scripts written for `wrangler kv key …
// --local` work unchanged. Output follows wrangler too: `list` prints a JSON
// array of keys, `get` writes the raw value (or text with `--text`), and
// `put` and `delete` print one line saying what they did.

import { readFileSync } from "node:fs";
import type { KvNamespace, Storage } from "../../index.js";
// Importing the binding also registers the KV error classes used below.
import { GET_TYPE_CODES } from "../bindings/kv.ts";
import type { WorkerConfig } from "../config.ts";
import { CONFIG_FLAGS_USAGE } from "./config-flags.ts";
import { commandOutput, parseCommandArgs, reportCommandError, UsageError } from "./command.ts";
import { callNative } from "../errors.ts";
import { native } from "../native.ts";

export interface KvCommandContext {
  /** The open data directory (`Storage.open(config.persistTo)`). */
  storage: Storage;
  config: WorkerConfig;
  /** Writer for normal output; defaults to the process's stdout. */
  stdout?: (chunk: string | Uint8Array) => void;
  /** Writer for error messages; defaults to the process's stderr. */
  stderr?: (text: string) => void;
}

export const KV_USAGE = `Usage: bunflare kv key <command> [options]

Commands:
  list                    Print the keys of a namespace as JSON
  get <key>               Print the value of a key
  put <key> [value]       Write a value (or the contents of --path) to a key
  delete <key>            Remove a key

Options:
  --binding <name>        The namespace's binding name in the wrangler config
  --namespace-id <id>     The namespace id (instead of --binding)
  --prefix <prefix>       list: only keys that start with this prefix
  --text                  get: decode the value as UTF-8 text
  --path <file>           put: read the value from this file
  --ttl <seconds>         put: expire the key this many seconds from now (minimum 60)
  --expiration <seconds>  put: expire the key at this time, in seconds since the UNIX epoch
  --metadata <json>       put: JSON metadata to store with the key (at most 1024 bytes)
  --local                 Accepted for wrangler compatibility; bunflare data is always local
${CONFIG_FLAGS_USAGE}
`;

/**
 * Runs `bunflare kv <args>`, where `args` is everything after `kv`
 * (for example `["key", "get", "greeting", "--binding", "KV"]`).
 * Returns the process exit code: 0 on success, 1 on any error.
 */
export async function runKvCommand(args: string[], context: KvCommandContext): Promise<number> {
  const { stdout, stderr } = commandOutput(context);

  try {
    const { values, positionals } = parseCommandArgs(args, {
      binding: { type: "string" },
      "namespace-id": { type: "string" },
      prefix: { type: "string" },
      text: { type: "boolean" },
      path: { type: "string" },
      ttl: { type: "string" },
      expiration: { type: "string" },
      metadata: { type: "string" },
      local: { type: "boolean" },
      remote: { type: "boolean" },
      // NOTE: bunflare's config has no preview_id, so --preview uses the binding's id.
      preview: { type: "boolean" },
    });

    if (values.help) {
      stdout(KV_USAGE);
      return 0;
    }
    if (values.remote) {
      throw new UsageError("--remote is not supported: bunflare kv reads and writes local data only.");
    }

    const [group, command, key, value, ...extra] = positionals;
    // A bare command prints its help and fails, as a bare `bunflare` does.
    if (command === undefined && (group === undefined || group === "key")) {
      stdout(KV_USAGE);
      return 1;
    }
    if (group !== "key") throw new UsageError(`Unknown kv command "${group}". Use "bunflare kv key <command>".`);
    if (extra.length > 0) throw new UsageError(`Unexpected argument "${extra[0]}".`);

    const namespaceId = resolveNamespaceId(values.binding, values["namespace-id"], context.config);
    const namespace = callNative(() => new native.KvNamespace(context.storage, namespaceId));

    switch (command) {
      case "list":
        requireNoPositionals(command, key);
        stdout(`${JSON.stringify(listAllKeys(namespace, values.prefix), undefined, 2)}\n`);
        return 0;

      case "get": {
        const name = requireKey(command, key);
        requireNoPositionals(command, value);
        const bytes = callNative(() => namespace.get(name, GET_TYPE_CODES.get("arrayBuffer")!));
        if (bytes === null) {
          stdout("Value not found\n");
          return 0;
        }
        stdout(values.text ? `${new TextDecoder().decode(bytes as Uint8Array)}\n` : (bytes as Uint8Array));
        return 0;
      }

      case "put": {
        const name = requireKey(command, key);
        if ((value === undefined) === (values.path === undefined)) {
          throw new UsageError("put needs exactly one of a value argument and --path <file>.");
        }
        const expirationTtl = parseSeconds("--ttl", values.ttl);
        const expiration = parseSeconds("--expiration", values.expiration);
        const metadataNote = values.metadata === undefined ? "" : ` with metadata ${values.metadata}`;

        if (values.path !== undefined) {
          const contents = readFileSync(values.path);
          callNative(() => namespace.putBytes(name, contents, expiration, expirationTtl, values.metadata));
          stdout(`Writing the contents of ${values.path} to the key "${name}" on namespace ${namespaceId}${metadataNote}.\n`);
        } else {
          callNative(() => namespace.putText(name, value!, expiration, expirationTtl, values.metadata));
          stdout(`Writing the value "${value}" to key "${name}" on namespace ${namespaceId}${metadataNote}.\n`);
        }
        return 0;
      }

      case "delete": {
        const name = requireKey(command, key);
        requireNoPositionals(command, value);
        callNative(() => namespace.delete(name));
        stdout(`Deleting the key "${name}" on namespace ${namespaceId}.\n`);
        return 0;
      }

      default:
        throw new UsageError(`Unknown kv key command "${command}". Use list, get, put or delete.`);
    }
  } catch (error) {
    // Only an unknown flag shows the usage text: a flag with a bad value does not.
    return reportCommandError(error, stderr, KV_USAGE, (code) => code === "ERR_PARSE_ARGS_UNKNOWN_OPTION");
  }
}

/** Picks the namespace id from `--namespace-id`, or from the config's binding named by `--binding`. */
function resolveNamespaceId(binding: string | undefined, namespaceId: string | undefined, config: WorkerConfig): string {
  if (binding !== undefined && namespaceId !== undefined) {
    throw new UsageError("--binding and --namespace-id cannot be used together; pass one of them.");
  }
  if (namespaceId !== undefined) return namespaceId;
  if (binding === undefined) throw new UsageError("Pass --binding <name> or --namespace-id <id>.");

  const entry = config.kvNamespaces.find((namespace) => namespace.binding === binding);
  if (!entry) {
    const known = config.kvNamespaces.map((namespace) => namespace.binding);
    const hint = known.length > 0 ? ` Configured bindings: ${known.join(", ")}.` : " The config has no kv_namespaces.";
    throw new UsageError(`No KV namespace with binding "${binding}" in the configured "kv_namespaces".${hint}`);
  }
  return entry.id;
}

function requireKey(command: string, key: string | undefined): string {
  if (key === undefined) throw new UsageError(`${command} needs a <key> argument.`);
  return key;
}

function requireNoPositionals(command: string, extra: string | undefined): void {
  if (extra !== undefined) throw new UsageError(`Unexpected argument "${extra}" for ${command}.`);
}

/** Parses a whole number of seconds; the engine checks the limits. */
function parseSeconds(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (text.trim() === "" || !Number.isFinite(seconds)) {
    throw new UsageError(`Invalid ${flag} "${text}": expected a number of seconds.`);
  }
  return seconds;
}

/**
 * Collects every page of a listing into one array.
 * Wrangler's local `kv key list` prints only the first 1000 keys; this prints them all.
 */
function listAllKeys(namespace: KvNamespace, prefix: string | undefined): unknown[] {
  const keys: unknown[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = JSON.parse(callNative(() => namespace.list(prefix, undefined, cursor))) as {
      keys: unknown[];
      list_complete: boolean;
      cursor?: string;
    };
    keys.push(...page.keys);
    if (page.list_complete || page.cursor === undefined) return keys;
    cursor = page.cursor;
  }
}
