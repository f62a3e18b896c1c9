// PLACEHOLDER: the real KV binding is written on another branch and replaces
// this file at merge. It exists so the runtime can import the factory name.

import type { KVNamespace } from "@cloudflare/workers-types";
import type { native } from "../native.ts";

type Storage = InstanceType<typeof native.Storage>;

/** Creates the `KVNamespace` binding for one namespace id (placeholder). */
export function createKVNamespace(storage: Storage, namespaceId: string): KVNamespace {
  void storage;
  throw new Error(`createKVNamespace is not implemented yet (namespace ${namespaceId})`);
}
