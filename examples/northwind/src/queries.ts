// The SQL behind each route. Column names are the Northwind schema's own
// PascalCase names. "Order" is an SQL keyword, so that table name is always
// quoted. Every value reaches SQLite as a bound parameter.

import type { D1Database } from "@cloudflare/workers-types/index.ts";

export interface Product {
  Id: number;
  ProductName: string;
  SupplierId: number;
  CategoryId: number;
  QuantityPerUnit: string;
  UnitPrice: number;
  UnitsInStock: number;
  UnitsOnOrder: number;
  ReorderLevel: number;
  Discontinued: number;
}

/** A product with its category and supplier, as the `ProductDetails_V` view returns it. */
export interface ProductDetails extends Product {
  CategoryName: string;
  CategoryDescription: string;
  SupplierName: string;
  SupplierRegion: string;
}

export interface Order {
  Id: number;
  CustomerId: string | null;
  EmployeeId: number;
  OrderDate: string | null;
  RequiredDate: string | null;
  ShippedDate: string | null;
  ShipVia: number | null;
  ShipperName: string | null;
  Freight: number;
  ShipName: string | null;
  ShipAddress: string | null;
  ShipCity: string | null;
  ShipRegion: string | null;
  ShipPostalCode: string | null;
  ShipCountry: string | null;
}

export interface OrderItem {
  ProductId: number;
  /** Null when the line item names a product missing from the Product table. */
  ProductName: string | null;
  UnitPrice: number;
  Quantity: number;
  Discount: number;
}

export interface Customer {
  Id: string;
  CompanyName: string | null;
  ContactName: string | null;
  ContactTitle: string | null;
  Address: string | null;
  City: string | null;
  Region: string | null;
  PostalCode: string | null;
  Country: string | null;
  Phone: string | null;
  Fax: string | null;
}

export interface OrderDetails {
  order: Order;
  /** Null when the order's CustomerId has no Customer row, as in 29 orders of the dataset. */
  customer: Customer | null;
  items: OrderItem[];
  /** Sum of UnitPrice × Quantity × (1 − Discount) over the items, rounded to cents. */
  total: number;
}

export interface TopProduct {
  Id: number;
  ProductName: string;
  UnitsSold: number;
  Revenue: number;
}

export interface Stats {
  customers: number;
  products: number;
  orders: number;
  /** Revenue of every order line, rounded to cents. */
  revenue: number;
  topProducts: TopProduct[];
}

const PRODUCT_COLUMNS =
  "Id, ProductName, SupplierId, CategoryId, QuantityPerUnit, UnitPrice, UnitsInStock, UnitsOnOrder, ReorderLevel, Discontinued";

/** Returns one page of products in Id order and the total number of products. */
export async function listProducts(db: D1Database, page: number, limit: number): Promise<{ products: Product[]; total: number }> {
  const [rows, count] = await db.batch([
    db.prepare(`SELECT ${PRODUCT_COLUMNS} FROM Product ORDER BY Id LIMIT ?1 OFFSET ?2`).bind(limit, (page - 1) * limit),
    db.prepare("SELECT COUNT(*) AS total FROM Product"),
  ]);

  const total = (count!.results[0] as { total: number }).total;
  return { products: rows!.results as Product[], total };
}

/** Returns a product with its category and supplier, or null. */
export async function getProduct(db: D1Database, id: number): Promise<ProductDetails | null> {
  return db.prepare("SELECT * FROM ProductDetails_V WHERE Id = ?1").bind(id).first<ProductDetails>();
}

/** Returns an order with its customer and line items, or null. */
export async function getOrder(db: D1Database, id: number): Promise<OrderDetails | null> {
  // One batch, so the three reads see the same snapshot and cost one round trip.
  const [orders, customers, items] = await db.batch([
    db
      .prepare(
        `SELECT o.Id, o.CustomerId, o.EmployeeId, o.OrderDate, o.RequiredDate, o.ShippedDate,
                o.ShipVia, s.CompanyName AS ShipperName, o.Freight, o.ShipName, o.ShipAddress,
                o.ShipCity, o.ShipRegion, o.ShipPostalCode, o.ShipCountry
           FROM "Order" o LEFT JOIN Shipper s ON s.Id = o.ShipVia
          WHERE o.Id = ?1`,
      )
      .bind(id),
    db.prepare(`SELECT c.* FROM Customer c JOIN "Order" o ON o.CustomerId = c.Id WHERE o.Id = ?1`).bind(id),
    db
      .prepare(
        `SELECT d.ProductId, p.ProductName, d.UnitPrice, d.Quantity, d.Discount
           FROM OrderDetail d LEFT JOIN Product p ON p.Id = d.ProductId
          WHERE d.OrderId = ?1
          ORDER BY d.ProductId`,
      )
      .bind(id),
  ]);

  const order = orders!.results[0] as Order | undefined;
  if (!order) return null;

  const lines = items!.results as OrderItem[];
  const total = lines.reduce((sum, item) => sum + item.UnitPrice * item.Quantity * (1 - item.Discount), 0);
  return {
    order,
    customer: (customers!.results[0] as Customer | undefined) ?? null,
    items: lines,
    total: Math.round(total * 100) / 100,
  };
}

/** Maximum number of customers one search returns. */
export const CUSTOMER_SEARCH_LIMIT = 100;

/** Escapes LIKE's wildcards so that `%`, `_` and `\` in a search match themselves. */
function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Returns customers whose company or contact name contains `q`, ordered by
 * company name. An empty `q` matches every customer.
 */
export async function searchCustomers(db: D1Database, q: string): Promise<Customer[]> {
  // NOTE: SQLite's LIKE folds case for ASCII letters only, so "josé" finds
  // "José" but "JOSÉ" does not. D1 runs SQLite, so production should match,
  // but that is not checked here.
  const { results } = await db
    .prepare(
      `SELECT * FROM Customer
        WHERE CompanyName LIKE ?1 ESCAPE '\\' OR ContactName LIKE ?1 ESCAPE '\\'
        ORDER BY CompanyName, Id
        LIMIT ?2`,
    )
    .bind(likeContains(q), CUSTOMER_SEARCH_LIMIT)
    .all<Customer>();
  return results;
}

const LINE_REVENUE = "d.UnitPrice * d.Quantity * (1 - d.Discount)";

/** Returns row counts, total revenue and the five products with the highest revenue. */
export async function getStats(db: D1Database): Promise<Stats> {
  const [totals, top] = await db.batch([
    db.prepare(
      `SELECT (SELECT COUNT(*) FROM Customer) AS customers,
              (SELECT COUNT(*) FROM Product) AS products,
              (SELECT COUNT(*) FROM "Order") AS orders,
              (SELECT ROUND(COALESCE(SUM(${LINE_REVENUE}), 0), 2) FROM OrderDetail d) AS revenue`,
    ),
    db.prepare(
      `SELECT p.Id, p.ProductName, SUM(d.Quantity) AS UnitsSold, ROUND(SUM(${LINE_REVENUE}), 2) AS Revenue
         FROM OrderDetail d JOIN Product p ON p.Id = d.ProductId
        GROUP BY p.Id
        ORDER BY SUM(${LINE_REVENUE}) DESC, p.Id
        LIMIT 5`,
    ),
  ]);

  const counts = totals!.results[0] as Omit<Stats, "topProducts">;
  return { ...counts, topProducts: top!.results as TopProduct[] };
}
