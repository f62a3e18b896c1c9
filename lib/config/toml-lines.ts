// Finds the line of each key in a TOML document.
//
// smol-toml returns plain values without positions, so a type error found
// after parsing needs a second, lighter pass over the text to say where the
// key is. This pass understands tables, arrays of tables, dotted and quoted
// keys, multi-line strings and arrays of inline tables spread over several
// lines. It runs only on a document that smol-toml has already accepted.

import { formatKeyPath, type KeyPath, type KeySegment } from "./errors.ts";

const KEY_PART = String.raw`(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')`;
const DOTTED_KEY = String.raw`${KEY_PART}(?:\s*\.\s*${KEY_PART})*`;
const KEY_LINE = new RegExp(String.raw`^\s*(${DOTTED_KEY})\s*=(.*)$`);
const INLINE_KEY = new RegExp(String.raw`\s*(${DOTTED_KEY})\s*=`, "y");

/** Splits a dotted TOML key into its unquoted parts. */
function parseKey(text: string): string[] {
  const parts: string[] = [];
  const part = new RegExp(KEY_PART, "g");
  for (const match of text.matchAll(part)) {
    const raw = match[0];
    if (raw.startsWith('"')) parts.push(JSON.parse(raw) as string);
    else if (raw.startsWith("'")) parts.push(raw.slice(1, -1));
    else parts.push(raw);
  }
  return parts;
}

/** An array value that is still open at the end of a line. */
interface OpenArray {
  path: KeySegment[];
  depth: number;
  index: number;
}

/** Returns a map from formatted key path (`a.b[0].c`) to its 1-based line. */
export function scanTomlKeyLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  const record = (path: KeyPath, line: number) => {
    const key = formatKeyPath(path);
    if (!lines.has(key)) lines.set(key, line);
  };

  // Array-of-tables headers seen so far, by their path without indexes, with
  // the number of elements; a nested header refers to the latest element.
  const tableArrays = new Map<string, number>();
  const withIndexes = (path: string[]): KeySegment[] => {
    const result: KeySegment[] = [];
    for (let i = 0; i < path.length; i++) {
      result.push(path[i]!);
      const count = tableArrays.get(path.slice(0, i + 1).join("\u0000"));
      if (count !== undefined && i < path.length - 1) result.push(count - 1);
    }
    return result;
  };

  let table: KeySegment[] = [];
  let multilineQuote: string | null = null;
  let open: OpenArray | null = null;

  const source = text.replace(/\r\n?/g, "\n").split("\n");
  for (let i = 0; i < source.length; i++) {
    const lineNo = i + 1;
    const line = source[i]!;

    // Skip the body of a multi-line string up to its closing quotes.
    if (multilineQuote !== null) {
      if (line.includes(multilineQuote)) multilineQuote = null;
      continue;
    }

    if (open !== null) {
      walkArrayText(line, open, lineNo, record);
      if (open.depth <= 0) open = null;
      continue;
    }

    const trimmed = line.trim();
    if (trimmed.startsWith("[[")) {
      const path = parseKey(trimmed.slice(2, trimmed.indexOf("]]")));
      const id = path.join("\u0000");
      const count = (tableArrays.get(id) ?? 0) + 1;
      tableArrays.set(id, count);
      const base = withIndexes(path);
      record(base, lineNo);
      table = [...base, count - 1];
      record(table, lineNo);
      continue;
    }
    if (trimmed.startsWith("[")) {
      table = withIndexes(parseKey(trimmed.slice(1, trimmed.indexOf("]"))));
      record(table, lineNo);
      continue;
    }

    const match = KEY_LINE.exec(line);
    if (!match) continue;
    const path = [...table, ...parseKey(match[1]!)];
    record(path, lineNo);

    const rest = match[2]!.trimStart();
    for (const quote of ['"""', "'''"]) {
      if (rest.startsWith(quote) && !rest.slice(3).includes(quote)) multilineQuote = quote;
    }
    if (rest.startsWith("[")) {
      const state: OpenArray = { path, depth: 0, index: -1 };
      walkArrayText(rest, state, lineNo, record);
      if (state.depth > 0) open = state;
    }
  }
  return lines;
}

/**
 * Walks one line of an array value, tracking bracket depth outside strings.
 * Each inline table directly inside the array is one element; its keys are
 * recorded as `path[index].key`.
 */
function walkArrayText(
  text: string,
  state: OpenArray,
  lineNo: number,
  record: (path: KeyPath, line: number) => void,
): void {
  let pos = 0;
  while (pos < text.length) {
    const ch = text[pos]!;
    if (ch === "#") return;
    if (ch === '"' || ch === "'") {
      pos = skipString(text, pos);
      continue;
    }
    if (ch === "[" || ch === "{") {
      state.depth++;
      if (ch === "{" && state.depth === 2) {
        state.index++;
        record([...state.path, state.index], lineNo);
        pos = recordInlineKeys(text, pos + 1, [...state.path, state.index], lineNo, record);
        continue;
      }
    } else if (ch === "]" || ch === "}") {
      state.depth--;
    } else if (ch === "," && state.depth === 2) {
      pos = recordInlineKeys(text, pos + 1, [...state.path, state.index], lineNo, record);
      continue;
    }
    pos++;
  }
}

/** Records the key that starts at `pos` inside an inline table, if any; returns where to go on. */
function recordInlineKeys(
  text: string,
  pos: number,
  base: KeySegment[],
  lineNo: number,
  record: (path: KeyPath, line: number) => void,
): number {
  INLINE_KEY.lastIndex = pos;
  const match = INLINE_KEY.exec(text);
  if (!match) return pos;
  record([...base, ...parseKey(match[1]!)], lineNo);
  return INLINE_KEY.lastIndex;
}

/** Returns the index just past the string that starts at `start`. */
function skipString(text: string, start: number): number {
  const quote = text[start]!;
  let pos = start + 1;
  while (pos < text.length) {
    const ch = text[pos]!;
    if (ch === "\\" && quote === '"') pos += 2;
    else if (ch === quote) return pos + 1;
    else pos++;
  }
  return pos;
}
