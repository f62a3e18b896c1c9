// The order Workflow under bun test: one run with the clock advanced, and
// runs with steps mocked by the Workflow introspectors of cloudflare:test.
import { expect, test } from "bun:test";
import { env } from "cloudflare:workers";
import { SELF, advanceClock, introspectWorkflow, introspectWorkflowInstance } from "cloudflare:test";

const ORDER = { items: [{ sku: "A1", price: 12, quantity: 2 }] };

test("order ships after approval", async () => {
  await using order = await introspectWorkflowInstance(env.ORDERS, "order-1");
  const created = await SELF.fetch("http://localhost/orders?id=order-1", { method: "POST", body: JSON.stringify(ORDER) });
  expect(created.status).toBe(201);

  expect(await order.waitForStepResult({ name: "charge card" })).toEqual({ chargeId: "ch_order-1", amount: 24 });
  await advanceClock(5_000);
  await SELF.fetch("http://localhost/orders/order-1/approve", { method: "POST", body: JSON.stringify({ approved: true }) });
  await order.waitForStatus("complete");

  expect(await order.getOutput()).toEqual({ status: "shipped", total: 24, chargeId: "ch_order-1", trackingNumber: "TRK-order-1" });
});

test("payment retries without delays", async () => {
  await using order = await introspectWorkflowInstance(env.ORDERS, "order-2");
  await order.modify(async (m) => {
    await m.disableSleeps();
    await m.disableRetryDelays();
    await m.mockEvent({ type: "approval", payload: { approved: false } });
  });

  await env.ORDERS.create({ id: "order-2", params: { ...ORDER, failPaymentAttempts: 2 } });
  await order.waitForStatus("complete");

  expect(await order.getOutput()).toEqual({ status: "refunded", chargeId: "ch_order-2" });
});

test("empty order errors", async () => {
  await using order = await introspectWorkflowInstance(env.ORDERS, "order-3");
  await env.ORDERS.create({ id: "order-3", params: { items: [] } });

  await order.waitForStatus("errored");

  expect(await order.getError()).toEqual({ name: "NonRetryableError", message: "the order has no items" });
});

test("every new order can be mocked", async () => {
  await using orders = await introspectWorkflow(env.ORDERS);
  await orders.modifyAll(async (m) => {
    await m.disableSleeps();
    await m.mockStepResult({ name: "charge card" }, { chargeId: "ch_mock", amount: 0 });
    await m.mockEvent({ type: "approval", payload: { approved: true } });
  });

  await SELF.fetch("http://localhost/orders", { method: "POST", body: JSON.stringify(ORDER) });
  const [order] = orders.get();
  await order!.waitForStatus("complete");

  expect(await order!.getOutput()).toMatchObject({ status: "shipped", chargeId: "ch_mock" });
});
