// Fixtures for the return tests: a shop of its own per test (workspace, key, catalog), promotions
// written with SQL (published, the workspace's promotions version bumped so the pricing cache sees
// them), sales and returns through the API, and the ledger invariant.
import { expect } from "vitest";
import type { Reply, TestServer } from "./harness.js";

export interface Shop {
  readonly workspaceId: string;
  /** The shop's admin key. */
  readonly key: string;
}

export const CATALOG = [
  { sku: "COFFEE", name: "Coffee", priceMinor: 350, categories: ["drinks"] },
  { sku: "SHIRT", name: "Shirt", priceMinor: 2999, categories: ["clothes"] },
  { sku: "SOCKS", name: "Socks", priceMinor: 499, categories: ["clothes"] },
  { sku: "MUG", name: "Mug", priceMinor: 1250, categories: ["home"] },
] as const;

/** A new workspace with the catalog above and the given promotions published. */
export async function openShop(server: TestServer, promotions: readonly object[] = []): Promise<Shop> {
  const { workspaceId, admin } = await server.newWorkspace();
  for (const item of CATALOG) {
    await server.db.query(
      `insert into catalog_items (workspace_id, sku, name, price_minor, categories) values ($1, $2, $3, $4, $5)`,
      [workspaceId, item.sku, item.name, item.priceMinor, item.categories],
    );
  }
  for (const p of promotions) await publish(server, workspaceId, p);
  return { workspaceId, key: admin };
}

export async function publish(server: TestServer, workspaceId: string, promotion: object): Promise<void> {
  const { id, name } = promotion as { id: string; name: string };
  await server.db.query(
    `insert into promotions (workspace_id, id, name, status, definition) values ($1, $2, $3, 'published', $4)`,
    [workspaceId, id, name, promotion],
  );
  await server.db.query(`update workspaces set promotions_version = promotions_version + 1 where id = $1`, [
    workspaceId,
  ]);
}

type LimitRule = { level: string; measure: string; max: number; window: object };
const STARTS_AT = "2026-01-01T00:00:00Z";

/** Seed 000's free coffee: every coffee costs 0, one "time" per coffee. */
export function freeCoffee(id: string, limits: LimitRule[] = [], extra: object = {}): object {
  return {
    id,
    name: `Free coffee ${id}`,
    type: "pos",
    schedule: { startsAt: STARTS_AT },
    conditions: [],
    benefit: {
      kind: "products",
      target: {
        kind: "selector",
        scope: { include: [{ kind: "categories", categories: ["drinks"] }] },
        quantity: { kind: "all" },
      },
      value: { kind: "exact_price", amountMinor: 0 },
      repeat: { per: 1, kpi: "quantity" },
    },
    limits,
    ...extra,
  };
}

/** bps off every unit of a category. */
export function categoryPercent(id: string, category: string, bps: number, limits: LimitRule[] = []): object {
  return {
    id,
    name: `${bps / 100}% off ${category} (${id})`,
    type: "pos",
    schedule: { startsAt: STARTS_AT },
    conditions: [],
    benefit: {
      kind: "products",
      target: {
        kind: "selector",
        scope: { include: [{ kind: "categories", categories: [category] }] },
        quantity: { kind: "all" },
      },
      value: { kind: "percentage", bps },
    },
    limits,
  };
}

/** bps off the cart. */
export function cartPercent(id: string, bps: number, limits: LimitRule[] = []): object {
  return {
    id,
    name: `${bps / 100}% off the cart (${id})`,
    type: "pos",
    schedule: { startsAt: STARTS_AT },
    conditions: [],
    benefit: { kind: "cart", value: { kind: "percentage", bps } },
    limits,
  };
}

export const lifetime = { kind: "lifetime" } as const;

export function customerRule(
  measure: "times" | "transactions" | "discount",
  max: number,
  window: object = lifetime,
) {
  return { level: "customer", measure, max, window };
}

export interface SaleLine {
  readonly lineId: string;
  readonly sku: string;
  readonly quantity: number;
  readonly unitPriceMinor: number;
  readonly grossMinor: number;
  readonly discountMinor: number;
  readonly netMinor: number;
  readonly discounts: readonly { promotionId: string; amountMinor: number; units: number }[];
}

export interface SaleReceipt {
  readonly saleId: string;
  readonly lines: readonly SaleLine[];
  readonly totals: { grossMinor: number; discountMinor: number; netMinor: number };
}

