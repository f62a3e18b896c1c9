import { test, expect, describe, afterEach, jest } from "bun:test";
import { join } from "node:path";
import { startWorker, evictDurableObject, evictAllDurableObjects, type WorkerHandle } from "../lib/index.ts";
import type { DurableObjectNamespace, DurableObjectStub } from "../lib/bindings/durable-object.ts";
import { MAX_ATTACHMENT_BYTES } from "../lib/websocket.ts";
import { HIBERNATION_IDLE_MS } from "../lib/durable-object/instance.ts";
import { workerDir, wranglerConfig } from "./fixtures.ts";

const WORKER_SOURCE = join(import.meta.dir, "fixtures", "realtime-worker.ts");

const CONFIG = {
  durable_objects: {
    bindings: [
      { name: "CHAT", class_name: "Chat" },
      { name: "ECHO", class_name: "Echo" },
    ],
  },
  migrations: [{ tag: "v1", new_sqlite_classes: ["Chat", "Echo"] }],
};

const handles: WorkerHandle[] = [];
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const handle of handles.splice(0)) await handle.stop();
  evictAllDurableObjects();
});

async function start() {
  const cwd = workerDir({});
  await Bun.write(join(cwd, "wrangler.jsonc"), wranglerConfig(CONFIG));
  await Bun.write(join(cwd, "src", "index.ts"), Bun.file(WORKER_SOURCE));
  const handle = await startWorker({ cwd });
  handles.push(handle);
  return { handle, chat: (handle.env as { CHAT: DurableObjectNamespace }).CHAT };
}

type Stub = DurableObjectStub & { run: (code: string, ...args: unknown[]) => Promise<any>; closes: () => Promise<any[]>; errors: () => Promise<any[]>; constructions: () => Promise<number> };

/** A real WebSocket client with a queue of received messages. */
class Client {
  readonly socket: WebSocket;
  readonly messages: (string | ArrayBuffer)[] = [];
  closed: Promise<CloseEvent>;
  #waiters: (() => void)[] = [];

  constructor(url: URL | string) {
    this.socket = new WebSocket(url);
    this.socket.binaryType = "arraybuffer";
    clients.push(this.socket);
    this.socket.addEventListener("message", (event) => {
      this.messages.push(event.data);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => this.socket.addEventListener("close", resolve));
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.addEventListener("open", () => resolve());
      this.socket.addEventListener("error", () => reject(new Error("WebSocket connection failed")));
    });
  }

  /** Returns the next unread message, waiting at most 3 seconds. */
  async next(): Promise<string | ArrayBuffer> {
    const deadline = Date.now() + 3_000;
    while (this.messages.length === 0) {
      if (Date.now() > deadline) throw new Error("no message within 3 seconds");
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.messages.shift()!;
  }
}

