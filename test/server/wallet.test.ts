// The customer wallet through the API: an issued promotion applies only once activated; it expires at
// the exact instant (N calendar days in the workspace's zone, across DST, or with the promotion) and
// moves with the promotion's days; the issual limit holds under concurrency; a revoke stops it; and
// every route stays inside its roles and its workspace.
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
  activatedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  promotion: { name: string; headline: string | null; activationRequired: boolean };
}
const DAY_MS = 86_400_000;
let server: TestServer;
let pos: string;
let app: string;
let marketer: string;

const earning = { kind: "single_activity", activity: "transaction" };
beforeAll(async () => {
  server = await startServer();
  pos = await server.newKey("pos");
  app = await server.newKey("app");
  marketer = await server.newKey("marketer");
  await insertItems(server, [
    { sku: "COFFEE", priceMinor: 300, categories: ["coffee"] },
    { sku: "TEA", priceMinor: 250, categories: ["tea"] },
    { sku: "CAKE", priceMinor: 400, categories: ["cake"] },
    { sku: "BAGEL", priceMinor: 200, categories: ["bagel"] },
    { sku: "JUICE", priceMinor: 350, categories: ["juice"] },
  ]);
  await insertPromotion(server, {
    id: "coffee-club",
    name: "Free coffee, once activated",
    headline: "Activate for a free coffee",
    type: "loyalty_earning",
    earning,
    activationRequired: true,
    expiry: { kind: "days_from_issuance", days: 14 },
    benefit: everyUnitAt("coffee", 0),
  });
  await insertPromotion(server, {
    id: "tea-14",
    name: "Free tea for 14 days",
    type: "rewards",
    earning: { kind: "direct_trigger" },
    expiry: { kind: "days_from_issuance", days: 14 },
    benefit: everyUnitAt("tea", 0),
  });
  await insertPromotion(server, {
    id: "cake-season",
    name: "Free cake until the season ends",
    type: "loyalty_earning",
    earning,
    schedule: { startsAt: "2026-01-01T00:00:00Z", endsAt: "2026-06-01T00:00:00Z" },
    expiry: { kind: "with_promotion" },
    benefit: everyUnitAt("cake", 0),
  });
  await insertPromotion(server, {
    id: "bagel-days",
    name: "Free bagel for some days",
    type: "rewards",
    earning: { kind: "direct_trigger" },
    expiry: { kind: "days_from_earning", days: 10 },
    benefit: everyUnitAt("bagel", 0),
  });
  await insertPromotion(server, {
    id: "juice-2",
    name: "Free juice, issued at most twice",
    type: "loyalty",
    limits: [{ level: "issual", measure: "times", max: 2, window: { kind: "lifetime" } }],
    benefit: everyUnitAt("juice", 0),
  });
  await insertPromotion(server, { id: "pos-any", name: "A till promotion", benefit: everyUnitAt("none", 0) });
  await server.db.query(
    `insert into promotions (workspace_id, id, name, status, definition)
     select workspace_id, 'draft-reward', 'A draft', 'draft', definition || '{"id": "draft-reward"}'
       from promotions where workspace_id = $1 and id = 'tea-14'`,
    [server.workspaceId],
  );
});
afterAll(async () => server?.close());

async function member(customerId: string): Promise<void> {
  const reply = await server.request("PUT", `/v1/customers/${customerId}`, {
    body: { memberships: [{ programId: "club" }] },
  });
  expect(reply.status).toBeLessThan(300);
}

async function issue(customerId: string, body: Record<string, unknown>, key?: string) {
  return server.request<Entry>("POST", `/v1/customers/${customerId}/wallet`, {
    body,
    ...(key ? { key } : {}),
  });
}

function problem(reply: Reply<unknown>): { type: string; detail: string } {
  return reply.body as { type: string; detail: string };
}

async function walletOf(customerId: string): Promise<Entry[]> {
  const reply = await server.request<Page<Entry>>("GET", `/v1/customers/${customerId}/wallet`, { key: app });
  expect(reply.status).toBe(200);
  return reply.body.items;
}

/** How the promotion fares in a quote of one unit of the SKU: its discount, or its rejection code. */
function fate(customerId: string, sku: string, promotionId: string): Promise<number | string> {
  return promotionFate(server, app, customerId, sku, promotionId);
}

