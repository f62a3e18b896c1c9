import { test, expect, describe } from "bun:test";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { native } from "../lib/native.ts";
import { createD1Database, type D1Database } from "../lib/bindings/d1.ts";
import { readD1Migrations, applyD1Migrations } from "../lib/d1-migrations.ts";
import { runD1Command } from "../lib/dev/d1-command.ts";
import type { WorkerConfig } from "../lib/config.ts";
import { tempDir, rejection } from "./fixtures.ts";

/** The read-only Northwind data in the shared folder beside the repository. */
const NORTHWIND =
  [join(import.meta.dir, "..", "..", "shared", "data", "northwind"), "/work/shared/data/northwind"].find((dir) =>
    existsSync(join(dir, "schema.sql")),
  ) ?? "/work/shared/data/northwind";

/** Northwind's data without most orders: every lookup table, products and 50 orders. */
function northwindSlice(): string {
  const lines = readFileSync(join(NORTHWIND, "data.sql"), "utf8").split("\n");
  const orders = lines.filter((line) => line.startsWith('INSERT INTO "Order" ')).slice(0, 50);
  const rest = lines.filter((line) => !line.startsWith('INSERT INTO "Order" ') && !line.startsWith("INSERT INTO OrderDetail "));
  return [...rest, ...orders].join("\n");
}

function openDb(dir = tempDir("bunflare-d1-"), name = "test-db"): { db: D1Database; dir: string } {
  const storage = native.Storage.open(join(dir, ".bunflare"));
  return { db: createD1Database(storage, name), dir };
}

async function usersTable(db: D1Database): Promise<void> {
  await db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, age INTEGER, data BLOB)");
}

