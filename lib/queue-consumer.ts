// Delivers queue batches to a Worker's `queue()` handler when the native
// scheduler reports that a consumer has one, and reports each batch's outcome back
// to the queue engine, which decides retries and dead-lettering.

import type { QueueBroker } from "../index.js";
import type { QueueConsumerConfig } from "./config.ts";
import { callNative } from "./errors.ts";
import { describeError } from "./execution-context.ts";
import { log } from "./log.ts";
import { MessageBatch, logSettleEvents } from "./bindings/queue.ts";
import { registerScheduledHandler } from "./scheduler.ts";

/** Dispatches a batch to the Worker; a throw means the handler failed. */
export interface QueueHandlerTarget {
  readonly config: { name: string };
  queue(batch: unknown): Promise<void>;
}

/** The push consumers of each broker, by queue name. */
const consumersByBroker = new Map<QueueBroker, Map<string, QueueHandlerTarget>>();

/**
 * Registers the config's consumers with the queue engine and routes their
 * deliveries to `target`. Returns the function that unregisters them.
 */
export function startQueueConsumers(target: QueueHandlerTarget, broker: QueueBroker, consumers: QueueConsumerConfig[]): () => void {
  if (consumers.length === 0) return () => {};

  let routes = consumersByBroker.get(broker);
  if (!routes) {
    const brokerRoutes = new Map<string, QueueHandlerTarget>();
    routes = brokerRoutes;
    consumersByBroker.set(broker, brokerRoutes);
    registerScheduledHandler("queue", broker.keyPrefix, (queue) => {
      const consumer = brokerRoutes.get(queue);
      if (consumer) return deliver(consumer, broker, queue);
    });
  }

  for (const consumer of consumers) {
    callNative(() =>
      broker.registerConsumer(consumer.queue, {
        type: consumer.type,
        maxBatchSize: consumer.maxBatchSize ?? undefined,
        maxBatchTimeout: consumer.maxBatchTimeout ?? undefined,
        maxRetries: consumer.maxRetries ?? undefined,
        retryDelay: consumer.retryDelay ?? undefined,
        deadLetterQueue: consumer.deadLetterQueue ?? undefined,
        maxConcurrency: consumer.maxConcurrency ?? undefined,
        visibilityTimeoutMs: consumer.visibilityTimeoutMs ?? undefined,
      }),
    );
    if (consumer.type === "worker") routes.set(consumer.queue, target);
  }

  return () => {
    for (const consumer of consumers) {
      if (routes.get(consumer.queue) === target) routes.delete(consumer.queue);
      broker.unregisterConsumer(consumer.queue);
    }
  };
}

/** Takes one batch (if the batching rule and the concurrency limit allow), runs the handler and settles. */
async function deliver(target: QueueHandlerTarget, broker: QueueBroker, queue: string): Promise<void> {
  const records = callNative(() => broker.takeBatch(queue));
  if (!records) return;

  const batch = new MessageBatch(broker, queue, records);
  const started = performance.now();
  let threw = false;
  try {
    await target.queue(batch);
  } catch (error) {
    threw = true;
    log.error(`Uncaught error in ${target.config.name} queue handler: ${describeError(error)}`, { queue });
  }

  const outcome = batch.outcome(threw);
  const result = callNative(() => broker.settle(queue, outcome.acks, outcome.retries, outcome.retryDelays));
  const elapsed = Math.round(performance.now() - started);
  log.info(`QUEUE ${queue} ${result.acked}/${records.length} (${elapsed}ms)`);
  logSettleEvents(queue, result.events);
}
