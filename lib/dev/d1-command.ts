// `bunflare d1 …`: wrangler's local D1 commands, run against the same
// engine and data directory as the dev server.
//
//   bunflare d1 execute <db> --command <sql> | --file <path> [--json]
//   bunflare d1 migrations list <db>
//   bunflare d1 migrations apply <db>
//
// `<db>` is a binding name or a `database_name` from the config.

import { readFileSync } from "node:fs";
import { native } from "../native.ts";
import { createD1Database, type D1Database, type D1Result } from "../bindings/d1.ts";
import { readD1Migrations, listAppliedD1Migrations, applyD1Migrations } from "../d1-migrations.ts";
import { ConfigError, readConfigSource, sectionsDeclaring, type WorkerConfig, type D1DatabaseBinding } from "../config.ts";
import { CONFIG_FLAGS_USAGE } from "./config-flags.ts";
import { parseCommandArgs } from "./command.ts";

type NativeStorage = InstanceType<typeof native.Storage>;

export interface D1CommandContext {
  storage: NativeStorage;
  config: WorkerConfig;
  /** Receives each line of output; defaults to stdout. */
  write?: (line: string) => void;
  /** Receives each error line; defaults to stderr. */
  writeError?: (line: string) => void;
}

export const D1_USAGE = `Usage:
  bunflare d1 execute <database> --command <sql> [--json]
  bunflare d1 execute <database> --file <path> [--json]
  bunflare d1 migrations list <database>
  bunflare d1 migrations apply <database>

<database> is a D1 binding name or database_name from the wrangler config.
Options:
  --command <sql>  SQL to run; several statements may be separated by ';'
  --file <path>    a .sql file to run
  --json           print the results as JSON instead of tables
  --local          run against the local database (the default and only mode)
${CONFIG_FLAGS_USAGE}`;

/**
 * Flags wrangler's d1 commands accept, besides `-h/--help` and the config
 * flags. Those that only matter remotely are rejected below.
 */
const OPTIONS = {
  command: { type: "string" },
  file: { type: "string" },
  json: { type: "boolean" },
  local: { type: "boolean" },
  remote: { type: "boolean" },
  preview: { type: "boolean" },
  yes: { type: "boolean", short: "y" },
} as const;

/** Runs one `bunflare d1` command and returns its exit code. `args` follow the word `d1`. */
export async function runD1Command(args: string[], context: D1CommandContext): Promise<number> {
  const write = context.write ?? ((line: string) => console.log(line));
  const writeError = context.writeError ?? ((line: string) => console.error(line));

  let parsed;
  try {
    parsed = parseCommandArgs(args, OPTIONS);
  } catch (error) {
    writeError(`✘ ${(error as Error).message}\n\n${D1_USAGE}`);
    return 1;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    write(D1_USAGE);
    return 0;
  }
  if (values.remote || values.preview) {
    writeError("✘ bunflare runs D1 locally only; --remote and --preview are not supported.");
    return 1;
  }

  const [subcommand, ...rest] = positionals;
  // A bare command prints its help and fails, as a bare `bunflare` does.
  if (subcommand === undefined || (subcommand === "migrations" && rest.length === 0)) {
    write(D1_USAGE);
    return 1;
  }
  if (subcommand === "execute") {
    return execute(rest, values, context, write, writeError);
  }
  if (subcommand === "migrations") {
    const [action, ...names] = rest;
    if (action === "list" || action === "apply") return migrations(action, names, context, write, writeError);
    writeError(`✘ Unknown migrations command "${action}": use "list" or "apply".\n\n${D1_USAGE}`);
    return 1;
  }
  writeError(`✘ Unknown d1 command "${subcommand}".\n\n${D1_USAGE}`);
  return 1;
}

/** Finds the binding named `name` by binding or database_name, as wrangler does. */
function findBinding(
  names: string[],
  context: D1CommandContext,
  writeError: (line: string) => void,
): D1DatabaseBinding | null {
  if (names.length !== 1) {
    writeError(`✘ Expected one database name, got ${names.length}.\n\n${D1_USAGE}`);
    return null;
  }
  const name = names[0]!;
  const binding = context.config.d1Databases.find((d) => d.binding === name || d.databaseName === name);
  if (!binding) {
    const known = context.config.d1Databases.map((d) => d.binding).join(", ") || "none";
    writeError(
      `✘ Couldn't find a D1 DB with the name or binding '${name}' in your config file. Configured bindings: ${known}.` +
        otherEnvironmentHint(name, context.config),
    );
    return null;
  }
  return binding;
}

/**
 * Returns " It is defined in env.<name>; pass --env <name>." when another
 * section of the config file declares the database, or "" when none does.
 */