async function entryCount(customerId?: string): Promise<number> {
  const { rows } = await server.db.query<{ n: number }>(
    "select count(*)::int as n from wallet_entries where $1::text is null or customer_id = $1",
    [customerId ?? null],
  );
  return rows[0]!.n;
}

describe("activation", () => {
  it("is not applied before activation, and is after; activating twice changes nothing", async () => {
    server.clock.now = Date.parse("2026-03-02T10:00:00Z");
    await member("ann");
    expect(await fate("ann", "COFFEE", "coffee-club")).toBe("not_in_wallet");
    const issued = await issue("ann", { promotionId: "coffee-club" }, pos);
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    expect(issued.body).toMatchObject({
      promotionId: "coffee-club",
      state: "issued",
      source: "issued",
      issuedAt: "2026-03-02T10:00:00.000Z",
      activatedAt: null,
      expiresAt: "2026-03-16T10:00:00.000Z",
      promotion: { name: "Free coffee, once activated", headline: "Activate for a free coffee" },
    });
    expect(await fate("ann", "COFFEE", "coffee-club")).toBe("not_activated");

    server.clock.now += 60_000;
    const url = `/v1/customers/ann/wallet/${issued.body.id}/activate`;
    const activated = await server.request<Entry>("POST", url, { key: app });
    expect(activated.status).toBe(200);
    expect(activated.body).toMatchObject({ state: "active", activatedAt: "2026-03-02T10:01:00.000Z" });
    expect(await fate("ann", "COFFEE", "coffee-club")).toBe(300);

    server.clock.now += 60_000;
    const again = await server.request<Entry>("POST", url, { key: app });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(activated.body);
  });

  it("issues a promotion without activation as active, and a sale applies it", async () => {
    server.clock.now = Date.parse("2026-03-02T10:00:00Z");
    await member("sam");
    const issued = await issue("sam", { promotionId: "tea-14" });
    expect(issued.body.state).toBe("active");
    const sale = await server.request("POST", "/v1/sales", {
      key: pos,
      body: {
        transactionId: "wallet-sale-1",
        customerId: "sam",
        lines: [{ id: "1", sku: "TEA", quantity: 1 }],
      },
    });
    expect(sale.status).toBe(201);
    expect(sale.body["totals"]).toMatchObject({ discountMinor: 250 });
  });
});

describe("expiry", () => {
  it("ends 14 calendar days after issue at the exact instant, across the spring DST change in Berlin", async () => {
    // 10:00 CET on 20 March; 14 days later it is 10:00 CEST on 3 April, 08:00 UTC: 13 days 23 hours on.
    const issuedAt = Date.parse("2026-03-20T09:00:00Z");
    const expiresAt = Date.parse("2026-04-03T08:00:00Z");
    expect(expiresAt - issuedAt).toBe(14 * DAY_MS - 3_600_000);
    server.clock.now = issuedAt;
    await member("dst");
    const issued = await issue("dst", { promotionId: "tea-14" });
    expect(issued.body.expiresAt).toBe("2026-04-03T08:00:00.000Z");

    server.clock.now = expiresAt - 1;
    expect(await fate("dst", "TEA", "tea-14")).toBe(250);
    expect((await walletOf("dst"))[0]?.state).toBe("active");

    server.clock.now = expiresAt;
    expect(await fate("dst", "TEA", "tea-14")).toBe("wallet_entry_expired");
    expect((await walletOf("dst"))[0]).toMatchObject({
      state: "expired",
      expiresAt: "2026-04-03T08:00:00.000Z",
    });
    const activate = await server.request("POST", `/v1/customers/dst/wallet/${issued.body.id}/activate`, {
      key: app,
    });
    expectProblem(activate, 409);
    expect(activate.body["type"]).toMatch(/wallet_entry_expired$/);
  });

  it("ends with the promotion when the expiry is 'with the promotion'", async () => {
    server.clock.now = Date.parse("2026-05-30T12:00:00Z");
    await member("cat");
    const issued = await issue("cat", { promotionId: "cake-season" });
    expect(issued.body.expiresAt).toBe("2026-06-01T00:00:00.000Z");
    server.clock.now = Date.parse("2026-06-01T00:00:00Z") - 1;
    expect(await fate("cat", "CAKE", "cake-season")).toBe(400);
    server.clock.now = Date.parse("2026-06-01T00:00:00Z");
    expect(await fate("cat", "CAKE", "cake-season")).toBe("ended");
    expect((await walletOf("cat"))[0]?.state).toBe("expired");
  });

  it("moves every holder's expiry when the promotion's days change, but not an entry's own override", async () => {
    const t0 = Date.parse("2026-03-02T10:00:00Z");
    server.clock.now = t0;
    await member("bea");
    const held = await issue("bea", { promotionId: "bagel-days" });
    expect(held.body.expiresAt).toBe("2026-03-12T10:00:00.000Z"); // 10 days from earning (the issue)
    const pinned = await issue("bea", { promotionId: "bagel-days", expiresAt: "2026-04-01T00:00:00Z" });
    expect(pinned.body.expiresAt).toBe("2026-04-01T00:00:00.000Z");

    const setDays = async (days: number): Promise<void> => {
      const read = await server.request<{ definition: Record<string, unknown> }>(
        "GET",
        "/v1/promotions/bagel-days",
      );
      const reply = await server.request("PUT", "/v1/promotions/bagel-days", {
        key: marketer,
        body: { ...read.body.definition, expiry: { kind: "days_from_earning", days } },
      });
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    };

    server.clock.now = t0 + 5 * DAY_MS;
    await setDays(3);
    const shortened = await walletOf("bea");
    expect(shortened.find((e) => e.id === held.body.id)).toMatchObject({
      state: "expired",
      expiresAt: "2026-03-05T10:00:00.000Z",
    });
    expect(shortened.find((e) => e.id === pinned.body.id)).toMatchObject({
      state: "active",
      expiresAt: "2026-04-01T00:00:00.000Z",
    });
    await server.request("DELETE", `/v1/customers/bea/wallet/${pinned.body.id}`);
    expect(await fate("bea", "BAGEL", "bagel-days")).toBe("wallet_entry_expired");

    await setDays(30);
    expect((await walletOf("bea")).find((e) => e.id === held.body.id)).toMatchObject({
      state: "active",
      expiresAt: "2026-04-01T09:00:00.000Z", // 11:00 in Berlin, as issued: summer time by then
    });
    expect(await fate("bea", "BAGEL", "bagel-days")).toBe(200);
  });
});

