// Workflows example for bunflare: order processing.
//
//   POST /orders?id=<id>        {"items":[{"sku":"A1","price":12,"quantity":2}]}   start an order
//   GET  /orders/<id>                                                          the instance's status
//   POST /orders/<id>/approve   {"approved":true}                              the manager's decision
//   POST /orders/<id>/pause | resume | terminate | restart
//
// Each order validates its items, charges the card (retried up to three
// times with exponential backoff when the gateway fails), waits out a
// review window, then waits up to an hour for the approval event before it
// ships or refunds. Completed steps survive a restart of `bunflare dev`: a
// resumed order continues at its first unfinished step.

import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import { NonRetryableError } from "cloudflare:workflows";
import type { Workflow } from "@cloudflare/workers-types/index.ts";

interface Order {
  items: { sku: string; price: number; quantity: number }[];
  /** How many payment attempts fail before one succeeds (to show retries). */
  failPaymentAttempts?: number;
  /** The review window, as a Workflows duration (default 5 seconds). */
  reviewWindow?: string;
}

interface Env {
  ORDERS: Workflow<Order>;
}

export class OrderWorkflow extends WorkflowEntrypoint<Env, Order> {
  async run(event: WorkflowEvent<Order>, step: WorkflowStep) {
    const order = event.payload;

    const total = await step.do("validate order", async () => {
      if (!Array.isArray(order.items) || order.items.length === 0) throw new NonRetryableError("the order has no items");
      return order.items.reduce((sum, item) => sum + item.price * item.quantity, 0);
    });

    const charge = await step.do(
      "charge card",
      { retries: { limit: 3, delay: "1 second", backoff: "exponential" }, timeout: "30 seconds" },
      async (ctx) => {
        console.log(`charging order ${event.instanceId}, attempt ${ctx.attempt}`);
        if (ctx.attempt <= (order.failPaymentAttempts ?? 0)) throw new Error(`payment gateway unavailable (attempt ${ctx.attempt})`);
        return { chargeId: `ch_${event.instanceId}`, amount: total };
      },
    );

    await step.sleep("review window", order.reviewWindow ?? "5 seconds");

    const decision = await step.waitForEvent<{ approved: boolean }>("manager approval", { type: "approval", timeout: "1 hour" });
    if (!decision.payload.approved) {
      await step.do("refund", async () => ({ refunded: charge.chargeId }));
      return { status: "refunded", chargeId: charge.chargeId };
    }

    const shipment = await step.do("ship", async () => ({ trackingNumber: `TRK-${event.instanceId}` }));
    return { status: "shipped", total, chargeId: charge.chargeId, trackingNumber: shipment.trackingNumber };
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const [, collection, id, action] = url.pathname.split("/");
    if (collection !== "orders") return new Response("Try POST /orders?id=order-1 with a JSON order.\n", { status: 404 });

    try {
      if (!id && request.method === "POST") {
        const order = (await request.json()) as Order;
        const instance = await env.ORDERS.create({ id: url.searchParams.get("id") ?? undefined, params: order });
        return Response.json({ id: instance.id, ...(await instance.status()) }, { status: 201 });
      }
      if (!id) return new Response("Missing order id\n", { status: 400 });

      const instance = await env.ORDERS.get(id);
      if (!action && request.method === "GET") return Response.json({ id, ...(await instance.status()) });
      if (request.method !== "POST") return new Response("Method not allowed\n", { status: 405 });

      switch (action) {
        case "approve":
          await instance.sendEvent({ type: "approval", payload: await request.json() });
          break;
        case "pause":
          await instance.pause();
          break;
        case "resume":
          await instance.resume();
          break;
        case "terminate":
          await instance.terminate();
          break;
        case "restart":
          await instance.restart();
          break;
        default:
          return new Response(`Unknown action "${action}"\n`, { status: 404 });
      }
      return Response.json({ id, ...(await instance.status()) });
    } catch (error) {
      return Response.json({ error: (error as Error).message }, { status: 400 });
    }
  },
};
