// The WebSocket Hibernation API of one Durable Object: the sockets accepted
// with `ctx.acceptWebSocket`, their tags, the auto-response and the event
// timeout.
//
// It belongs to the object's host, not to the instance, so it outlives
// eviction: the connections stay open, and the next message constructs a
// new instance and calls its `webSocketMessage`. The socket objects
// themselves (with their tags and attachments) stay in memory across the
// eviction; production keeps them outside the isolate.

import { describeError } from "../execution-context.ts";
import { log } from "../log.ts";
import { WebSocketRequestResponsePair, WorkerWebSocket, type SocketEvent } from "../websocket.ts";

/** Maximum tags on one hibernatable WebSocket, from workerd's `acceptWebSocket` (actor-state.h). */
export const MAX_TAGS_PER_WEBSOCKET = 10;

/** Maximum length of one tag in characters, from workerd's `acceptWebSocket` (actor-state.h). */
export const MAX_TAG_LENGTH = 256;

/** Maximum auto-response request or response length in bytes, from workerd's `setWebSocketAutoResponse`. */
export const MAX_AUTO_RESPONSE_BYTES = 2048;

/** Maximum hibernatable event timeout in milliseconds (7 days), from workerd's `setHibernatableWebSocketEventTimeout`. */
export const MAX_EVENT_TIMEOUT_MS = 604_800_000;

/** What the hibernation API needs from the object's host. */
export interface HibernationHost {
  readonly className: string;
  readonly id: { toString(): string };
  /** Runs an event on the instance through the input gate, constructing the instance if it was evicted. */
  deliver<T>(event: (instance: object) => T | Promise<T>): Promise<T>;
}

type Handler = (...args: unknown[]) => unknown;

/** One object's hibernatable sockets and settings. */
export class Hibernation {
  readonly #sockets = new Set<WorkerWebSocket>();
  #autoResponse: WebSocketRequestResponsePair | null = null;
  #eventTimeoutMs: number | null = null;

  constructor(private readonly host: HibernationHost) {}

  /** Whether any hibernatable socket is still connected. */
  get hasSockets(): boolean {
    return this.#sockets.size > 0;
  }

