// The notes API. Other Workers call its methods over RPC (`env.API.list()`)
// or send it HTTP requests (`env.API.fetch(...)`). The notes live in one
// SQLite-backed Durable Object, so every write goes through a single instance
// and a list is always read in order from its own database.

import type { DurableObjectNamespace, DurableObjectState } from "@cloudflare/workers-types/index.ts";
import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";

interface Env {
  NOTEBOOK: DurableObjectNamespace<Notebook>;
}

export interface Note {
  id: string;
  text: string;
  createdAt: string;
}

/** Maximum note length, in characters. */
const MAX_NOTE_LENGTH = 500;

/** The one notebook every caller shares; a per-user app would name one per user. */
const NOTEBOOK_NAME = "shared";

/** The notes, in the object's own SQLite database. */
export class Notebook extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);

    // Runs before the first call is delivered, so the table always exists.
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS notes (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      text TEXT NOT NULL,
      created_at TEXT NOT NULL
    )`);
  }

  /** Returns every note, newest first. */
  list(): Note[] {
    return this.ctx.storage.sql
      .exec<{ id: string; text: string; created_at: string }>("SELECT id, text, created_at FROM notes ORDER BY seq DESC")
      .toArray()
      .map((row) => ({ id: row.id, text: row.text, createdAt: row.created_at }));
  }

  /** Stores a note; throws RangeError for empty or overlong text, which reaches every caller as a RangeError. */
  add(text: string): Note {
    const trimmed = String(text ?? "").trim();
    if (trimmed.length === 0 || trimmed.length > MAX_NOTE_LENGTH) {
      throw new RangeError(`A note must have 1 to ${MAX_NOTE_LENGTH} characters, got ${trimmed.length}.`);
    }

    const note: Note = { id: crypto.randomUUID(), text: trimmed, createdAt: new Date().toISOString() };
    this.ctx.storage.sql.exec("INSERT INTO notes (id, text, created_at) VALUES (?, ?, ?)", note.id, note.text, note.createdAt);
    return note;
  }
}

export default class NotesApi extends WorkerEntrypoint<Env> {
  /** Returns every note, newest first. */
  async list(): Promise<Note[]> {
    return this.env.NOTEBOOK.getByName(NOTEBOOK_NAME).list();
  }

  /** Stores a note in the notebook; its RangeError passes through to the caller. */
  async add(text: string): Promise<Note> {
    return this.env.NOTEBOOK.getByName(NOTEBOOK_NAME).add(text);
  }

  /** Serves plain HTTP too, for clients that are not Workers. */
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health") return Response.json({ ok: true, worker: "notes-api" });
    return new Response("Not Found", { status: 404 });
  }
}
