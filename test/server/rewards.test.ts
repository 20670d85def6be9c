// Rewards bought with points through the API: a purchase takes the cost and issues a wallet entry in one transaction (applied in a quote once activated); points leave once under 30 concurrent retries of one reference, and 30 concurrent purchases never overdraw; a refusal changes nothing; maxEarningsPerCustomer, free claims, type, status, roles, tenants and bad input; and the points invariant holds after every test.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { everyUnitAt, insertItems, insertPromotion } from "./fixtures.js";
import { expectProblem, promotionFate, startServer, type Reply, type TestServer } from "./harness.js";
import { expectPointsInvariant } from "./points-invariant.js";

interface Purchase {
  reference: string;
  customerId: string;
  promotionId: string;
  pointsCost: number;
  balance: number;
  entry: { id: string; promotionId: string; state: string; source: string; expiresAt: string | null };
  pointsEntries: { kind: string; amount: number; reference: string | null }[];
}

const DAY_MS = 86_400_000;
let server: TestServer;
let pos: string;
let app: string;
let marketer: string;
let references = 0;
const ref = (): string => `buy-${++references}`;
/** The customers a test touched: the points invariant is checked for each after it. */
const touched = new Set<string>();

beforeAll(async () => {
  server = await startServer();
  pos = await server.newKey("pos");
  app = await server.newKey("app");
  marketer = await server.newKey("marketer");
  await insertItems(server, [
    { sku: "TEA", priceMinor: 250, categories: ["tea"] },
    { sku: "CAKE", priceMinor: 400, categories: ["cake"] },
  ]);
  const reward = (id: string, earning: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    insertPromotion(server, {
      id,
      name: id,
      type: "rewards",
      earning: { kind: "direct_trigger", ...earning },
      benefit: everyUnitAt("tea", 0),
      ...extra,
    });
  await reward(
    "tea-100",
    { pointsCost: 100 },
    { activationRequired: true, expiry: { kind: "days_from_earning", days: 10 } },
  );
  await reward("cake-50", { pointsCost: 50 }, { benefit: everyUnitAt("cake", 0) });
  await reward("twice-10", { pointsCost: 10, maxEarningsPerCustomer: 2 });
  await reward("free-once", { maxEarningsPerCustomer: 1 });
  await reward(
    "ended-10",
    { pointsCost: 10 },
    { schedule: { startsAt: "2026-01-01T00:00:00Z", endsAt: "2026-02-01T00:00:00Z" } },
  );
  await insertPromotion(server, {
    id: "loyal",
    name: "A loyalty promotion",
    type: "loyalty",
    benefit: everyUnitAt("tea", 0),
  });
  await server.db.query(
    `insert into promotions (workspace_id, id, name, status, definition)
     select workspace_id, 'draft-10', 'A draft', 'draft', definition || '{"id": "draft-10"}'
       from promotions where workspace_id = $1 and id = 'cake-50'`,
    [server.workspaceId],
  );
});
afterEach(async () => {
  for (const c of touched) await expectPointsInvariant(server, c);
  touched.clear();
});
afterAll(async () => server?.close());

async function customer(id: string, points = 0): Promise<string> {
  const reply = await server.request("PUT", `/v1/customers/${id}`, { body: {} });
  expect(reply.status, JSON.stringify(reply.body)).toBeLessThan(300);
  if (points > 0) {
    const earned = await server.request("POST", `/v1/customers/${id}/points/earn`, {
      body: { amount: points, reference: `seed-${id}-${++references}` },
    });
    expect(earned.status, JSON.stringify(earned.body)).toBe(200);
  }
  touched.add(id);
  return id;
}

function buy(customerId: string, body: unknown, key: string = app): Promise<Reply<Purchase>> {
  return server.request<Purchase>("POST", `/v1/customers/${customerId}/wallet/purchases`, { key, body });
}

async function balanceOf(customerId: string): Promise<number> {
  const reply = await server.request<{ balance: number }>("GET", `/v1/customers/${customerId}/points`);
  return reply.body.balance;
}

/** Every row a purchase may write, to show that a refusal changed nothing. */
async function snapshot(): Promise<string> {
  const tables = ["points_lots", "points_ledger", "points_requests", "wallet_entries"];
  const rows = [];
  for (const t of tables)
    rows.push((await server.db.query(`select * from ${t} order by workspace_id, 2, 3`)).rows);
  return JSON.stringify(rows);
}

const typeOf = (reply: Reply<unknown>): string => (reply.body as { type: string }).type;

describe("buying", () => {
  it("takes the cost, issues the entry, and the quote applies it once activated", async () => {
    const c = await customer("buyer", 250);
    const bought = await buy(c, { promotionId: "tea-100", reference: ref() });
    expect(bought.status, JSON.stringify(bought.body)).toBe(201);
    expect(bought.headers["idempotent-replayed"]).toBe("false");
    expect(bought.body).toMatchObject({ promotionId: "tea-100", pointsCost: 100, balance: 150 });
    expect(bought.body.entry).toMatchObject({ promotionId: "tea-100", state: "issued", source: "bought" });
    // Expiry per the promotion's rule, from the purchase instant.
    expect(bought.body.entry.expiresAt).toBe(new Date(server.clock.now + 10 * DAY_MS).toISOString());
    // The client.removePoints fact: a burn entry with the purchase's reference.
    expect(bought.body.pointsEntries).toEqual([
      expect.objectContaining({ kind: "burn", amount: -100, reference: bought.body.reference }),
    ]);
    expect(await balanceOf(c)).toBe(150);
    const wallet = await server.request<{ items: { id: string }[] }>("GET", `/v1/customers/${c}/wallet`);
    expect(wallet.body.items.map((e) => e.id)).toEqual([bought.body.entry.id]);

    expect(await promotionFate(server, app, c, "TEA", "tea-100")).toBe("not_activated");
    const activated = await server.request(
      "POST",
      `/v1/customers/${c}/wallet/${bought.body.entry.id}/activate`,
      { key: app },
    );
    expect(activated.status).toBe(200);
    expect(await promotionFate(server, app, c, "TEA", "tea-100")).toBe(250);
  });

  it("without activation required, the entry is active at once", async () => {
    const c = await customer("direct", 50);
    const bought = await buy(c, { promotionId: "cake-50", reference: ref() }, pos);
    expect(bought.status).toBe(201);
    expect(bought.body).toMatchObject({ balance: 0, entry: { state: "active", expiresAt: null } });
    expect(await promotionFate(server, app, c, "CAKE", "cake-50")).toBe(400);
  });

  it("claims a free direct-trigger reward without touching the points, up to maxEarningsPerCustomer", async () => {
    const c = await customer("claimer", 30);
    const claimed = await buy(c, { promotionId: "free-once", reference: ref() });
    expect(claimed.status, JSON.stringify(claimed.body)).toBe(201);
    expect(claimed.body).toMatchObject({ pointsCost: 0, balance: 30, pointsEntries: [] });
    expect(claimed.body.entry).toMatchObject({ state: "active", source: "earned" });
    const before = await snapshot();
    const again = await buy(c, { promotionId: "free-once", reference: ref() });
    expectProblem(again, 409, "/promotionId");
    expect(typeOf(again)).toContain("max_earnings_reached");
    expect(await snapshot()).toBe(before);
  });

  it("holds maxEarningsPerCustomer: the third purchase is refused and costs nothing", async () => {
    const c = await customer("twice", 100);
    for (let i = 0; i < 2; i++)
      expect((await buy(c, { promotionId: "twice-10", reference: ref() })).status).toBe(201);
    const before = await snapshot();
    const third = await buy(c, { promotionId: "twice-10", reference: ref() });
    expectProblem(third, 409, "/promotionId");
    expect(typeOf(third)).toContain("max_earnings_reached");
    expect(await snapshot()).toBe(before);
    expect(await balanceOf(c)).toBe(80);
  });
});

describe("exactly once", () => {
  it("30 concurrent identical purchases: one entry, the points leave once, 30 identical answers", async () => {
    const c = await customer("retrier", 1_000);
    const body = { promotionId: "cake-50", reference: "once-and-only" };
    const replies = await Promise.all(Array.from({ length: 30 }, () => buy(c, body)));
    expect(replies.map((r) => r.status)).toEqual(Array(30).fill(201));
    for (const r of replies) expect(r.body).toEqual(replies[0]!.body);
    expect(replies.filter((r) => r.headers["idempotent-replayed"] === "false")).toHaveLength(1);
    expect(await balanceOf(c)).toBe(950);
    const entries = await server.db.query(`select id from wallet_entries where customer_id = $1`, [c]);
    expect(entries.rows.map((r: { id: string }) => r.id)).toEqual([replies[0]!.body.entry.id]);
    const burns = await server.db.query<{ n: number; sum: number }>(
      `select count(*)::int as n, sum(amount)::bigint as sum from points_ledger where customer_id = $1 and reference = $2`,
      [c, body.reference],
    );
    expect(burns.rows[0]).toEqual({ n: 1, sum: -50 });
    // The same reference with another body is refused.
    const other = await buy(c, { promotionId: "twice-10", reference: body.reference });
    expectProblem(other, 409);
    expect(typeOf(other)).toContain("reference_reused");
  });

  it("30 concurrent purchases with points for 3: exactly 3 succeed, the balance ends at 0", async () => {
    const c = await customer("crowd", 150);
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, i) => buy(c, { promotionId: "cake-50", reference: `crowd-${i}` }, pos)),
    );
    expect(replies.filter((r) => r.status === 201)).toHaveLength(3);
    const refused = replies.filter((r) => r.status !== 201);
    expect(refused).toHaveLength(27);
    for (const r of refused) {
      expectProblem(r, 409, "/promotionId");
      expect(typeOf(r)).toContain("insufficient_points");
    }
    expect(await expectPointsInvariant(server, c)).toBe(0);
    const entries = await server.db.query(`select 1 from wallet_entries where customer_id = $1`, [c]);
    expect(entries.rows).toHaveLength(3);
  });

  it("short of points changes nothing and leaves the reference unused", async () => {
    const c = await customer("short", 40);
    const before = await snapshot();
    const short = await buy(c, { promotionId: "tea-100", reference: "short-ref" });
    expectProblem(short, 409, "/promotionId");
    expect(typeOf(short)).toContain("insufficient_points");
    expect(await snapshot()).toBe(before);
    await server.request("POST", `/v1/customers/${c}/points/earn`, {
      body: { amount: 60, reference: ref() },
    });
    const later = await buy(c, { promotionId: "tea-100", reference: "short-ref" });
    expect(later.status).toBe(201);
    expect(later.body.balance).toBe(0);
  });
});

