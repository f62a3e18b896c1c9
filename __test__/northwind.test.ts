// The Northwind example Worker (examples/northwind), driven through
// `app.fetch(request, env, ctx)` over a D1 database loaded from its migrations.

import { test, expect, beforeAll } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import app from "../examples/northwind/src/index.ts";

const EXAMPLE_DIR = join(import.meta.dir, "..", "examples", "northwind");
const MIGRATIONS_DIR = join(EXAMPLE_DIR, "migrations");

// The test uses only this much of the bindings' public API.
interface TestStatement {
  bind(...values: unknown[]): TestStatement;
}
interface TestD1 {
  prepare(sql: string): TestStatement;
  batch(statements: TestStatement[]): Promise<unknown[]>;
}
interface TestKV {
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  list(options?: { prefix?: string }): Promise<{ keys: { name: string; expiration?: number }[] }>;
}
interface Bindings {
  DB: TestD1;
  /** Opens an empty KV namespace, so that each cache test starts cold. */
  openKV(namespaceId: string): TestKV;
}

// ---------------------------------------------------------------------------
// TODO: delete this stand-in once lib/bindings/d1.ts and lib/bindings/kv.ts are
// merged. Until then it checks the Worker's SQL against bun:sqlite. It covers
// only what the Worker calls, with D1's result shapes.

class StandInStatement implements TestStatement {
  constructor(
    private readonly db: Database,
    readonly sql: string,
    private readonly values: unknown[] = [],
  ) {}

  bind(...values: unknown[]): StandInStatement {
    return new StandInStatement(this.db, this.sql, values);
  }

  async first<T>(): Promise<T | null> {
    return (this.db.query(this.sql).get(...(this.values as never[])) as T | null) ?? null;
  }

  async all<T>(): Promise<{ results: T[]; success: true; meta: Record<string, unknown> }> {
    return this.allSync<T>();
  }

  allSync<T>(): { results: T[]; success: true; meta: Record<string, unknown> } {
    const results = this.db.query(this.sql).all(...(this.values as never[])) as T[];
    return { results, success: true, meta: {} };
  }
}

class StandInD1 implements TestD1 {
  constructor(private readonly db: Database) {}

  prepare(sql: string): StandInStatement {
    return new StandInStatement(this.db, sql);
  }

  async batch(statements: TestStatement[]): Promise<unknown[]> {
    const run = this.db.transaction(() => (statements as StandInStatement[]).map((s) => s.allSync()));
    return run();
  }
}

class StandInKV implements TestKV {
  private readonly entries = new Map<string, { value: string; expiration?: number }>();

  async get(key: string, type?: "text" | "json"): Promise<unknown> {
    const entry = this.entries.get(key);
    if (!entry) return null;
    return type === "json" ? JSON.parse(entry.value) : entry.value;
  }

  async put(key: string, value: string, options: { expirationTtl?: number } = {}): Promise<void> {
    const expiration = options.expirationTtl ? Math.floor(Date.now() / 1000) + options.expirationTtl : undefined;
    this.entries.set(key, { value, expiration });
  }

  async list(options: { prefix?: string } = {}): Promise<{ keys: { name: string; expiration?: number }[] }> {
    const keys = [...this.entries]
      .filter(([name]) => name.startsWith(options.prefix ?? ""))
      .map(([name, entry]) => (entry.expiration === undefined ? { name } : { name, expiration: entry.expiration }));
    return { keys };
  }
}

// ---------------------------------------------------------------------------

const D1_BINDING_PATH = join(import.meta.dir, "..", "lib", "bindings", "d1.ts");
const KV_BINDING_PATH = join(import.meta.dir, "..", "lib", "bindings", "kv.ts");
const REAL_BINDINGS = existsSync(D1_BINDING_PATH) && existsSync(KV_BINDING_PATH);

/** Opens bunflare's D1 and KV bindings on a fresh temp dir, or the stand-ins until they exist. */
async function openBindings(): Promise<Bindings> {
  if (REAL_BINDINGS) {
    const { native } = await import("../lib/native.ts");
    const { createD1Database } = await import(D1_BINDING_PATH);
    const { createKVNamespace } = await import(KV_BINDING_PATH);
    const storage = native.Storage.open(join(mkdtempSync(join(tmpdir(), "bunflare-northwind-")), ".bunflare"));
    return {
      DB: createD1Database(storage, "northwind"),
      openKV: (namespaceId) => createKVNamespace(storage, namespaceId),
    };
  }

  return {
    DB: new StandInD1(new Database(":memory:")),
    openKV: () => new StandInKV(),
  };
}

