// Parses the `_headers` and `_redirects` files of an assets directory and
// matches request paths against their rules.
//
// The syntax and limits follow Cloudflare's Workers static assets docs:
// a rule's path may contain one `*` splat and `:name` placeholders, and an
// absolute `https://host/path` rule matches on host and path. Invalid lines
// are skipped with a warning, as wrangler does when it uploads the files.

import { log } from "../log.ts";

/** Maximum number of `_headers` rules, from Cloudflare's static assets limits. */
export const MAX_HEADER_RULES = 100;

/** Maximum length of one `_headers` line in characters, from the same page. */
export const MAX_HEADER_LINE_LENGTH = 2000;

/** Maximum number of static (no splat or placeholder) `_redirects` rules. */
export const MAX_STATIC_REDIRECTS = 2000;

/** Maximum number of dynamic (splat or placeholder) `_redirects` rules. */
export const MAX_DYNAMIC_REDIRECTS = 100;

/** Maximum length of one `_redirects` line in characters. */
export const MAX_REDIRECT_LINE_LENGTH = 1000;

/** Status codes a `_redirects` rule may use; 200 rewrites to another asset. */
const REDIRECT_STATUSES = new Set([200, 301, 302, 303, 307, 308]);

/** A compiled path pattern with the names of its captures. */
interface PathPattern {
  /** True when the rule names a host (`https://host/path`). */
  crossHost: boolean;
  regExp: RegExp;
}

export interface HeaderRule extends PathPattern {
  set: [string, string][];
  unset: string[];
}

export interface RedirectRule extends PathPattern {
  from: string;
  to: string;
  status: number;
  /** True when the source has neither a splat nor a placeholder. */
  isStatic: boolean;
  line: number;
}

export interface ParseResult<Rule> {
  rules: Rule[];
  /** One message per skipped line, with its line number. */
  invalid: string[];
}

const PLACEHOLDER = /:([A-Za-z]\w*)/g;

/** Compiles a rule path: `*` captures as `splat`, `:name` captures one segment (one label in a host). */
function compilePattern(rule: string): PathPattern {
  const crossHost = rule.startsWith("https://");
  const escaped = rule
    .split("*")
    .map((part) => part.replace(/[-/\\^$+?.()|[\]{}]/g, "\\$&"))
    .join("(?<splat>.*)");
  let source = escaped;
  if (crossHost) {
    // A placeholder in the host stops at a dot; one in the path stops at a slash.
    const hostEnd = source.indexOf("\\/", "https:\\/\\/".length);
    const host = hostEnd === -1 ? source : source.slice(0, hostEnd);
    const path = hostEnd === -1 ? "" : source.slice(hostEnd);
    source = host.replace(PLACEHOLDER, "(?<$1>[^/.]+)") + path.replace(PLACEHOLDER, "(?<$1>[^/]+)");
  } else {
    source = source.replace(PLACEHOLDER, "(?<$1>[^/]+)");
  }
  return { crossHost, regExp: new RegExp(`^${source}$`) };
}

/** Replaces `:name` and `:splat` in `text` with the captures of a match. */
export function substitute(text: string, captures: Record<string, string | undefined>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => captures[name] ?? whole);
}

/** Tests a request's host and path against a pattern; returns the captures on a match. */
export function matchPattern(pattern: PathPattern, host: string, pathname: string): Record<string, string> | null {
  const subject = pattern.crossHost ? `https://${host}${pathname}` : pathname;
  const match = pattern.regExp.exec(subject);
  return match ? { ...(match.groups ?? {}) } : null;
}

/** Parses a `_headers` file. */
export function parseHeaders(text: string): ParseResult<HeaderRule> {
  const rules: HeaderRule[] = [];
  const invalid: string[] = [];
  let current: HeaderRule | null = null;
  // Set after a rule over the limit, so its header lines are dropped with it.
  let skipping = false;

  text.split(/\r?\n/).forEach((raw, index) => {
    const lineNumber = index + 1;
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    if (raw.length > MAX_HEADER_LINE_LENGTH) {
      invalid.push(`line ${lineNumber}: longer than ${MAX_HEADER_LINE_LENGTH} characters`);
      return;
    }

    // A rule's path starts the line; its headers are indented below it.
    const isPath = !/^\s/.test(raw) && (line.startsWith("/") || line.startsWith("https://"));
    if (isPath) {
      if (rules.length >= MAX_HEADER_RULES) {
        invalid.push(`line ${lineNumber}: more than ${MAX_HEADER_RULES} rules`);
        current = null;
        skipping = true;
        return;
      }
      skipping = false;
      current = { ...compilePattern(line), set: [], unset: [] };
      rules.push(current);
      return;
    }
    if (skipping) return;
    if (current === null) {
      invalid.push(`line ${lineNumber}: a header must follow a path`);
      return;
    }
    if (line.startsWith("!")) {
      const name = line.slice(1).trim();
      if (name === "") invalid.push(`line ${lineNumber}: "!" must be followed by a header name`);
      else current.unset.push(name.toLowerCase());
      return;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) {
      invalid.push(`line ${lineNumber}: expected "Name: value"`);
      return;
    }
    current.set.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  });

  return { rules, invalid };
}

