// Returns on a real database: refunds and reversals to the minor unit, proportional and cumulative (one
// at a time equals all at once), idempotent, never more than was sold (also under concurrency), limits
// restored by policy and in the sale's cycle, tenants apart, bad input refused; the ledger always adds up.
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { saleReturns } from "../../src/store/returns.js";
import { startServer, type TestServer } from "./harness.js";
import {
  cartPercent,
  categoryPercent,
  counterUsed,
  customerRule,
  expectLedgerInvariant,
  freeCoffee,
  giveBack,
  openShop,
  restoredBySale,
  returned,
  saleState,
  sell,
  type Shop,
} from "./fixtures-returns.js";

let server: TestServer;
const START = Date.parse("2026-03-02T10:00:00Z");
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => server?.close());
afterEach(async () => {
  server.clock.now = START;
  await expectLedgerInvariant(server);
});

const TIMES = "customer:times:lifetime";
const BASKET = [
  { id: "a", sku: "SHIRT", quantity: 3 },
  { id: "b", sku: "SOCKS", quantity: 2 },
  { id: "c", sku: "MUG", quantity: 1 },
];

/** 20% off clothes, then 10% off the cart: two promotions on the clothes lines. */
async function clothesShop(): Promise<Shop> {
  return openShop(server, [categoryPercent("clothes-20", "clothes", 2000), cartPercent("cart-10", 1000)]);
}

