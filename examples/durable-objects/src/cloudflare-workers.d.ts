// Types for the `cloudflare:workers` module, taken from
// @cloudflare/workers-types, whose module-style entry declares them as the
// CloudflareWorkersModule namespace.

declare module "cloudflare:workers" {
  import type { CloudflareWorkersModule } from "@cloudflare/workers-types/index.ts";
  export const DurableObject: typeof CloudflareWorkersModule.DurableObject;
  export type DurableObject<Env = unknown> = CloudflareWorkersModule.DurableObject<Env>;
}

// The runtime's WebSocket globals, also from @cloudflare/workers-types; Bun's
// own `WebSocket` and `Response` types stay the defaults elsewhere.
declare const WebSocketPair: typeof import("@cloudflare/workers-types/index.ts").WebSocketPair;
declare const WebSocketRequestResponsePair: typeof import("@cloudflare/workers-types/index.ts").WebSocketRequestResponsePair;
