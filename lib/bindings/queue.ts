// The Queues producer binding (`env.MY_QUEUE.send`/`sendBatch`) and the
// `MessageBatch` a consumer's `queue()` handler receives.
//
// Bodies are serialized here, because only JavaScript can serialize a
// JavaScript value: `text` and `json` as UTF-8, `bytes` as the view's bytes,
// and `v8` (the default) with the structured clone serializer. Size limits,
// delays and storage live in the Rust engine (src/queue.rs), which receives
// each send as one synchronous call.

import { deserializeValue, serializeValue } from "../serialize.ts";
import type { QueueBroker, QueueMessageRecord } from "../../index.js";
import { callNative, registerErrorClasses } from "../errors.ts";
import { log } from "../log.ts";

// Production reports broker rejections as `Error("Queue send failed: …")`;
// the runtime's own argument checks are TypeErrors.
registerErrorClasses({
  QUEUE_MESSAGE_TOO_LARGE: (message) => new Error(message),
  QUEUE_BATCH_TOO_MANY_MESSAGES: (message) => new Error(message),
  QUEUE_BATCH_TOO_LARGE: (message) => new Error(message),
  QUEUE_BATCH_EMPTY: (message) => new TypeError(message),
  QUEUE_INVALID_DELAY: (message) => new Error(message),
  QUEUE_INVALID_RETRY_DELAY: (message) => new RangeError(message),
  QUEUE_INVALID_CONTENT_TYPE: (message) => new TypeError(message),
  QUEUE_INVALID_CONSUMER: (message) => new Error(message),
  QUEUE_NO_CONSUMER: (message) => new Error(message),
  QUEUE_NOT_PULL_CONSUMER: (message) => new Error(message),
  QUEUE_INVALID_PULL: (message) => new Error(message),
});

export type QueueContentType = "text" | "bytes" | "json" | "v8";

/** The engine's content type codes, in the order src/queue.rs numbers them. */
export const CONTENT_TYPE_CODES: Record<QueueContentType, number> = { text: 0, json: 1, bytes: 2, v8: 3 };
export const CONTENT_TYPE_NAMES: QueueContentType[] = ["text", "json", "bytes", "v8"];

export interface QueueSendOptions {
  contentType?: QueueContentType;
  delaySeconds?: number;
}

export interface QueueSendBatchOptions {
  delaySeconds?: number;
}

export interface MessageSendRequest<Body = unknown> {
  body: Body;
  contentType?: QueueContentType;
  delaySeconds?: number;
}

export interface QueueRetryOptions {
  delaySeconds?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Checks a content type name the way the runtime does: case-insensitive, one of four. */
function contentTypeCode(contentType: string | undefined): number {
  if (contentType === undefined) return CONTENT_TYPE_CODES.v8;
  const code = CONTENT_TYPE_CODES[String(contentType).toLowerCase() as QueueContentType];
  if (code === undefined) throw new TypeError(`Unsupported queue message content type: ${contentType}`);
  return code;
}

/** Serializes a body for `code`, with the runtime's TypeErrors for a body that does not fit the type. */
function serializeBody(body: unknown, code: number): Uint8Array {
  if (body === undefined) throw new TypeError("Message body cannot be undefined");

  switch (code) {
    case CONTENT_TYPE_CODES.text:
      if (typeof body !== "string") {
        throw new TypeError(`Content Type "text" requires a value of type string, but received: ${typeof body}`);
      }
      return encoder.encode(body);
    case CONTENT_TYPE_CODES.bytes:
      if (!ArrayBuffer.isView(body)) {
        throw new TypeError(`Content Type "bytes" requires a value of type ArrayBufferView, but received: ${typeof body}`);
      }
      return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    case CONTENT_TYPE_CODES.json:
      return encoder.encode(JSON.stringify(body));
    default:
      return serializeValue(body);
  }
}

/** Deserializes stored bytes into the body value a consumer receives. */
export function deserializeBody(body: Uint8Array, code: number): unknown {
  switch (code) {
    case CONTENT_TYPE_CODES.text:
      return decoder.decode(body);
    case CONTENT_TYPE_CODES.json:
      return JSON.parse(decoder.decode(body));
    case CONTENT_TYPE_CODES.bytes:
      return body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength);
    default:
      return deserializeValue(body);
  }
}

/** Converts an optional delay to what the engine checks; NaN and non-numbers reach it as NaN-free invalid values. */
function seconds(value: unknown): number | undefined {
  return value === undefined || value === null ? undefined : Number(value);
}

