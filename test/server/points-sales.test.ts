// Points on sales: a sale earns per currency unit × the best tier × the category bonus (hand-computed), burns a points tender at the till (422 and nothing written when short), returns claw back and give back in proportion (one at a time equals together), a replay earns once, concurrent burns never overdraw, the rules endpoint is validated and per tenant; the points invariant after every test.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { insertItems } from "./fixtures.js";
import { expectProblem, startServer, type TestServer } from "./harness.js";
import { expectPointsInvariant } from "./points-invariant.js";

interface SalePoints {
  earned: number;
  burned: number;
  balance: number;
}
interface Receipt {
  saleId: string;
  totals: { netMinor: number };
  points?: SalePoints;
}
interface ReturnPoints {
  clawedBack: number;
  shortfall: number;
  refunded: number;
  balance: number;
}
interface ReturnReceipt {
  refundMinor: number;
  points?: ReturnPoints;
}

let server: TestServer;
let pos: string;
let customers = 0;
const touched: string[] = [];

const RULES = {
  enabled: true,
  pointsPerUnit: 1,
  tierMultipliers: [
    { tierId: "gold", multiplierBps: 15_000 },
    { tierId: "silver", multiplierBps: 12_000 },
  ],
  categoryBonuses: [{ category: "clothes", multiplierBps: 20_000 }],
  burnValueMinorPerPoint: 3,
};
/** 3 shirts at 20.00 (clothes) and a mug at 9.99: net 69.99. */
const BASKET = [
  { id: "a", sku: "SHIRT", quantity: 3 },
  { id: "b", sku: "MUG", quantity: 1 },
];

beforeAll(async () => {
  server = await startServer();
  pos = await server.newKey("pos");
  await insertItems(server, [
    { sku: "SHIRT", priceMinor: 2000, categories: ["clothes"] },
    { sku: "MUG", priceMinor: 999, categories: ["home"] },
  ]);
  const put = await server.request("PUT", "/v1/points/rules", { body: RULES });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
});
afterAll(async () => server?.close());
afterEach(async () => {
  for (const id of touched.splice(0)) await expectPointsInvariant(server, id);
});

async function customer(tierIds: readonly string[] = [], points = 0): Promise<string> {
  const id = `c-${++customers}`;
  const memberships = tierIds.map((tierId, i) => ({ programId: `p${i}`, tierId }));
  const reply = await server.request("PUT", `/v1/customers/${id}`, { body: { memberships } });
  expect(reply.status, JSON.stringify(reply.body)).toBeLessThan(300);
  if (points > 0) {
    const earn = await server.request("POST", `/v1/customers/${id}/points/earn`, {
      body: { amount: points, reference: `seed-${id}` },
    });
    expect(earn.status, JSON.stringify(earn.body)).toBe(200);
  }
  touched.push(id);
  return id;
}

let sales = 0;
function sale(body: Record<string, unknown>) {
  return server.request<Receipt>("POST", "/v1/sales", {
    key: pos,
    body: { transactionId: `t-${++sales}`, lines: BASKET, ...body },
  });
}
async function sold(body: Record<string, unknown>): Promise<Receipt> {
  const reply = await sale(body);
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body;
}
async function giveBack(body: Record<string, unknown>): Promise<ReturnReceipt> {
  const reply = await server.request<ReturnReceipt>("POST", "/v1/returns", { key: pos, body });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body;
}
async function balance(id: string): Promise<number> {
  return (await server.request<{ balance: number }>("GET", `/v1/customers/${id}/points`)).body.balance;
}

describe("earning on sales", () => {
  it("earns per major unit × the best tier × the category bonus, floored once", async () => {
    // Shirts: 60.00 × 1.5 (gold beats silver) × 2 (clothes) = 180; mug: 9.99 × 1.5 = 14.985.
    const gold = await customer(["silver", "gold"]);
    expect((await sold({ customerId: gold })).points).toEqual({ earned: 194, burned: 0, balance: 194 });
    // No tier: 60.00 × 2 + 9.99 = 129.99.
    const plain = await customer();
    expect((await sold({ customerId: plain })).points).toEqual({ earned: 129, burned: 0, balance: 129 });
  });

  it("leaves an anonymous sale's receipt without points", async () => {
    expect((await sold({})).points).toBeUndefined();
  });

  it("a replayed sale earns once", async () => {
    const id = await customer();
    const body = { transactionId: "replay-1", customerId: id, lines: BASKET };
    const first = await server.request<Receipt>("POST", "/v1/sales", { key: pos, body });
    const again = await server.request<Receipt>("POST", "/v1/sales", { key: pos, body });
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.body).toEqual(first.body);
    expect(await balance(id)).toBe(129);
  });
});

