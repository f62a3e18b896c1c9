// The notes API. Other Workers call its methods over RPC (`env.API.list()`)
// or send it HTTP requests (`env.API.fetch(...)`).

import type { KVNamespace } from "@cloudflare/workers-types/index.ts";
import { WorkerEntrypoint } from "cloudflare:workers";

interface Env {
  NOTES: KVNamespace;
}

export interface Note {
  id: string;
  text: string;
  createdAt: string;
}

/** Maximum note length, in characters. */
const MAX_NOTE_LENGTH = 500;

export default class NotesApi extends WorkerEntrypoint<Env> {
  /** Returns every note, newest first. */
  async list(): Promise<Note[]> {
    const { keys } = await this.env.NOTES.list({ prefix: "note:" });
    const notes = await Promise.all(keys.map((key) => this.env.NOTES.get<Note>(key.name, "json")));
    return notes.filter((note): note is Note => note !== null).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** Stores a note; throws RangeError for empty or overlong text, which reaches the caller as a RangeError. */
  async add(text: string): Promise<Note> {
    const trimmed = String(text ?? "").trim();
    if (trimmed.length === 0 || trimmed.length > MAX_NOTE_LENGTH) {
      throw new RangeError(`A note must have 1 to ${MAX_NOTE_LENGTH} characters, got ${trimmed.length}.`);
    }
    const note: Note = { id: crypto.randomUUID(), text: trimmed, createdAt: new Date().toISOString() };
    await this.env.NOTES.put(`note:${note.createdAt}:${note.id}`, JSON.stringify(note));
    return note;
  }

  /** Serves plain HTTP too, for clients that are not Workers. */
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health") return Response.json({ ok: true, worker: "notes-api" });
    return new Response("Not Found", { status: 404 });
  }
}