/** Parses a `_redirects` file. */
export function parseRedirects(text: string): ParseResult<RedirectRule> {
  const rules: RedirectRule[] = [];
  const invalid: string[] = [];
  const seen = new Set<string>();
  let staticCount = 0;
  let dynamicCount = 0;

  text.split(/\r?\n/).forEach((raw, index) => {
    const lineNumber = index + 1;
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    if (line.length > MAX_REDIRECT_LINE_LENGTH) {
      invalid.push(`line ${lineNumber}: longer than ${MAX_REDIRECT_LINE_LENGTH} characters`);
      return;
    }

    const fields = line.split(/\s+/);
    if (fields.length < 2 || fields.length > 3) {
      invalid.push(`line ${lineNumber}: expected "/from /to [status]"`);
      return;
    }
    const [from, to, statusText] = fields as [string, string, string | undefined];
    const status = statusText === undefined ? 302 : Number(statusText);
    if (!REDIRECT_STATUSES.has(status)) {
      invalid.push(`line ${lineNumber}: status ${statusText} is not one of ${[...REDIRECT_STATUSES].join(", ")}`);
      return;
    }
    if (!from.startsWith("/") && !from.startsWith("https://")) {
      invalid.push(`line ${lineNumber}: the source must start with "/" or "https://"`);
      return;
    }
    if (from.includes("?")) {
      invalid.push(`line ${lineNumber}: the source may not contain a query string`);
      return;
    }
    if (status === 200 && /^\w+:\/\//.test(to)) {
      invalid.push(`line ${lineNumber}: a 200 rewrite must point to a path, not a URL`);
      return;
    }
    if (seen.has(from)) {
      invalid.push(`line ${lineNumber}: ${from} already has a rule; the first one applies`);
      return;
    }

    const isStatic = !from.includes("*") && !new RegExp(PLACEHOLDER.source).test(from);
    if (isStatic ? staticCount >= MAX_STATIC_REDIRECTS : dynamicCount >= MAX_DYNAMIC_REDIRECTS) {
      const limit = isStatic ? `${MAX_STATIC_REDIRECTS} static` : `${MAX_DYNAMIC_REDIRECTS} dynamic`;
      invalid.push(`line ${lineNumber}: more than ${limit} rules`);
      return;
    }
    if (isStatic) staticCount += 1;
    else dynamicCount += 1;

    seen.add(from);
    rules.push({ ...compilePattern(from), from, to, status, isStatic, line: lineNumber });
  });

  return { rules, invalid };
}

/** Finds the redirect for a request: static rules first, then dynamic ones in file order. */
export function findRedirect(
  rules: RedirectRule[],
  host: string,
  pathname: string,
): { to: string; status: number } | null {
  const staticMatch = rules.find(
    (rule) => rule.isStatic && (rule.from === pathname || rule.from === `https://${host}${pathname}`),
  );
  if (staticMatch) return { to: staticMatch.to, status: staticMatch.status };

  for (const rule of rules) {
    if (rule.isStatic) continue;
    const captures = matchPattern(rule, host, pathname);
    if (!captures) continue;
    const to = substitute(rule.to, captures).trim();
    // A relative target loses repeated slashes, so a splat cannot form a protocol-relative URL.
    return { to: /^\w+:\/\//.test(to) ? to : to.replace(/\/+/g, "/"), status: rule.status };
  }
  return null;
}

/** One change a `_headers` rule makes to a response: unset a header, or set or append a value. */
export type HeaderOperation = readonly ["unset", string] | readonly ["set" | "append", string, string];

/**
 * Lists the changes of every `_headers` rule that matches a path, in file
 * order. Several matching rules that set one header add up; the first one
 * replaces the asset's own value.
 */
export function matchHeaderRules(rules: HeaderRule[], host: string, pathname: string): HeaderOperation[] {
  const operations: HeaderOperation[] = [];
  const setByRules = new Set<string>();
  for (const rule of rules) {
    const captures = matchPattern(rule, host, pathname);
    if (!captures) continue;
    for (const name of rule.unset) operations.push(["unset", name]);
    for (const [name, value] of rule.set) {
      const key = name.toLowerCase();
      operations.push([setByRules.has(key) ? "append" : "set", name, substitute(value, captures)]);
      setByRules.add(key);
    }
  }
  return operations;
}

/** Applies the changes `matchHeaderRules` listed. */
export function applyHeaderOperations(operations: readonly HeaderOperation[], headers: Headers): void {
  for (const operation of operations) {
    if (operation[0] === "unset") headers.delete(operation[1]);
    else if (operation[0] === "set") headers.set(operation[1], operation[2]);
    else headers.append(operation[1], operation[2]);
  }
}

/** Logs each skipped line of a rules file once. */
export function warnInvalid(file: string, invalid: string[]): void {
  for (const message of invalid) log.warn(`Skipped an invalid rule in ${file}: ${message}`);
}