describe("issual limit", () => {
  it("refuses the third issue of a promotion with an issual limit of 2, revoked entries counting", async () => {
    server.clock.now = Date.parse("2026-03-02T10:00:00Z");
    await member("ivy");
    const first = await issue("ivy", { promotionId: "juice-2" });
    expect(first.status).toBe(201);
    expect((await issue("ivy", { promotionId: "juice-2" })).status).toBe(201);
    const third = await issue("ivy", { promotionId: "juice-2" });
    expectProblem(third, 409, "/promotionId");
    expect(problem(third).type).toMatch(/limit_reached$/);
    expect(problem(third).detail).toContain("issual:times:lifetime");
    await server.request("DELETE", `/v1/customers/ivy/wallet/${first.body.id}`);
    expectProblem(await issue("ivy", { promotionId: "juice-2" }), 409);
    expect(await entryCount("ivy")).toBe(2);
  });

  it("issues exactly 2 of 10 concurrent issues", async () => {
    await member("rush");
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => issue("rush", { promotionId: "juice-2" }, pos)),
    );
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 409, 409, 409, 409, 409, 409, 409, 409]);
    expect(await entryCount("rush")).toBe(2);
  });
});

describe("revoke", () => {
  it("stops the entry applying at once; revoking again answers the same", async () => {
    server.clock.now = Date.parse("2026-03-02T10:00:00Z");
    await member("rex");
    const issued = await issue("rex", { promotionId: "tea-14" });
    expect(await fate("rex", "TEA", "tea-14")).toBe(250);
    server.clock.now += 1_000;
    const url = `/v1/customers/rex/wallet/${issued.body.id}`;
    const revoked = await server.request<Entry>("DELETE", url, { key: pos });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ state: "revoked", revokedAt: "2026-03-02T10:00:01.000Z" });
    expect(await fate("rex", "TEA", "tea-14")).toBe("not_in_wallet");
    expect((await server.request("DELETE", url, { key: pos })).body).toEqual(revoked.body);
    const activate = await server.request("POST", `${url}/activate`, { key: app });
    expectProblem(activate, 409);
    expect(activate.body["type"]).toMatch(/wallet_entry_revoked$/);
  });
});

