// D1 migrations in wrangler's layout: `.sql` files in a folder, applied in
// file-name order, each recorded in a `d1_migrations` table with wrangler's
// columns, so a database migrated here and by `wrangler d1 migrations apply`
// agrees on what has run.

import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { native } from "./native.ts";
import { log } from "./log.ts";
import type { D1Database } from "./bindings/d1.ts";

/** One migration file: its name and its statements. */
export interface D1Migration {
  name: string;
  queries: string[];
}

/** SQLite identifiers allowed as a migrations table name. */
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Reads the `.sql` files in `dir`, sorted by file name as wrangler sorts them,
 * and splits each into statements. A missing folder has no migrations.
 */
export function readD1Migrations(dir: string): D1Migration[] {
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir)
    .filter((name) => name.endsWith(".sql"))
    .sort();
  return names.map((name) => ({
    name,
    queries: native.splitSqlStatements(readFileSync(join(dir, name), "utf8")),
  }));
}

function checkTableName(migrationsTable: string): void {
  if (!TABLE_NAME.test(migrationsTable)) {
    throw new TypeError(
      `Invalid migrations table name "${migrationsTable}": use letters, digits and '_', starting with a letter or '_'.`,
    );
  }
}

/** Creates the migrations table with wrangler's columns if it does not exist. */
async function ensureTable(db: D1Database, migrationsTable: string): Promise<void> {
  await db
    .prepare(
      `CREATE TABLE IF NOT EXISTS "${migrationsTable}" (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT UNIQUE,
        applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
      )`,
    )
    .run();
}

/** Returns the names recorded as applied, creating the table when needed. */
export async function listAppliedD1Migrations(
  db: D1Database,
  migrationsTable = "d1_migrations",
): Promise<string[]> {
  checkTableName(migrationsTable);
  await ensureTable(db, migrationsTable);
  const applied = await db.prepare(`SELECT name FROM "${migrationsTable}" ORDER BY id`).raw<[string]>();
  return applied.map(([name]) => name);
}

/**
 * Applies every migration not yet recorded in `migrationsTable`, in order,
 * each with its record in one transaction, so a failing migration leaves
 * neither its changes nor its record. Returns the names applied.
 */
export async function applyD1Migrations(
  db: D1Database,
  migrations: D1Migration[],
  migrationsTable = "d1_migrations",
): Promise<string[]> {
  const applied = new Set(await listAppliedD1Migrations(db, migrationsTable));
  const newlyApplied: string[] = [];

  for (const migration of migrations) {
    if (applied.has(migration.name)) continue;
    const statements = migration.queries.map((query) => db.prepare(query));
    statements.push(db.prepare(`INSERT INTO "${migrationsTable}" (name) VALUES (?)`).bind(migration.name));
    await db.batch(statements);
    log.debug("d1: migration applied", { migration: migration.name, table: migrationsTable });
    newlyApplied.push(migration.name);
  }
  return newlyApplied;
}
