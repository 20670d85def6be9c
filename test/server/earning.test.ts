// Earning through the API proves: a member earns a promotion in the sale that completes a milestone
// (every 3rd transaction), activates it, redeems it once, and it expires at the exact instant (14 days
// from earning or issuance, or with the promotion, in the workspace's zone); concurrent sales of one
// customer count each stamp once; maxEarningsPerCustomer caps; earned entries stay in their workspace.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { everyUnitAt, insertItems, insertPromotion } from "./fixtures.js";
import {
  expectProblem,
  startServer,
  type Page,
  type Reply,
  type TestServer,
  promotionFate,
} from "./harness.js";

interface Entry {
  id: string;
  promotionId: string;
  state: string;
  source: string;
  issuedAt: string;
  earnedAt: string | null;
  expiresAt: string | null;
  redemptionsLeft: number | null;
}
interface Receipt {
  saleId: string;
  applied: { promotionId: string; discountMinor: number }[];
  earned: { promotionId: string; entryId: string }[];
}
let server: TestServer;
let pos: string;
let app: string;
let sequence = 0;

const stamps = { kind: "activity_milestone", metric: "transaction_count", target: 3 };
const singleUse = [{ level: "earn", measure: "transactions", max: 1, window: { kind: "lifetime" } }];
const ITEMS = [
  { sku: "COFFEE", priceMinor: 300, categories: ["coffee"] },
  { sku: "TEA", priceMinor: 250, categories: ["tea"] },
  { sku: "CAKE", priceMinor: 400, categories: ["cake"] },
  { sku: "BAGEL", priceMinor: 200, categories: ["bagel"] },
  { sku: "JUICE", priceMinor: 350, categories: ["juice"] },
];
const COFFEE_STAMPS = {
  id: "coffee-stamps",
  name: "Every third visit: a free coffee, once activated",
  type: "loyalty_earning",
  earning: stamps,
  activationRequired: true,
  limits: singleUse,
  expiry: { kind: "days_from_earning", days: 14 },
  benefit: everyUnitAt("coffee", 0),
};
const SEASON_END = "2026-06-01T00:00:00.000Z";

beforeAll(async () => {
  server = await startServer();
  pos = await server.newKey("pos");
  app = await server.newKey("app");
  await insertItems(server, ITEMS);
  await insertPromotion(server, COFFEE_STAMPS);
  await insertPromotion(server, {
    id: "tea-stamps",
    name: "Every third visit: a free tea",
    type: "loyalty_earning",
    earning: stamps,
    limits: singleUse,
    expiry: { kind: "days_from_issuance", days: 14 },
    benefit: everyUnitAt("tea", 0),
  });
  await insertPromotion(server, {
    id: "cake-stamps",
    name: "Every third visit: a free cake this season",
    type: "loyalty_earning",
    earning: stamps,
    limits: singleUse,
    schedule: { startsAt: "2026-01-01T00:00:00Z", endsAt: SEASON_END },
    expiry: { kind: "with_promotion" },
    benefit: everyUnitAt("cake", 0),
  });
  await insertPromotion(server, {
    id: "bagel-twice",
    name: "A free bagel for each visit, twice at most",
    type: "loyalty_earning",
    earning: { kind: "single_activity", activity: "transaction", maxEarningsPerCustomer: 2 },
    limits: singleUse,
    benefit: everyUnitAt("bagel", 0),
  });
});
afterAll(async () => server?.close());

async function member(customerId: string, admin?: string): Promise<void> {
  const reply = await server.request("PUT", `/v1/customers/${customerId}`, {
    body: { memberships: [{ programId: "club" }] },
    ...(admin ? { key: admin } : {}),
  });
  expect(reply.status).toBeLessThan(300);
}

