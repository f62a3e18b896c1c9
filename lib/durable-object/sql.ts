// `ctx.storage.sql` of a SQLite-backed Durable Object: `exec` returns a
// cursor over the rows of the last statement.
//
// The engine runs the statement to completion in one native call and returns
// its rows as JSON, so the cursor iterates rows that are already in memory.

import type { DurableObjectStore } from "../../index.js";
import { callNative } from "../errors.ts";
import type { StorageHost } from "./storage.ts";

export type SqlStorageValue = ArrayBuffer | string | number | null;

interface RawRows {
  columns: string[];
  rows: unknown[][];
}

/** Converts one binding to the JSON the engine takes: bytes become an array of numbers. */
function encodeBinding(value: unknown): unknown {
  if (value instanceof ArrayBuffer) return Array.from(new Uint8Array(value));
  if (ArrayBuffer.isView(value)) return Array.from(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  if (typeof value === "bigint") return Number(value);
  if (value === undefined) return null;
  return value;
}

/** Converts one column value from the engine: an array of bytes is a BLOB, returned as an ArrayBuffer. */
function decodeValue(value: unknown): SqlStorageValue {
  if (Array.isArray(value)) return new Uint8Array(value as number[]).buffer as ArrayBuffer;
  return value as SqlStorageValue;
}

/** The rows of one `exec` call. */
export class SqlStorageCursor<T extends Record<string, SqlStorageValue> = Record<string, SqlStorageValue>>
  implements IterableIterator<T>
{
  readonly columnNames: string[];
  readonly rowsRead: number;
  readonly rowsWritten: number;
  readonly #rows: SqlStorageValue[][];
  #position = 0;

  /** @internal Built by `SqlStorage.exec`. */
  constructor(raw: RawRows, rowsRead: number, rowsWritten: number) {
    this.columnNames = raw.columns;
    this.#rows = raw.rows.map((row) => row.map(decodeValue));
    this.rowsRead = rowsRead;
    this.rowsWritten = rowsWritten;
  }

  next(): IteratorResult<T> {
    const row = this.#rows[this.#position];
    if (row === undefined) return { done: true, value: undefined };
    this.#position += 1;
    return { done: false, value: this.#toObject(row) };
  }

  [Symbol.iterator](): IterableIterator<T> {
    return this;
  }

  /** Returns every remaining row as an object keyed by column name. */
  toArray(): T[] {
    const rows: T[] = [];
    for (const row of this) rows.push(row);
    return rows;
  }

  /** Returns the only row, or throws when there are none or several. */
  one(): T {
    const remaining = this.#rows.length - this.#position;
    if (remaining === 0) throw new Error("Expected exactly one result from SQL query, but got no results.");
    if (remaining > 1) throw new Error("Expected exactly one result from SQL query, but got multiple results.");
    return this.next().value as T;
  }

  /** Iterates the remaining rows as arrays of values, in column order. */
  *raw<U extends SqlStorageValue[] = SqlStorageValue[]>(): IterableIterator<U> {
    while (this.#position < this.#rows.length) {
      yield this.#rows[this.#position++] as U;
    }
  }

  #toObject(row: SqlStorageValue[]): T {
    const object: Record<string, SqlStorageValue> = {};
    for (let c = 0; c < this.columnNames.length; c++) object[this.columnNames[c]!] = row[c]!;
    return object as T;
  }
}

/** `ctx.storage.sql`. */
export class SqlStorage {
  /** @internal Built by `DurableObjectStorage.sql`. */
  constructor(
    private readonly store: DurableObjectStore,
    private readonly host: StorageHost,
  ) {}

  /** Runs `query` (one or more statements) with `bindings` and returns a cursor over the last statement's rows. */
  exec<T extends Record<string, SqlStorageValue> = Record<string, SqlStorageValue>>(
    query: string,
    ...bindings: unknown[]
  ): SqlStorageCursor<T> {
    this.host.noteStorageOperation();
    const bindingsJson = bindings.length === 0 ? undefined : JSON.stringify(bindings.map(encodeBinding));
    const result = callNative(() => this.store.sqlExec(String(query), bindingsJson));
    // Every statement runs inside the implicit transaction, which the end of the turn commits.
    this.host.noteWrite();
    return new SqlStorageCursor<T>(JSON.parse(result.json) as RawRows, result.rowsRead, result.rowsWritten);
  }

  /** The size of the object's database file in bytes. */
  get databaseSize(): number {
    return callNative(() => this.store.databaseSize);
  }
}