export interface ReturnReceipt {
  readonly returnId: string;
  readonly saleId: string;
  readonly transactionId: string;
  readonly occurredAt: string;
  readonly lines: readonly {
    lineId: string;
    quantity: number;
    refundMinor: number;
    discountReversedMinor: number;
  }[];
  readonly refundMinor: number;
  readonly discountReversedMinor: number;
  readonly restored: readonly { promotionId: string; rule: string; amount: number }[];
}

export async function sell(
  server: TestServer,
  shop: Shop,
  body: {
    transactionId: string;
    customerId?: string;
    lines: { id: string; sku: string; quantity: number }[];
  },
): Promise<SaleReceipt> {
  const sale = await server.request<SaleReceipt>("POST", "/v1/sales", { key: shop.key, body });
  expect(sale.status, JSON.stringify(sale.body)).toBe(201);
  return sale.body;
}

export async function giveBack(
  server: TestServer,
  shop: Shop,
  body: Record<string, unknown>,
  key: string = shop.key,
): Promise<Reply<ReturnReceipt & Record<string, unknown>>> {
  return server.request<ReturnReceipt & Record<string, unknown>>("POST", "/v1/returns", { key, body });
}

/** giveBack that must succeed. */
export async function returned(
  server: TestServer,
  shop: Shop,
  body: Record<string, unknown>,
): Promise<ReturnReceipt> {
  const reply = await giveBack(server, shop, body);
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  expect(reply.headers["idempotent-replayed"]).toBe("false");
  return reply.body;
}

/** What the database holds about a sale that a return changes. */
export async function saleState(server: TestServer, shop: Shop, saleId: string) {
  const q = async (sql: string) => (await server.db.query(sql, [shop.workspaceId, saleId])).rows;
  return {
    lines: await q(
      `select line_id, returned_quantity from sale_lines where workspace_id = $1 and sale_id = $2 order by line_id`,
    ),
    redemptions: await q(
      `select promotion_id, reversed_minor from redemptions where workspace_id = $1 and sale_id = $2 order by promotion_id`,
    ),
    ledger: await q(
      `select promotion_id, rule, subject, cycle_start, amount, return_id from limit_ledger
        where workspace_id = $1 and sale_id = $2 order by promotion_id, rule, return_id nulls first, amount`,
    ),
    returns: await q(`select id from returns where workspace_id = $1 and sale_id = $2 order by id`),
  };
}

/** Net amount the sale's returns gave back per (promotion, rule): restored limits. */
export async function restoredBySale(
  server: TestServer,
  shop: Shop,
  saleId: string,
): Promise<Record<string, number>> {
  const { rows } = await server.db.query<{ key: string; restored: number }>(
    `select promotion_id || ' ' || rule as key, -sum(amount)::bigint as restored from limit_ledger
      where workspace_id = $1 and sale_id = $2 and amount < 0 group by 1 order by 1`,
    [shop.workspaceId, saleId],
  );
  return Object.fromEntries(rows.map((r) => [r.key, r.restored]));
}

export async function counterUsed(
  server: TestServer,
  shop: Shop,
  promotionId: string,
  rule: string,
  subject: string,
): Promise<{ used: number; cycleStart: Date } | null> {
  const { rows } = await server.db.query<{ used: number; cycleStart: Date }>(
    `select used, cycle_start as "cycleStart" from limit_counters
      where workspace_id = $1 and promotion_id = $2 and rule = $3 and subject = $4`,
    [shop.workspaceId, promotionId, rule, subject],
  );
  return rows[0] ?? null;
}

/** Every counter's used equals the ledger's sum for its (promotion, rule, subject, cycle). */
export async function expectLedgerInvariant(server: TestServer): Promise<void> {
  const { rows } = await server.db.query(
    `select c.workspace_id, c.promotion_id, c.rule, c.subject, c.cycle_start, c.used,
            coalesce((select sum(l.amount) from limit_ledger l
                       where l.workspace_id = c.workspace_id and l.promotion_id = c.promotion_id
                         and l.rule = c.rule and l.subject = c.subject and l.cycle_start = c.cycle_start), 0)::bigint as ledger
       from limit_counters c`,
  );
  expect(rows.filter((r: { used: number; ledger: number }) => r.used !== r.ledger)).toEqual([]);
  const { rows: sold } = await server.db.query(
    `select workspace_id, sale_id, line_id from sale_lines where returned_quantity > quantity or returned_quantity < 0`,
  );
  expect(sold).toEqual([]);
}