/** Returns the statements of one migration file, one per line, without the comment lines. */
function migrationStatements(file: string): string[] {
  const lines = readFileSync(join(MIGRATIONS_DIR, file), "utf8").split("\n");
  return lines.filter((line) => line.trim() !== "" && !line.startsWith("--"));
}

let bindings: Bindings;

beforeAll(async () => {
  bindings = await openBindings();

  // NOTE: this loads the migrations through `batch`, not through
  // `bunflare d1 migrations apply`, which `bun run start` uses.
  const files = readdirSync(MIGRATIONS_DIR).filter((name) => name.endsWith(".sql")).sort();
  for (const file of files) {
    const statements = migrationStatements(file);
    await bindings.DB.batch(statements.map((sql) => bindings.DB.prepare(sql)));
  }
});

interface Call {
  status: number;
  cache: string | null;
  body: any;
}

/** Sends GET `path` to the Worker and waits for its waitUntil work, as the runtime does. */
async function get(path: string, options: { cache?: TestKV; ttl?: string } = {}): Promise<Call> {
  const env = {
    DB: bindings.DB,
    CACHE: options.cache ?? bindings.openKV("northwind-cache-unused"),
    CACHE_TTL_SECONDS: options.ttl ?? "300",
  };
  const pending: Promise<unknown>[] = [];
  const ctx = { waitUntil: (promise: Promise<unknown>) => void pending.push(promise), passThroughOnException() {}, props: {} };

  const response = await app.fetch(new Request(`http://northwind.test${path}`), env, ctx);
  await Promise.all(pending);

  expect(response.headers.get("content-type")).toStartWith("application/json");
  return { status: response.status, cache: response.headers.get("x-cache"), body: await response.json() };
}

let namespaceCount = 0;

/** Returns an empty KV namespace for one test. */
function freshCache(): TestKV {
  namespaceCount += 1;
  return bindings.openKV(`northwind-cache-${namespaceCount}`);
}

test("migration files hold one statement per line", () => {
  for (const file of ["0001_schema.sql", "0002_data.sql"]) {
    for (const statement of migrationStatements(file)) expect(statement).toEndWith(";");
  }
});

test("migration files name their source", () => {
  for (const file of ["0001_schema.sql", "0002_data.sql"]) {
    const header = readFileSync(join(MIGRATIONS_DIR, file), "utf8").split("\n").slice(0, 4).join("\n");
    expect(header).toContain("https://github.com/cloudflare/d1-northwind");
    expect(header).toContain("MIT");
    expect(header).toContain("Copyright (c) 2022 Cloudflare");
  }
});

test("index lists every route", async () => {
  const { status, body } = await get("/");

  expect(status).toBe(200);
  const paths = body.routes.map((route: { path: string }) => route.path);
  expect(paths).toEqual([
    "/",
    "/api/products?page=&limit=",
    "/api/products/:id",
    "/api/orders/:id",
    "/api/customers?q=",
    "/api/stats",
  ]);
});