describe("roles", () => {
  it("lets staff issue and revoke, the app and the till list and activate, and no one else", async () => {
    server.clock.now = Date.parse("2026-03-02T10:00:00Z");
    await member("rob");
    expectProblem(await issue("rob", { promotionId: "coffee-club" }, app), 403);
    const byMarketer = await issue("rob", { promotionId: "coffee-club" }, marketer);
    expect(byMarketer.status).toBe(201);
    const entry = `/v1/customers/rob/wallet/${byMarketer.body.id}`;
    expectProblem(await server.request("POST", `${entry}/activate`, { key: marketer }), 403);
    expectProblem(await server.request("DELETE", entry, { key: app }), 403);
    for (const key of [app, pos, marketer, server.admin]) {
      expect((await server.request("GET", "/v1/customers/rob/wallet", { key })).status).toBe(200);
    }
    expect((await server.request("POST", `${entry}/activate`, { key: pos })).status).toBe(200);
    expect((await walletOf("rob"))[0]?.state).toBe("active");
  });
});

describe("tenant isolation", () => {
  it("gives another workspace's key 404 for this customer's wallet and entries, and changes nothing", async () => {
    server.clock.now = Date.parse("2026-03-02T10:00:00Z");
    await member("iso");
    const issued = await issue("iso", { promotionId: "coffee-club" });
    const before = await walletOf("iso");
    const count = await entryCount();
    const other = await server.newWorkspace();
    const entry = `/v1/customers/iso/wallet/${issued.body.id}`;
    expectProblem(await server.request("GET", "/v1/customers/iso/wallet", { key: other.admin }), 404);
    expectProblem(await issue("iso", { promotionId: "coffee-club" }, other.admin), 404);
    expectProblem(await server.request("POST", `${entry}/activate`, { key: other.admin }), 404);
    expectProblem(await server.request("DELETE", entry, { key: other.admin }), 404);
    // The same id under another customer of this workspace is not found either.
    await member("iso-2");
    expectProblem(await server.request("DELETE", `/v1/customers/iso-2/wallet/${issued.body.id}`), 404);
    expect(await walletOf("iso")).toEqual(before);
    expect(await entryCount()).toBe(count);
  });
});

describe("bad input", () => {
  const cases: [string, string, Record<string, unknown>, number, string | undefined, string][] = [
    ["an unknown promotion", "val", { promotionId: "nope" }, 422, "/promotionId", "unprocessable"],
    ["a pos promotion", "val", { promotionId: "pos-any" }, 422, "/promotionId", "unprocessable"],
    ["an unknown field", "val", { promotionId: "tea-14", state: "active" }, 400, "/state", "invalid_request"],
    ["no promotion", "val", {}, 400, "/promotionId", "invalid_request"],
    [
      "an expiry that is no date",
      "val",
      { promotionId: "tea-14", expiresAt: "soon" },
      400,
      "/expiresAt",
      "invalid_request",
    ],
    [
      "an expiry in the past",
      "val",
      { promotionId: "tea-14", expiresAt: "2026-03-01T00:00:00Z" },
      422,
      "/expiresAt",
      "unprocessable",
    ],
    [
      "a 101-character customer id",
      "c".repeat(101),
      { promotionId: "tea-14" },
      400,
      "/params/customerId",
      "invalid_request",
    ],
    ["an unknown customer", "ghost", { promotionId: "tea-14" }, 404, undefined, "not_found"],
    ["a draft promotion", "val", { promotionId: "draft-reward" }, 409, undefined, "promotion_draft"],
  ];
  it.each(cases)("%s: refused, nothing issued", async (_name, customerId, body, status, path, type) => {
    server.clock.now = Date.parse("2026-03-02T10:00:00Z");
    await member("val");
    const count = await entryCount();
    const reply = await issue(customerId, body);
    expectProblem(reply, status, path);
    expect(problem(reply).type).toMatch(new RegExp(`/${type}$`));
    expect(await entryCount()).toBe(count);
  });

  it("answers 404 for an unknown entry and an unknown customer's wallet", async () => {
    await member("val");
    expectProblem(
      await server.request("POST", "/v1/customers/val/wallet/wal_nope/activate", { key: app }),
      404,
    );
    expectProblem(await server.request("DELETE", "/v1/customers/val/wallet/wal_nope"), 404);
    expectProblem(await server.request("GET", "/v1/customers/ghost/wallet", { key: app }), 404);
  });
});
