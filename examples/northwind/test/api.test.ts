// Tests of the Northwind Worker in the style of Cloudflare's Vitest
// integration: migrations applied once in beforeAll, requests through SELF
// and exports, and each test's writes rolled back after it.
import { beforeAll, expect, test } from "bun:test";
import { env, exports } from "cloudflare:workers";
import {
  SELF,
  applyD1Migrations,
  createExecutionContext,
  readD1Migrations,
  rollbackAfterEach,
  waitOnExecutionContext,
} from "cloudflare:test";
import app from "../src/index.ts";

beforeAll(async () => {
  await applyD1Migrations(env.DB, await readD1Migrations("migrations"));
});

// The KV cache fills during a test; rolling back keeps the tables from
// beforeAll and empties the cache again, so every test starts cold.
rollbackAfterEach();

test("index lists the routes", async () => {
  const response = await SELF.fetch("http://localhost/");

  expect(response.status).toBe(200);
  expect((await response.json()).name).toBe("northwind");
});

test("product is cached after the first read", async () => {
  const first = await SELF.fetch("http://localhost/api/products/1");
  expect(first.headers.get("x-cache")).toBe("miss");
  expect((await first.json()).ProductName).toBe("Chai");

  const second = await SELF.fetch("http://localhost/api/products/1");
  expect(second.headers.get("x-cache")).toBe("hit");
});

test("cache is cold again in the next test", async () => {
  const response = await SELF.fetch("http://localhost/api/products/1");

  expect(response.headers.get("x-cache")).toBe("miss");
});

test("exports.default calls the Worker", async () => {
  const response = await exports.default.fetch("http://localhost/api/orders/10248");

  expect(response.status).toBe(200);
  expect((await response.json()).order.Id).toBe(10248);
});

test("handler called directly with a context", async () => {
  const ctx = createExecutionContext();

  const response = await app.fetch(new Request("http://localhost/api/stats"), env, ctx);
  await waitOnExecutionContext(ctx);

  expect(response.status).toBe(200);
  expect((await env.CACHE.list()).keys.map((key: { name: string }) => key.name)).toEqual(["stats"]);
});

test("bad product id is a 400", async () => {
  const response = await SELF.fetch("http://localhost/api/products/abc");

  expect(response.status).toBe(400);
});
