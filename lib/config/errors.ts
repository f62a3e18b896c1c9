// The error every config problem becomes, and the helpers that name where
// the problem is: the file, the 1-based line and the key path.

import { relative, isAbsolute } from "node:path";

/** One step of a key path: an object key or an array index. */
export type KeySegment = string | number;

/** The location of a value inside a config file, outermost key first. */
export type KeyPath = readonly KeySegment[];

/** A problem in a config file, naming the file, the line and the key. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly file: string | null = null,
    readonly line: number | null = null,
    readonly key: string | null = null,
  ) {
    super(message);
    this.name = "ConfigError";
  }
}

const BARE_KEY = /^[A-Za-z0-9_$-]+$/;

/** Formats a key path the way a reader writes it: `env.staging.kv_namespaces[0].binding`. */
export function formatKeyPath(path: KeyPath): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (!BARE_KEY.test(segment)) text += `[${JSON.stringify(segment)}]`;
    else text += text === "" ? segment : `.${segment}`;
  }
  return text;
}

/** Shortens an absolute file path for messages: relative to the working directory when it is inside it. */
export function displayPath(file: string): string {
  const relativePath = relative(process.cwd(), file);
  if (relativePath === "" || relativePath.startsWith("..") || isAbsolute(relativePath)) return file;
  return relativePath;
}

/** Builds `file:line: message`, leaving out the parts that are unknown. */
export function locate(file: string | null, line: number | null, message: string): string {
  if (file === null) return message;
  const where = line === null ? displayPath(file) : `${displayPath(file)}:${line}`;
  return `${where}: ${message}`;
}
