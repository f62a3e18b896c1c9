// PLACEHOLDER: the real D1 binding is written on another branch and replaces
// this file at merge. It exists so the runtime can import the factory name.

import type { D1Database } from "@cloudflare/workers-types";
import type { native } from "../native.ts";

type Storage = InstanceType<typeof native.Storage>;

/** Creates the `D1Database` binding for one database (placeholder). */
export function createD1Database(storage: Storage, databaseName: string): D1Database {
  void storage;
  throw new Error(`createD1Database is not implemented yet (database ${databaseName})`);
}
