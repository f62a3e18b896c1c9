// The dev server's own routes, handled before the Worker sees a request:
//
// - `/cdn-cgi/handler/scheduled?cron=…&time=…` and `/__scheduled?cron=…`
//   run the `scheduled()` handler by hand, as Miniflare's and wrangler's
//   `--test-scheduled` endpoints do;
// - `POST …/queues/<queue>/messages/pull` and `…/messages/ack` serve pull
//   consumers in the request and response shapes of Cloudflare's REST API,
//   under `/cdn-cgi/` or `/client/v4/accounts/<account>/`, so a pull client
//   pointed at the dev server works unchanged.

import { S3Endpoint, S3_PATH_PREFIX } from "./s3.ts";
import type { QueueBroker } from "../../index.js";
import { CONTENT_TYPE_NAMES } from "../bindings/queue.ts";
import { translateError } from "../errors.ts";
import { native } from "../native.ts";
import type { ScheduledResult } from "../runtime.ts";

/** The targets of the endpoints: the Worker's scheduled handler and the storage's queue engine. */
export interface EndpointTarget {
  scheduled(cron: string, scheduledTime: number): Promise<ScheduledResult>;
  broker: QueueBroker;
  /** The S3-compatible endpoint for the local R2 buckets, served under `S3_PATH_PREFIX`. */
  s3?: S3Endpoint;
}

const PULL_PATH = /^\/(?:cdn-cgi|client\/v4\/accounts\/[^/]+)\/queues\/([^/]+)\/messages\/(pull|ack)$/;

/**
 * Returns true when `path` may be one of the dev server's own routes. It is
 * a cheap prefix test that keeps URL parsing off the request hot path.
 */
export function isLocalEndpointPath(path: string): boolean {
  return path.startsWith("/cdn-cgi/") || path.startsWith("/__scheduled") || path.startsWith("/client/v4/") || path.startsWith("/__bunflare/");
}

/** Handles a dev server route, or returns null to pass the request to the Worker. */
export async function handleLocalEndpoint(request: Request, url: URL, target: EndpointTarget): Promise<Response | null> {
  if (target.s3 && url.pathname.startsWith(`${S3_PATH_PREFIX}/`)) return await target.s3.fetch(request);

  if (url.pathname === "/cdn-cgi/handler/scheduled" || url.pathname === "/__scheduled") {
    return await runScheduled(url, target, url.pathname === "/__scheduled");
  }

  const pull = PULL_PATH.exec(url.pathname);
  if (pull && request.method === "POST") {
    const queue = decodeURIComponent(pull[1]!);
    return pull[2] === "pull" ? await pullMessages(request, queue, target.broker) : await ackMessages(request, queue, target.broker);
  }
  return null;
}

/** Runs `scheduled()` with `cron` and `time` (ms since the epoch, default now) from the query string. */
async function runScheduled(url: URL, target: EndpointTarget, wranglerStyle: boolean): Promise<Response> {
  const cron = url.searchParams.get("cron") ?? "";
  const timeParam = url.searchParams.get("time");
  const time = timeParam !== null && Number.isFinite(Number(timeParam)) ? Number(timeParam) : native.clockNow();

  const result = await target.scheduled(cron, time);

  // wrangler's `/__scheduled` always returns this text, and Miniflare's route returns the outcome.
  if (wranglerStyle) return new Response("Ran scheduled event");
  return new Response(result.outcome, { status: result.outcome === "ok" ? 200 : 500 });
}

/** Reads the JSON body of a pull or ack request; an empty body is `{}`. */
async function readJson(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.trim() === "") return {};
  const parsed = JSON.parse(text) as unknown;
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new TypeError("the request body must be a JSON object");
  return parsed as Record<string, unknown>;
}

function envelope(result: unknown): Response {
  return Response.json({ success: true, errors: [], messages: [], result });
}

function failure(error: unknown): Response {
  const translated = translateError(error) as Error;
  return Response.json(
    { success: false, errors: [{ code: 10_000, message: translated.message ?? String(error) }], messages: [], result: null },
    { status: 400 },
  );
}

function optionalNumber(value: unknown): number | undefined {
  return value === undefined || value === null ? undefined : Number(value);
}

async function pullMessages(request: Request, queue: string, broker: QueueBroker): Promise<Response> {
  try {
    const body = await readJson(request);
    const records = broker.pull(queue, optionalNumber(body.batch_size), optionalNumber(body.visibility_timeout_ms));
    const messages = records.map((record) => {
      const contentType = CONTENT_TYPE_NAMES[record.contentType] ?? "v8";
      // Text and JSON bodies come back as their text; bytes and v8 as base64, as production returns them.
      const text = contentType === "text" || contentType === "json";
      return {
        body: text ? record.body.toString("utf8") : record.body.toString("base64"),
        id: record.id,
        timestamp_ms: record.timestamp,
        attempts: record.attempts,
        lease_id: record.leaseId,
        metadata: { "CF-sourceMessageSource": "worker", "CF-Content-Type": contentType },
      };
    });
    return envelope({ messages });
  } catch (error) {
    return failure(error);
  }
}

async function ackMessages(request: Request, queue: string, broker: QueueBroker): Promise<Response> {
  try {
    const body = await readJson(request);
    const acks = Array.isArray(body.acks) ? (body.acks as { lease_id?: unknown }[]) : [];
    const retries = Array.isArray(body.retries) ? (body.retries as { lease_id?: unknown; delay_seconds?: unknown }[]) : [];
    const result = broker.ackPulled(
      queue,
      acks.map((ack) => String(ack.lease_id)),
      retries.map((retry) => String(retry.lease_id)),
      retries.map((retry) => optionalNumber(retry.delay_seconds) ?? Number.NaN),
    );
    return envelope({ ackCount: result.ackCount, retryCount: result.retryCount, warnings: result.warnings });
  } catch (error) {
    return failure(error);
  }
}
