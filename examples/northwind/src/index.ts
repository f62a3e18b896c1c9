// A Hono Worker over the Northwind sample database in D1, with a KV cache for
// the hot reads. `bun run start` in this folder applies the migrations and
// serves it with bunflare.

import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { readThrough } from "./cache.ts";
import type { AppEnv } from "./env.ts";
import { badRequest, parseId, parseQueryInt } from "./params.ts";
import { getOrder, getProduct, getStats, listProducts, searchCustomers } from "./queries.ts";

/** Maximum `limit` of `/api/products`. */
const MAX_PAGE_SIZE = 100;

/** Maximum length of the `q` search text, in UTF-16 code units. */
const MAX_SEARCH_LENGTH = 100;

const ROUTES = [
  { method: "GET", path: "/", description: "this list" },
  { method: "GET", path: "/api/products?page=&limit=", description: `products, paginated (limit 1-${MAX_PAGE_SIZE}, default 20)` },
  { method: "GET", path: "/api/products/:id", description: "one product with its category and supplier (cached)" },
  { method: "GET", path: "/api/orders/:id", description: "one order with its customer and line items" },
  { method: "GET", path: "/api/customers?q=", description: "customers whose company or contact name contains q" },
  { method: "GET", path: "/api/stats", description: "counts, revenue and the top 5 products by revenue (cached)" },
];

const app = new Hono<AppEnv>();

app.get("/", (c) => c.json({ name: "northwind", routes: ROUTES }));

app.get("/api/products", async (c) => {
  const page = parseQueryInt(c.req.query("page"), "page", { min: 1, max: Number.MAX_SAFE_INTEGER, default: 1 });
  const limit = parseQueryInt(c.req.query("limit"), "limit", { min: 1, max: MAX_PAGE_SIZE, default: 20 });

  const { products, total } = await listProducts(c.env.DB, page, limit);

  const nextPage = page * limit < total ? page + 1 : null;
  return c.json({ page, limit, total, nextPage, products });
});

app.get("/api/products/:id", async (c) => {
  const id = parseId(c.req.param("id"));

  const { value, hit } = await readThrough(c, `product:${id}`, () => getProduct(c.env.DB, id));

  c.header("x-cache", hit ? "hit" : "miss");
  if (value === null) return c.json({ error: `product ${id} not found` }, 404);
  return c.json(value);
});

app.get("/api/orders/:id", async (c) => {
  const id = parseId(c.req.param("id"));

  const order = await getOrder(c.env.DB, id);

  if (order === null) return c.json({ error: `order ${id} not found` }, 404);
  return c.json(order);
});

app.get("/api/customers", async (c) => {
  const q = (c.req.query("q") ?? "").trim();
  if (q.length > MAX_SEARCH_LENGTH) {
    badRequest(`invalid q: ${q.length} characters is longer than the maximum of ${MAX_SEARCH_LENGTH}`);
  }

  const customers = await searchCustomers(c.env.DB, q);

  return c.json({ q, count: customers.length, customers });
});

app.get("/api/stats", async (c) => {
  const { value, hit } = await readThrough(c, "stats", () => getStats(c.env.DB));

  c.header("x-cache", hit ? "hit" : "miss");
  return c.json(value);
});

app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}; GET / lists the routes` }, 404));

app.onError((error, c) => {
  if (error instanceof HTTPException) return c.json({ error: error.message }, error.status);

  // The stack goes to the log, and the client gets a generic message.
  console.error(`northwind: ${c.req.method} ${c.req.path} failed:`, error);
  return c.json({ error: "internal error" }, 500);
});

export default app;
