// The D1 binding: `D1Database`, `D1DatabaseSession` and `D1PreparedStatement`
// as the Workers runtime exposes them.
//
// Each statement run is one synchronous call into the Rust engine (src/d1.rs):
// SQL and JSON-encoded params go in, `{columns, rows, meta}` JSON comes out,
// and this file shapes row objects. `bind` converts JS values exactly as
// production's binding does before it sends them upstream as JSON.

import { native } from "../native.ts";
import { callNative, registerErrorClasses } from "../errors.ts";
import { log } from "../log.ts";

type NativeD1 = InstanceType<typeof native.D1Database>;
type NativeStorage = InstanceType<typeof native.Storage>;

/** Builds production's D1 error: the message keeps the code, and `cause` contains the bare message. */
function d1Error(code: string, message: string): Error {
  return new Error(`${code}: ${message}`, { cause: new Error(message) });
}

registerErrorClasses({
  D1_ERROR: (message) => d1Error("D1_ERROR", message),
  D1_TYPE_ERROR: (message) => d1Error("D1_TYPE_ERROR", message),
  D1_EXEC_ERROR: (message) => d1Error("D1_EXEC_ERROR", message),
});

export interface D1Meta {
  served_by: string;
  served_by_region?: string;
  served_by_primary?: boolean;
  duration: number;
  changes: number;
  last_row_id: number;
  changed_db: boolean;
  size_after: number;
  rows_read: number;
  rows_written: number;
  timings?: { sql_duration_ms: number };
  total_attempts?: number;
}

export interface D1Result<T = Record<string, unknown>> {
  success: true;
  meta: D1Meta & Record<string, unknown>;
  results: T[];
}

export interface D1ExecResult {
  count: number;
  duration: number;
}

/** The engine's result for one statement. */
interface RawResult {
  columns: string[];
  rows: unknown[][];
  meta: D1Meta;
}

export type D1SessionConstraint = "first-primary" | "first-unconstrained";
export type D1SessionBookmark = string;

const FIRST_PRIMARY: D1SessionConstraint = "first-primary";
const FIRST_UNCONSTRAINED: D1SessionConstraint = "first-unconstrained";

/** Turns engine rows into objects keyed by column name; a repeated name keeps the last value. */
function toObjects<T>(columns: string[], rows: unknown[][]): T[] {
  const objects = new Array<T>(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    const object: Record<string, unknown> = {};
    for (let c = 0; c < columns.length; c++) object[columns[c]!] = row[c];
    objects[r] = object as T;
  }
  return objects;
}

function toResult<T>(raw: RawResult): D1Result<T> {
  return { success: true, meta: raw.meta as D1Result<T>["meta"], results: toObjects<T>(raw.columns, raw.rows) };
}

/** Replaces lone surrogates with U+FFFD, as a UTF-8 encoder does. */
/** Returns a statement's SQL, or throws D1_ERROR when `prepare` was given something other than a string. */
// NOTE: production's prepare() also accepts any value and sends it on to the
// D1 service, whose error text for a non-string query is not documented, so
// this message is bunflare's own. Like production, it surfaces when the
// statement runs, not at prepare().
function sqlText(statement: unknown): string {
  if (typeof statement === "string") return statement;
  const type = statement === null ? "null" : typeof statement;
  throw d1Error("D1_ERROR", `The SQL query must be a string, got ${type}.`);
}

function toWellFormed(text: string): string {
  return text.isWellFormed() ? text : text.toWellFormed();
}

/** Converts one bound value as production does, or throws its `D1_TYPE_ERROR`. */
function convertValue(value: unknown): unknown {
  const type = typeof value;
  if (type === "number") return value;
  // NOTE: a lone surrogate has no UTF-8 form, and serde_json rejects its JSON
  // escape. Production is assumed to store U+FFFD, because its SQLite text is
  // UTF-8 too.
  if (type === "string") return toWellFormed(value as string);
  if (type === "boolean") return value ? 1 : 0;
  if (value === null) return null;
  if (type === "object") {
    if (Array.isArray(value) && value.every((b) => typeof b === "number" && b >= 0 && b < 256)) return value;
    if (value instanceof ArrayBuffer) return Array.from(new Uint8Array(value));
    // Production copies a view's elements, not its bytes, so a Uint16Array
    // binds one number per element, and the engine rejects elements above 255.
    if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  }

  // A template literal throws a TypeError for a symbol, as production's does.
  const message = `Type '${type}' not supported for value '${value}'`;
  throw d1Error("D1_TYPE_ERROR", message);
}

/**
 * The queries a session runs. `D1Database` uses an always-primary session,
 * which never tracks bookmarks; `withSession` returns one that does.
 */
export class D1DatabaseSession {
  readonly #handle: NativeD1;
  #bookmarkOrConstraint: string;
  readonly #tracksBookmarks: boolean;

  /** @internal Built by `D1Database`; user code calls `withSession`. */
  constructor(handle: NativeD1, bookmarkOrConstraint: string, tracksBookmarks = true) {
    this.#handle = handle;
    this.#bookmarkOrConstraint = bookmarkOrConstraint;
    this.#tracksBookmarks = tracksBookmarks;
  }

  prepare(query: string): D1PreparedStatement {
    return new D1PreparedStatement(this, query);
  }

