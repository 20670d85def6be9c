// Under 64 concurrent sales a limit is never exceeded and what is left of it is always used, for
// per-customer, global, per-code and discount-amount limits, from a customer's first use on; the
// ledger always sums to the counters; 50 identical concurrent commits have one effect.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { counterMismatches, everyUnitAt, insertItems, insertPromotion } from "./fixtures.js";
import { startServer, type Reply, type TestServer } from "./harness.js";

const CONCURRENCY = 64;
const ROUNDS = 3;

interface Receipt {
  readonly totals: { grossMinor: number; discountMinor: number; netMinor: number };
  readonly applied: readonly {
    promotionId: string;
    discountMinor: number;
    instances: number;
    units: number;
  }[];
}

let server: TestServer;
let pos: string;
beforeAll(async () => {
  server = await startServer({}, { poolMax: 24 });
  pos = await server.newKey("pos");
  await insertItems(server, [
    { sku: "COFFEE", priceMinor: 300, categories: ["coffee"] },
    { sku: "CAKE", priceMinor: 400, categories: ["cake"] },
    { sku: "TEA", priceMinor: 250, categories: ["tea"] },
    { sku: "BAG", priceMinor: 1000, categories: ["bags"] },
  ]);
  await insertPromotion(server, {
    id: "coffee-5-per-customer",
    name: "Five free coffees per customer",
    benefit: everyUnitAt("coffee", 0),
    limits: [{ level: "customer", measure: "times", max: 5, window: { kind: "lifetime" } }],
  });
  await insertPromotion(server, {
    id: "cake-40-for-all",
    name: "Forty free cakes for everybody",
    benefit: everyUnitAt("cake", 0),
    limits: [{ level: "global", measure: "times", max: 40, window: { kind: "lifetime" } }],
  });
  await insertPromotion(
    server,
    {
      id: "tea-code",
      name: "Free tea with a code",
      type: "code",
      benefit: everyUnitAt("tea", 0),
      limits: [{ level: "code", measure: "transactions", max: 7, window: { kind: "lifetime" } }],
    },
    { codes: ["TEA4ME"] },
  );
  await insertPromotion(server, {
    id: "bags-budget",
    name: "Half-price bags, 25.00 per customer",
    benefit: everyUnitAt("bags", 500),
    limits: [{ level: "customer", measure: "discount", max: 2_500, window: { kind: "lifetime" } }],
  });
});
afterAll(async () => server?.close());

