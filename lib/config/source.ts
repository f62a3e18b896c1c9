// Reads one wrangler file (JSON, JSONC or TOML) into a plain object, and
// keeps a way to look up the line of each key so that later checks can
// name where a bad value is.

import { readFileSync } from "node:fs";
import { findNodeAtLocation, getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from "jsonc-parser";
import { parse as parseToml, TomlError } from "smol-toml";
import { ConfigError, formatKeyPath, locate, type KeyPath } from "./errors.ts";
import { scanTomlKeyLines } from "./toml-lines.ts";

/** A parsed config file. */
export interface ConfigSource {
  /** Absolute path of the file. */
  path: string;
  format: "json" | "toml";
  data: Record<string, unknown>;
  /** The 1-based line of the key at `path`, or of its nearest ancestor that has one. */
  lineOf(path: KeyPath): number | null;
}

/** Reads and parses a config file, throwing a ConfigError with line and column on a syntax error. */
export function readConfigSource(path: string): ConfigSource {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`Could not read config file ${path}: ${(error as Error).message}`, path);
  }

  // Editors on Windows may save a UTF-8 byte order mark, which neither parser accepts.
  text = text.replace(/^\uFEFF/, "");

  // wrangler reads `.json` files with the JSONC parser too, so both accept comments.
  return path.endsWith(".toml") ? parseTomlSource(path, text) : parseJsoncSource(path, text);
}

/** Returns a function mapping a character offset to its 1-based line and column. */
function offsetToPosition(text: string): (offset: number) => { line: number; column: number } {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") starts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - starts[low]! + 1 };
  };
}

/** Turns jsonc-parser's `PropertyNameExpected` into `property name expected`. */
function describeParseError(error: ParseError): string {
  return printParseErrorCode(error.error)
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase();
}

function parseJsoncSource(path: string, text: string): ConfigSource {
  const position = offsetToPosition(text);
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });

  if (errors.length > 0) {
    const first = errors[0]!;
    const { line, column } = position(first.offset);
    throw new ConfigError(locate(path, line, `column ${column}: invalid JSON: ${describeParseError(first)}`), path, line);
  }
  if (root === undefined || root.type !== "object") {
    throw new ConfigError(locate(path, 1, "the config must be a JSON object"), path, 1);
  }

  const lineOf = (keyPath: KeyPath): number | null => {
    for (let depth = keyPath.length; depth > 0; depth--) {
      const node: Node | undefined = findNodeAtLocation(root, keyPath.slice(0, depth) as (string | number)[]);
      if (node === undefined) continue;

      // A property's value node sits after the key; the key's line reads better.
      const anchor = node.parent?.type === "property" ? node.parent : node;
      return position(anchor.offset).line;
    }
    return null;
  };

  return { path, format: "json", data: getNodeValue(root) as Record<string, unknown>, lineOf };
}

function parseTomlSource(path: string, text: string): ConfigSource {
  let data: Record<string, unknown>;
  try {
    data = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;

    // smol-toml's message repeats the position and adds a code excerpt after a blank line.
    const reason = error.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
    throw new ConfigError(locate(path, error.line, `column ${error.column}: invalid TOML: ${reason}`), path, error.line);
  }

  let keyLines: Map<string, number> | null = null;
  const lineOf = (keyPath: KeyPath): number | null => {
    keyLines ??= scanTomlKeyLines(text);
    for (let depth = keyPath.length; depth > 0; depth--) {
      const line = keyLines.get(formatKeyPath(keyPath.slice(0, depth)));
      if (line !== undefined) return line;
    }
    return null;
  };

  return { path, format: "toml", data, lineOf };
}
