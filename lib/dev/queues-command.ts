// `bunflare queues list` and `bunflare queues message send|list|purge
// <queue>`: the local queues, on the same engine and data directory as the
// Worker's queue bindings. A message sent here waits in `data.sqlite` until a
// consumer takes it.

import type { Storage } from "../../index.js";
// Importing the binding also registers the queue error classes used below.
import { CONTENT_TYPE_CODES, CONTENT_TYPE_NAMES, deserializeBody, type QueueContentType } from "../bindings/queue.ts";
import type { WorkerConfig } from "../config.ts";
import { CONFIG_FLAGS_USAGE } from "./config-flags.ts";
import { commandOutput, parseCommandArgs, reportCommandError, UsageError } from "./command.ts";
import { queueBroker } from "../env.ts";
import { callNative } from "../errors.ts";

export interface QueuesCommandContext {
  storage: Storage;
  config: WorkerConfig;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

const USAGE = `Usage: bunflare queues <command> [options]

Commands:
  list                          List the queues in the config and in local state, with message counts
  message send <queue> <body>   Send a message (text by default)
  message list <queue>          Print the messages waiting in a queue as JSON
  message purge <queue>         Delete every message in a queue

Options:
  --content-type <type>   message send: text (default) or json
  --delay-secs <seconds>  message send: seconds before consumers see the message
  --limit <n>             message list: print at most n messages
${CONFIG_FLAGS_USAGE}
`;

/** Runs `bunflare queues <args>` and returns the exit code. */
export async function runQueuesCommand(args: string[], context: QueuesCommandContext): Promise<number> {
  const { stdout, stderr } = commandOutput(context);

  try {
    const { values, positionals } = parseCommandArgs(args, {
      "content-type": { type: "string" },
      "delay-secs": { type: "string" },
      limit: { type: "string" },
    });
    if (values.help) {
      stdout(USAGE);
      return 0;
    }

    const broker = queueBroker(context.storage);
    const [command, subcommand, queue, body, ...extra] = positionals;

    if (command === "list") {
      if (subcommand !== undefined) throw new UsageError(`Unexpected argument "${subcommand}" for list.`);
      stdout(`${JSON.stringify(listQueues(context.config, callNative(() => broker.queues())), undefined, 2)}\n`);
      return 0;
    }
    if (command !== "message") throw new UsageError(`Unknown queues command "${command ?? ""}". Use list or message.`);
    if (queue === undefined) throw new UsageError(`message ${subcommand ?? "<command>"} needs a <queue> argument.`);
    if (extra.length > 0) throw new UsageError(`Unexpected argument "${extra[0]}".`);

    switch (subcommand) {
      case "send": {
        if (body === undefined) throw new UsageError("message send needs a <body> argument.");
        const contentType = (values["content-type"] ?? "text") as QueueContentType;
        if (contentType !== "text" && contentType !== "json") {
          throw new UsageError(`Invalid --content-type "${contentType}": use text or json.`);
        }
        if (contentType === "json") JSON.parse(body);
        const delay = values["delay-secs"] === undefined ? undefined : Number(values["delay-secs"]);
        callNative(() => broker.send(queue, Buffer.from(body), CONTENT_TYPE_CODES[contentType], delay));
        stdout(`Sent a message to queue "${queue}".\n`);
        return 0;
      }
      case "list": {
        if (body !== undefined) throw new UsageError(`Unexpected argument "${body}" for message list.`);
        const limit = values.limit === undefined ? undefined : Number(values.limit);
        if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new UsageError(`Invalid --limit "${values.limit}": expected a positive integer.`);
        const messages = callNative(() => broker.list(queue, limit)).map((record) => ({
          id: record.id,
          timestamp: new Date(record.timestamp).toISOString(),
          attempts: record.attempts,
          contentType: CONTENT_TYPE_NAMES[record.contentType],
          body: printableBody(record.body, record.contentType),
        }));
        stdout(`${JSON.stringify(messages, undefined, 2)}\n`);
        return 0;
      }
      case "purge": {
        if (body !== undefined) throw new UsageError(`Unexpected argument "${body}" for message purge.`);
        const deleted = callNative(() => broker.purge(queue));
        stdout(`Purged ${deleted} message${deleted === 1 ? "" : "s"} from queue "${queue}".\n`);
        return 0;
      }
      default:
        throw new UsageError(`Unknown queues message command "${subcommand ?? ""}". Use send, list or purge.`);
    }
  } catch (error) {
    return reportCommandError(error, stderr, USAGE);
  }
}

/** Lists every queue named in the config or containing messages, with its producers, consumer and message count. */
function listQueues(config: WorkerConfig, stored: { queue: string; messages: number }[]) {
  const names = new Set<string>([
    ...config.queueProducers.map((producer) => producer.queue),
    ...config.queueConsumers.map((consumer) => consumer.queue),
    ...stored.map((entry) => entry.queue),
  ]);
  return [...names].sort().map((queue) => ({
    queue,
    messages: stored.find((entry) => entry.queue === queue)?.messages ?? 0,
    producers: config.queueProducers.filter((producer) => producer.queue === queue).map((producer) => producer.binding),
    consumer: config.queueConsumers.find((consumer) => consumer.queue === queue)?.type ?? null,
  }));
}

/** Shows text and JSON bodies as text, bytes as base64, and v8 bodies as their decoded value where JSON can show it. */
function printableBody(body: Buffer, code: number): unknown {
  if (code === CONTENT_TYPE_CODES.text || code === CONTENT_TYPE_CODES.json) return body.toString("utf8");
  if (code === CONTENT_TYPE_CODES.bytes) return body.toString("base64");
  try {
    return deserializeBody(body, code);
  } catch {
    return body.toString("base64");
  }
}
