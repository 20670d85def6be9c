// Earning through the API proves: a member earns a promotion in the sale that completes a milestone
// (every 3rd transaction), activates it, redeems it once, and it expires at the exact instant (14 days
// from earning or issuance, or with the promotion, in the workspace's zone); concurrent sales of one
// customer count each stamp once; maxEarningsPerCustomer caps; earned entries stay in their workspace.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { everyUnitAt, insertItems, insertPromotion } from "./fixtures.js";
import { expectProblem, startServer, type Page, type Reply, type TestServer } from "./harness.js";

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
interface Evaluated {
  applied: { promotionId: string; discountMinor: number }[];
  rejected: { promotionId: string; code: string }[];
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
async function fate(customerId: string, sku: string, promotionId: string): Promise<number | string> {
  const reply = await server.request<Evaluated>("POST", "/v1/baskets/evaluate", {
    key: app,
    body: { customerId, lines: [{ id: "1", sku, quantity: 1 }] },
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  const applied = reply.body.applied.find((a) => a.promotionId === promotionId);
  if (applied) return applied.discountMinor;
  return reply.body.rejected.find((r) => r.promotionId === promotionId)?.code ?? "not_looked_at";
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