  async batch<T = Record<string, unknown>>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    // The SQL travels as JSON here, unlike a single query's napi string, which
    // napi already converts to UTF-8.
    const request = JSON.stringify(statements.map((s) => ({ sql: toWellFormed(sqlText(s.statement)), params: s.params })));
    const raw = JSON.parse(callNative(() => this.#handle.batch(request))) as RawResult[];
    this.#noteQuery();
    return raw.map((r) => toResult<T>(r));
  }

  /** Returns the latest bookmark this session has seen, or null before its first query. */
  getBookmark(): D1SessionBookmark | null {
    if (!this.#tracksBookmarks) return null;
    if (this.#bookmarkOrConstraint === FIRST_PRIMARY || this.#bookmarkOrConstraint === FIRST_UNCONSTRAINED) {
      return null;
    }
    return this.#bookmarkOrConstraint;
  }

  /** @internal Runs one statement; `paramsJson` is undefined when nothing is bound. */
  _query(sql: string, paramsJson: string | undefined): RawResult {
    const raw = JSON.parse(callNative(() => this.#handle.query(sql, paramsJson))) as RawResult;
    this.#noteQuery();
    return raw;
  }

  /** @internal */
  get _handle(): NativeD1 {
    return this.#handle;
  }

  /** Keeps the newest bookmark, as production's session does after each response. */
  #noteQuery(): void {
    if (!this.#tracksBookmarks) return;
    const latest = this.#handle.bookmark();
    const current = this.getBookmark();
    if (current === null || current.localeCompare(latest) < 0) this.#bookmarkOrConstraint = latest;
  }
}

/** A statement with its bound values. `bind` returns a new statement; this one never changes. */
export class D1PreparedStatement {
  readonly #session: D1DatabaseSession;
  readonly statement: string;
  readonly params: unknown[];
  /** The params as the engine takes them, encoded once at `bind` time. */
  readonly #paramsJson: string | undefined;

  /** @internal Built by `prepare` and `bind`. */
  constructor(session: D1DatabaseSession, statement: string, params: unknown[] = []) {
    this.#session = session;
    this.statement = statement;
    this.params = params;
    this.#paramsJson = params.length === 0 ? undefined : JSON.stringify(params);
  }

  bind(...values: unknown[]): D1PreparedStatement {
    return new D1PreparedStatement(this.#session, this.statement, values.map(convertValue));
  }

  first<T = unknown>(columnName: string): Promise<T | null>;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  async first<T>(columnName?: string): Promise<T | null> {
    const raw = this.#run();
    if (raw.rows.length === 0) return null;
    const [row] = toObjects<Record<string, unknown>>(raw.columns, raw.rows.slice(0, 1));
    if (columnName === undefined) return row as T;
    if (row![columnName] === undefined) {
      throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${columnName})`, {
        cause: new Error("Column not found"),
      });
    }
    return row![columnName] as T;
  }

  async all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return toResult<T>(this.#run());
  }

  /** Runs the statement. As in production, `results` carries any rows it returned (e.g. from RETURNING). */
  async run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return toResult<T>(this.#run());
  }

  raw<T = unknown[]>(options: { columnNames: true }): Promise<[string[], ...T[]]>;
  raw<T = unknown[]>(options?: { columnNames?: false }): Promise<T[]>;
  async raw<T = unknown[]>(options?: { columnNames?: boolean }): Promise<T[] | [string[], ...T[]]> {
    const raw = this.#run();
    if (options?.columnNames) return [raw.columns, ...(raw.rows as T[])];
    return raw.rows as T[];
  }

  #run(): RawResult {
    return this.#session._query(sqlText(this.statement), this.#paramsJson);
  }
}

/** `env.<binding>` for a D1 database. */
export class D1Database {
  readonly #primary: D1DatabaseSession;

  /** @internal Use `createD1Database`. */
  constructor(handle: NativeD1) {
    this.#primary = new D1DatabaseSession(handle, FIRST_PRIMARY, false);
  }

  prepare(query: string): D1PreparedStatement {
    return this.#primary.prepare(query);
  }

  /** Runs the statements in one transaction: if one fails, none takes effect. */
  batch<T = Record<string, unknown>>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    return this.#primary.batch<T>(statements);
  }

  /** Runs each line of `query` as SQL without params and returns the line count and total duration. */
  async exec(query: string): Promise<D1ExecResult> {
    const lines = query.trim().split("\n");
    const result = callNative(() => this.#primary._handle.exec(lines));
    return { count: result.count, duration: result.duration };
  }

  /** Opens a session anchored at a constraint (default `first-unconstrained`) or a bookmark. */
  withSession(constraintOrBookmark?: D1SessionBookmark | D1SessionConstraint): D1DatabaseSession {
    let anchor = constraintOrBookmark?.trim();
    if (anchor === undefined || anchor === "") anchor = FIRST_UNCONSTRAINED;
    // NOTE: there is one copy of the data, so every bookmark is already
    // satisfied; production rejects bookmarks it cannot parse, this does not.
    return new D1DatabaseSession(this.#primary._handle, anchor);
  }

  /** Returns the database as a SQLite file image (production's deprecated alpha API). */
  async dump(): Promise<ArrayBuffer> {
    const image = callNative(() => this.#primary._handle.dump());
    return image.buffer.slice(image.byteOffset, image.byteOffset + image.byteLength) as ArrayBuffer;
  }
}

/** Opens the D1 database `databaseName` (file `d1/<databaseName>.sqlite`) for a binding. */
export function createD1Database(storage: NativeStorage, databaseName: string): D1Database {
  const handle = callNative(() => new native.D1Database(storage, databaseName));
  log.debug("d1: database opened", { database: databaseName, persist: storage.path ?? "memory" });
  return new D1Database(handle);
}
