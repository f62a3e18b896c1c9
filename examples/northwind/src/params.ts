// Parses path and query parameters. Every invalid value becomes a 400 whose
// JSON body names the parameter, the value and what was expected.

import { HTTPException } from "hono/http-exception";

const DIGITS = /^[0-9]+$/;

/** Throws a 400 with `message` as the JSON error. */
export function badRequest(message: string): never {
  throw new HTTPException(400, { message });
}

/** Parses a positive integer id from a path segment such as `/api/products/:id`. */
export function parseId(raw: string, name = "id"): number {
  const value = DIGITS.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < 1) {
    badRequest(`invalid ${name} ${JSON.stringify(raw)}: expected a positive integer`);
  }
  return value;
}

export interface IntRange {
  min: number;
  max: number;
  default: number;
}

/** Parses an optional integer query parameter within `range`. An absent or empty value means the default. */
export function parseQueryInt(raw: string | undefined, name: string, range: IntRange): number {
  if (raw === undefined || raw === "") return range.default;

  const value = DIGITS.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    badRequest(`invalid ${name} ${JSON.stringify(raw)}: expected an integer from ${range.min} to ${range.max}`);
  }
  return value;
}
