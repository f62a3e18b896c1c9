// The Workers runtime's server-side WebSockets: `WebSocketPair`, the
// `WebSocket` class its two ends are, `WebSocketRequestResponsePair`, and
// the `webSocket` member of `Response`.
//
// The two ends of a pair are linked: what one end sends, the other
// receives. A Worker keeps one end (the server side) and returns the other
// in a 101 response. The dev server then couples that end to the real
// client connection (Bun.serve's websocket), so frames flow client <->
// coupled end <-> server end. The hibernation API (lib/durable-object/
// hibernation.ts) takes over the server end's incoming events instead of
// dispatching them as DOM events.

import { deserialize, serialize } from "bun:jsc";

/** Maximum serialized size of a WebSocket attachment in bytes ("2,048 bytes", Cloudflare's Durable Objects WebSockets API page). */
// NOTE: production measures its own V8 serialization; this measures
// JavaScriptCore's, so a value near the limit may pass here and fail there.
export const MAX_ATTACHMENT_BYTES = 2048;

/** Maximum close reason length in bytes, from RFC 6455 (a close frame's payload is at most 125 bytes, 2 of them the code). */
const MAX_CLOSE_REASON_BYTES = 123;

/** One event travelling from one end of a pair to the other. */
export type SocketEvent =
  | { type: "message"; data: string | ArrayBuffer }
  | { type: "close"; code: number; reason: string; wasClean: boolean }
  | { type: "error"; error: Error };

/** Takes over a socket's incoming events: the dev server's client connection, or the hibernation API. */
export type SocketReceiver = (event: SocketEvent) => void;

const NOT_ACCEPTED =
  "You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending messages.";