async function connect(handle: WorkerHandle, path: string): Promise<Client> {
  const url = new URL(path, handle.url);
  url.protocol = "ws:";
  const client = new Client(url);
  await client.opened();
  return client;
}

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 3_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met; last value ${JSON.stringify(value)}`);
    await Bun.sleep(20);
  }
}

describe("upgrade", () => {
  test("Worker socket echoes through the dev server", async () => {
    const { handle } = await start();
    const client = await connect(handle, "/echo");
    client.socket.send("hello");
    expect(await client.next()).toBe("worker hello");
  });

  test("binary message round-trips", async () => {
    const { handle } = await start();
    const client = await connect(handle, "/chat?name=bin");
    client.socket.send(new Uint8Array([1, 2, 3]));
    expect(new Uint8Array((await client.next()) as ArrayBuffer)).toEqual(new Uint8Array([1, 2, 3]));
  });

  test("server close code reaches the client", async () => {
    const { handle } = await start();
    const client = await connect(handle, "/echo");
    client.socket.send("bye");
    const event = await client.closed;
    expect(event.code).toBe(4000);
    expect(event.reason).toBe("worker bye");
  });

  test("Durable Object standard API echoes", async () => {
    const { handle } = await start();
    const client = await connect(handle, "/do-echo");
    client.socket.send("one");
    client.socket.send("two");
    expect(await client.next()).toBe("echo one");
    expect(await client.next()).toBe("echo two");

    client.socket.close(4001, "client bye");
    await client.closed;
    const stub = (handle.env as { ECHO: DurableObjectNamespace }).ECHO.getByName("echo") as Stub;
    const closes = await waitFor(() => stub.closes(), (list) => list.some((entry) => entry.name === "echo"));
    expect(closes.find((entry) => entry.name === "echo")).toEqual({ code: 4001, reason: "client bye", wasClean: true, name: "echo" });
  });

  test("plain request gets no socket", async () => {
    const { handle } = await start();
    const response = await fetch(new URL("/echo", handle.url));
    expect(response.status).toBe(426);
    await response.text();
  });
});

describe("hibernation", () => {
  test("chat broadcasts to several clients", async () => {
    const { handle } = await start();
    const alice = await connect(handle, "/chat?name=alice&tags=red");
    const bob = await connect(handle, "/chat?name=bob&tags=blue");
    const carol = await connect(handle, "/chat?name=carol&tags=red,blue");

    alice.socket.send("say:hi all");
    for (const client of [alice, bob, carol]) expect(await client.next()).toBe("alice: hi all");
  });

  test("getWebSockets filters by tag", async () => {
    const { handle } = await start();
    const alice = await connect(handle, "/chat?name=alice&tags=red");
    await connect(handle, "/chat?name=bob&tags=blue");
    await connect(handle, "/chat?name=carol&tags=red,blue,red");

    alice.socket.send("count:red");
    expect(await alice.next()).toBe("count 2");
    alice.socket.send("count:blue");
    expect(await alice.next()).toBe("count 2");
    alice.socket.send("count:green");
    expect(await alice.next()).toBe("count 0");
  });

  test("woken object finds tags and attachment", async () => {
    const { handle, chat } = await start();
    const carol = await connect(handle, "/chat?name=carol&tags=red,blue,red");
    carol.socket.send("whoami");
    const before = JSON.parse((await carol.next()) as string);
    expect(before.tags).toEqual(["red", "blue"]);

    evictDurableObject(chat.getByName("lobby"));
    carol.socket.send("whoami");
    const after = JSON.parse((await carol.next()) as string);
    expect(after.attachment).toEqual({ name: "carol" });
    expect(after.tags).toEqual(["red", "blue"]);
    expect(after.constructions).toBe(before.constructions + 1);
  });

  test("auto-response does not wake the object", async () => {
    const { handle, chat } = await start();
    const stub = chat.getByName("lobby") as Stub;
    const client = await connect(handle, "/chat?name=dave");
    evictDurableObject(stub);
    const constructions = await stub.constructions();
    evictDurableObject(stub);

    client.socket.send("ping");
    expect(await client.next()).toBe("pong");
    expect(await stub.constructions()).toBe(constructions + 1);

    client.socket.send("autots");
    const stamp = Number(((await client.next()) as string).split(" ")[1]);
    expect(Math.abs(Date.now() - stamp)).toBeLessThan(5_000);
  });

  test("client close reaches webSocketClose", async () => {
    const { handle, chat } = await start();
    const stub = chat.getByName("lobby") as Stub;
    const erin = await connect(handle, "/chat?name=erin");
    erin.socket.close(4321, "gone");
    await erin.closed;

    const closes = await waitFor(() => stub.closes(), (list) => list.some((entry) => entry.name === "erin"));
    expect(closes.find((entry) => entry.name === "erin")).toEqual({ code: 4321, reason: "gone", wasClean: true, name: "erin" });
  });

  test("idle object hibernates with sockets open", async () => {
    const { handle, chat } = await start();
    const stub = chat.getByName("lobby") as Stub;
    const grace = await connect(handle, "/chat?name=grace&tags=green");
    const before = await stub.constructions();

    // The RPC event needs no storage turn, so its idle timer is a fake one.
    jest.useFakeTimers();
    try {
      await stub.constructions();
      jest.advanceTimersByTime(HIBERNATION_IDLE_MS - 1);
      expect(await stub.constructions()).toBe(before);
      jest.advanceTimersByTime(HIBERNATION_IDLE_MS + 1);
    } finally {
      jest.useRealTimers();
    }

    grace.socket.send("whoami");
    const after = JSON.parse((await grace.next()) as string);
    expect(after.constructions).toBe(before + 1);
    expect(after.tags).toEqual(["green"]);
    expect(grace.socket.readyState).toBe(WebSocket.OPEN);
  });

  test("dropped connection closes uncleanly", async () => {
    const { handle, chat } = await start();
    const stub = chat.getByName("lobby") as Stub;

    // A raw TCP client completes the handshake, then ends without a close frame.
    const upgraded = Promise.withResolvers<void>();
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port: Number(handle.url.port),
      socket: {
        data: (_socket, bytes) => {
          if (Buffer.from(bytes).toString().startsWith("HTTP/1.1 101")) upgraded.resolve();
        },
      },
    });
    socket.write(
      "GET /chat?name=heidi HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    await upgraded.promise;
    socket.end();

    const closes = await waitFor(() => stub.closes(), (list) => list.some((entry) => entry.name === "heidi"));
    const entry = closes.find((close) => close.name === "heidi");
    expect(entry.code).toBe(1006);
    expect(entry.wasClean).toBe(false);
  });

  test("send to a closed client reaches webSocketError", async () => {
    const { handle, chat } = await start();
    const stub = chat.getByName("lobby") as Stub;
    const ivan = await connect(handle, "/chat?name=ivan");
    ivan.socket.close(1000, "done");
    await ivan.closed;

    const errors = await waitFor(() => stub.errors(), (list) => list.length > 0);
    expect(errors).toEqual([{ name: "ivan", message: "The client connection dropped a message: it is closed." }]);
  });

  test("server close code reaches the chat client", async () => {
    const { handle } = await start();
    const frank = await connect(handle, "/chat?name=frank");
    frank.socket.send("close:4002:done");
    const event = await frank.closed;
    expect(event.code).toBe(4002);
    expect(event.reason).toBe("done");
  });
});

describe("hibernation limits", () => {
  /** Runs `code` in the chat object with a fresh pair's server end as `ws`, and returns the error it throws. */
  async function errorOf(chat: DurableObjectNamespace, code: string): Promise<Error> {
    const stub = chat.getByName("limits") as Stub;
    return (await stub.run(`const ws = new WebSocketPair()[1]; try { ${code} } catch (e) { return e }`)) as Error;
  }

  test("more than ten tags are rejected", async () => {
    const { chat } = await start();
    const error = await errorOf(chat, `ctx.acceptWebSocket(ws, Array.from({ length: 11 }, (_, i) => "t" + i))`);
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe("a Hibernatable WebSocket cannot have more than 10 tags");
  });

  test("long tag is rejected", async () => {
    const { chat } = await start();
    const error = await errorOf(chat, `ctx.acceptWebSocket(ws, ["x".repeat(257)])`);
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe(`"${"x".repeat(257)}" is longer than the max tag length (256 characters).`);
  });

  test("accepted socket cannot be accepted again", async () => {
    const { chat } = await start();
    const error = await errorOf(chat, `ws.accept(); ctx.acceptWebSocket(ws)`);
    expect(error.message).toBe("Cannot call `acceptWebSocket()` if the WebSocket was already accepted via `accept()`");
  });

  test("large attachment is rejected", async () => {
    const { chat } = await start();
    const error = await errorOf(chat, `ws.serializeAttachment("x".repeat(${MAX_ATTACHMENT_BYTES}))`);
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toStartWith(`A WebSocket 'attachment' cannot be larger than ${MAX_ATTACHMENT_BYTES} bytes`);
  });

  test("large auto-response is rejected", async () => {
    const { chat } = await start();
    const error = await errorOf(chat, `ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("x".repeat(2049), "y"))`);
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe("Request cannot be larger than 2048 bytes. A request of size 2049 was provided.");
  });

  test("event timeout over seven days is rejected", async () => {
    const { chat } = await start();
    const error = await errorOf(chat, `ctx.setHibernatableWebSocketEventTimeout(604800001)`);
    expect(error.message).toBe("Event timeout should not exceed 604800000 ms.");
    const stub = chat.getByName("limits") as Stub;
    expect(await stub.run(`ctx.setHibernatableWebSocketEventTimeout(5000); return ctx.getHibernatableWebSocketEventTimeout()`)).toBe(5000);
  });

  test("send before accept is rejected", async () => {
    const { chat } = await start();
    const error = await errorOf(chat, `ws.send("x")`);
    expect(error.message).toBe("You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending messages.");
  });

  test("invalid close code is rejected", async () => {
    const { chat } = await start();
    const error = await errorOf(chat, `ws.accept(); ws.close(1006)`);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe("Invalid WebSocket close code: 1006.");
  });

  test("long close reason is rejected", async () => {
    const { chat } = await start();
    const error = await errorOf(chat, `ws.accept(); ws.close(1000, "r".repeat(124))`);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe("WebSocket close reason is 124 bytes; the maximum is 123 bytes.");
  });

  test("send after close is rejected", async () => {
    const { chat } = await start();
    const error = await errorOf(chat, `ws.accept(); ws.close(1000); ws.send("late")`);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe("Can't call WebSocket send() after close().");
  });

  test("send of an object is rejected", async () => {
    const { chat } = await start();
    const error = await errorOf(chat, `ws.accept(); ws.send({})`);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe("WebSocket send() takes a string, an ArrayBuffer or an ArrayBufferView.");
  });

  test("getTags of a standard socket is rejected", async () => {
    const { chat } = await start();
    const error = await errorOf(chat, `ws.accept(); ctx.getTags(ws)`);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe("getTags() takes a WebSocket accepted with ctx.acceptWebSocket().");
  });

  test("acceptWebSocket of a non-socket is rejected", async () => {
    const { chat } = await start();
    const error = await errorOf(chat, `ctx.acceptWebSocket({})`);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe("Failed to execute 'acceptWebSocket' on 'DurableObjectState': parameter 1 is not of type 'WebSocket'.");
  });

  test("auto-response needs a pair", async () => {
    const { chat } = await start();
    const error = await errorOf(chat, `ctx.setWebSocketAutoResponse({ request: "a", response: "b" })`);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe("setWebSocketAutoResponse() takes a WebSocketRequestResponsePair.");
  });

  test("negative event timeout is rejected", async () => {
    const { chat } = await start();
    const error = await errorOf(chat, `ctx.setHibernatableWebSocketEventTimeout(-1)`);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe("Event timeout must be a whole number of milliseconds, got -1.");
  });

  test("webSocket needs status 101", async () => {
    const { chat } = await start();
    const error = await errorOf(chat, `new Response(null, { status: 200, webSocket: new WebSocketPair()[0] })`);
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe("Responses may only have a webSocket with status 101.");
  });

  test("accepted socket cannot go in a Response", async () => {
    const { chat } = await start();
    const error = await errorOf(chat, `const pair = new WebSocketPair(); pair[0].accept(); new Response(null, { status: 101, webSocket: pair[0] })`);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe("Can't return WebSocket in a Response after calling accept().");
  });
});