describe("burning at the till", () => {
  it("pays with points: ceil(N / value) burned, the points-paid share earns nothing", async () => {
    const id = await customer(["gold"], 500);
    const receipt = await sold({ customerId: id, tenders: [{ mode: "points", amountMinor: 1000 }] });
    // ceil(1000 / 3) = 334 burned; earned 194.985 × 5999 / 6999 = 167.13 → 167.
    expect(receipt.points).toEqual({ earned: 167, burned: 334, balance: 500 - 334 + 167 });
  });

  it("refuses too few points, with the tender's path, and writes nothing", async () => {
    const id = await customer([], 10);
    const reply = await sale({
      transactionId: "short-1",
      customerId: id,
      tenders: [{ mode: "card" }, { mode: "points", amountMinor: 31 }],
    });
    expectProblem(reply, 422, "/tenders/1/amountMinor");
    expect(await balance(id)).toBe(10);
    const { rows } = await server.db.query(`select 1 from sales where transaction_id = 'short-1'`);
    expect(rows).toEqual([]);
  });

  it("refuses a points tender without a customer, or above the net", async () => {
    expectProblem(await sale({ tenders: [{ mode: "points", amountMinor: 10 }] }), 422, "/tenders/0/mode");
    const id = await customer([], 10_000);
    expectProblem(
      await sale({ customerId: id, tenders: [{ mode: "points", amountMinor: 7000 }] }),
      422,
      "/tenders/0/amountMinor",
    );
    expect(await balance(id)).toBe(10_000);
  });

  it("concurrent sales of one customer never overdraw", async () => {
    const id = await customer([], 1_000);
    // Each pays 300 of a 9.99 mug with points: 100 points burned.
    const replies = await Promise.all(
      Array.from({ length: 15 }, () =>
        sale({
          customerId: id,
          lines: [{ id: "b", sku: "MUG", quantity: 1 }],
          tenders: [{ mode: "points", amountMinor: 300 }],
        }),
      ),
    );
    const ok = replies.filter((r) => r.status === 201);
    for (const r of replies) if (r.status !== 201) expectProblem(r, 422, "/tenders/0/amountMinor");
    // Each sale burns 100 and earns floor(9.99 × 699/999) = 6.99 → 6.
    const final = await balance(id);
    expect(final).toBe(1_000 - 100 * ok.length + 6 * ok.length);
    expect(final).toBeGreaterThanOrEqual(0);
    expect(ok.length).toBe(10);
  });
});

describe("returns", () => {
  it("claws back in proportion, cumulatively: one at a time equals together", async () => {
    const a = await customer(["gold"]);
    const b = await customer(["gold"]);
    await sold({ transactionId: "ret-a", customerId: a });
    await sold({ transactionId: "ret-b", customerId: b });
    const together = await giveBack({
      returnId: "ra",
      transactionId: "ret-a",
      lines: [{ lineId: "a", quantity: 3 }],
    });
    const oneByOne: ReturnReceipt[] = [];
    for (let i = 0; i < 3; i++)
      oneByOne.push(
        await giveBack({ returnId: `rb${i}`, transactionId: "ret-b", lines: [{ lineId: "a", quantity: 1 }] }),
      );
    // floor(194 × 6000 / 6999) = 166.
    expect(together.points).toEqual({ clawedBack: 166, shortfall: 0, refunded: 0, balance: 28 });
    expect(oneByOne.map((r) => r.points!.clawedBack)).toEqual([55, 55, 56]);
    expect(await balance(b)).toBe(28);
    const rest = await giveBack({ returnId: "ra-2", transactionId: "ret-a" });
    expect(rest.points).toEqual({ clawedBack: 28, shortfall: 0, refunded: 0, balance: 0 });
  });

  it("gives burned points back, and records a shortfall when the earned points are gone", async () => {
    const id = await customer([], 334);
    const receipt = await sold({
      transactionId: "ret-burn",
      customerId: id,
      tenders: [{ mode: "points", amountMinor: 1000 }],
    });
    // 129.99 × 5999 / 6999 = 111.4 → 111 earned; 334 burned.
    expect(receipt.points).toEqual({ earned: 111, burned: 334, balance: 111 });
    const spend = await server.request("POST", `/v1/customers/${id}/points/burn`, {
      key: pos,
      body: { amount: 111, reference: `spend-${id}` },
    });
    expect(spend.status).toBe(200);
    const back = await giveBack({ returnId: "rburn", transactionId: "ret-burn" });
    // All returned: 334 given back first, then 111 clawed from them.
    expect(back.points).toEqual({ clawedBack: 111, shortfall: 0, refunded: 334, balance: 223 });

    const poor = await customer();
    await sold({ transactionId: "ret-poor", customerId: poor });
    await server.request("POST", `/v1/customers/${poor}/points/burn`, {
      key: pos,
      body: { amount: 100, reference: `spend-${poor}` },
    });
    const short = await giveBack({ returnId: "rpoor", transactionId: "ret-poor" });
    expect(short.points).toEqual({ clawedBack: 29, shortfall: 100, refunded: 0, balance: 0 });
  });

  it("a return of a sale without points has no points in its receipt", async () => {
    await sold({ transactionId: "ret-none" });
    expect((await giveBack({ returnId: "rnone", transactionId: "ret-none" })).points).toBeUndefined();
  });
});

describe("the rules endpoint", () => {
  it("is read by every role, written by admin and marketer, validated, and per workspace", async () => {
    const marketer = await server.newKey("marketer");
    const read = await server.request("GET", "/v1/points/rules", { key: pos });
    expect(read.body).toEqual(RULES);
    expectProblem(await server.request("PUT", "/v1/points/rules", { key: pos, body: RULES }), 403);
    expectProblem(
      await server.request("PUT", "/v1/points/rules", { key: marketer, body: { ...RULES, extra: 1 } }),
      400,
    );
    expectProblem(
      await server.request("PUT", "/v1/points/rules", {
        key: marketer,
        body: { ...RULES, categoryBonuses: [...RULES.categoryBonuses, ...RULES.categoryBonuses] },
      }),
      422,
      "/categoryBonuses/1/category",
    );
    const other = await server.newWorkspace();
    const theirs = await server.request("GET", "/v1/points/rules", { key: other.admin });
    expect(theirs.body).toMatchObject({ enabled: false });
    const put = await server.request("PUT", "/v1/points/rules", {
      key: other.admin,
      body: { ...RULES, pointsPerUnit: 7 },
    });
    expect(put.status).toBe(200);
    expect((await server.request("GET", "/v1/points/rules", { key: marketer })).body).toEqual(RULES);
  });
});