function otherEnvironmentHint(name: string, config: WorkerConfig): string {
  if (config.configPath === null) return "";

  // The hint is optional, so a config file that can no longer be read only drops it.
  let source;
  try {
    source = readConfigSource(config.configPath);
  } catch (error) {
    if (error instanceof ConfigError) return "";
    throw error;
  }

  const matches = (entry: Record<string, unknown>) => entry.binding === name || entry.database_name === name;
  const sections = sectionsDeclaring(source, "d1_databases", matches).filter((section) => section !== config.environment);
  const [first] = sections;
  if (first === undefined) return "";
  if (first === null) return " It is defined at the top level; run without --env.";

  const places = sections.map((section) => (section === null ? "the top level" : `env.${section}`)).join(", ");
  return ` It is defined in ${places}; pass --env ${first}.`;
}

function describe(binding: D1DatabaseBinding, context: D1CommandContext): string {
  const id = binding.databaseId ? ` (${binding.databaseId})` : "";
  return `${binding.databaseName}${id} from ${context.storage.path ?? "memory"}`;
}

async function execute(
  names: string[],
  values: { command?: string; file?: string; json?: boolean },
  context: D1CommandContext,
  write: (line: string) => void,
  writeError: (line: string) => void,
): Promise<number> {
  const binding = findBinding(names, context, writeError);
  if (!binding) return 1;
  if ((values.command === undefined) === (values.file === undefined)) {
    writeError(`✘ Pass exactly one of --command or --file.\n\n${D1_USAGE}`);
    return 1;
  }

  let sql: string;
  try {
    sql = values.command ?? readFileSync(values.file!, "utf8");
  } catch (error) {
    writeError(`✘ Could not read ${values.file}: ${(error as Error).message}`);
    return 1;
  }

  // Like wrangler, the SQL is split into statements that run as one batch.
  const db = createD1Database(context.storage, binding.databaseName);
  const statements = native.splitSqlStatements(sql);
  if (!values.json) write(`🌀 Executing on local database ${describe(binding, context)}:`);

  let results: D1Result[];
  try {
    results = await db.batch(statements.map((statement) => db.prepare(statement)));
  } catch (error) {
    const message = (error as Error).message;
    if (values.json) write(JSON.stringify({ error: { text: message } }, null, 2));
    else writeError(`✘ ${message}`);
    return 1;
  }

  if (values.json) {
    write(JSON.stringify(results, null, 2));
    return 0;
  }
  const plural = results.length === 1 ? "command" : "commands";
  write(`🚣 ${results.length} ${plural} executed successfully.`);
  for (const result of results) {
    if (result.results.length > 0) write(renderTable(result.results));
  }
  return 0;
}

async function migrations(
  action: "list" | "apply",
  names: string[],
  context: D1CommandContext,
  write: (line: string) => void,
  writeError: (line: string) => void,
): Promise<number> {
  const binding = findBinding(names, context, writeError);
  if (!binding) return 1;

  const db: D1Database = createD1Database(context.storage, binding.databaseName);
  const all = readD1Migrations(binding.migrationsDir);
  const applied = new Set(await listAppliedD1Migrations(db, binding.migrationsTable));
  const pending = all.filter((migration) => !applied.has(migration.name));
  if (pending.length === 0) {
    write("✅ No migrations to apply!");
    return 0;
  }

  write("Migrations to be applied:");
  write(renderTable(pending.map((migration) => ({ Name: migration.name }))));
  if (action === "list") return 0;

  write(`🌀 Executing on local database ${describe(binding, context)}:`);
  const statuses: { name: string; status: string }[] = [];
  for (const migration of pending) {
    try {
      await applyD1Migrations(db, [migration], binding.migrationsTable);
      statuses.push({ name: migration.name, status: "✅" });
    } catch (error) {
      statuses.push({ name: migration.name, status: "❌" });
      write(renderTable(statuses));
      writeError(`❌ Migration ${migration.name} failed with the following errors:\n${(error as Error).message}`);
      return 1;
    }
  }
  write(renderTable(statuses));
  return 0;
}

/** Renders rows as a box-drawn table with one column per key, as wrangler prints results. */
export function renderTable(rows: Record<string, unknown>[]): string {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cell = (value: unknown) => (value === null || value === undefined ? "null" : String(value));
  // Terminal columns, not UTF-16 units: an emoji such as ✅ takes two.
  const width = (text: string) => Bun.stringWidth(text);
  const widths = columns.map((column) => Math.max(width(column), ...rows.map((row) => width(cell(row[column])))));
  const line = (left: string, middle: string, right: string) =>
    left + widths.map((width) => "─".repeat(width + 2)).join(middle) + right;
  const pad = (text: string, to: number) => text + " ".repeat(Math.max(0, to - width(text)));
  const format = (cells: string[]) => "│" + cells.map((text, i) => ` ${pad(text, widths[i]!)} `).join("│") + "│";

  return [
    line("┌", "┬", "┐"),
    format(columns),
    line("├", "┼", "┤"),
    ...rows.map((row) => format(columns.map((column) => cell(row[column])))),
    line("└", "┴", "┘"),
  ].join("\n");
}