async function sell(customerId: string, sku: string, key = pos): Promise<Reply<Receipt>> {
  const reply = await server.request<Receipt>("POST", "/v1/sales", {
    key,
    body: { transactionId: `earn-${++sequence}`, customerId, lines: [{ id: "1", sku, quantity: 1 }] },
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply;
}

async function walletOf(customerId: string, key = app): Promise<Entry[]> {
  const reply = await server.request<Page<Entry>>("GET", `/v1/customers/${customerId}/wallet?limit=100`, {
    key,
  });
  expect(reply.status).toBe(200);
  return reply.body.items;
}

/** How the promotion fares in a quote of one unit of the SKU: its discount, or its rejection code. */
function fate(customerId: string, sku: string, promotionId: string): Promise<number | string> {
  return promotionFate(server, app, customerId, sku, promotionId);
}

/** Three juice sales at `atMs`: the third earns; answers the third's receipt. */
async function threeVisits(customerId: string, atMs: number): Promise<Receipt> {
  server.clock.now = atMs;
  await member(customerId);
  expect((await sell(customerId, "JUICE")).body.earned.map((e) => e.promotionId)).toEqual(["bagel-twice"]);
  expect((await sell(customerId, "JUICE")).body.earned.map((e) => e.promotionId)).toEqual(["bagel-twice"]);
  const third = await sell(customerId, "JUICE");
  expect(third.body.earned.map((e) => e.promotionId)).toEqual(["cake-stamps", "coffee-stamps", "tea-stamps"]);
  return third.body;
}

function earnedEntry(receipt: Receipt, promotionId: string): string {
  const earned = receipt.earned.find((e) => e.promotionId === promotionId);
  expect(earned).toBeDefined();
  return earned!.entryId;
}

describe("a milestone earns, activates, redeems and expires", () => {
  it("days from earning: earned on the third sale, activation required, one use, ends 14 local days on", async () => {
    // 10:00 CET on 20 March; 14 days later it is 10:00 CEST on 3 April: 08:00 UTC.
    const earnedAt = Date.parse("2026-03-20T09:00:00Z");
    const expiresAt = Date.parse("2026-04-03T08:00:00Z");
    const receipt = await threeVisits("mia", earnedAt);
    const entryId = earnedEntry(receipt, "coffee-stamps");
    const entry = (await walletOf("mia")).find((e) => e.id === entryId);
    expect(entry).toMatchObject({
      promotionId: "coffee-stamps",
      state: "issued",
      source: "earned",
      earnedAt: "2026-03-20T09:00:00.000Z",
      expiresAt: "2026-04-03T08:00:00.000Z",
      redemptionsLeft: 1,
    });

    server.clock.now = earnedAt + 60_000;
    expect(await fate("mia", "COFFEE", "coffee-stamps")).toBe("not_activated");
    const activated = await server.request<Entry>("POST", `/v1/customers/mia/wallet/${entryId}/activate`, {
      key: app,
    });
    expect(activated.status).toBe(200);
    expect(activated.body.state).toBe("active");
    expect(await fate("mia", "COFFEE", "coffee-stamps")).toBe(300);

    server.clock.now = expiresAt - 1;
    expect(await fate("mia", "COFFEE", "coffee-stamps")).toBe(300);
    server.clock.now = expiresAt;
    expect(await fate("mia", "COFFEE", "coffee-stamps")).toBe("wallet_entry_expired");

    // Back before the expiry: a sale redeems it, and it is gone for the next one.
    server.clock.now = earnedAt + 3_600_000;
    const redeemed = await sell("mia", "COFFEE");
    expect(redeemed.body.applied).toContainEqual(
      expect.objectContaining({ promotionId: "coffee-stamps", discountMinor: 300 }),
    );
    expect((await walletOf("mia")).find((e) => e.id === entryId)).toMatchObject({
      state: "redeemed",
      redemptionsLeft: 0,
    });
    const again = await sell("mia", "COFFEE");
    expect(again.body.applied.some((a) => a.promotionId === "coffee-stamps")).toBe(false);
    expect(await fate("mia", "COFFEE", "coffee-stamps")).toBe("not_in_wallet");
  });

  it("days from issuance: the earned entry is issued at the sale, applies without activation, ends 14 days on", async () => {
    const earnedAt = Date.parse("2026-03-20T09:00:00Z");
    const expiresAt = Date.parse("2026-04-03T08:00:00Z");
    const receipt = await threeVisits("ned", earnedAt);
    const entryId = earnedEntry(receipt, "tea-stamps");
    expect((await walletOf("ned")).find((e) => e.id === entryId)).toMatchObject({
      state: "active",
      source: "earned",
      issuedAt: "2026-03-20T09:00:00.000Z",
      expiresAt: "2026-04-03T08:00:00.000Z",
    });
    server.clock.now = expiresAt - 1;
    expect(await fate("ned", "TEA", "tea-stamps")).toBe(250);
    server.clock.now = expiresAt;
    expect(await fate("ned", "TEA", "tea-stamps")).toBe("wallet_entry_expired");

    server.clock.now = expiresAt - 60_000;
    expect((await sell("ned", "TEA")).body.applied.map((a) => a.promotionId)).toContain("tea-stamps");
    expect((await walletOf("ned")).find((e) => e.id === entryId)?.state).toBe("redeemed");
    expect((await sell("ned", "TEA")).body.applied.map((a) => a.promotionId)).not.toContain("tea-stamps");
  });

  it("with the promotion: the earned entry ends at the promotion's end", async () => {
    const receipt = await threeVisits("ola", Date.parse("2026-05-20T12:00:00Z"));
    const entryId = earnedEntry(receipt, "cake-stamps");
    expect((await walletOf("ola")).find((e) => e.id === entryId)?.expiresAt).toBe(SEASON_END);
    server.clock.now = Date.parse(SEASON_END) - 1;
    expect(await fate("ola", "CAKE", "cake-stamps")).toBe(400);
    server.clock.now = Date.parse(SEASON_END);
    expect(await fate("ola", "CAKE", "cake-stamps")).not.toBe(400);
    expect((await walletOf("ola")).find((e) => e.id === entryId)?.state).toBe("expired");

    server.clock.now = Date.parse(SEASON_END) - 60_000;
    expect((await sell("ola", "CAKE")).body.applied.map((a) => a.promotionId)).toContain("cake-stamps");
    expect((await walletOf("ola")).find((e) => e.id === entryId)?.state).toBe("redeemed");
  });
});

describe("stamps under concurrency", () => {
  it("20 concurrent sales of one customer earn exactly floor(20 / 3) = 6 entries of a 3-stamp milestone", async () => {
    server.clock.now = Date.parse("2026-03-05T10:00:00Z");
    await member("crowd");
    const receipts = await Promise.all(Array.from({ length: 20 }, () => sell("crowd", "JUICE")));
    const earnedOf = (promotionId: string) =>
      receipts.flatMap((r) => r.body.earned).filter((e) => e.promotionId === promotionId).length;
    expect(earnedOf("coffee-stamps")).toBe(6);
    expect(earnedOf("tea-stamps")).toBe(6);
    expect(earnedOf("bagel-twice")).toBe(2);
    const wallet = await walletOf("crowd");
    expect(wallet.filter((e) => e.promotionId === "coffee-stamps")).toHaveLength(6);
    expect(wallet.filter((e) => e.promotionId === "bagel-twice")).toHaveLength(2);
    const { rows } = await server.db.query<{ transactions: number; earned: number }>(
      `select transactions, earned from earning_progress
        where workspace_id = $1 and customer_id = 'crowd' and promotion_id = 'coffee-stamps'`,
      [server.workspaceId],
    );
    expect(rows[0]).toEqual({ transactions: 20, earned: 6 });
  });

  it("concurrent sales redeem a single-use entry once", async () => {
    const receipt = await threeVisits("duo", Date.parse("2026-03-06T10:00:00Z"));
    earnedEntry(receipt, "tea-stamps");
    // Two: the 4th and 5th transactions, which earn nothing new (the 6th would).
    const sales = await Promise.all(Array.from({ length: 2 }, () => sell("duo", "TEA")));
    const applied = sales.filter((s) => s.body.applied.some((a) => a.promotionId === "tea-stamps"));
    expect(applied).toHaveLength(1);
    const tea = (await walletOf("duo")).filter((e) => e.promotionId === "tea-stamps");
    expect(tea).toEqual([expect.objectContaining({ state: "redeemed", redemptionsLeft: 0 })]);
  });
});

describe("caps and replays", () => {
  it("maxEarningsPerCustomer caps what a single activity earns; a replay earns nothing more", async () => {
    server.clock.now = Date.parse("2026-03-07T10:00:00Z");
    await member("cap");
    const earned: string[][] = [];
    for (let i = 0; i < 4; i++)
      earned.push((await sell("cap", "JUICE")).body.earned.map((e) => e.promotionId));
    expect(earned.map((e) => e.includes("bagel-twice"))).toEqual([true, true, false, false]);

    const body = {
      transactionId: "cap-replay",
      customerId: "cap",
      lines: [{ id: "1", sku: "JUICE", quantity: 1 }],
    };
    const first = await server.request("POST", "/v1/sales", { key: pos, body });
    const count = (await walletOf("cap")).length;
    const replay = await server.request("POST", "/v1/sales", { key: pos, body });
    expect(replay.body).toEqual(first.body);
    expect((await walletOf("cap")).length).toBe(count);
  });
});

describe("tenant isolation", () => {
  it("keeps a customer's earned entries and stamps inside their workspace", async () => {
    server.clock.now = Date.parse("2026-03-08T10:00:00Z");
    const other = await server.newWorkspace();
    const otherPos = await server.newKey("pos", { workspaceId: other.workspaceId });
    await insertItems(server, ITEMS, other.workspaceId);
    await insertPromotion(server, COFFEE_STAMPS, { workspaceId: other.workspaceId });

    const receipt = await threeVisits("twin", server.clock.now);
    const entryId = earnedEntry(receipt, "coffee-stamps");
    await member("twin", other.admin);
    expect(await walletOf("twin", other.admin)).toEqual([]);
    // Two sales there do not complete this workspace's stamps, nor earn anything there.
    for (let i = 0; i < 2; i++) expect((await sell("twin", "JUICE", otherPos)).body.earned).toEqual([]);
    expect(await walletOf("twin", other.admin)).toEqual([]);
    expectProblem(
      await server.request("POST", `/v1/customers/twin/wallet/${entryId}/activate`, { key: other.admin }),
      404,
    );
    expect((await walletOf("twin")).find((e) => e.id === entryId)?.state).toBe("issued");
    // The third sale there earns there.
    const third = await sell("twin", "JUICE", otherPos);
    expect(third.body.earned.map((e) => e.promotionId)).toEqual(["coffee-stamps"]);
    expect((await walletOf("twin", other.admin)).map((e) => e.id)).toEqual([third.body.earned[0]!.entryId]);
  });
});

describe("spend milestones, store scopes, earning windows and replays", () => {
  // A workspace of its own, so these promotions earn nothing in the tests above (and theirs nothing here).
  let shop: { workspaceId: string; admin: string };
  let till: string;
  const WINDOW_STARTS = "2026-03-25T23:00:00.000Z"; // midnight in Berlin (CET), 26 March
  // Seven local days on: midnight of 2 April in Berlin, which is CEST by then (22:00 UTC, not 23:00).
  const WINDOW_ENDS = Date.parse("2026-04-01T22:00:00.000Z");

  beforeAll(async () => {
    shop = await server.newWorkspace();
    till = await server.newKey("pos", { workspaceId: shop.workspaceId });
    const reward = everyUnitAt("reward", 0);
    await insertItems(
      server,
      [
        { sku: "BIG", priceMinor: 12_000, categories: ["big"] },
        { sku: "MID", priceMinor: 3_000, categories: ["mid"] },
        { sku: "SMALL", priceMinor: 2_000, categories: ["small"] },
        { sku: "HALF", priceMinor: 6_000, categories: ["half"] },
        { sku: "REWARD", priceMinor: 100, categories: ["reward"] },
      ],
      shop.workspaceId,
    );
    const inShop = { workspaceId: shop.workspaceId };
    for (const p of [
      {
        id: "spend-50",
        name: "One reward per 50.00 spent",
        type: "loyalty_earning",
        earning: { kind: "activity_milestone", metric: "transaction_value", target: 5_000 },
        benefit: reward,
      },
      {
        id: "spend-10-thrice",
        name: "One reward per 10.00 spent, three at most",
        type: "loyalty_earning",
        earning: {
          kind: "activity_milestone",
          metric: "transaction_value",
          target: 1_000,
          maxEarningsPerCustomer: 3,
        },
        benefit: reward,
      },
      {
        id: "store-visit",
        name: "A reward for each visit to store s1",
        type: "loyalty_earning",
        earning: { kind: "single_activity", activity: "transaction", scope: { storeIds: ["s1"] } },
        benefit: reward,
      },
      {
        id: "first-week",
        name: "A reward for each visit in the first week",
        type: "loyalty_earning",
        schedule: { startsAt: WINDOW_STARTS },
        earning: { kind: "single_activity", activity: "transaction", earningWindowDays: 7 },
        benefit: reward,
      },
      {
        id: "half-at-20",
        name: "HALF costs 20.00",
        type: "pos",
        benefit: everyUnitAt("half", 2_000),
      },
    ])
      await insertPromotion(server, p, inShop);
    for (const id of ["s1", "s2"]) {
      const reply = await server.request("PUT", `/v1/stores/${id}`, { key: shop.admin, body: { name: id } });
      expect(reply.status).toBeLessThan(300);
    }
  });

  interface SaleOptions {
    readonly storeId?: string;
    readonly transactionId?: string;
  }

  function saleBody(customerId: string, sku: string, options: SaleOptions = {}) {
    return {
      transactionId: options.transactionId ?? `shop-${++sequence}`,
      customerId,
      lines: [{ id: "1", sku, quantity: 1 }],
      ...(options.storeId ? { storeId: options.storeId } : {}),
    };
  }

  async function shopSale(customerId: string, sku: string, options: SaleOptions = {}): Promise<Receipt> {
    const reply = await server.request<Receipt>("POST", "/v1/sales", {
      key: till,
      body: saleBody(customerId, sku, options),
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    return reply.body;
  }

  /** How many entries of the promotion the sale earned. */
  function earnedOf(receipt: Receipt, promotionId: string): number {
    return receipt.earned.filter((e) => e.promotionId === promotionId).length;
  }

  async function progressOf(customerId: string, promotionId: string) {
    const { rows } = await server.db.query<{ transactions: number; spendMinor: number; earned: number }>(
      `select transactions, spend_minor as "spendMinor", earned from earning_progress
        where workspace_id = $1 and customer_id = $2 and promotion_id = $3`,
      [shop.workspaceId, customerId, promotionId],
    );
    return rows[0];
  }

  async function heldOf(customerId: string, promotionId: string): Promise<number> {
    return (await walletOf(customerId, shop.admin)).filter((e) => e.promotionId === promotionId).length;
  }

  it("transaction_value 50.00: 120.00 earns 2, 30.00 more earns 1 at 150.00, counting net spend", async () => {
    server.clock.now = Date.parse("2026-03-10T10:00:00Z");
    await member("val", shop.admin);
    expect(earnedOf(await shopSale("val", "BIG"), "spend-50")).toBe(2); // 120.00: crosses 50 and 100
    expect(earnedOf(await shopSale("val", "MID"), "spend-50")).toBe(1); // 150.00: crosses 150
    // HALF lists at 60.00 and sells at 20.00: 170.00 in all, no crossing (at list price: 210.00, one).
    const half = await shopSale("val", "HALF");
    expect(half.applied).toContainEqual(expect.objectContaining({ promotionId: "half-at-20" }));
    expect(earnedOf(half, "spend-50")).toBe(0);
    expect(earnedOf(await shopSale("val", "MID"), "spend-50")).toBe(1); // 200.00: crosses 200
    expect(await progressOf("val", "spend-50")).toEqual({ transactions: 4, spendMinor: 20_000, earned: 4 });
    expect(await heldOf("val", "spend-50")).toBe(4);
    const entries = (await walletOf("val", shop.admin)).filter((e) => e.promotionId === "spend-50");
    expect(entries.every((e) => e.source === "earned" && e.state === "active")).toBe(true);
  });

  it("maxEarningsPerCustomer caps a spend milestone, even across one large sale", async () => {
    server.clock.now = Date.parse("2026-03-11T10:00:00Z");
    await member("capped", shop.admin);
    expect(earnedOf(await shopSale("capped", "SMALL"), "spend-10-thrice")).toBe(2); // 20.00: 2 of 3
    expect(earnedOf(await shopSale("capped", "BIG"), "spend-10-thrice")).toBe(1); // 140.00: 12 due, 1 left
    expect(earnedOf(await shopSale("capped", "MID"), "spend-10-thrice")).toBe(0);
    // Spend keeps counting past the cap.
    expect(await progressOf("capped", "spend-10-thrice")).toEqual({
      transactions: 3,
      spendMinor: 17_000,
      earned: 3,
    });
    expect(await heldOf("capped", "spend-10-thrice")).toBe(3);

    await member("capped-at-once", shop.admin);
    expect(earnedOf(await shopSale("capped-at-once", "BIG"), "spend-10-thrice")).toBe(3); // 12 due
    expect(earnedOf(await shopSale("capped-at-once", "BIG"), "spend-10-thrice")).toBe(0);
    expect(await heldOf("capped-at-once", "spend-10-thrice")).toBe(3);
  });

  it("a single activity scoped to a store earns there and nowhere else", async () => {
    server.clock.now = Date.parse("2026-03-12T10:00:00Z");
    await member("roamer", shop.admin);
    expect(earnedOf(await shopSale("roamer", "SMALL", { storeId: "s2" }), "store-visit")).toBe(0);
    expect(earnedOf(await shopSale("roamer", "SMALL"), "store-visit")).toBe(0); // no store
    expect(earnedOf(await shopSale("roamer", "SMALL", { storeId: "s1" }), "store-visit")).toBe(1);
    expect(earnedOf(await shopSale("roamer", "SMALL", { storeId: "s1" }), "store-visit")).toBe(1);
    expect(await heldOf("roamer", "store-visit")).toBe(2);
  });

  it("earningWindowDays: earns up to the window's last instant in the workspace zone, then nothing", async () => {
    await member("weekly", shop.admin);
    server.clock.now = Date.parse(WINDOW_STARTS) - 1;
    expect(earnedOf(await shopSale("weekly", "SMALL"), "first-week")).toBe(0); // not started
    server.clock.now = Date.parse(WINDOW_STARTS);
    expect(earnedOf(await shopSale("weekly", "SMALL"), "first-week")).toBe(1);
    server.clock.now = WINDOW_ENDS - 1;
    expect(earnedOf(await shopSale("weekly", "SMALL"), "first-week")).toBe(1);
    server.clock.now = WINDOW_ENDS;
    expect(earnedOf(await shopSale("weekly", "SMALL"), "first-week")).toBe(0);
    // Before seven times 24 hours have passed (23:00 UTC), but after local midnight: outside.
    server.clock.now = WINDOW_ENDS + 30 * 60_000;
    expect(earnedOf(await shopSale("weekly", "SMALL"), "first-week")).toBe(0);
    server.clock.now = Date.parse("2026-04-20T10:00:00Z");
    expect(earnedOf(await shopSale("weekly", "SMALL"), "first-week")).toBe(0);
    expect(await heldOf("weekly", "first-week")).toBe(2);
  });

  it("a replayed sale answers its receipt and earns nothing again, nor counts its spend twice", async () => {
    server.clock.now = Date.parse("2026-03-13T10:00:00Z");
    await member("replayer", shop.admin);
    const body = saleBody("replayer", "BIG", { transactionId: "replayed-big" });
    const first = await server.request<Receipt>("POST", "/v1/sales", { key: till, body });
    expect(first.status).toBe(201);
    expect(earnedOf(first.body, "spend-50")).toBe(2);
    const replay = await server.request<Receipt>("POST", "/v1/sales", { key: till, body });
    expect(replay.status).toBe(201);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.body).toEqual(first.body);
    expect(await heldOf("replayer", "spend-50")).toBe(2);
    expect(await progressOf("replayer", "spend-50")).toEqual({
      transactions: 1,
      spendMinor: 12_000,
      earned: 2,
    });
    // 140.00 crosses nothing; had the replay counted, 260.00 would cross 250.
    expect(earnedOf(await shopSale("replayer", "SMALL"), "spend-50")).toBe(0);

    // Concurrent retries of one sale: one commits and earns, every answer is its receipt.
    const again = saleBody("replayer", "MID", { transactionId: "replayed-mid" });
    const replies = await Promise.all(
      Array.from({ length: 5 }, () =>
        server.request<Receipt>("POST", "/v1/sales", { key: till, body: again }),
      ),
    );
    for (const reply of replies) {
      expect(reply.status, JSON.stringify(reply.body)).toBe(201);
      expect(reply.body).toEqual(replies[0]!.body);
    }
    expect(earnedOf(replies[0]!.body, "spend-50")).toBe(1); // 170.00 crosses 150
    expect(await heldOf("replayer", "spend-50")).toBe(3);
    expect(await progressOf("replayer", "spend-50")).toEqual({
      transactions: 3,
      spendMinor: 17_000,
      earned: 3,
    });
  });
});