/** One end of a `WebSocketPair`: the Workers runtime's `WebSocket`. */
// NOTE: Bun's own global `WebSocket` (the client) stays in place, so
// `pair[1] instanceof WebSocket` is false here; production has one class.
export class WorkerWebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;

  readonly url: string | null = null;
  readonly protocol: string | null = "";
  readonly extensions: string | null = "";
  binaryType: "blob" | "arraybuffer" = "arraybuffer";
  readonly bufferedAmount = 0;

  #peer: WorkerWebSocket | null = null;
  #readyState = WorkerWebSocket.OPEN;
  #accepted = false;
  /** Handed to a Response, so it belongs to the client connection. */
  #usedInResponse = false;
  #closeSent = false;
  #closeReceived = false;
  /** Events that arrived before `accept()` or a receiver. */
  #inbox: SocketEvent[] = [];
  #receiver: SocketReceiver | null = null;
  #attachment: ArrayBuffer | null = null;
  #tags: string[] | null = null;
  #autoResponseTimestamp: Date | null = null;

  get readyState(): number {
    return this.#readyState;
  }

  /** Starts delivering this end's events as `message`, `close` and `error` events. */
  accept(_options?: { allowHalfOpen?: boolean }): void {
    if (this.#tags !== null) {
      throw new Error("Cannot call `accept()` on a WebSocket that was accepted with `acceptWebSocket()`.");
    }
    if (this.#usedInResponse) throw new TypeError("Can't accept() WebSocket that was already used in a response.");
    if (this.#accepted) return;
    this.#accepted = true;
    this.#flushInbox();
  }

  /** Sends a text or binary message to the other end. */
  send(message: string | ArrayBuffer | ArrayBufferView): void {
    if (!this.#accepted) throw new Error(NOT_ACCEPTED);
    if (this.#closeSent) throw new TypeError("Can't call WebSocket send() after close().");
    const data = copyMessage(message);
    this.#peer!.#receive({ type: "message", data });
  }

  /** Sends a close frame with `code` (1000 or 3000-4999) and `reason` to the other end. */
  close(code?: number, reason?: string): void {
    if (code !== undefined && !(code === 1000 || (code >= 3000 && code <= 4999))) {
      throw new TypeError(`Invalid WebSocket close code: ${code}.`);
    }
    const text = reason === undefined ? "" : String(reason);
    if (Buffer.byteLength(text) > MAX_CLOSE_REASON_BYTES) {
      throw new TypeError(`WebSocket close reason is ${Buffer.byteLength(text)} bytes; the maximum is ${MAX_CLOSE_REASON_BYTES} bytes.`);
    }
    if (!this.#accepted) throw new Error(NOT_ACCEPTED);
    if (this.#closeSent) return;

    this.#closeSent = true;
    this.#readyState = this.#closeReceived ? WorkerWebSocket.CLOSED : WorkerWebSocket.CLOSING;
    this.#peer!.#receive({ type: "close", code: code ?? 1005, reason: text, wasClean: true });
  }

  /** Keeps a structured-cloned copy of `value` with the socket, so it outlives the object's eviction. */
  serializeAttachment(value: unknown): void {
    const bytes = serialize(value) as unknown as ArrayBuffer;
    if (bytes.byteLength > MAX_ATTACHMENT_BYTES) {
      throw new Error(
        `A WebSocket 'attachment' cannot be larger than ${MAX_ATTACHMENT_BYTES} bytes; the serialized value is ${bytes.byteLength} bytes.`,
      );
    }
    this.#attachment = bytes;
  }

  /** Returns a copy of the value given to `serializeAttachment`, or null. */
  deserializeAttachment(): unknown {
    return this.#attachment === null ? null : deserialize(this.#attachment);
  }

  /** Delivers one event that the other end (or the client connection) sent to this end. */
  #receive(event: SocketEvent): void {
    if (event.type === "close") {
      this.#closeReceived = true;
      this.#readyState = this.#closeSent ? WorkerWebSocket.CLOSED : WorkerWebSocket.CLOSING;
    }
    if (this.#receiver) {
      this.#receiver(event);
    } else if (this.#accepted) {
      // Dispatch after the sender's turn, as a network event would arrive.
      // NOTE: inside a Durable Object production delivers these events
      // through the object's input gate; here they do not wait for it.
      queueMicrotask(() => this.#dispatch(event));
    } else {
      this.#inbox.push(event);
    }
  }

  #flushInbox(): void {
    const events = this.#inbox.splice(0);
    for (const event of events) {
      if (this.#receiver) this.#receiver(event);
      else queueMicrotask(() => this.#dispatch(event));
    }
  }

  #dispatch(event: SocketEvent): void {
    if (event.type === "message") {
      this.dispatchEvent(new MessageEvent("message", { data: event.data }));
    } else if (event.type === "close") {
      this.dispatchEvent(new CloseEvent("close", { code: event.code, reason: event.reason, wasClean: event.wasClean }));
    } else {
      this.dispatchEvent(new ErrorEvent("error", { error: event.error, message: event.error.message }));
    }
  }

  /** @internal Links the two ends of a new pair. */
  static _link(first: WorkerWebSocket, second: WorkerWebSocket): void {
    first.#peer = second;
    second.#peer = first;
  }

  /** @internal Marks the end a 101 Response carries; it must not be accepted. */
  static _useInResponse(socket: WorkerWebSocket): void {
    if (socket.#accepted) throw new TypeError("Can't return WebSocket in a Response after calling accept().");
    socket.#usedInResponse = true;
  }

  /**
   * @internal Routes every incoming event of `socket` to `receiver` instead
   * of DOM events, and lets it send: the dev server's client connection, or
   * the hibernation API. Events that arrived earlier are handed over first.
   */
  static _takeOver(socket: WorkerWebSocket, receiver: SocketReceiver): void {
    socket.#receiver = receiver;
    socket.#accepted = true;
    socket.#flushInbox();
  }

  /** @internal Sends `event` to the other end as if this end had sent it, for the client connection. */
  static _sendFromClient(socket: WorkerWebSocket, event: SocketEvent): void {
    if (event.type === "close") {
      if (socket.#closeSent) return;
      socket.#closeSent = true;
      socket.#readyState = socket.#closeReceived ? WorkerWebSocket.CLOSED : WorkerWebSocket.CLOSING;
    }
    socket.#peer!.#receive(event);
  }

  /** @internal Whether the socket was accepted, by either API, or handed to a Response. */
  static _isClaimed(socket: WorkerWebSocket): boolean {
    return socket.#accepted || socket.#usedInResponse;
  }

  /** @internal The hibernation tags, or null when `acceptWebSocket` did not accept it. */
  static _tags(socket: WorkerWebSocket): string[] | null {
    return socket.#tags;
  }

  /** @internal Records the hibernation tags. */
  static _setTags(socket: WorkerWebSocket, tags: string[]): void {
    socket.#tags = tags;
  }

  /** @internal When the last auto-response was sent on this socket. */
  static _autoResponseTimestamp(socket: WorkerWebSocket): Date | null {
    return socket.#autoResponseTimestamp;
  }

  /** @internal Sends an auto-response without waking the object. */
  static _autoRespond(socket: WorkerWebSocket, response: string): void {
    socket.#autoResponseTimestamp = new Date();
    if (!socket.#closeSent) socket.#peer!.#receive({ type: "message", data: response });
  }
}

/** Copies an outgoing message, so later changes to the sender's buffer do not reach the receiver. */
function copyMessage(message: unknown): string | ArrayBuffer {
  if (typeof message === "string") return message;
  if (message instanceof ArrayBuffer) return message.slice(0);
  if (ArrayBuffer.isView(message)) {
    return message.buffer.slice(message.byteOffset, message.byteOffset + message.byteLength) as ArrayBuffer;
  }
  throw new TypeError("WebSocket send() takes a string, an ArrayBuffer or an ArrayBufferView.");
}

/** `new WebSocketPair()`: two linked sockets, `0` for the client and `1` for the server. */
export class WebSocketPair {
  readonly 0: WorkerWebSocket;
  readonly 1: WorkerWebSocket;

  constructor() {
    const client = new WorkerWebSocket();
    const server = new WorkerWebSocket();
    WorkerWebSocket._link(client, server);
    this[0] = client;
    this[1] = server;
  }

  *[Symbol.iterator](): IterableIterator<WorkerWebSocket> {
    yield this[0];
    yield this[1];
  }
}

/** A message and the reply the hibernation API sends to it without waking the object. */
export class WebSocketRequestResponsePair {
  readonly #request: string;
  readonly #response: string;

  constructor(request: string, response: string) {
    this.#request = String(request);
    this.#response = String(response);
  }

  get request(): string {
    return this.#request;
  }

  get response(): string {
    return this.#response;
  }
}

/** The WebSocket of each 101 Response made with `{ webSocket }`. */
const responseSockets = new WeakMap<Response, WorkerWebSocket>();

/** Returns the WebSocket a Response carries, or null. */
export function webSocketOf(response: Response): WorkerWebSocket | null {
  return responseSockets.get(response) ?? null;
}

const INSTALLED = Symbol.for("bunflare.webSocketsInstalled");

/**
 * Installs `WebSocketPair`, `WebSocketRequestResponsePair` and the
 * `webSocket` member of `Response` as globals. `Response` becomes a subclass
 * whose constructor records `init.webSocket`.
 */
export function installWebSocketGlobals(): void {
  const state = globalThis as { [INSTALLED]?: boolean };
  if (state[INSTALLED]) return;
  state[INSTALLED] = true;

  const BaseResponse = globalThis.Response;
  class Response extends BaseResponse {
    // Responses made by Bun (`Response.json`, `fetch`) are instances of the
    // base class only; they must still pass `instanceof Response`.
    static [Symbol.hasInstance](value: unknown): boolean {
      return value instanceof BaseResponse;
    }

    constructor(body?: BodyInit | null, init?: ResponseInit & { webSocket?: unknown }) {
      super(body, init);
      const socket = init?.webSocket;
      if (socket === undefined || socket === null) return;
      if (!(socket instanceof WorkerWebSocket)) throw new TypeError("Response's webSocket must be one end of a WebSocketPair.");
      if (this.status !== 101) throw new RangeError("Responses may only have a webSocket with status 101.");
      WorkerWebSocket._useInResponse(socket);
      responseSockets.set(this, socket);
    }
  }
  Object.defineProperty(BaseResponse.prototype, "webSocket", {
    get(this: Response) {
      return responseSockets.get(this) ?? null;
    },
    configurable: true,
  });

  for (const [name, value] of [
    ["Response", Response],
    ["WebSocketPair", WebSocketPair],
    ["WebSocketRequestResponsePair", WebSocketRequestResponsePair],
  ] as const) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
  }
}