test("products paginate with total and nextPage", async () => {
  const { status, body } = await get("/api/products?page=2&limit=10");

  expect(status).toBe(200);
  expect(body.page).toBe(2);
  expect(body.limit).toBe(10);
  expect(body.total).toBe(77);
  expect(body.nextPage).toBe(3);
  expect(body.products.map((p: { Id: number }) => p.Id)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  expect(body.products[0].ProductName).toBe("Queso Cabrales");
});

test("products default to page 1 of 20", async () => {
  const { body } = await get("/api/products");

  expect(body.page).toBe(1);
  expect(body.limit).toBe(20);
  expect(body.products).toHaveLength(20);
  expect(body.products[0].Id).toBe(1);
});

test("products last page has null nextPage", async () => {
  const last = await get("/api/products?page=8&limit=10");
  expect(last.body.products.map((p: { Id: number }) => p.Id)).toEqual([71, 72, 73, 74, 75, 76, 77]);
  expect(last.body.nextPage).toBeNull();

  const beyond = await get("/api/products?page=9&limit=10");
  expect(beyond.status).toBe(200);
  expect(beyond.body.products).toEqual([]);
  expect(beyond.body.nextPage).toBeNull();
});

test("products reject invalid page and limit", async () => {
  const cases: [string, string][] = [
    ["limit=101", 'invalid limit "101": expected an integer from 1 to 100'],
    ["limit=0", 'invalid limit "0": expected an integer from 1 to 100'],
    ["limit=ten", 'invalid limit "ten": expected an integer from 1 to 100'],
    ["page=0", `invalid page "0": expected an integer from 1 to ${Number.MAX_SAFE_INTEGER}`],
    ["page=-1", `invalid page "-1": expected an integer from 1 to ${Number.MAX_SAFE_INTEGER}`],
    ["page=1.5", `invalid page "1.5": expected an integer from 1 to ${Number.MAX_SAFE_INTEGER}`],
  ];
  for (const [query, message] of cases) {
    const { status, body } = await get(`/api/products?${query}`);
    expect(status).toBe(400);
    expect(body).toEqual({ error: message });
  }
});

test("product is cached in KV after a miss", async () => {
  const cache = freshCache();

  const first = await get("/api/products/38", { cache });
  expect(first.status).toBe(200);
  expect(first.cache).toBe("miss");
  expect(first.body.ProductName).toBe("Côte de Blaye");
  expect(first.body.CategoryName).toBe("Beverages");
  expect(first.body.SupplierName).toBeString();

  const second = await get("/api/products/38", { cache });
  expect(second.status).toBe(200);
  expect(second.cache).toBe("hit");
  expect(second.body).toEqual(first.body);
});

test("product cache entry expires after the TTL", async () => {
  const cache = freshCache();
  const before = Math.floor(Date.now() / 1000);

  await get("/api/products/1", { cache, ttl: "120" });

  const { keys } = await cache.list({ prefix: "product:" });
  expect(keys.map((key) => key.name)).toEqual(["product:1"]);
  expect(keys[0]!.expiration).toBeGreaterThanOrEqual(before + 120);
  expect(keys[0]!.expiration).toBeLessThanOrEqual(before + 121 + 60);
});

test("product missing is 404 and not cached", async () => {
  const cache = freshCache();

  const { status, cache: header, body } = await get("/api/products/999", { cache });

  expect(status).toBe(404);
  expect(header).toBe("miss");
  expect(body).toEqual({ error: "product 999 not found" });
  expect((await cache.list()).keys).toEqual([]);
});

test("product rejects non-numeric id", async () => {
  for (const id of ["abc", "1.5", "-1", "0", "1e3", "%20", "99999999999999999999"]) {
    const { status, body } = await get(`/api/products/${id}`);
    expect(status).toBe(400);
    expect(body.error).toStartWith("invalid id ");
    expect(body.error).toEndWith(": expected a positive integer");
  }
});

test("order includes items, products and customer", async () => {
  const { status, body } = await get("/api/orders/10248");

  expect(status).toBe(200);
  expect(body.order.Id).toBe(10248);
  expect(body.order.CustomerId).toBe("VINET");
  expect(body.order.OrderDate).toBe("2012-07-04");
  expect(body.order.ShipperName).toBeString();
  expect(body.customer.Id).toBe("VINET");
  expect(body.customer.CompanyName).toBe("Vins et alcools Chevalier");
  expect(body.items).toEqual([
    { ProductId: 11, ProductName: "Queso Cabrales", UnitPrice: 14, Quantity: 12, Discount: 0 },
    { ProductId: 42, ProductName: "Singaporean Hokkien Fried Mee", UnitPrice: 9.8, Quantity: 10, Discount: 0 },
    { ProductId: 72, ProductName: "Mozzarella di Giovanni", UnitPrice: 34.8, Quantity: 5, Discount: 0 },
  ]);
  expect(body.total).toBe(440);
});

test("order without customer row has null customer", async () => {
  // Order 10311's CustomerId is "DUMO", which no Customer row has.
  const { status, body } = await get("/api/orders/10311");

  expect(status).toBe(200);
  expect(body.order.CustomerId).toBe("DUMO");
  expect(body.customer).toBeNull();
  expect(body.items.length).toBeGreaterThan(0);
});

test("order missing is 404", async () => {
  const { status, body } = await get("/api/orders/1");

  expect(status).toBe(404);
  expect(body).toEqual({ error: "order 1 not found" });
});

test("order rejects non-numeric id", async () => {
  const { status, body } = await get("/api/orders/latest");

  expect(status).toBe(400);
  expect(body).toEqual({ error: 'invalid id "latest": expected a positive integer' });
});

test("customers search ignores ASCII case", async () => {
  const byCompany = await get("/api/customers?q=ALFREDS");
  expect(byCompany.status).toBe(200);
  expect(byCompany.body.customers.map((c: { Id: string }) => c.Id)).toEqual(["ALFKI"]);
  expect(byCompany.body.count).toBe(1);

  const byContact = await get("/api/customers?q=maria%20anders");
  expect(byContact.body.customers.map((c: { Id: string }) => c.Id)).toEqual(["ALFKI"]);
  expect(byContact.body.customers[0].ContactName).toBe("Maria Anders");
});

test("customers search matches accented text", async () => {
  const { body } = await get(`/api/customers?q=${encodeURIComponent("josé")}`);

  expect(body.customers.map((c: { Id: string }) => c.Id)).toEqual(["GODOS"]);
});

test("customers search treats wildcards literally", async () => {
  for (const q of ["%", "_", "\\", "a%e"]) {
    const { status, body } = await get(`/api/customers?q=${encodeURIComponent(q)}`);
    expect(status).toBe(200);
    expect(body.customers).toEqual([]);
  }
});

test("customers search binds quotes as text", async () => {
  const injected = await get(`/api/customers?q=${encodeURIComponent("' OR 1=1 --")}`);
  expect(injected.status).toBe(200);
  expect(injected.body.customers).toEqual([]);

  // An apostrophe in a name is ordinary text: "B's Beverages".
  const apostrophe = await get(`/api/customers?q=${encodeURIComponent("b's")}`);
  expect(apostrophe.body.customers.map((c: { Id: string }) => c.Id)).toEqual(["BSBEV"]);
});

test("customers without q lists all", async () => {
  const { body } = await get("/api/customers");

  expect(body.q).toBe("");
  expect(body.count).toBe(91);
  expect(body.customers[0].CompanyName).toBe("Alfreds Futterkiste");
});

test("customers reject q over 100 characters", async () => {
  const { status, body } = await get(`/api/customers?q=${"x".repeat(101)}`);

  expect(status).toBe(400);
  expect(body).toEqual({ error: "invalid q: 101 characters is longer than the maximum of 100" });
});

test("stats count rows and rank top products", async () => {
  const cache = freshCache();

  const first = await get("/api/stats", { cache });

  expect(first.status).toBe(200);
  expect(first.cache).toBe("miss");
  expect(first.body.customers).toBe(91);
  expect(first.body.products).toBe(77);
  expect(first.body.orders).toBe(830);
  expect(first.body.revenue).toBe(1265793.04);
  expect(first.body.topProducts.map((p: { Id: number }) => p.Id)).toEqual([38, 29, 59, 62, 60]);
  expect(first.body.topProducts[0]).toEqual({ Id: 38, ProductName: "Côte de Blaye", UnitsSold: 623, Revenue: 141396.73 });

  const second = await get("/api/stats", { cache });
  expect(second.cache).toBe("hit");
  expect(second.body).toEqual(first.body);
});

test("cache TTL below KV minimum is a 500", async () => {
  const errors: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void errors.push(args);
  try {
    const { status, body } = await get("/api/stats", { cache: freshCache(), ttl: "30" });

    expect(status).toBe(500);
    expect(body).toEqual({ error: "internal error" });
  } finally {
    console.error = original;
  }
  expect(errors).toHaveLength(1);
  expect(String(errors[0]![1])).toContain('invalid CACHE_TTL_SECONDS "30": expected an integer of at least 60');
});

test("unknown route is 404 JSON", async () => {
  const { status, body } = await get("/api/suppliers");

  expect(status).toBe(404);
  expect(body).toEqual({ error: "no route for GET /api/suppliers; GET / lists the routes" });
});

if (!REAL_BINDINGS) {
  // TODO: delete with the stand-ins once the D1 and KV bindings are merged.
  test.todo("routes run on bunflare's D1 and KV bindings");
}