let sequence = 0;
async function sell(body: Record<string, unknown>): Promise<Reply<Receipt>> {
  const reply = await server.request<Receipt>("POST", "/v1/sales", {
    key: pos,
    body: { transactionId: `tx-${++sequence}`, ...body },
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply;
}

function unitsOf(receipts: readonly Reply<Receipt>[], promotionId: string): number {
  return receipts.reduce(
    (sum, r) =>
      sum + r.body.applied.filter((a) => a.promotionId === promotionId).reduce((s, a) => s + a.units, 0),
    0,
  );
}

describe.each(Array.from({ length: ROUNDS }, (_, i) => i + 1))("round %i", (round) => {
  it("a per-customer limit: 5 free coffees across 64 concurrent sales of the same new customer", async () => {
    const customerId = `first-use-${round}`;
    const receipts = await Promise.all(
      Array.from({ length: CONCURRENCY }, (_, i) =>
        sell({ customerId, lines: [{ id: "1", sku: "COFFEE", quantity: 1 + (i % 2) }] }),
      ),
    );
    expect(unitsOf(receipts, "coffee-5-per-customer")).toBe(5);
    const usage = await server.request<{
      promotions: { promotionId: string; rules: { used: number; remaining: number }[] }[];
    }>("GET", `/v1/customers/${customerId}/usage`);
    const coffee = usage.body.promotions.find((p) => p.promotionId === "coffee-5-per-customer");
    expect(coffee?.rules[0]).toMatchObject({ used: 5, remaining: 0, max: 5 });
  });

  it("a global limit: 40 free cakes across 64 concurrent sales of different customers", async () => {
    const before = await server.db.query<{ used: number }>(
      `select coalesce(sum(used), 0)::int as used from limit_counters where promotion_id = 'cake-40-for-all'`,
    );
    const receipts = await Promise.all(
      Array.from({ length: CONCURRENCY }, (_, i) =>
        sell({ customerId: `cake-${round}-${i}`, lines: [{ id: "1", sku: "CAKE", quantity: 1 }] }),
      ),
    );
    const given = unitsOf(receipts, "cake-40-for-all");
    expect(given).toBe(Math.max(0, 40 - before.rows[0]!.used));
  });

  it("a per-code limit: one code, 7 transactions, 64 concurrent sales presenting it", async () => {
    const receipts = await Promise.all(
      Array.from({ length: CONCURRENCY }, () =>
        sell({ codes: ["tea4me"], lines: [{ id: "1", sku: "TEA", quantity: 2 }] }),
      ),
    );
    const withTea = receipts.filter((r) => r.body.applied.some((a) => a.promotionId === "tea-code")).length;
    expect(withTea).toBe(round === 1 ? 7 : 0);
  });

  it("a discount-amount limit: 25.00 per customer, spent exactly, never exceeded", async () => {
    const customerId = `bags-${round}`;
    const receipts = await Promise.all(
      Array.from({ length: CONCURRENCY }, (_, i) =>
        sell({ customerId, lines: [{ id: "1", sku: "BAG", quantity: 1 + (i % 3) }] }),
      ),
    );
    const discount = receipts.reduce(
      (sum, r) =>
        sum +
        r.body.applied
          .filter((a) => a.promotionId === "bags-budget")
          .reduce((s, a) => s + a.discountMinor, 0),
      0,
    );
    expect(discount).toBe(2_500);
  });

  it("keeps every counter equal to its ledger and to the redemptions", async () => {
    expect(await counterMismatches(server)).toEqual([]);
    const { rows } = await server.db.query<{ promotion_id: string; instances: number; used: number }>(
      `select r.promotion_id, sum(r.instances)::int as instances,
              (select sum(used)::int from limit_counters c where c.promotion_id = r.promotion_id and c.rule like '%:times:%') as used
         from redemptions r where r.promotion_id in ('coffee-5-per-customer', 'cake-40-for-all') group by r.promotion_id`,
    );
    for (const row of rows) expect(row.instances, row.promotion_id).toBe(row.used);
  });
});

describe("metrics", () => {
  it("counts the sales priced again under lock, which the rounds above cannot do without", async () => {
    // 64 sales racing for the last units of a limit: those that priced with capacity another took
    // roll back and are priced again (hundreds over the rounds; one would do).
    const reply = await server.app.inject({ method: "GET", url: "/metrics" });
    const line = /^till_sales_repriced_total (\d+)$/m.exec(reply.body);
    expect(line, reply.body.slice(0, 300)).not.toBeNull();
    expect(Number(line![1])).toBeGreaterThan(0);
  });
});

describe("idempotency", () => {
  it("50 identical concurrent commits: one effect, 50 identical answers", async () => {
    const body = {
      transactionId: "same-50",
      customerId: "idem",
      lines: [{ id: "1", sku: "COFFEE", quantity: 3 }],
    };
    const replies = await Promise.all(
      Array.from({ length: 50 }, () => server.request("POST", "/v1/sales", { key: pos, body })),
    );
    expect(new Set(replies.map((r) => r.status))).toEqual(new Set([201]));
    expect(new Set(replies.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(replies.filter((r) => r.headers["idempotent-replayed"] === "false")).toHaveLength(1);
    const { rows } = await server.db.query(
      `select count(*)::int as n from sales where transaction_id = 'same-50'`,
    );
    expect(rows[0]).toEqual({ n: 1 });
    const usage = await server.db.query(`select used from limit_counters where subject = 'idem'`);
    expect(usage.rows).toEqual([{ used: 3 }]);
  });

  it("the same transaction id with another body is a 409 and changes nothing", async () => {
    const reply = await server.request("POST", "/v1/sales", {
      key: pos,
      body: {
        transactionId: "same-50",
        customerId: "idem",
        lines: [{ id: "1", sku: "COFFEE", quantity: 1 }],
      },
    });
    expect(reply.status).toBe(409);
    expect(reply.body["type"]).toMatch(/transaction_id_reused$/);
    const usage = await server.db.query(`select used from limit_counters where subject = 'idem'`);
    expect(usage.rows).toEqual([{ used: 3 }]);
  });
});