function thrown(call: () => unknown): Error {
  try {
    call();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to throw");
}

describe("prepared statements", () => {
  test("run returns meta for an insert", async () => {
    const { db } = openDb();
    await usersTable(db);
    const result = await db.prepare("INSERT INTO users (name, age) VALUES (?, ?)").bind("ada", 36).run();
    expect(result.success).toBe(true);
    expect(result.results).toEqual([]);
    expect(result.meta.changes).toBe(1);
    expect(result.meta.last_row_id).toBe(1);
    expect(result.meta.changed_db).toBe(true);
    expect(result.meta.rows_written).toBe(1);
    expect(result.meta.served_by).toBe("bunflare.db");
    expect(result.meta.served_by_primary).toBe(true);
    expect(result.meta.size_after).toBeGreaterThan(0);
    expect(typeof result.meta.duration).toBe("number");
    expect(result.meta.timings?.sql_duration_ms).toBe(result.meta.duration);
  });

  test("all returns row objects", async () => {
    const { db } = openDb();
    await usersTable(db);
    await db.batch([
      db.prepare("INSERT INTO users (name, age) VALUES (?1, ?2)").bind("ada", 36),
      db.prepare("INSERT INTO users (name, age) VALUES (?1, ?2)").bind("alan", 41),
    ]);
    const result = await db.prepare("SELECT id, name, age FROM users ORDER BY id").all();
    expect(result.results).toEqual([
      { id: 1, name: "ada", age: 36 },
      { id: 2, name: "alan", age: 41 },
    ]);
    expect(result.meta.rows_read).toBe(2);
    expect(result.meta.changed_db).toBe(false);
    expect(result.meta.changes).toBe(0);
  });

  test("first returns the first row or null", async () => {
    const { db } = openDb();
    await usersTable(db);
    expect(await db.prepare("SELECT * FROM users").first()).toBeNull();
    expect(await db.prepare("SELECT name FROM users").first("name")).toBeNull();
    await db.prepare("INSERT INTO users (name, age) VALUES ('ada', 36), ('alan', 41)").run();
    expect(await db.prepare("SELECT name, age FROM users ORDER BY id").first()).toEqual({ name: "ada", age: 36 });
    expect(await db.prepare("SELECT name, age FROM users ORDER BY id").first("age")).toBe(36);
  });

  test("first with a missing column throws D1_COLUMN_NOTFOUND", async () => {
    const { db } = openDb();
    await usersTable(db);
    await db.prepare("INSERT INTO users (name) VALUES ('ada')").run();
    const error = await rejection(db.prepare("SELECT name FROM users").first("nope"));
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe("D1_COLUMN_NOTFOUND: Column not found (nope)");
    expect((error.cause as Error).message).toBe("Column not found");
  });

  test("non-string query rejects when run", async () => {
    const { db } = openDb();
    const cases: [unknown, string][] = [
      [undefined, "undefined"],
      [null, "null"],
      [42, "number"],
      [{}, "object"],
    ];
    for (const [query, type] of cases) {
      const statement = db.prepare(query as string);
      const message = `D1_ERROR: The SQL query must be a string, got ${type}.`;

      for (const run of [() => statement.all(), () => statement.run(), () => statement.first(), () => statement.raw(), () => db.batch([statement])]) {
        const error = await rejection(run());
        expect(error).toBeInstanceOf(Error);
        expect(error.message).toBe(message);
        expect((error.cause as Error).message).toBe(message.slice("D1_ERROR: ".length));
      }
    }
  });

  test("raw returns arrays with optional column names", async () => {
    const { db } = openDb();
    await usersTable(db);
    await db.prepare("INSERT INTO users (name, age) VALUES ('ada', 36)").run();
    expect(await db.prepare("SELECT name, age FROM users").raw()).toEqual([["ada", 36]]);
    expect(await db.prepare("SELECT name, age FROM users").raw({ columnNames: true })).toEqual([
      ["name", "age"],
      ["ada", 36],
    ]);
    expect(await db.prepare("SELECT name FROM users WHERE 0").raw({ columnNames: true })).toEqual([["name"]]);
  });

  test("bind returns a new statement", async () => {
    const { db } = openDb();
    const statement = db.prepare("SELECT ? AS value");
    const bound = statement.bind(1);
    expect(bound).not.toBe(statement);
    expect(await bound.first("value")).toBe(1);
    expect(await statement.bind(2).first("value")).toBe(2);
    expect(bound.params).toEqual([1]);
  });

  test("several statements in one prepare return the last", async () => {
    const { db } = openDb();
    const result = await db.prepare("CREATE TABLE t (x); INSERT INTO t VALUES (?); SELECT x FROM t").bind(5).all();
    expect(result.results).toEqual([{ x: 5 }]);
  });

  test("trailing comments are ignored", async () => {
    const { db } = openDb();
    for (const sql of ["SELECT ? AS a; -- trailing", "SELECT ? AS a -- no semicolon", "SELECT ? AS a; /* block; */", "SELECT ? AS a;;"]) {
      expect((await db.prepare(sql).bind(1).all()).results).toEqual([{ a: 1 }]);
    }
  });

  test("repeated column names keep the last value", async () => {
    const { db } = openDb();
    expect(await db.prepare("SELECT 1 AS a, 2 AS a").first()).toEqual({ a: 2 });
    expect(await db.prepare("SELECT 1 AS a, 2 AS a").raw()).toEqual([[1, 2]]);
  });
});

describe("value conversion", () => {
  test("numbers, strings and null round-trip", async () => {
    const { db } = openDb();
    const row = await db.prepare("SELECT ? AS i, ? AS r, ? AS s, ? AS n, typeof(?) AS t").bind(42, 1.5, "héllo", null, 3).first();
    expect(row).toEqual({ i: 42, r: 1.5, s: "héllo", n: null, t: "integer" });
  });

  test("booleans become 1 and 0", async () => {
    const { db } = openDb();
    expect(await db.prepare("SELECT ? AS t, ? AS f").bind(true, false).first()).toEqual({ t: 1, f: 0 });
  });

  test("whole floats bind as integers", async () => {
    const { db } = openDb();
    expect(await db.prepare("SELECT typeof(?) AS t").bind(2.0).first("t")).toBe("integer");
    expect(await db.prepare("SELECT typeof(?) AS t").bind(2.5).first("t")).toBe("real");
  });

  test("NaN and Infinity bind as null", async () => {
    const { db } = openDb();
    expect(await db.prepare("SELECT ? AS a, ? AS b").bind(NaN, Infinity).first()).toEqual({ a: null, b: null });
  });

  test("blobs come back as arrays of numbers", async () => {
    const { db } = openDb();
    await usersTable(db);
    const insert = db.prepare("INSERT INTO users (name, data) VALUES (?, ?)");
    await insert.bind("buffer", new Uint8Array([1, 2, 255]).buffer).run();
    await insert.bind("view", new Uint8Array([3, 4])).run();
    await insert.bind("array", [5, 6]).run();
    await insert.bind("dataview", new DataView(new ArrayBuffer(2))).run();
    const rows = await db.prepare("SELECT name, data, typeof(data) AS type FROM users ORDER BY id").all();
    expect(rows.results).toEqual([
      { name: "buffer", data: [1, 2, 255], type: "blob" },
      { name: "view", data: [3, 4], type: "blob" },
      { name: "array", data: [5, 6], type: "blob" },
      { name: "dataview", data: [], type: "blob" },
    ]);
  });

  test("integers beyond 2^53 lose precision", async () => {
    const { db } = openDb();
    const value = await db.prepare("SELECT 9007199254740993 AS big").first("big");
    expect(value).toBe(9007199254740992);
    expect(typeof value).toBe("number");
  });

  test("lone surrogates bind as U+FFFD", async () => {
    const { db } = openDb();
    const row = await db.prepare("SELECT ? AS text").bind("a\uD800b").first<{ text: string }>();
    expect(row).toEqual({ text: "a\uFFFDb" });

    const [result] = await db.batch([db.prepare("SELECT ? AS text, '\uDC00' AS literal").bind("\uDFFF")]);
    expect(result!.results).toEqual([{ text: "\uFFFD", literal: "\uFFFD" }]);
  });

  test("undefined is a D1_TYPE_ERROR", () => {
    const { db } = openDb();
    const error = thrown(() => db.prepare("SELECT ?").bind(undefined));
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe("D1_TYPE_ERROR: Type 'undefined' not supported for value 'undefined'");
    expect((error.cause as Error).message).toBe("Type 'undefined' not supported for value 'undefined'");
  });

  test("objects are a D1_TYPE_ERROR", () => {
    const { db } = openDb();
    const error = thrown(() => db.prepare("SELECT ?").bind({ a: 1 }));
    expect(error.message).toBe("D1_TYPE_ERROR: Type 'object' not supported for value '[object Object]'");
  });

  test("arrays of non-bytes are a D1_TYPE_ERROR", () => {
    const { db } = openDb();
    const error = thrown(() => db.prepare("SELECT ?").bind([1, 256]));
    expect(error.message).toBe("D1_TYPE_ERROR: Type 'object' not supported for value '1,256'");
  });

  test("bigint is a D1_TYPE_ERROR", () => {
    const { db } = openDb();
    const error = thrown(() => db.prepare("SELECT ?").bind(10n));
    expect(error.message).toBe("D1_TYPE_ERROR: Type 'bigint' not supported for value '10'");
  });

  test("functions are a D1_TYPE_ERROR", () => {
    const { db } = openDb();
    const error = thrown(() => db.prepare("SELECT ?").bind(function f() {}));
    expect(error.message).toStartWith("D1_TYPE_ERROR: Type 'function' not supported for value 'function f()");
  });

  test("symbols throw a TypeError", () => {
    const { db } = openDb();
    const error = thrown(() => db.prepare("SELECT ?").bind(Symbol("s")));
    expect(error).toBeInstanceOf(TypeError);
  });

  test("wide typed arrays with large elements are rejected", async () => {
    const { db } = openDb();
    const error = await rejection(db.prepare("SELECT ?").bind(new Uint16Array([300])).all());
    expect(error.message).toBe("D1_TYPE_ERROR: Type 'object' not supported for value '[300]'");
  });
});

describe("errors", () => {
  test("sql errors carry sqlite's message", async () => {
    const { db } = openDb();
    const error = await rejection(db.prepare("SELECT * FROM missing").all());
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe("D1_ERROR: no such table: missing: SQLITE_ERROR");
    expect((error.cause as Error).message).toBe("no such table: missing: SQLITE_ERROR");
  });

  test("syntax errors carry sqlite's message", async () => {
    const { db } = openDb();
    const error = await rejection(db.prepare("SELEKT 1").all());
    expect(error.message).toBe('D1_ERROR: near "SELEKT": syntax error: SQLITE_ERROR');
  });

  test("constraint violations name the constraint", async () => {
    const { db } = openDb();
    await usersTable(db);
    await db.prepare("INSERT INTO users (name) VALUES ('ada')").run();
    const error = await rejection(db.prepare("INSERT INTO users (name) VALUES ('ada')").run());
    expect(error.message).toBe("D1_ERROR: UNIQUE constraint failed: users.name: SQLITE_CONSTRAINT");
    const notNull = await rejection(db.prepare("INSERT INTO users (name) VALUES (NULL)").run());
    expect(notNull.message).toBe("D1_ERROR: NOT NULL constraint failed: users.name: SQLITE_CONSTRAINT");
  });

  test("wrong parameter count is rejected", async () => {
    const { db } = openDb();
    const tooMany = await rejection(db.prepare("SELECT ?").bind(1, 2).all());
    expect(tooMany.message).toBe("D1_ERROR: Wrong number of parameter bindings for SQL query.");
    const tooFew = await rejection(db.prepare("SELECT ?, ?").bind(1).all());
    expect(tooFew.message).toBe("D1_ERROR: Wrong number of parameter bindings for SQL query.");
  });

  test("transaction statements are rejected", async () => {
    const { db } = openDb();
    for (const sql of ["BEGIN TRANSACTION", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT sp", "RELEASE sp"]) {
      const error = await rejection(db.prepare(sql).run());
      expect(error.message).toStartWith("D1_ERROR: To execute a transaction, please use the state.storage.transaction()");
    }
    const inBatch = await rejection(db.batch([db.prepare("SELECT 1"), db.prepare("BEGIN")]));
    expect(inBatch.message).toStartWith("D1_ERROR: To execute a transaction");
  });

  test("empty sql is rejected", async () => {
    const { db } = openDb();
    const error = await rejection(db.prepare("  -- only a comment").all());
    expect(error.message).toBe("D1_ERROR: No SQL statements detected.");
    const batch = await rejection(db.batch([]));
    expect(batch.message).toBe("D1_ERROR: No SQL statements detected.");
  });

  test("too many bound parameters hit the limit", async () => {
    const { db } = openDb();
    const values = Array.from({ length: 101 }, (_, i) => i);
    const sql = `SELECT ${values.map(() => "?").join(",")}`;
    const error = await rejection(db.prepare(sql).bind(...values).all());
    expect(error.message).toBe("D1_ERROR: too many SQL variables: SQLITE_ERROR");
  });

  test("oversized values hit the limit", async () => {
    const { db } = openDb();
    const error = await rejection(db.prepare("SELECT ? AS s").bind("x".repeat(2_000_001)).all());
    expect(error.message).toBe("D1_ERROR: string or blob too big: SQLITE_TOOBIG");
  });

  test("overlong sql hits the limit", async () => {
    const { db } = openDb();
    const error = await rejection(db.prepare(`SELECT '${"x".repeat(100_000)}'`).all());
    expect(error.message).toBe("D1_ERROR: statement too long: SQLITE_TOOBIG");
  });

  test("too many columns hit the limit", async () => {
    const { db } = openDb();
    const columns = Array.from({ length: 101 }, (_, i) => `c${i} INTEGER`).join(", ");
    const error = await rejection(db.prepare(`CREATE TABLE wide (${columns})`).run());
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe("D1_ERROR: too many columns on wide: SQLITE_ERROR");
  });

  test("attach is not authorized", async () => {
    const { db, dir } = openDb();
    const target = join(dir, "attached.sqlite");
    for (const sql of [`ATTACH DATABASE '${target}' AS other`, "DETACH DATABASE other"]) {
      const error = await rejection(db.prepare(sql).run());
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toBe("D1_ERROR: not authorized: SQLITE_AUTH");
    }
    const exec = await rejection(db.exec(`ATTACH DATABASE '${target}' AS other`));
    expect(exec.message).toStartWith("D1_EXEC_ERROR: Error in line 1:");
    expect(exec.message).toEndWith("not authorized: SQLITE_AUTH");
    expect(existsSync(target)).toBe(false);
  });
});

describe("batch", () => {
  test("returns one result per statement", async () => {
    const { db } = openDb();
    await usersTable(db);
    const results = await db.batch([
      db.prepare("INSERT INTO users (name) VALUES (?)").bind("ada"),
      db.prepare("SELECT name FROM users"),
    ]);
    expect(results).toHaveLength(2);
    expect(results[0]!.meta.changes).toBe(1);
    expect(results[1]!.results).toEqual([{ name: "ada" }]);
  });

  test("failure rolls back every statement", async () => {
    const { db } = openDb();
    await usersTable(db);
    const error = await rejection(
      db.batch([
        db.prepare("INSERT INTO users (name) VALUES (?)").bind("ada"),
        db.prepare("UPDATE users SET age = 1"),
        db.prepare("INSERT INTO users (name) VALUES (?)").bind("ada"),
      ]),
    );
    expect(error.message).toBe("D1_ERROR: UNIQUE constraint failed: users.name: SQLITE_CONSTRAINT");
    expect(await db.prepare("SELECT count(*) AS n FROM users").first("n")).toBe(0);
  });

  test("failing multi-statement member rolls back the batch", async () => {
    const { db } = openDb();
    await usersTable(db);
    const error = await rejection(
      db.batch([
        db.prepare("INSERT INTO users (name) VALUES ('first')"),
        db.prepare("INSERT INTO users (name) VALUES ('second'); INSERT INTO missing VALUES (1)"),
        db.prepare("INSERT INTO users (name) VALUES ('third')"),
      ]),
    );
    expect(error.message).toBe("D1_ERROR: no such table: missing: SQLITE_ERROR");
    expect(await db.prepare("SELECT count(*) AS n FROM users").first("n")).toBe(0);
  });

  test("concurrent batches do not interleave", async () => {
    const { db } = openDb();
    await db.exec("CREATE TABLE counter (n INTEGER)\nINSERT INTO counter VALUES (0)");
    const increment = () =>
      db.batch([
        db.prepare("UPDATE counter SET n = n + 1"),
        db.prepare("INSERT INTO counter SELECT -1 WHERE (SELECT max(n) FROM counter) % 2 = 1"),
        db.prepare("DELETE FROM counter WHERE n = -1"),
        db.prepare("UPDATE counter SET n = n + 1"),
      ]);
    await Promise.all(Array.from({ length: 20 }, increment));
    expect(await db.prepare("SELECT n FROM counter").raw()).toEqual([[40]]);
  });
});

describe("exec", () => {
  test("runs each line and counts them", async () => {
    const { db } = openDb();
    const result = await db.exec(
      "CREATE TABLE t (x INTEGER);\nINSERT INTO t VALUES (1);\n\nINSERT INTO t VALUES (2); INSERT INTO t VALUES (3);\n",
    );
    expect(result.count).toBe(3);
    expect(result.duration).toBeGreaterThanOrEqual(0);
    expect(await db.prepare("SELECT sum(x) AS s FROM t").first("s")).toBe(6);
  });

  test("errors name the failing line", async () => {
    const { db } = openDb();
    const error = await rejection(db.exec("CREATE TABLE t (x);\nINSERT INTO nope VALUES (1);"));
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe(
      "D1_EXEC_ERROR: Error in line 2: INSERT INTO nope VALUES (1);: no such table: nope: SQLITE_ERROR",
    );
    expect((error.cause as Error).message).toBe(
      "Error in line 2: INSERT INTO nope VALUES (1);: no such table: nope: SQLITE_ERROR",
    );
    // The failing exec left nothing behind.
    const missing = await rejection(db.prepare("SELECT * FROM t").all());
    expect(missing.message).toBe("D1_ERROR: no such table: t: SQLITE_ERROR");
  });

  test("semicolons and comments inside strings stay put", async () => {
    const { db } = openDb();
    await db.exec("CREATE TABLE notes (text TEXT)");
    const result = await db.exec(
      "INSERT INTO notes VALUES ('a;b'); -- c;d\nINSERT INTO notes VALUES ('x -- y'); /* ; */\nINSERT INTO notes VALUES ('/* z */')",
    );
    expect(result.count).toBe(3);
    expect(await db.prepare("SELECT text FROM notes").raw()).toEqual([["a;b"], ["x -- y"], ["/* z */"]]);
  });

  test("empty input is rejected", async () => {
    const { db } = openDb();
    const error = await rejection(db.exec(""));
    expect(error.message).toBe("D1_EXEC_ERROR: Error in line 1: : No SQL statements detected.");
  });

  test("loads northwind", async () => {
    const { db } = openDb();
    const schema = readFileSync(join(NORTHWIND, "schema.sql"), "utf8");
    const loaded = await db.exec(schema);
    expect(loaded.count).toBe(29);
    await db.exec(northwindSlice());

    const categories = await db.prepare('SELECT count(*) AS n FROM "Category"').first<number>("n");
    expect(categories).toBeGreaterThan(0);
    const detail = await db
      .prepare("SELECT [CategoryName], [SupplierName] FROM [ProductDetails_V] WHERE Id = ?")
      .bind(1)
      .first<{ CategoryName: string; SupplierName: string }>();
    expect(detail?.CategoryName).toBe("Beverages");
    expect(detail?.SupplierName).toBe("Exotic Liquids");
    const orders = await db.prepare('SELECT count(*) AS n FROM "Order"').first("n");
    expect(orders).toBe(50);
  });
});

describe("sessions", () => {
  test("bookmark is null before the first query", () => {
    const { db } = openDb();
    expect(db.withSession().getBookmark()).toBeNull();
    expect(db.withSession("first-primary").getBookmark()).toBeNull();
  });

  test("bookmark advances with writes", async () => {
    const { db } = openDb();
    const session = db.withSession("first-unconstrained");
    await session.prepare("CREATE TABLE t (x)").run();
    const first = session.getBookmark();
    expect(typeof first).toBe("string");
    await session.batch([session.prepare("INSERT INTO t VALUES (1)")]);
    const second = session.getBookmark()!;
    expect(first!.localeCompare(second)).toBeLessThan(0);
    expect(await session.prepare("SELECT x FROM t").first("x")).toBe(1);
  });

  test("session starts from a given bookmark", () => {
    const { db } = openDb();
    expect(db.withSession("  0000-0001 ").getBookmark()).toBe("0000-0001");
  });
});

describe("storage", () => {
  test("data persists across reopening", async () => {
    const dir = tempDir("bunflare-d1-");
    const first = openDb(dir, "persisted").db;
    await usersTable(first);
    await first.prepare("INSERT INTO users (name) VALUES ('ada')").run();

    const reopened = openDb(dir, "persisted").db;
    expect(await reopened.prepare("SELECT name FROM users").first("name")).toBe("ada");
    expect(existsSync(join(dir, ".bunflare", "d1", "persisted.sqlite"))).toBe(true);
  });

  test("two databases are separate files", async () => {
    const dir = tempDir("bunflare-d1-");
    const storage = native.Storage.open(join(dir, ".bunflare"));
    const one = createD1Database(storage, "one");
    const two = createD1Database(storage, "two");
    await one.exec("CREATE TABLE only_one (x)");
    const error = await rejection(two.prepare("SELECT * FROM only_one").all());
    expect(error.message).toBe("D1_ERROR: no such table: only_one: SQLITE_ERROR");
    expect(existsSync(join(dir, ".bunflare", "d1", "one.sqlite"))).toBe(true);
    expect(existsSync(join(dir, ".bunflare", "d1", "two.sqlite"))).toBe(true);
  });

  test("invalid database names are rejected", () => {
    const storage = native.Storage.open(null);
    const error = thrown(() => createD1Database(storage, "../escape"));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe(`invalid D1 database name "../escape": use letters, digits, '-', '_' and '.' only`);
  });

  test("dump returns a sqlite file image", async () => {
    const { db } = openDb();
    await db.exec("CREATE TABLE t (x)");
    const image = new Uint8Array(await db.dump());
    expect(new TextDecoder().decode(image.slice(0, 15))).toBe("SQLite format 3");
  });
});

describe("migrations", () => {
  function migrationsDir(): string {
    const dir = join(tempDir("bunflare-d1-"), "migrations");
    mkdirSync(dir);
    writeFileSync(join(dir, "0002_add_age.sql"), "ALTER TABLE people ADD COLUMN age INTEGER;\n");
    writeFileSync(
      join(dir, "0001_create.sql"),
      "-- Migration number: 0001\nCREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO people (name) VALUES ('a;b');\n",
    );
    writeFileSync(join(dir, "notes.txt"), "not a migration");
    return dir;
  }

  test("read sorts files and splits statements", () => {
    const migrations = readD1Migrations(migrationsDir());
    expect(migrations.map((m) => m.name)).toEqual(["0001_create.sql", "0002_add_age.sql"]);
    expect(migrations[0]!.queries).toHaveLength(2);
    expect(migrations[0]!.queries[1]).toBe("INSERT INTO people (name) VALUES ('a;b');");
  });

  test("apply runs only unapplied migrations", async () => {
    const { db } = openDb();
    const migrations = readD1Migrations(migrationsDir());
    expect(await applyD1Migrations(db, migrations.slice(0, 1))).toEqual(["0001_create.sql"]);
    expect(await applyD1Migrations(db, migrations)).toEqual(["0002_add_age.sql"]);
    expect(await applyD1Migrations(db, migrations)).toEqual([]);

    const recorded = await db.prepare("SELECT id, name, applied_at FROM d1_migrations ORDER BY id").all();
    expect(recorded.results.map((r) => r.name)).toEqual(["0001_create.sql", "0002_add_age.sql"]);
    expect(typeof recorded.results[0]!.applied_at).toBe("string");
    expect(await db.prepare("SELECT name, age FROM people").first()).toEqual({ name: "a;b", age: null });
  });

  test("failed migration leaves no trace", async () => {
    const { db } = openDb();
    const migrations = [
      { name: "0001_ok.sql", queries: ["CREATE TABLE a (x)"] },
      { name: "0002_bad.sql", queries: ["CREATE TABLE b (x)", "INSERT INTO missing VALUES (1)"] },
    ];
    const error = await rejection(applyD1Migrations(db, migrations, "custom_migrations"));
    expect(error.message).toBe("D1_ERROR: no such table: missing: SQLITE_ERROR");
    expect(await db.prepare("SELECT name FROM custom_migrations").raw()).toEqual([["0001_ok.sql"]]);
    const missing = await rejection(db.prepare("SELECT * FROM b").all());
    expect(missing.message).toBe("D1_ERROR: no such table: b: SQLITE_ERROR");
  });

  test("invalid table name is rejected", async () => {
    const { db } = openDb();
    const error = await rejection(applyD1Migrations(db, [], 'bad"name'));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toStartWith('Invalid migrations table name "bad"name"');
  });

  test("northwind loads through migrations", async () => {
    const { db } = openDb();
    const dir = join(tempDir("bunflare-d1-"), "migrations");
    mkdirSync(dir);
    writeFileSync(join(dir, "0001_schema.sql"), readFileSync(join(NORTHWIND, "schema.sql"), "utf8"));
    writeFileSync(join(dir, "0002_data.sql"), northwindSlice());
    expect(await applyD1Migrations(db, readD1Migrations(dir))).toEqual(["0001_schema.sql", "0002_data.sql"]);
    const employee = await db.prepare('SELECT "FirstName" FROM "Employee" WHERE "Id" = ?').bind(1).first("FirstName");
    expect(employee).toBe("Nancy");
    const product = await db.prepare("SELECT ProductName FROM [ProductDetails_V] WHERE CategoryName = ?1 ORDER BY Id").bind("Beverages").first("ProductName");
    expect(product).toBe("Chai");
  });
});

describe("d1 command", () => {
  function setup() {
    const dir = tempDir("bunflare-d1-");
    const migrations = join(dir, "migrations");
    mkdirSync(migrations);
    writeFileSync(join(migrations, "0001_init.sql"), "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);");
    const config: WorkerConfig = {
      configPath: join(dir, "wrangler.jsonc"),
      userConfigPath: join(dir, "wrangler.jsonc"),
      rootDir: dir,
      name: "worker",
      main: null,
      compatibilityDate: null,
      compatibilityFlags: [],
      environment: null,
      vars: {},
      secretNames: [],
      secretFiles: [],
      secretsIncludeProcessEnv: false,
      kvNamespaces: [],
      services: [],
      queueProducers: [],
      queueConsumers: [],
      workflows: [],
      assets: null,
      r2Buckets: [],
      d1Databases: [
        {
          binding: "DB",
          databaseName: "notes-db",
          databaseId: "00000000-0000-0000-0000-000000000000",
          migrationsDir: migrations,
          migrationsTable: "d1_migrations",
        },
      ],
      durableObjects: [],
      migrations: [],
      build: null,
      crons: [],
      persistTo: join(dir, ".bunflare"),
      unsupportedBindings: [],
      raw: {},
    };
    const storage = native.Storage.open(config.persistTo);
    const out: string[] = [];
    const errors: string[] = [];
    const context = { storage, config, write: (l: string) => out.push(l), writeError: (l: string) => errors.push(l) };
    return { dir, storage, out, errors, context };
  }

  test("migrations list then apply", async () => {
    const { out, context, storage } = setup();
    expect(await runD1Command(["migrations", "list", "DB"], context)).toBe(0);
    expect(out.join("\n")).toContain("0001_init.sql");

    out.length = 0;
    expect(await runD1Command(["migrations", "apply", "notes-db"], context)).toBe(0);
    expect(out.join("\n")).toContain("│ 0001_init.sql │ ✅     │");

    out.length = 0;
    expect(await runD1Command(["migrations", "list", "DB"], context)).toBe(0);
    expect(out).toEqual(["✅ No migrations to apply!"]);

    const db = createD1Database(storage, "notes-db");
    expect(await db.prepare("SELECT count(*) AS n FROM d1_migrations").first("n")).toBe(1);
  });

  test("execute --command prints a table", async () => {
    const { out, context } = setup();
    await runD1Command(["migrations", "apply", "DB"], context);
    out.length = 0;
    const code = await runD1Command(
      ["execute", "DB", "--command", "INSERT INTO notes (body) VALUES ('hi'); SELECT id, body FROM notes"],
      context,
    );
    expect(code).toBe(0);
    const printed = out.join("\n");
    expect(printed).toContain("🚣 2 commands executed successfully.");
    expect(printed).toContain("│ id │ body │");
    expect(printed).toContain("│ 1  │ hi   │");
  });

  test("execute --file --json prints results", async () => {
    const { dir, out, context } = setup();
    const file = join(dir, "seed.sql");
    writeFileSync(file, "CREATE TABLE t (x);\nINSERT INTO t VALUES (1);\nSELECT x FROM t;\n");
    expect(await runD1Command(["execute", "notes-db", "--file", file, "--json"], context)).toBe(0);
    const results = JSON.parse(out.join("\n"));
    expect(results).toHaveLength(3);
    expect(results[2].results).toEqual([{ x: 1 }]);
    expect(results[2].success).toBe(true);
  });

  test("execute reports sql errors", async () => {
    const { errors, context } = setup();
    expect(await runD1Command(["execute", "DB", "--command", "SELECT * FROM nope"], context)).toBe(1);
    expect(errors).toEqual(["✘ D1_ERROR: no such table: nope: SQLITE_ERROR"]);
  });

  test("unknown database is rejected", async () => {
    const { errors, context } = setup();
    expect(await runD1Command(["execute", "OTHER", "--command", "SELECT 1"], context)).toBe(1);
    expect(errors[0]).toBe(
      "✘ Couldn't find a D1 DB with the name or binding 'OTHER' in your config file. Configured bindings: DB.",
    );
  });

  test("global flags are accepted", async () => {
    const { out, context } = setup();
    const args = ["execute", "DB", "--command", "SELECT 1 AS one", "--persist-to", ".x", "--env", "dev", "--local"];
    expect(await runD1Command(args, context)).toBe(0);
    expect(out.join("\n")).toContain("│ one │");
  });

  test("missing command prints help", async () => {
    for (const args of [[], ["migrations"], ["--local"]]) {
      const { out, errors, context } = setup();
      expect(await runD1Command(args, context)).toBe(1);
      expect(out.join("\n")).toStartWith("Usage:\n  bunflare d1 execute <database>");
      expect(errors).toEqual([]);
    }
  });

  test("bad flags are rejected", async () => {
    const { errors, context } = setup();
    expect(await runD1Command(["execute", "DB"], context)).toBe(1);
    expect(errors[0]).toStartWith("✘ Pass exactly one of --command or --file.");
    expect(await runD1Command(["execute", "DB", "--bogus"], context)).toBe(1);
    expect(errors[1]).toStartWith("✘ Unknown option '--bogus'");
    expect(await runD1Command(["execute", "DB", "--remote", "--command", "SELECT 1"], context)).toBe(1);
    expect(errors[2]).toBe("✘ bunflare runs D1 locally only; --remote and --preview are not supported.");
    expect(await runD1Command(["frobnicate"], context)).toBe(1);
    expect(errors[3]).toStartWith('✘ Unknown d1 command "frobnicate".');
  });
});
