// The assets binding (`assets.binding`): a `Fetcher` whose `fetch()` answers
// from the Worker's assets directory, as production's `env.ASSETS` does.

import type { AssetServer } from "../assets/server.ts";

/** Production's `Fetcher` for static assets. */
export class AssetsBinding {
  readonly #server: AssetServer;

  constructor(server: AssetServer) {
    this.#server = server;
  }

  /** Answers a request from the assets, applying the same rules as a request from the internet. */
  async fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    return this.#server.fetch(new Request(input, init));
  }

  connect(): never {
    throw new Error("connect() is not supported on an assets binding.");
  }
}