  /** `ctx.acceptWebSocket(ws, tags)`: checks production's limits, then routes the socket's events to the handlers. */
  accept(socket: unknown, tags: unknown = []): void {
    if (!(socket instanceof WorkerWebSocket)) {
      throw new TypeError("Failed to execute 'acceptWebSocket' on 'DurableObjectState': parameter 1 is not of type 'WebSocket'.");
    }
    if (WorkerWebSocket._tags(socket) !== null || WorkerWebSocket._isClaimed(socket)) {
      throw new Error("Cannot call `acceptWebSocket()` if the WebSocket was already accepted via `accept()`");
    }
    const distinct = distinctTags(tags);

    WorkerWebSocket._setTags(socket, distinct);
    this.#sockets.add(socket);
    WorkerWebSocket._takeOver(socket, (event) => this.#receive(socket, event));
  }

  /** `ctx.getWebSockets(tag)`: the connected hibernatable sockets, those with `tag` when one is given. */
  getWebSockets(tag?: string): WorkerWebSocket[] {
    const sockets = [...this.#sockets].filter((socket) => socket.readyState !== WorkerWebSocket.CLOSED);
    if (tag === undefined) return sockets;
    return sockets.filter((socket) => WorkerWebSocket._tags(socket)!.includes(String(tag)));
  }

  /** `ctx.getTags(ws)`. */
  getTags(socket: WorkerWebSocket): string[] {
    const tags = socket instanceof WorkerWebSocket ? WorkerWebSocket._tags(socket) : null;
    // NOTE: the wording is bunflare's; production also rejects a socket that acceptWebSocket() did not accept.
    if (tags === null) throw new TypeError("getTags() takes a WebSocket accepted with ctx.acceptWebSocket().");
    return [...tags];
  }

  /** `ctx.setWebSocketAutoResponse(pair)`; no argument removes it. */
  setAutoResponse(pair?: WebSocketRequestResponsePair): void {
    if (pair === undefined || pair === null) {
      this.#autoResponse = null;
      return;
    }
    if (!(pair instanceof WebSocketRequestResponsePair)) {
      throw new TypeError("setWebSocketAutoResponse() takes a WebSocketRequestResponsePair.");
    }
    for (const [what, text] of [["Request", pair.request], ["Response", pair.response]] as const) {
      const size = Buffer.byteLength(text);
      if (size > MAX_AUTO_RESPONSE_BYTES) {
        throw new RangeError(`${what} cannot be larger than ${MAX_AUTO_RESPONSE_BYTES} bytes. A ${what.toLowerCase()} of size ${size} was provided.`);
      }
    }
    this.#autoResponse = pair;
  }

  getAutoResponse(): WebSocketRequestResponsePair | null {
    return this.#autoResponse;
  }

  /** `ctx.setHibernatableWebSocketEventTimeout(ms)`; 0 or no argument removes it. */
  // NOTE: the timeout is stored and read back, but a handler that runs
  // longer is not cancelled; production cancels it.
  setEventTimeout(timeoutMs?: number): void {
    if (timeoutMs === undefined || timeoutMs === 0) {
      this.#eventTimeoutMs = null;
      return;
    }
    if (typeof timeoutMs !== "number" || !Number.isInteger(timeoutMs) || timeoutMs < 0) {
      throw new TypeError(`Event timeout must be a whole number of milliseconds, got ${String(timeoutMs)}.`);
    }
    if (timeoutMs > MAX_EVENT_TIMEOUT_MS) throw new Error(`Event timeout should not exceed ${MAX_EVENT_TIMEOUT_MS} ms.`);
    this.#eventTimeoutMs = timeoutMs;
  }

  getEventTimeout(): number | null {
    return this.#eventTimeoutMs;
  }

  /** Answers an auto-response message at once; hands every other event to the instance's handler. */
  #receive(socket: WorkerWebSocket, event: SocketEvent): void {
    const auto = this.#autoResponse;
    if (event.type === "message" && auto !== null && event.data === auto.request) {
      WorkerWebSocket._autoRespond(socket, auto.response);
      return;
    }
    if (event.type === "close") this.#sockets.delete(socket);

    const [name, args] = handlerCall(socket, event);
    void this.host
      .deliver(async (instance) => {
        const handler = (instance as Record<string, unknown>)[name];
        if (typeof handler !== "function") return;
        await (handler as Handler).apply(instance, args);
      })
      .catch((error: unknown) => {
        log.error(`Uncaught error in ${name}() of ${this.host.className}: ${describeError(error)}`, {
          class: this.host.className,
          id: String(this.host.id),
        });
      });
  }
}

/** Returns the handler name and arguments production uses for one socket event. */
function handlerCall(socket: WorkerWebSocket, event: SocketEvent): [string, unknown[]] {
  switch (event.type) {
    case "message":
      return ["webSocketMessage", [socket, event.data]];
    case "close":
      return ["webSocketClose", [socket, event.code, event.reason, event.wasClean]];
    case "error":
      return ["webSocketError", [socket, event.error]];
  }
}

/** Checks production's tag limits and drops duplicates, keeping the first occurrence's order. */
function distinctTags(tags: unknown): string[] {
  if (tags === undefined || tags === null) return [];
  if (!Array.isArray(tags)) throw new TypeError("acceptWebSocket() tags must be an array of strings.");
  const seen: string[] = [];
  for (const value of tags) {
    const tag = String(value);
    if (seen.length >= MAX_TAGS_PER_WEBSOCKET) {
      throw new Error(`a Hibernatable WebSocket cannot have more than ${MAX_TAGS_PER_WEBSOCKET} tags`);
    }
    if (tag.length > MAX_TAG_LENGTH) {
      throw new Error(`"${tag}" is longer than the max tag length (${MAX_TAG_LENGTH} characters).`);
    }
    if (!seen.includes(tag)) seen.push(tag);
  }
  return seen;
}
