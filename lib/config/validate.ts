// Type checks for every config key bunflare reads. Problems are collected,
// so that one run reports all of them, and are thrown together as one
// ConfigError that names the file, the line and the key of each.

import { ConfigError, formatKeyPath, locate, type KeyPath } from "./errors.ts";
import type { ConfigSource } from "./source.ts";
import { native } from "../native.ts";

/** Worker names wrangler accepts: lowercase letters, digits, `-` and `_`, not starting with `-`. */
const WORKER_NAME = /^$|^[a-z0-9_][a-z0-9-_]*$/;

const COMPATIBILITY_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

interface Problem {
  path: KeyPath;
  line: number | null;
  message: string;
}

/** Describes a value's type for messages: `string`, `number`, `array`, `null`, `date`... */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (value instanceof Date) return "date";
  return typeof value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Collects type problems found in one config file. */
export class ConfigChecker {
  private readonly problems: Problem[] = [];

  constructor(readonly source: ConfigSource) {}

  /** Records that the value at `path` is not what was expected. */
  fail(path: KeyPath, message: string): void {
    this.problems.push({ path, line: this.source.lineOf(path), message: `"${formatKeyPath(path)}" ${message}` });
  }

  /** Records a wrong type: `"path" must be <expected>, got <type>`. */
  wrongType(path: KeyPath, expected: string, value: unknown): void {
    this.fail(path, `must be ${expected}, got ${describeType(value)}`);
  }

  optionalString(path: KeyPath, value: unknown): value is string | undefined {
    if (value === undefined || typeof value === "string") return true;
    this.wrongType(path, "a string", value);
    return false;
  }

  requiredString(path: KeyPath, value: unknown): value is string {
    if (typeof value === "string") return true;
    if (value === undefined) this.fail(path, "is required and must be a string");
    else this.wrongType(path, "a string", value);
    return false;
  }

  optionalStringArray(path: KeyPath, value: unknown): value is string[] | undefined {
    if (value === undefined) return true;
    if (!Array.isArray(value)) {
      this.wrongType(path, "an array of strings", value);
      return false;
    }
    let valid = true;
    value.forEach((item, index) => {
      if (typeof item !== "string") {
        this.wrongType([...path, index], "a string", item);
        valid = false;
      }
    });
    return valid;
  }

  optionalObject(path: KeyPath, value: unknown): value is Record<string, unknown> | undefined {
    if (value === undefined || isPlainObject(value)) return true;
    this.wrongType(path, "an object", value);
    return false;
  }

  /** Throws one ConfigError listing every problem, located at the first one. */
  throwIfAny(): void {
    if (this.problems.length === 0) return;
    const file = this.source.path;
    const lines = this.problems.map((problem) => locate(file, problem.line, problem.message));
    const first = this.problems[0]!;
    throw new ConfigError(lines.join("\n"), file, first.line, formatKeyPath(first.path));
  }
}

/** Checks the keys bunflare reads in one section: the top level (prefix `[]`) or `env.<name>`. */
export function checkSection(check: ConfigChecker, section: Record<string, unknown>, prefix: KeyPath): void {
  const at = (...rest: (string | number)[]) => [...prefix, ...rest];

  if (check.optionalString(at("name"), section.name) && section.name !== undefined && !WORKER_NAME.test(section.name)) {
    check.fail(at("name"), `must contain only lowercase letters, digits, "-" and "_", got ${JSON.stringify(section.name)}`);
  }
  check.optionalString(at("main"), section.main);
  checkCompatibilityDate(check, at("compatibility_date"), section.compatibility_date);
  check.optionalStringArray(at("compatibility_flags"), section.compatibility_flags);

  checkVars(check, at("vars"), section.vars);
  checkKvNamespaces(check, at("kv_namespaces"), section.kv_namespaces);
  checkD1Databases(check, at("d1_databases"), section.d1_databases);
  checkDurableObjects(check, at("durable_objects"), section.durable_objects);
  checkMigrations(check, at("migrations"), section.migrations);
  checkR2Buckets(check, at("r2_buckets"), section.r2_buckets);
  checkBuild(check, at("build"), section.build);
  checkServices(check, at("services"), section.services);
  checkAssets(check, at("assets"), section.assets);

  checkQueues(check, at("queues"), section.queues);
  if (check.optionalObject(at("images"), section.images) && section.images !== undefined) {
    check.requiredString(at("images", "binding"), section.images.binding);
  }
  checkWorkflows(check, at("workflows"), section.workflows);

  if (check.optionalObject(at("triggers"), section.triggers) && section.triggers !== undefined) {
    const crons = section.triggers.crons;
    if (check.optionalStringArray(at("triggers", "crons"), crons) && crons !== undefined) {
      crons.forEach((cron, index) => checkCron(check, at("triggers", "crons", index), cron));
    }
  }
  if (check.optionalObject(at("secrets"), section.secrets) && section.secrets !== undefined) {
    check.optionalStringArray(at("secrets", "required"), section.secrets.required);
  }
}