/** A queue producer binding: production's `Queue`. */
export class WorkerQueue<Body = unknown> {
  readonly #broker: QueueBroker;
  readonly #queue: string;
  readonly #deliveryDelay: number | undefined;

  constructor(broker: QueueBroker, queue: string, deliveryDelay?: number | null) {
    this.#broker = broker;
    this.#queue = queue;
    this.#deliveryDelay = deliveryDelay ?? undefined;
  }

  /** Sends one message, visible to consumers after `delaySeconds` (default: the producer's `delivery_delay`). */
  async send(body: Body, options?: QueueSendOptions): Promise<void> {
    const code = contentTypeCode(options?.contentType);
    const bytes = serializeBody(body, code);
    const delay = seconds(options?.delaySeconds) ?? this.#deliveryDelay;
    callNative(() => this.#broker.send(this.#queue, bytes as Buffer, code, delay));
  }

  /** Sends up to 100 messages (256 KB in total) at once. */
  async sendBatch(messages: Iterable<MessageSendRequest<Body>>, options?: QueueSendBatchOptions): Promise<void> {
    const bodies: Buffer[] = [];
    const codes: number[] = [];
    const delays: number[] = [];
    for (const message of messages) {
      const code = contentTypeCode(message.contentType);
      bodies.push(serializeBody(message.body, code) as Buffer);
      codes.push(code);
      delays.push(seconds(message.delaySeconds) ?? Number.NaN);
    }
    const delay = seconds(options?.delaySeconds) ?? this.#deliveryDelay;
    callNative(() => this.#broker.sendBatch(this.#queue, bodies, codes, delays, delay));
  }
}

/** Creates the producer binding for `queue`. */
export function createQueue(broker: QueueBroker, queue: string, deliveryDelay?: number | null): WorkerQueue {
  return new WorkerQueue(broker, queue, deliveryDelay);
}

/** The decision recorded for one message or for the whole batch. */
type Decision = { kind: "ack" } | { kind: "retry"; delaySeconds: number | undefined };

/** One delivered message: production's `Message`. */
export class Message<Body = unknown> {
  readonly id: string;
  readonly timestamp: Date;
  readonly attempts: number;
  readonly #record: QueueMessageRecord;
  readonly #batch: MessageBatch<Body>;
  #body: Body | undefined;
  #decoded = false;

  constructor(record: QueueMessageRecord, batch: MessageBatch<Body>) {
    this.id = record.id;
    this.timestamp = new Date(record.timestamp);
    this.attempts = record.attempts;
    this.#record = record;
    this.#batch = batch;
  }

  /** The body, deserialized on first read. */
  get body(): Body {
    if (!this.#decoded) {
      this.#body = deserializeBody(this.#record.body, this.#record.contentType) as Body;
      this.#decoded = true;
    }
    return this.#body as Body;
  }

  /** Acknowledges this message unless `retry`, `ackAll` or `retryAll` came first. */
  ack(): void {
    this.#batch.decide(this.id, { kind: "ack" });
  }

  /**
   * Redelivers this message after `delaySeconds` (default: the consumer's
   * `retry_delay`), unless `ack` or `ackAll` came first.
   */
  retry(options?: QueueRetryOptions): void {
    this.#batch.decide(this.id, { kind: "retry", delaySeconds: checkedDelay(this.#batch.broker, options) });
  }
}

function checkedDelay(broker: QueueBroker, options: QueueRetryOptions | undefined): number | undefined {
  const delay = seconds(options?.delaySeconds);
  if (delay !== undefined) callNative(() => broker.checkRetryDelay(delay));
  return delay;
}

/** The outcome of a batch, as the engine's `settle` takes it. */
export interface BatchOutcome {
  acks: string[];
  retries: string[];
  retryDelays: number[];
}

/**
 * The calls a handler made on a batch, in the shape of production's
 * `FetcherQueueResult` without `outcome`.
 */
export interface QueueBatchCalls {
  ackAll: boolean;
  retryBatch: { retry: boolean; delaySeconds?: number };
  explicitAcks: string[];
  retryMessages: { msgId: string; delaySeconds?: number }[];
}

/** A batch delivered to a `queue()` handler: production's `MessageBatch`. */
export class MessageBatch<Body = unknown> {
  readonly queue: string;
  readonly messages: readonly Message<Body>[];
  readonly #decisions = new Map<string, Decision>();
  #batchDecision: Decision | null = null;

  constructor(
    readonly broker: QueueBroker,
    queue: string,
    records: QueueMessageRecord[],
  ) {
    this.queue = queue;
    this.messages = Object.freeze(records.map((record) => new Message<Body>(record, this)));
  }

  /** Acknowledges every message without its own `retry`, unless `retryAll` came first. */
  ackAll(): void {
    if (this.#batchDecision?.kind === "retry") {
      this.#ignore("ackAll()", "retryAll()");
      return;
    }
    this.#batchDecision = { kind: "ack" };
  }

  /** Retries every message without its own `ack`, unless `ackAll` came first. */
  retryAll(options?: QueueRetryOptions): void {
    const delaySeconds = checkedDelay(this.broker, options);
    if (this.#batchDecision?.kind === "ack") {
      this.#ignore("retryAll()", "ackAll()");
      return;
    }
    this.#batchDecision = { kind: "retry", delaySeconds };
  }

  /**
   * Records a per-message decision; called by `Message`. As in the Workers
   * runtime, the first of `ack` and `retry` on a message stands, `ackAll`
   * overrides a later `retry`, and `retryAll` overrides a later `ack`. A
   * repeated `retry` replaces the earlier delay.
   */
  decide(id: string, decision: Decision): void {
    const batch = this.#batchDecision;
    const earlier = this.#decisions.get(id);
    if (decision.kind === "ack") {
      if (batch?.kind === "ack" || earlier?.kind === "ack") return;
      if (batch?.kind === "retry") return this.#ignore("ack()", "retryAll()", id);
      if (earlier?.kind === "retry") return this.#ignore("ack()", "retry()", id);
    } else {
      if (batch?.kind === "ack") return this.#ignore("retry()", "ackAll()", id);
      if (earlier?.kind === "ack") return this.#ignore("retry()", "ack()", id);
    }
    this.#decisions.set(id, decision);
  }

  /** Warns that `call` has no effect because `earlier` was called first. */
  #ignore(call: string, earlier: string, message?: string): void {
    log.warn(`Queue ${call} has no effect after ${earlier}`, { queue: this.queue, message });
  }

  /** Lists the `ack`, `retry`, `ackAll` and `retryAll` calls made so far. */
  calls(): QueueBatchCalls {
    const batch = this.#batchDecision;
    const calls: QueueBatchCalls = {
      ackAll: batch?.kind === "ack",
      retryBatch: batch?.kind === "retry" ? withDelay({ retry: true }, batch.delaySeconds) : { retry: false },
      explicitAcks: [],
      retryMessages: [],
    };
    for (const [id, decision] of this.#decisions) {
      if (decision.kind === "ack") calls.explicitAcks.push(id);
      else calls.retryMessages.push(withDelay({ msgId: id }, decision.delaySeconds));
    }
    return calls;
  }

  /**
   * Splits the batch into acks and retries. A message's own call wins, then
   * the batch's; with neither, a handler that returned acknowledges it and a
   * handler that threw retries it.
   */
  outcome(handlerThrew: boolean): BatchOutcome {
    const outcome: BatchOutcome = { acks: [], retries: [], retryDelays: [] };

    // NOTE: a throw after `ackAll()` retries the messages without their own
    // `ack()`, as in Miniflare; what production's queue service does then is
    // not documented.
    const fallback: Decision = handlerThrew
      ? { kind: "retry", delaySeconds: undefined }
      : (this.#batchDecision ?? { kind: "ack" });
    for (const message of this.messages) {
      const decision = this.#decisions.get(message.id) ?? fallback;
      if (decision.kind === "ack") {
        outcome.acks.push(message.id);
      } else {
        outcome.retries.push(message.id);
        outcome.retryDelays.push(decision.delaySeconds ?? Number.NaN);
      }
    }
    return outcome;
  }
}

function withDelay<T extends object>(value: T, delaySeconds: number | undefined): T & { delaySeconds?: number } {
  return delaySeconds === undefined ? value : { ...value, delaySeconds };
}

/** Logs the messages the retry limit moved to a dead-letter queue or dropped. */
export function logSettleEvents(queue: string, events: { id: string; action: string; attempts: number; deadLetterQueue?: string | null }[]): void {
  for (const event of events) {
    const attempts = `${event.attempts} failed attempt${event.attempts === 1 ? "" : "s"}`;
    if (event.action === "dead_letter") {
      log.warn(`Moved message to the dead-letter queue after ${attempts}`, { queue, message: event.id, deadLetterQueue: event.deadLetterQueue ?? undefined });
    } else {
      log.warn(`Dropped message after ${attempts}; the consumer has no dead_letter_queue`, { queue, message: event.id });
    }
  }
}
