// A counter and a chat room, each a Durable Object.
//
//   POST /counter/:name/increment   adds one and returns the new value
//   GET  /counter/:name             returns the value
//   POST /rooms/:room/messages      posts {"author","text"}; returns the stored message
//   GET  /rooms/:room/messages      lists messages, oldest first (?since=<id> for newer ones)
//   GET  /rooms/:room/ws?name=<n>   joins the room over a WebSocket: each text
//                                   message is stored and sent to everyone as JSON
//
// The Worker calls both objects over RPC, and hands WebSocket upgrades to
// the room. The room uses the hibernation API, so it can leave memory while
// its clients stay connected; a "ping" is answered with "pong" without
// waking it. An alarm deletes messages older than a day.

import { DurableObject } from "cloudflare:workers";
import type {
  DurableObjectNamespace,
  DurableObjectState,
  Request as WorkersRequest,
  Response as WorkersResponse,
  WebSocket,
} from "@cloudflare/workers-types/index.ts";

interface Env {
  COUNTER: DurableObjectNamespace<Counter>;
  CHAT: DurableObjectNamespace<ChatRoom>;
}

/** One number per name. Two concurrent increments always give +2, because storage calls hold other events. */
export class Counter extends DurableObject<Env> {
  async increment(): Promise<number> {
    const value = ((await this.ctx.storage.get<number>("value")) ?? 0) + 1;
    await this.ctx.storage.put("value", value);
    return value;
  }

  async value(): Promise<number> {
    return (await this.ctx.storage.get<number>("value")) ?? 0;
  }
}

export interface Message {
  id: number;
  author: string;
  text: string;
  sentAt: string;
}

/** Maximum message text length, in characters. */
const MAX_TEXT_LENGTH = 2000;

/** How long messages are kept, in milliseconds. */
const RETENTION_MS = 24 * 60 * 60 * 1000;

/** A chat room whose messages live in the object's own SQLite database. */
export class ChatRoom extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Runs before the first event is delivered.
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS messages (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      author TEXT NOT NULL,
      text TEXT NOT NULL,
      sent_at TEXT NOT NULL
    )`);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** Accepts a WebSocket upgrade; the socket's tag and attachment carry the author's name. */
  async fetch(request: WorkersRequest): Promise<WorkersResponse> {
    const name = new URL(request.url).searchParams.get("name") ?? "anonymous";
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], [name]);
    pair[1].serializeAttachment({ name });
    this.broadcast({ type: "join", name, present: this.ctx.getWebSockets().length });
    // The runtime's Response takes a webSocket; Bun's type does not know it.
    return new Response(null, { status: 101, webSocket: pair[0] } as ResponseInit) as unknown as WorkersResponse;
  }

  async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    if (typeof data !== "string" || data.length === 0 || data.length > MAX_TEXT_LENGTH) {
      ws.send(JSON.stringify({ type: "error", error: `send text of 1 to ${MAX_TEXT_LENGTH} characters` }));
      return;
    }
    const { name } = ws.deserializeAttachment() as { name: string };
    this.broadcast({ type: "message", ...(await this.post(name, data)) });
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const { name } = ws.deserializeAttachment() as { name: string };
    this.broadcast({ type: "leave", name, code, reason });
  }

  /** Deletes messages older than the retention period, then sleeps until more are due. */
  async alarm(): Promise<void> {
    const cutoff = new Date(Date.now() - RETENTION_MS).toISOString();
    this.ctx.storage.sql.exec("DELETE FROM messages WHERE sent_at < ?", cutoff);
    const oldest = this.ctx.storage.sql.exec<{ sent_at: string }>("SELECT sent_at FROM messages ORDER BY id LIMIT 1").toArray()[0];
    if (oldest) await this.ctx.storage.setAlarm(Date.parse(oldest.sent_at) + RETENTION_MS);
  }

  private broadcast(event: Record<string, unknown>): void {
    const text = JSON.stringify(event);
    for (const socket of this.ctx.getWebSockets()) socket.send(text);
  }

  async post(author: string, text: string): Promise<Message> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + RETENTION_MS);
    const row = this.ctx.storage.sql
      .exec<{ id: number; sent_at: string }>(
        "INSERT INTO messages (author, text, sent_at) VALUES (?, ?, ?) RETURNING id, sent_at",
        author,
        text,
        new Date().toISOString(),
      )
      .one();
    return { id: row.id, author, text, sentAt: row.sent_at };
  }

  list(since = 0): Message[] {
    return this.ctx.storage.sql
      .exec<{ id: number; author: string; text: string; sent_at: string }>(
        "SELECT id, author, text, sent_at FROM messages WHERE id > ? ORDER BY id",
        since,
      )
      .toArray()
      .map((row) => ({ id: row.id, author: row.author, text: row.text, sentAt: row.sent_at }));
  }
}

function badRequest(message: string): Response {
  return Response.json({ error: message }, { status: 400 });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const [, section, name, action] = url.pathname.split("/");

    if (section === "counter" && name) {
      const counter = env.COUNTER.getByName(name);
      if (request.method === "POST" && action === "increment") return Response.json({ value: await counter.increment() });
      if (request.method === "GET" && !action) return Response.json({ value: await counter.value() });
    }

    if (section === "rooms" && name && action === "ws") {
      if (request.headers.get("upgrade") !== "websocket") return Response.json({ error: "expected a WebSocket upgrade" }, { status: 426 });
      return (await env.CHAT.getByName(name).fetch(request as unknown as WorkersRequest)) as unknown as Response;
    }

    if (section === "rooms" && name && action === "messages") {
      const room = env.CHAT.getByName(name);
      if (request.method === "GET") {
        const since = Number(url.searchParams.get("since") ?? 0);
        if (!Number.isInteger(since) || since < 0) return badRequest("since must be a message id (a non-negative integer)");
        return Response.json(await room.list(since));
      }
      if (request.method === "POST") {
        const body = (await request.json().catch(() => null)) as { author?: unknown; text?: unknown } | null;
        if (typeof body?.author !== "string" || typeof body.text !== "string" || body.text.length === 0) {
          return badRequest('expected a JSON body {"author": string, "text": non-empty string}');
        }
        if (body.text.length > MAX_TEXT_LENGTH) return badRequest(`text is longer than ${MAX_TEXT_LENGTH} characters`);
        return Response.json(await room.post(body.author, body.text), { status: 201 });
      }
    }

    return Response.json({ error: "not found" }, { status: 404 });
  },
};