describe("returns", () => {
  it("returns a whole sale: everything refunded, every discount reversed, the receipt readable", async () => {
    const shop = await clothesShop();
    const sale = await sell(server, shop, { transactionId: "t1", lines: BASKET });
    const back = await returned(server, shop, { returnId: "r1", transactionId: "t1" });
    expect(back).toMatchObject({ returnId: "r1", saleId: sale.saleId, transactionId: "t1", restored: [] });
    expect(back.occurredAt).toBe(new Date(START).toISOString());
    expect(back.lines.map((l) => [l.lineId, l.quantity, l.refundMinor, l.discountReversedMinor])).toEqual(
      sale.lines.map((l) => [l.lineId, l.quantity, l.netMinor, l.discountMinor]),
    );
    expect(back.refundMinor).toBe(sale.totals.netMinor);
    expect(back.discountReversedMinor).toBe(sale.totals.discountMinor);
    const state = await saleState(server, shop, sale.saleId);
    expect(state.lines).toEqual(BASKET.map((l) => ({ line_id: l.id, returned_quantity: l.quantity })));
    expect(state.redemptions).toEqual([
      { promotion_id: "cart-10", reversed_minor: 924 },
      { promotion_id: "clothes-20", reversed_minor: 2000 },
    ]);

    const read = await server.request("GET", "/v1/returns/r1", { key: shop.key });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(back);
    expect(await saleReturns(server.db, shop.workspaceId, sale.saleId)).toEqual([back]);

    const again = await giveBack(server, shop, { returnId: "r2", transactionId: "t1" });
    expect(again.status).toBe(422);
    expect(again.body["errors"]).toEqual([
      expect.objectContaining({ code: "nothing_to_return", path: "/lines" }),
    ]);
  });

  it("reverses by hand-computed amounts for a basket with a product and a cart percentage", async () => {
    const shop = await clothesShop();
    const sale = await sell(server, shop, { transactionId: "t1", lines: BASKET });
    // Shirts 3 × 29.99 = 89.97, 20% = 6.00 a unit = 18.00; socks 2 × 4.99 = 9.98, 20% = 1.00 a unit = 2.00.
    // The cart's 10% of what is left (71.97 + 7.98 + 12.50 = 92.45) is 9.245 → 9.24 (half-even), split
    // by largest remainder over the lines' remaining amounts: 7.197 → 7.19, 0.798 → 0.80, 1.25.
    expect(
      sale.lines.map((l) => Object.fromEntries(l.discounts.map((d) => [d.promotionId, d.amountMinor]))),
    ).toEqual([
      { "clothes-20": 1800, "cart-10": 719 },
      { "clothes-20": 200, "cart-10": 80 },
      { "cart-10": 125 },
    ]);

    // One shirt: floor(1800 × 1/3) = 600 and floor(719 × 1/3) = 239 → reversed 839, refund 2999 − 839.
    // One sock: floor(200 × 1/2) = 100 and floor(80 × 1/2) = 40 → reversed 140, refund 499 − 140.
    const first = await returned(server, shop, {
      returnId: "r1",
      transactionId: "t1",
      lines: [
        { lineId: "a", quantity: 1 },
        { lineId: "b", quantity: 1 },
      ],
    });
    expect(first.lines).toEqual([
      { lineId: "a", quantity: 1, refundMinor: 2160, discountReversedMinor: 839 },
      { lineId: "b", quantity: 1, refundMinor: 359, discountReversedMinor: 140 },
    ]);
    expect([first.refundMinor, first.discountReversedMinor]).toEqual([2519, 979]);

    // A second shirt: floor(1800 × 2/3) − 600 = 600 and floor(719 × 2/3) − 239 = 479 − 239 = 240.
    const second = await returned(server, shop, {
      returnId: "r2",
      transactionId: "t1",
      lines: [{ lineId: "a", quantity: 1 }],
    });
    expect(second.lines).toEqual([
      { lineId: "a", quantity: 1, refundMinor: 2159, discountReversedMinor: 840 },
    ]);

    // The rest (the last shirt, the last sock, the mug): each line's totals come out exact.
    // Shirt: 1800 − 1200 = 600, 719 − 479 = 240. Sock: 200 − 100 = 100, 80 − 40 = 40. Mug: 125.
    const rest = await returned(server, shop, { returnId: "r3", transactionId: "t1" });
    expect(rest.lines).toEqual([
      { lineId: "a", quantity: 1, refundMinor: 2159, discountReversedMinor: 840 },
      { lineId: "b", quantity: 1, refundMinor: 359, discountReversedMinor: 140 },
      { lineId: "c", quantity: 1, refundMinor: 1125, discountReversedMinor: 125 },
    ]);
    expect(first.refundMinor + second.refundMinor + rest.refundMinor).toBe(sale.totals.netMinor);
    expect((await saleState(server, shop, sale.saleId)).redemptions).toEqual([
      { promotion_id: "cart-10", reversed_minor: 924 },
      { promotion_id: "clothes-20", reversed_minor: 2000 },
    ]);
    const listed = await saleReturns(server.db, shop.workspaceId, sale.saleId);
    expect(listed.map((r) => r.returnId)).toEqual(["r1", "r2", "r3"]);
  });

  it("returns part of a sale by line and quantity, and only what is left afterwards", async () => {
    const shop = await clothesShop();
    const sale = await sell(server, shop, { transactionId: "t1", lines: BASKET });
    const part = await returned(server, shop, {
      returnId: "r1",
      transactionId: "t1",
      lines: [{ lineId: "c", quantity: 1 }],
    });
    expect(part.lines).toEqual([{ lineId: "c", quantity: 1, refundMinor: 1125, discountReversedMinor: 125 }]);
    expect((await saleState(server, shop, sale.saleId)).lines).toEqual([
      { line_id: "a", returned_quantity: 0 },
      { line_id: "b", returned_quantity: 0 },
      { line_id: "c", returned_quantity: 1 },
    ]);
    const rest = await returned(server, shop, { returnId: "r2", transactionId: "t1" });
    expect(rest.lines.map((l) => [l.lineId, l.quantity])).toEqual([
      ["a", 3],
      ["b", 2],
    ]);
  });

  it("reverses one unit at a time exactly what it reverses all at once", async () => {
    const shop = await openShop(server, [
      freeCoffee("coffee", [customerRule("times", 1_000), customerRule("discount", 10_000_000)]),
      categoryPercent("clothes-15", "clothes", 1500, [customerRule("transactions", 1_000)]),
      cartPercent("cart-7", 700, [customerRule("discount", 10_000_000), customerRule("times", 1_000)]),
    ]);
    const skus = ["COFFEE", "SHIRT", "SOCKS", "MUG"];
    const basket = fc.uniqueArray(
      fc.record({ sku: fc.constantFrom(...skus), quantity: fc.integer({ min: 1, max: 4 }) }),
      { minLength: 1, maxLength: 4, selector: (l) => l.sku },
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(basket, fc.infiniteStream(fc.nat()), async (lines, picks) => {
        run += 1;
        const body = (who: string) => ({
          transactionId: `${who}-${run}`,
          customerId: `${who}-${run}`,
          lines: lines.map((l, i) => ({ id: `l${i}`, ...l })),
        });
        const oneByOne = await sell(server, shop, body("one"));
        const together = await sell(server, shop, body("all"));
        expect(oneByOne.totals).toEqual(together.totals);

        // One unit per return, lines picked in an arbitrary order.
        const left = new Map(lines.map((l, i) => [`l${i}`, l.quantity]));
        const perLine = new Map<string, { refundMinor: number; discountReversedMinor: number }>();
        const pick = picks[Symbol.iterator]();
        for (let n = 0; left.size > 0; n++) {
          const ids = [...left.keys()];
          const lineId = ids[pick.next().value % ids.length]!;
          const back = await returned(server, shop, {
            returnId: `one-${run}-${n}`,
            transactionId: `one-${run}`,
            lines: [{ lineId, quantity: 1 }],
          });
          const sum = perLine.get(lineId) ?? { refundMinor: 0, discountReversedMinor: 0 };
          sum.refundMinor += back.refundMinor;
          sum.discountReversedMinor += back.discountReversedMinor;
          perLine.set(lineId, sum);
          if (left.get(lineId) === 1) left.delete(lineId);
          else left.set(lineId, left.get(lineId)! - 1);
        }
        const all = await returned(server, shop, { returnId: `all-${run}`, transactionId: `all-${run}` });

        for (const line of all.lines) {
          expect(perLine.get(line.lineId)).toEqual({
            refundMinor: line.refundMinor,
            discountReversedMinor: line.discountReversedMinor,
          });
        }
        expect(all.refundMinor).toBe(together.totals.netMinor);
        const [one, whole] = [
          await saleState(server, shop, oneByOne.saleId),
          await saleState(server, shop, together.saleId),
        ];
        expect(one.redemptions).toEqual(whole.redemptions);
        expect(await restoredBySale(server, shop, oneByOne.saleId)).toEqual(
          await restoredBySale(server, shop, together.saleId),
        );
        // All back: every limit the sale consumed is given back in full.
        const consumed = await server.db.query<{ promotion_id: string; rule: string; net: number }>(
          `select promotion_id, rule, sum(amount)::bigint as net from limit_ledger
            where workspace_id = $1 and sale_id = any($2::text[]) group by 1, 2 having sum(amount) <> 0`,
          [shop.workspaceId, [oneByOne.saleId, together.saleId]],
        );
        expect(consumed.rows).toEqual([]);
      }),
      { numRuns: 8, seed: 20260302 },
    );
  });

  it("answers a retry with the first result's bytes, and another body with the same id with 409", async () => {
    const shop = await clothesShop();
    const sale = await sell(server, shop, { transactionId: "t1", lines: BASKET });
    const body = { returnId: "r1", transactionId: "t1", lines: [{ lineId: "a", quantity: 2 }] };
    const post = (payload: object) =>
      server.app.inject({
        method: "POST",
        url: "/v1/returns",
        headers: { authorization: `Bearer ${shop.key}` },
        payload,
      });
    const first = await post(body);
    expect(first.statusCode).toBe(201);
    expect(first.headers["idempotent-replayed"]).toBe("false");
    const state = await saleState(server, shop, sale.saleId);

    // The same body with its keys in another order is the same request.
    const retry = await post({ lines: [{ quantity: 2, lineId: "a" }], transactionId: "t1", returnId: "r1" });
    expect(retry.statusCode).toBe(201);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.body).toBe(first.body);

    const other = await post({ ...body, lines: [{ lineId: "a", quantity: 1 }] });
    expect(other.statusCode).toBe(409);
    expect(other.json()).toMatchObject({ type: "https://till.dev/problems/return_id_reused", status: 409 });
    expect(await saleState(server, shop, sale.saleId)).toEqual(state);

    const read = await server.app.inject({
      method: "GET",
      url: "/v1/returns/r1",
      headers: { authorization: `Bearer ${shop.key}` },
    });
    expect(read.body).toBe(first.body);
  });

  it("refuses more than is left, an unknown line and a line named twice, and changes nothing", async () => {
    const shop = await clothesShop();
    const sale = await sell(server, shop, { transactionId: "t1", lines: BASKET });
    await returned(server, shop, {
      returnId: "r0",
      transactionId: "t1",
      lines: [{ lineId: "a", quantity: 1 }],
    });
    const before = await saleState(server, shop, sale.saleId);
    const refused = await giveBack(server, shop, {
      returnId: "r1",
      transactionId: "t1",
      lines: [
        { lineId: "a", quantity: 3 },
        { lineId: "zz", quantity: 1 },
        { lineId: "b", quantity: 1 },
        { lineId: "b", quantity: 1 },
      ],
    });
    expect(refused.status).toBe(422);
    expect(refused.body["errors"]).toEqual([
      {
        code: "quantity_exceeds_returnable",
        path: "/lines/0/quantity",
        message: '2 of the 3 units sold on line "a" are left to return',
      },
      { code: "unknown_line", path: "/lines/1/lineId", message: 'the sale has no line "zz"' },
      { code: "duplicate_line_id", path: "/lines/3/lineId", message: 'line "b" is named twice' },
    ]);
    expect(await saleState(server, shop, sale.saleId)).toEqual(before);
    expect((await server.request("GET", "/v1/returns/r1", { key: shop.key })).status).toBe(404);

    // The refused id was never taken: it serves a valid return.
    await returned(server, shop, {
      returnId: "r1",
      transactionId: "t1",
      lines: [{ lineId: "a", quantity: 2 }],
    });
    const none = await giveBack(server, shop, {
      returnId: "r2",
      transactionId: "t1",
      lines: [{ lineId: "a", quantity: 1 }],
    });
    expect(none.status).toBe(422);
    expect(none.body["errors"]).toEqual([
      expect.objectContaining({
        path: "/lines/0/quantity",
        message: '0 of the 3 units sold on line "a" are left to return',
      }),
    ]);
  });

  it("gives back the free coffees of the returned units: 4 used, 2 returned, then 3 of 4 are free", async () => {
    const shop = await openShop(server, [freeCoffee("coffee-free", [customerRule("times", 5)])]);
    const coffees = (transactionId: string) => ({
      transactionId,
      customerId: "c1",
      lines: [{ id: "1", sku: "COFFEE", quantity: 4 }],
    });
    const sale = await sell(server, shop, coffees("t1"));
    expect(sale.totals.discountMinor).toBe(1400);
    expect(await counterUsed(server, shop, "coffee-free", TIMES, "c1")).toMatchObject({ used: 4 });

    const back = await returned(server, shop, {
      returnId: "r1",
      transactionId: "t1",
      lines: [{ lineId: "1", quantity: 2 }],
    });
    expect(back.lines).toEqual([{ lineId: "1", quantity: 2, refundMinor: 0, discountReversedMinor: 700 }]);
    expect(back.restored).toEqual([{ promotionId: "coffee-free", rule: TIMES, amount: 2 }]);
    expect(await counterUsed(server, shop, "coffee-free", TIMES, "c1")).toMatchObject({ used: 2 });

    const next = await sell(server, shop, coffees("t2"));
    expect(next.totals).toEqual({ grossMinor: 1400, discountMinor: 1050, netMinor: 350 });
  });

  it("keeps the limits of a promotion whose policy says returns.restoreLimits: false", async () => {
    const shop = await openShop(server, [
      freeCoffee("coffee-kept", [customerRule("times", 5)], { returns: { restoreLimits: false } }),
    ]);
    const coffees = (transactionId: string) => ({
      transactionId,
      customerId: "c1",
      lines: [{ id: "1", sku: "COFFEE", quantity: 4 }],
    });
    const sale = await sell(server, shop, coffees("t1"));
    const back = await returned(server, shop, {
      returnId: "r1",
      transactionId: "t1",
      lines: [{ lineId: "1", quantity: 2 }],
    });
    expect(back.discountReversedMinor).toBe(700);
    expect(back.restored).toEqual([]);
    expect(await counterUsed(server, shop, "coffee-kept", TIMES, "c1")).toMatchObject({ used: 4 });
    expect(await restoredBySale(server, shop, sale.saleId)).toEqual({});
    const next = await sell(server, shop, coffees("t2"));
    expect(next.totals.discountMinor).toBe(350);
  });

  it("restores transactions only when the whole discount is reversed, and discount as it is reversed", async () => {
    const rules = [customerRule("transactions", 3), customerRule("discount", 100_000)];
    const shop = await openShop(server, [cartPercent("cart-10", 1000, rules)]);
    const sale = await sell(server, shop, { transactionId: "t1", customerId: "c1", lines: BASKET });
    const cartDiscount = sale.totals.discountMinor; // 10% of 112.45 → 11.24 (half-even)
    expect(cartDiscount).toBe(1124);
    const mug = await returned(server, shop, {
      returnId: "r1",
      transactionId: "t1",
      lines: [{ lineId: "c", quantity: 1 }],
    });
    expect(mug.restored).toEqual([
      { promotionId: "cart-10", rule: "customer:discount:lifetime", amount: mug.discountReversedMinor },
    ]);
    const rest = await returned(server, shop, { returnId: "r2", transactionId: "t1" });
    expect(rest.restored).toEqual([
      {
        promotionId: "cart-10",
        rule: "customer:discount:lifetime",
        amount: cartDiscount - mug.discountReversedMinor,
      },
      { promotionId: "cart-10", rule: "customer:transactions:lifetime", amount: 1 },
    ]);
    expect(await counterUsed(server, shop, "cart-10", "customer:transactions:lifetime", "c1")).toMatchObject({
      used: 0,
    });
    expect(await counterUsed(server, shop, "cart-10", "customer:discount:lifetime", "c1")).toMatchObject({
      used: 0,
    });
  });

  it("credits a fixed weekly window in the sale's week, never the week of the return", async () => {
    const weekly = { kind: "fixed", unit: "weeks", every: 1 };
    const rule = "customer:times:fixed_1_weeks";
    const shop = await openShop(server, [freeCoffee("coffee-weekly", [customerRule("times", 5, weekly)])]);
    const coffees = (transactionId: string, quantity: number) => ({
      transactionId,
      customerId: "c1",
      lines: [{ id: "1", sku: "COFFEE", quantity }],
    });
    // Weeks start on Monday, local midnight in Europe/Berlin: 2026-03-02 00:00 +01:00 and 2026-03-09.
    const week1 = Date.parse("2026-03-01T23:00:00Z");
    const week2 = Date.parse("2026-03-08T23:00:00Z");
    server.clock.now = Date.parse("2026-03-04T10:00:00Z");
    const first = await sell(server, shop, coffees("t1", 3));
    expect(first.totals.discountMinor).toBe(3 * 350);
    expect(await counterUsed(server, shop, "coffee-weekly", rule, "c1")).toEqual({
      used: 3,
      cycleStart: new Date(week1),
    });
    server.clock.now = Date.parse("2026-03-10T10:00:00Z");
    await sell(server, shop, coffees("t2", 2));
    expect(await counterUsed(server, shop, "coffee-weekly", rule, "c1")).toEqual({
      used: 2,
      cycleStart: new Date(week2),
    });

    const back = await returned(server, shop, { returnId: "r1", transactionId: "t1" });
    expect(back.restored).toEqual([{ promotionId: "coffee-weekly", rule, amount: 3 }]);
    expect(await counterUsed(server, shop, "coffee-weekly", rule, "c1")).toEqual({
      used: 2,
      cycleStart: new Date(week2),
    });
    const { rows } = await server.db.query(
      `select cycle_start, occurred_at, amount from limit_ledger where workspace_id = $1 and return_id = 'r1'`,
      [shop.workspaceId],
    );
    expect(rows).toEqual([
      { cycle_start: new Date(week1), occurred_at: new Date("2026-03-04T10:00:00Z"), amount: -3 },
    ]);
    const next = await sell(server, shop, coffees("t3", 4));
    expect(next.totals.discountMinor).toBe(3 * 350);
  });

  it("lets exactly 10 of 20 concurrent one-unit returns of a 10-unit line through", async () => {
    const shop = await clothesShop();
    const sale = await sell(server, shop, {
      transactionId: "t1",
      lines: [{ id: "socks", sku: "SOCKS", quantity: 10 }],
    });
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        giveBack(server, shop, {
          returnId: `r${i}`,
          transactionId: "t1",
          lines: [{ lineId: "socks", quantity: 1 }],
        }),
      ),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 422)).toHaveLength(10);
    const state = await saleState(server, shop, sale.saleId);
    expect(state.lines).toEqual([{ line_id: "socks", returned_quantity: 10 }]);
    expect(state.returns).toHaveLength(10);
    const refunds = replies.filter((r) => r.status === 201).map((r) => r.body.refundMinor);
    expect(refunds.reduce((a, b) => a + b, 0)).toBe(sale.totals.netMinor);
    expect(state.redemptions).toEqual(
      sale.lines[0]!.discounts.map((d) => ({
        promotion_id: d.promotionId,
        reversed_minor: d.amountMinor,
      })).sort((x, y) => (x.promotion_id < y.promotion_id ? -1 : 1)),
    );
  });

  it("keeps workspaces apart and admits the roles the routes name", async () => {
    const shop = await clothesShop();
    await sell(server, shop, { transactionId: "t1", lines: BASKET });
    await returned(server, shop, {
      returnId: "r1",
      transactionId: "t1",
      lines: [{ lineId: "a", quantity: 1 }],
    });
    const other = await server.newWorkspace();
    const stranger = await giveBack(server, shop, { returnId: "r2", transactionId: "t1" }, other.admin);
    expect(stranger.status).toBe(404);
    expect((await server.request("GET", "/v1/returns/r1", { key: other.admin })).status).toBe(404);
    // The same return id is free in the other workspace: it is only refused for want of a sale there.
    expect((await giveBack(server, shop, { returnId: "r1", transactionId: "t1" }, other.admin)).status).toBe(
      404,
    );

    const marketer = await server.newKey("marketer", { workspaceId: shop.workspaceId });
    expect((await giveBack(server, shop, { returnId: "r3", transactionId: "t1" }, marketer)).status).toBe(
      403,
    );
    expect((await server.request("GET", "/v1/returns/r1", { key: marketer })).status).toBe(200);
    const pos = await server.newKey("pos", { workspaceId: shop.workspaceId });
    const byTill = await giveBack(server, shop, { returnId: "r3", transactionId: "t1" }, pos);
    expect(byTill.status).toBe(201);
    expect(byTill.body.lines.map((l) => [l.lineId, l.quantity])).toEqual([
      ["a", 2],
      ["b", 2],
      ["c", 1],
    ]);
    const unknown = await giveBack(server, shop, { returnId: "r4", transactionId: "nope" });
    expect(unknown.status).toBe(404);
  });

  it("refunds every unit of a line two promotions discounted to 0, one at a time, never below 0", async () => {
    const cartFixed = (id: string, amountMinor: number) => ({
      ...(cartPercent(id, 100) as Record<string, unknown>),
      name: `${amountMinor} off (${id})`,
      benefit: { kind: "cart", value: { kind: "fixed_amount", amountMinor } },
    });
    // Three socks at 4.99: 2.50 off, then a 100.00 voucher takes the rest: the line costs 0, and
    // neither promotion's amount (250, 1247) divides by 3.
    const shop = await openShop(server, [cartFixed("a-250", 250), cartFixed("b-voucher", 10_000)]);
    const sale = await sell(server, shop, {
      transactionId: "t1",
      lines: [{ id: "s", sku: "SOCKS", quantity: 3 }],
    });
    expect(sale.totals).toEqual({ grossMinor: 1497, discountMinor: 1497, netMinor: 0 });
    const refunds: number[] = [];
    for (const n of [1, 2, 3]) {
      const back = await returned(server, shop, {
        returnId: `r${n}`,
        transactionId: "t1",
        lines: [{ lineId: "s", quantity: 1 }],
      });
      refunds.push(back.refundMinor);
    }
    expect(refunds).toEqual([0, 0, 0]);
    const { rows } = await server.db.query(
      `select promotion_id, reversed_minor from redemptions where workspace_id = $1 order by promotion_id`,
      [shop.workspaceId],
    );
    expect(rows).toEqual([
      { promotion_id: "a-250", reversed_minor: 250 },
      { promotion_id: "b-voucher", reversed_minor: 1247 },
    ]);
  });

  it("refuses bad input with 400, naming the path", async () => {
    const shop = await clothesShop();
    await sell(server, shop, { transactionId: "t1", lines: BASKET });
    const cases: [Record<string, unknown>, string][] = [
      [{ returnId: "r", transactionId: "t1", lines: [{ lineId: "a", quantity: -1 }] }, "/lines/0/quantity"],
      [{ returnId: "r", transactionId: "t1", lines: [{ lineId: "a", quantity: 1.5 }] }, "/lines/0/quantity"],
      [{ returnId: "r", transactionId: "t1", lines: [{ lineId: "a", quantity: 0 }] }, "/lines/0/quantity"],
      [{ returnId: "r", transactionId: "t1", refund: 5 }, "/refund"],
      [
        { returnId: "r", transactionId: "t1", lines: [{ lineId: "a", quantity: 1, sku: "X" }] },
        "/lines/0/sku",
      ],
      [{ transactionId: "t1" }, "/returnId"],
      [{ returnId: "r", transactionId: "t1", lines: [] }, "/lines"],
    ];
    for (const [body, path] of cases) {
      const reply = await giveBack(server, shop, body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body["errors"], JSON.stringify(body)).toEqual([expect.objectContaining({ path })]);
    }
    expect(
      (await server.db.query(`select 1 from returns where workspace_id = $1`, [shop.workspaceId])).rowCount,
    ).toBe(0);
  });
});