function checkCompatibilityDate(check: ConfigChecker, path: KeyPath, value: unknown): void {
  if (value instanceof Date) {
    check.fail(path, `must be a quoted string in the form YYYY-MM-DD, got an unquoted TOML date`);
    return;
  }
  if (!check.optionalString(path, value) || value === undefined) return;

  const match = COMPATIBILITY_DATE.exec(value);
  const [year, month, day] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [0, 0, 0];
  const date = new Date(Date.UTC(year, month - 1, day));
  const real = match !== null && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  if (!real) check.fail(path, `must be a date in the form YYYY-MM-DD, got ${JSON.stringify(value)}`);
}

/** Vars keep any JSON value; only TOML dates are rejected, as wrangler does, because JSON has no date type. */
function checkVars(check: ConfigChecker, path: KeyPath, value: unknown): void {
  if (!check.optionalObject(path, value) || value === undefined) return;

  const visit = (item: unknown, itemPath: KeyPath) => {
    if (item instanceof Date) {
      check.fail(itemPath, `is a TOML date, which vars do not support; quote it to make it a string`);
    } else if (Array.isArray(item)) {
      item.forEach((element, index) => visit(element, [...itemPath, index]));
    } else if (isPlainObject(item)) {
      for (const [key, element] of Object.entries(item)) visit(element, [...itemPath, key]);
    }
  };
  for (const [name, item] of Object.entries(value)) visit(item, [...path, name]);
}

/** Checks that `value` is an array of objects and returns the valid entries with their index. */
function bindingEntries(check: ConfigChecker, path: KeyPath, value: unknown): [number, Record<string, unknown>][] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    check.wrongType(path, "an array", value);
    return [];
  }
  const entries: [number, Record<string, unknown>][] = [];
  value.forEach((entry, index) => {
    if (isPlainObject(entry)) entries.push([index, entry]);
    else check.wrongType([...path, index], "an object", entry);
  });
  return entries;
}

function checkKvNamespaces(check: ConfigChecker, path: KeyPath, value: unknown): void {
  for (const [index, entry] of bindingEntries(check, path, value)) {
    check.requiredString([...path, index, "binding"], entry.binding);
    check.optionalString([...path, index, "id"], entry.id);
    check.optionalString([...path, index, "preview_id"], entry.preview_id);
  }
}

function checkD1Databases(check: ConfigChecker, path: KeyPath, value: unknown): void {
  for (const [index, entry] of bindingEntries(check, path, value)) {
    check.requiredString([...path, index, "binding"], entry.binding);
    for (const key of ["database_name", "database_id", "preview_database_id", "migrations_dir", "migrations_table"]) {
      check.optionalString([...path, index, key], entry[key]);
    }
  }
}

/** Parses a cron expression with the native parser, so start-up reports the reason production would reject it. */
function checkCron(check: ConfigChecker, path: KeyPath, cron: string): void {
  const reason = native.validateCron(cron);
  if (reason !== null) check.fail(path, `is not a valid cron expression: ${reason}`);
}

const QUEUE_CONSUMER_NUMBERS = [
  "max_batch_size",
  "max_batch_timeout",
  "max_retries",
  "retry_delay",
  "max_concurrency",
  "visibility_timeout_ms",
] as const;

/** Checks types in `queues`; the queue engine checks the ranges when a consumer registers. */
function checkQueues(check: ConfigChecker, path: KeyPath, value: unknown): void {
  if (!check.optionalObject(path, value) || value === undefined) return;

  for (const [index, entry] of bindingEntries(check, [...path, "producers"], value.producers)) {
    check.requiredString([...path, "producers", index, "binding"], entry.binding);
    check.requiredString([...path, "producers", index, "queue"], entry.queue);
    if (entry.delivery_delay !== undefined && typeof entry.delivery_delay !== "number") {
      check.wrongType([...path, "producers", index, "delivery_delay"], "a number", entry.delivery_delay);
    }
  }

  for (const [index, entry] of bindingEntries(check, [...path, "consumers"], value.consumers)) {
    const at = (key: string) => [...path, "consumers", index, key];
    check.requiredString(at("queue"), entry.queue);
    check.optionalString(at("dead_letter_queue"), entry.dead_letter_queue);
    if (check.optionalString(at("type"), entry.type) && entry.type !== undefined && entry.type !== "worker" && entry.type !== "http_pull") {
      check.fail(at("type"), `must be "worker" or "http_pull", got ${JSON.stringify(entry.type)}`);
    }
    for (const key of QUEUE_CONSUMER_NUMBERS) {
      if (entry[key] !== undefined && typeof entry[key] !== "number") check.wrongType(at(key), "a number", entry[key]);
    }
  }
}