describe("refusals", () => {
  it("refuses what is not a rewards promotion with a direct trigger (422), and what is not running (409)", async () => {
    const c = await customer("picky", 100);
    const before = await snapshot();
    for (const promotionId of ["loyal", "no-such-promotion"])
      expectProblem(await buy(c, { promotionId, reference: ref() }), 422, "/promotionId");
    const draft = await buy(c, { promotionId: "draft-10", reference: ref() });
    expectProblem(draft, 409);
    expect(typeOf(draft)).toContain("promotion_draft");
    const ended = await buy(c, { promotionId: "ended-10", reference: ref() });
    expectProblem(ended, 409);
    expect(typeOf(ended)).toContain("promotion_ended");
    expect(await snapshot()).toBe(before);
  });

  it("admits admin, pos and app only", async () => {
    const c = await customer("roles", 100);
    const before = await snapshot();
    expectProblem(await buy(c, { promotionId: "cake-50", reference: ref() }, marketer), 403);
    expect(await snapshot()).toBe(before);
    expect((await buy(c, { promotionId: "cake-50", reference: ref() }, server.admin)).status).toBe(201);
  });

  it("another workspace's key sees no such customer and changes nothing", async () => {
    const c = await customer("tenant", 100);
    const other = await server.newWorkspace();
    const otherApp = await server.newKey("app", { workspaceId: other.workspaceId });
    const before = await snapshot();
    for (const key of [other.admin, otherApp])
      expectProblem(await buy(c, { promotionId: "cake-50", reference: ref() }, key), 404);
    expect(await snapshot()).toBe(before);
  });

  it("answers 400 naming the path of bad input", async () => {
    const c = await customer("sloppy", 100);
    const before = await snapshot();
    expectProblem(await buy(c, { promotionId: "cake-50" }), 400, "/reference");
    expectProblem(await buy(c, { reference: ref() }), 400, "/promotionId");
    expectProblem(await buy(c, { promotionId: 7, reference: ref() }), 400, "/promotionId");
    expectProblem(await buy(c, { promotionId: "cake-50", reference: "" }), 400, "/reference");
    expectProblem(await buy(c, { promotionId: "cake-50", reference: ref(), amount: 5 }), 400);
    expect(await snapshot()).toBe(before);
  });
});