function checkDurableObjects(check: ConfigChecker, path: KeyPath, value: unknown): void {
  if (!check.optionalObject(path, value) || value === undefined) return;

  for (const [index, entry] of bindingEntries(check, [...path, "bindings"], value.bindings)) {
    check.requiredString([...path, "bindings", index, "name"], entry.name);
    check.requiredString([...path, "bindings", index, "class_name"], entry.class_name);
    check.optionalString([...path, "bindings", index, "script_name"], entry.script_name);
    check.optionalString([...path, "bindings", index, "environment"], entry.environment);
  }
}

function checkMigrations(check: ConfigChecker, path: KeyPath, value: unknown): void {
  for (const [index, entry] of bindingEntries(check, path, value)) {
    check.requiredString([...path, index, "tag"], entry.tag);
    for (const key of ["new_classes", "new_sqlite_classes", "deleted_classes"]) {
      check.optionalStringArray([...path, index, key], entry[key]);
    }
    for (const [renameIndex, rename] of bindingEntries(check, [...path, index, "renamed_classes"], entry.renamed_classes)) {
      check.requiredString([...path, index, "renamed_classes", renameIndex, "from"], rename.from);
      check.requiredString([...path, index, "renamed_classes", renameIndex, "to"], rename.to);
    }
  }
}

function checkR2Buckets(check: ConfigChecker, path: KeyPath, value: unknown): void {
  for (const [index, entry] of bindingEntries(check, path, value)) {
    check.requiredString([...path, index, "binding"], entry.binding);
    for (const key of ["bucket_name", "preview_bucket_name", "jurisdiction"]) {
      check.optionalString([...path, index, key], entry[key]);
    }
  }
}

/** Checks `workflows` entries; the Workflow name follows production's rules, checked by the engine. */
function checkWorkflows(check: ConfigChecker, path: KeyPath, value: unknown): void {
  for (const [index, entry] of bindingEntries(check, path, value)) {
    check.requiredString([...path, index, "binding"], entry.binding);
    if (check.requiredString([...path, index, "name"], entry.name) && typeof entry.name === "string") {
      const reason = native.validateWorkflowName(entry.name);
      if (reason !== null) check.fail([...path, index, "name"], reason);
    }
    check.requiredString([...path, index, "class_name"], entry.class_name);
    check.optionalString([...path, index, "script_name"], entry.script_name);
  }
}

function checkBuild(check: ConfigChecker, path: KeyPath, value: unknown): void {
  if (!check.optionalObject(path, value) || value === undefined) return;

  check.optionalString([...path, "command"], value.command);
  check.optionalString([...path, "cwd"], value.cwd);
  if (Array.isArray(value.watch_dir)) check.optionalStringArray([...path, "watch_dir"], value.watch_dir);
  else if (value.watch_dir !== undefined && typeof value.watch_dir !== "string") {
    check.wrongType([...path, "watch_dir"], "a string or an array of strings", value.watch_dir);
  }
}

const HTML_HANDLING = ["auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash", "none"];
const NOT_FOUND_HANDLING = ["single-page-application", "404-page", "none"];

function checkOneOf(check: ConfigChecker, path: KeyPath, value: unknown, allowed: string[]): void {
  if (value === undefined) return;
  if (typeof value !== "string" || !allowed.includes(value)) {
    check.fail(path, `must be one of ${allowed.map((item) => JSON.stringify(item)).join(", ")}, got ${JSON.stringify(value)}`);
  }
}

function checkServices(check: ConfigChecker, path: KeyPath, value: unknown): void {
  for (const [index, entry] of bindingEntries(check, path, value)) {
    check.requiredString([...path, index, "binding"], entry.binding);
    check.requiredString([...path, index, "service"], entry.service);
    check.optionalString([...path, index, "entrypoint"], entry.entrypoint);
    check.optionalObject([...path, index, "props"], entry.props);
  }
}

function checkAssets(check: ConfigChecker, path: KeyPath, value: unknown): void {
  if (!check.optionalObject(path, value) || value === undefined) return;

  // wrangler requires a directory for local development, where nothing was uploaded before.
  check.requiredString([...path, "directory"], value.directory);
  check.optionalString([...path, "binding"], value.binding);
  checkOneOf(check, [...path, "html_handling"], value.html_handling, HTML_HANDLING);
  checkOneOf(check, [...path, "not_found_handling"], value.not_found_handling, NOT_FOUND_HANDLING);

  const runWorkerFirst = value.run_worker_first;
  if (Array.isArray(runWorkerFirst)) {
    if (check.optionalStringArray([...path, "run_worker_first"], runWorkerFirst)) {
      runWorkerFirst.forEach((rule, index) => {
        if (!/^!?\//.test(rule)) check.fail([...path, "run_worker_first", index], `must start with "/" or "!/", got ${JSON.stringify(rule)}`);
      });
    }
  } else if (runWorkerFirst !== undefined && typeof runWorkerFirst !== "boolean") {
    check.wrongType([...path, "run_worker_first"], "a boolean or an array of route patterns", runWorkerFirst);
  }
}
