// Issue 4 end to end through the API: seed 003's four-tier program from the template (join, buy,
// return, thresholds, windows, non-members, tier discounts on the next basket, the report), seed
// 000's loyaltyCard segment gating the free coffee, events one by one and in batches, and bad
// definitions refused with the path of the problem.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertItems } from "./fixtures.js";
import { expectProblem, startServer, type Reply, type TestServer } from "./harness.js";

interface Loyalty {
  aggregates: Record<string, unknown>;
  expressions: Record<string, unknown>;
  segmentIds: string[];
  tiers: { programId: string; tierId: string; tierName: string }[];
  moves: { programId: string; fromTier: string | null; toTier: string | null; cause: string }[];
}
interface Quote {
  applied: { promotionId: string; discountMinor: number }[];
  totals: { grossMinor: number; discountMinor: number; netMinor: number };
}

const DAY = 86_400_000;
let server: TestServer;
let pos: string;
let seq = 0;

/** Items at the prices seed 003's story needs (PLN, minor units). */
const PRICES: Record<string, number> = {
  P250: 25_000,
  P40: 4_000,
  P60: 6_000,
  P1750: 175_000,
  P300: 30_000,
  P999_99: 99_999,
  P1000: 100_000,
  P2000: 200_000,
  P500: 50_000,
};

beforeAll(async () => {
  server = await startServer({ currency: "PLN", timeZone: "Europe/Warsaw" });
  pos = await server.newKey("pos");
  await insertItems(
    server,
    Object.entries(PRICES).map(([sku, priceMinor]) => ({ sku, priceMinor, categories: ["goods"] })),
  );
  const template = await server.request("POST", "/v1/loyalty/templates/tiers", { body: {} });
  expect(template.status, JSON.stringify(template.body)).toBe(200);
});
afterAll(async () => server?.close());

async function join(customerId: string): Promise<void> {
  const reply = await server.request("POST", "/v1/events", {
    key: pos,
    body: {
      id: `join-${customerId}-${++seq}`,
      customerId,
      type: "loyaltyStatus",
      params: { status: "active" },
    },
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
}

async function buy(
  customerId: string,
  ...skus: string[]
): Promise<{ transactionId: string; lineIds: string[] }> {
  const transactionId = `t-${++seq}`;
  const lines = skus.map((sku, i) => ({ id: `l${i}`, sku, quantity: 1 }));
  const reply = await server.request("POST", "/v1/sales", {
    key: pos,
    body: { transactionId, customerId, lines },
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return { transactionId, lineIds: lines.map((l) => l.id) };
}

async function loyaltyOf(customerId: string): Promise<Loyalty> {
  const reply = await server.request<Loyalty>("GET", `/v1/customers/${customerId}/loyalty`, { key: pos });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body;
}

async function tierOf(customerId: string): Promise<string | null> {
  return (await loyaltyOf(customerId)).tiers.find((t) => t.programId === "loyalty")?.tierId ?? null;
}

async function quote(customerId: string, sku = "P40"): Promise<Quote> {
  const reply = await server.request<Quote>("POST", "/v1/baskets/evaluate", {
    key: pos,
    body: { customerId, lines: [{ id: "x", sku, quantity: 1 }] },
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body;
}

describe("seed 003: tiers from the balance of the last 365 days since joining", () => {
  it("join, buy 250, buy 100 (Green), return 60 (White), buy 1750 (Golden); the discount follows at once", async () => {
    server.clock.now = Date.parse("2026-03-02T10:00:00Z");
    const c = "story";
    await join(c);
    expect(await tierOf(c)).toBe("white");
    await buy(c, "P250");
    expect(await tierOf(c)).toBe("white");
    expect((await quote(c)).applied).toEqual([]);

    server.clock.now += DAY;
    const second = await buy(c, "P40", "P60");
    expect(await tierOf(c)).toBe("green");
    const green = await quote(c);
    expect(green.applied.map((a) => a.promotionId)).toEqual(["loyalty-green"]);
    expect(green.totals.discountMinor).toBe(200); // 5 % of 40.00

    server.clock.now += DAY;
    const back = await server.request("POST", "/v1/returns", {
      key: pos,
      body: {
        returnId: `r-${++seq}`,
        transactionId: second.transactionId,
        lines: [{ lineId: "l1", quantity: 1 }],
      },
    });
    expect(back.status, JSON.stringify(back.body)).toBe(201);
    expect(await tierOf(c)).toBe("white");
    expect((await quote(c)).applied).toEqual([]);

    server.clock.now += DAY;
    await buy(c, "P1750");
    const golden = await loyaltyOf(c);
    expect(golden.tiers).toEqual([{ programId: "loyalty", tierId: "golden", tierName: "Golden" }]);
    expect(golden.expressions["loyalty.balance"]).toBe(25_000 + 10_000 - 6_000 + 175_000);
    expect(golden.expressions["loyalty.tierNumber"]).toBe(4);
    expect(golden.segmentIds).toEqual(["loyalty.golden"]);
    const q = await quote(c);
    expect(q.applied.map((a) => a.promotionId)).toEqual(["loyalty-golden"]);
    expect(q.totals.discountMinor).toBe(400);
    // Every move was recorded, caused by the sale or return that made it.
    expect(golden.moves.map((m) => [m.fromTier, m.toTier])).toEqual([
      ["white", "golden"],
      ["green", "white"],
      ["white", "green"],
      [null, "white"],
    ]);
  });

  it("the boundaries: 300 Green, 999.99 Green, 1000 Silver, 2000 Golden, 299.99 White", async () => {
    const cases: [string, string][] = [
      ["P300", "green"],
      ["P999_99", "green"],
      ["P1000", "silver"],
      ["P2000", "golden"],
    ];
    for (const [sku, tier] of cases) {
      const c = `boundary-${sku}`;
      await join(c);
      server.clock.now += 1_000;
      await buy(c, sku);
      expect(await tierOf(c), sku).toBe(tier);
    }
    const c = "boundary-below";
    await join(c);
    server.clock.now += 1_000;
    await buy(c, "P250", "P40"); // 290.00
    expect(await tierOf(c)).toBe("white");
  });

  it("a purchase before joining does not count, and one older than 365 days stops counting", async () => {
    const before = "before-joining";
    await buy(before, "P2000");
    server.clock.now += 60_000;
    await join(before);
    expect(await tierOf(before)).toBe("white");
    expect((await loyaltyOf(before)).expressions["loyalty.balance"]).toBe(0);

    const old = "old-purchase";
    await join(old);
    server.clock.now += 60_000;
    await buy(old, "P1000");
    expect(await tierOf(old)).toBe("silver");
    server.clock.now += 366 * DAY;
    // No event since: the basket is priced with the tier as of now.
    expect(await tierOf(old)).toBe("white");
    expect((await quote(old)).applied).toEqual([]);
  });

  it("a non-member has no tier and the tier number is the error value", async () => {
    const c = "not-a-member";
    await buy(c, "P2000");
    const view = await loyaltyOf(c);
    expect(view.tiers).toEqual([]);
    expect(view.expressions["loyalty.tierNumber"]).toEqual({ error: "not a member" });
    expect(view.segmentIds).toEqual([]);
    expect((await quote(c)).applied).toEqual([]);
  });

  it("erasing a profile rebuilds its state from the stripped events: it is no longer a member", async () => {
    const c = "to-erase";
    await join(c);
    server.clock.now += 1_000;
    await buy(c, "P1000");
    expect(await tierOf(c)).toBe("silver");
    const erase = await server.request("POST", `/v1/customers/${c}/erase`);
    expect(erase.status, JSON.stringify(erase.body)).toBe(200);
    // The joining event lost its params (status), so the rebuilt state has no joining time.
    const view = await loyaltyOf(c);
    expect(view.aggregates["loyalty.joinedAt"]).toBeNull();
    expect(view.tiers).toEqual([]);
  });

  it("concurrent sales of one customer each count once: the optimistic write falls back to the lock", async () => {
    const c = "concurrent";
    await join(c);
    server.clock.now += 1_000;
    const replies = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        server.request("POST", "/v1/sales", {
          key: pos,
          body: { transactionId: `conc-${i}`, customerId: c, lines: [{ id: "l", sku: "P40", quantity: 1 }] },
        }),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(replies.map(() => 201));
    const nets = replies.map((r) => (r.body as { totals: { netMinor: number } }).totals.netMinor);
    const view = await loyaltyOf(c);
    expect(view.aggregates["loyalty.charges"]).toBe(nets.reduce((a, b) => a + b, 0));
    // The stored tier (what the report counts) agrees with the tier now, and the moves chain up to it.
    const { rows } = await server.db.query<{ tiers: Record<string, string> }>(
      "select tiers from profile_states where workspace_id = $1 and customer_id = $2",
      [server.workspaceId, c],
    );
    expect(rows[0]!.tiers["loyalty"]).toBe(view.tiers[0]!.tierId);
    expect(view.moves[0]!.toTier).toBe(view.tiers[0]!.tierId);
  });

  it("the report counts customers per tier and moves per day", async () => {
    const reply = await server.request<{
      tiers: { tierId: string; customers: number }[];
      movesPerDay: { day: string; fromTier: string | null; toTier: string | null; moves: number }[];
    }>("GET", "/v1/tier-programs/loyalty/report?from=2026-03-01&to=2027-12-31");
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const perTier = Object.fromEntries(reply.body.tiers.map((t) => [t.tierId, t.customers]));
    expect(perTier["golden"]).toBeGreaterThanOrEqual(2);
    expect(reply.body.movesPerDay.some((d) => d.fromTier === "green" && d.toTier === "white")).toBe(true);
  });
});

describe("seed 000: the loyaltyCard segment gates the free coffee", () => {
  it("a card holder gets the coffee free, a customer without a card does not, until the card is set", async () => {
    const ws = await server.newWorkspace();
    const key = ws.admin;
    const req = <T = Record<string, unknown>>(
      method: "GET" | "POST" | "PUT" | "PATCH",
      url: string,
      body?: unknown,
    ) => server.request<T>(method, url, { key, ...(body !== undefined ? { body } : {}) });
    expect(
      (
        await req("PUT", "/v1/catalog/items/LATTE", {
          name: "Latte",
          priceMinor: 350,
          categories: ["Coffee"],
        })
      ).status,
    ).toBeLessThan(300);
    expect((await req("PUT", "/v1/attributes/loyaltyCard", { type: "boolean" })).status).toBeLessThan(300);
    const segmentation = await req("PUT", "/v1/segmentations/cards", {
      name: "Loyalty cards",
      segments: [
        {
          id: "loyaltyCard",
          name: "Has a loyalty card",
          condition: { fn: "eq", args: [{ attr: "loyaltyCard" }, true] },
        },
      ],
    });
    expect(segmentation.status, JSON.stringify(segmentation.body)).toBe(201);
    const promotion = await req("POST", "/v1/promotions", {
      id: "free-coffee",
      name: "Free coffee for loyalty card holders",
      type: "pos",
      schedule: { startsAt: "2026-01-01T00:00:00Z" },
      eligibility: { kind: "segments", segmentIds: ["loyaltyCard"] },
      conditions: [],
      benefit: {
        kind: "products",
        target: {
          kind: "selector",
          scope: { include: [{ kind: "categories", categories: ["Coffee"] }] },
          quantity: { kind: "all" },
        },
        value: { kind: "exact_price", amountMinor: 0 },
        repeat: { per: 1, kpi: "quantity" },
      },
      limits: [{ level: "customer", measure: "times", max: 5, window: { kind: "lifetime" } }],
    });
    expect(promotion.status, JSON.stringify(promotion.body)).toBe(201);
    expect((await req("POST", "/v1/promotions/free-coffee/publish")).status).toBe(200);
    expect((await req("PUT", "/v1/customers/ada", { attributes: { loyaltyCard: true } })).status).toBe(201);
    expect((await req("PUT", "/v1/customers/bo", { attributes: { loyaltyCard: false } })).status).toBe(201);

    const coffee = async (customerId: string) =>
      (
        await req<Quote>("POST", "/v1/baskets/evaluate", {
          customerId,
          lines: [{ id: "c", sku: "LATTE", quantity: 1 }],
        })
      ).body;
    expect((await coffee("ada")).totals.netMinor).toBe(0);
    expect((await coffee("bo")).totals.netMinor).toBe(350);
    expect((await req<Loyalty>("GET", "/v1/customers/ada/loyalty")).body.segmentIds).toEqual(["loyaltyCard"]);
    expect((await req("PATCH", "/v1/customers/bo", { attributes: { loyaltyCard: true } })).status).toBe(200);
    expect((await coffee("bo")).totals.netMinor).toBe(0);
  });
});

describe("events", () => {
  it("a batch keeps the good events, refuses the bad ones one by one, and a resent batch counts once", async () => {
    const ws = await server.newWorkspace();
    const put = await server.request("PUT", "/v1/event-types/page.visit", {
      key: ws.admin,
      body: { params: { url: "string", seconds: "number" } },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const visits = await server.request("PUT", "/v1/aggregates/visits", {
      key: ws.admin,
      body: { name: "Visits", fn: "count", event: "page.visit", period: { kind: "lifetime" } },
    });
    expect(visits.status, JSON.stringify(visits.body)).toBe(201);
    const batch = {
      events: [
        { id: "v1", customerId: "eve", type: "page.visit", params: { url: "/a", seconds: 3 } },
        { id: "v2", customerId: "eve", type: "page.unknown", params: {} },
        { id: "v3", customerId: "eve", type: "page.visit", params: { seconds: "three" } },
        { id: "v4", customerId: "eve", type: "page.visit", params: { url: "/b" } },
        { customerId: "eve", type: "page.visit" },
      ],
    };
    const first = await server.request<{
      accepted: number;
      duplicates: number;
      rejected: number;
      results: { id: string | null; status: string; errors?: { code: string; path: string }[] }[];
    }>("POST", "/v1/events/batch", { key: ws.admin, body: batch });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.results.map((r) => r.status)).toEqual([
      "accepted",
      "rejected",
      "rejected",
      "accepted",
      "rejected",
    ]);
    expect(first.body.results[1]!.errors![0]).toMatchObject({ code: "unknown_event", path: "/type" });
    expect(first.body.results[2]!.errors![0]).toMatchObject({
      code: "type_mismatch",
      path: "/params/seconds",
    });
    expect(first.body.results[4]!.errors![0]).toMatchObject({ path: "/id" });
    const again = await server.request<{ accepted: number; duplicates: number }>("POST", "/v1/events/batch", {
      key: ws.admin,
      body: batch,
    });
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 2 });
    const view = await server.request<Loyalty>("GET", "/v1/customers/eve/loyalty", { key: ws.admin });
    expect(view.body.aggregates["visits"]).toBe(2);
  });
});

describe("bad definitions are refused with the path of the problem, and nothing changes", () => {
  async function refused(reply: Reply<unknown>, status: number, code: string, path: string): Promise<void> {
    expectProblem(reply, status);
    const errors = (reply.body as { errors?: { code: string; path: string }[] }).errors ?? [];
    expect(errors, JSON.stringify(reply.body)).toContainEqual(expect.objectContaining({ code, path }));
  }

  it("unknown event, aggregate cycle, division by zero, unknown attribute", async () => {
    const ws = await server.newWorkspace();
    const put = (path: string, body: unknown) => server.request("PUT", path, { key: ws.admin, body });
    await refused(
      await put("/v1/aggregates/a", {
        name: "A",
        fn: "count",
        event: "no.such.event",
        period: { kind: "lifetime" },
      }),
      422,
      "unknown_event",
      "/event",
    );
    const first = {
      name: "First",
      fn: "first",
      event: "loyaltyStatus",
      param: "$timestamp",
      period: { kind: "lifetime" },
    };
    expect((await put("/v1/aggregates/first", first)).status).toBe(201);
    const self = {
      ...first,
      name: "Self",
      filters: [{ param: "$timestamp", op: "gt", value: { agg: "self" } }],
    };
    await refused(await put("/v1/aggregates/self", self), 422, "cycle", "/filters/0/value/agg");
    await refused(
      await put("/v1/expressions/e", { name: "E", formula: { fn: "div", args: [{ agg: "first" }, 0] } }),
      422,
      "division_by_zero",
      "/formula/args/1",
    );
    await refused(
      await put("/v1/expressions/e", { name: "E", formula: { fn: "eq", args: [{ attr: "nope" }, 1] } }),
      422,
      "unknown_attribute",
      "/formula/args/0/attr",
    );
    const list = await server.request<{ items: unknown[] }>("GET", "/v1/expressions", { key: ws.admin });
    expect(list.body.items).toEqual([]);
    // In use: deleting what another definition refers to is a 409 naming it.
    expect(
      (
        await put("/v1/expressions/uses", {
          name: "Uses",
          formula: { fn: "exists", args: [{ agg: "first" }] },
        })
      ).status,
    ).toBe(201);
    const del = await server.request("DELETE", "/v1/aggregates/first", { key: ws.admin });
    expectProblem(del, 409);
    expect(JSON.stringify(del.body)).toContain("expression uses");
  });
});

describe("seed 001: a shopper known only by a payment card hash", () => {
  it("a sale credits the card's profile (created once), a quote uses it only if it exists", async () => {
    const card = "a1".repeat(16);
    const anonymous = await server.request<Quote & { customerId?: string }>("POST", "/v1/baskets/evaluate", {
      key: pos,
      body: { cardHash: card, lines: [{ id: "x", sku: "P40", quantity: 1 }] },
    });
    expect(anonymous.status).toBe(200);
    expect(anonymous.body.customerId).toBeUndefined();
    const sales = await Promise.all(
      [1, 2].map((i) =>
        server.request<{ customerId?: string }>("POST", "/v1/sales", {
          key: pos,
          body: {
            transactionId: `card-${i}`,
            cardHash: card.toUpperCase(),
            lines: [{ id: "x", sku: "P40", quantity: 1 }],
          },
        }),
      ),
    );
    expect(sales.map((s) => s.status)).toEqual([201, 201]);
    const holder = `card-${card.slice(0, 32)}`;
    expect(sales.map((s) => s.body.customerId)).toEqual([holder, holder]);
    const quoted = await server.request<{ customerId?: string }>("POST", "/v1/baskets/evaluate", {
      key: pos,
      body: { cardHash: card, lines: [{ id: "x", sku: "P40", quantity: 1 }] },
    });
    expect(quoted.body.customerId).toBe(holder);
    const events = await server.request<{ items: { type: string }[] }>(
      "GET",
      `/v1/customers/${holder}/events?type=transaction.charge`,
    );
    expect(events.body.items).toHaveLength(2);
    const bad = await server.request("POST", "/v1/sales", {
      key: pos,
      body: { transactionId: "card-bad", cardHash: "not-hex", lines: [{ id: "x", sku: "P40", quantity: 1 }] },
    });
    expectProblem(bad, 400, "/cardHash");
  });
});

describe("a customer's first sale writes their loyalty state in the sale's own statement", () => {
  let ws: { workspaceId: string; admin: string };
  const sell = (customerId: string, transactionId: string) =>
    server.request("POST", "/v1/sales", {
      key: ws.admin,
      body: { transactionId, customerId, lines: [{ id: "l", sku: "P40", quantity: 1 }] },
    });
  async function stateOf(customerId: string): Promise<{ version: number; purchases: unknown }> {
    const { rows } = await server.db.query<{ version: number }>(
      "select version from profile_states where workspace_id = $1 and customer_id = $2",
      [ws.workspaceId, customerId],
    );
    const view = await server.request<Loyalty>("GET", `/v1/customers/${customerId}/loyalty`, {
      key: ws.admin,
    });
    expect(view.status, JSON.stringify(view.body)).toBe(200);
    return { version: rows[0]?.version ?? 0, purchases: view.body.aggregates["purchases"] };
  }

  beforeAll(async () => {
    ws = await server.newWorkspace({ currency: "PLN", timeZone: "Europe/Warsaw" });
    await insertItems(server, [{ sku: "P40", priceMinor: 4_000 }], ws.workspaceId);
    // A sale before the workspace has a model: its events are kept, no state is written.
    expect((await sell("before-model", "bm-1")).status).toBe(201);
    const aggregate = {
      name: "Purchases",
      fn: "count",
      event: "transaction.charge",
      period: { kind: "lifetime" },
    };
    const put = await server.request("PUT", "/v1/aggregates/purchases", { key: ws.admin, body: aggregate });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
  });

  it("a customer the workspace does not know yet: one state write (version 1), the sale counted", async () => {
    expect((await sell("brand-new", "bn-1")).status).toBe(201);
    expect(await stateOf("brand-new")).toEqual({ version: 1, purchases: 1 });
  });

  it("a customer whose events predate the model: rebuilt at pricing, then written with the sale", async () => {
    expect(await stateOf("before-model")).toEqual({ version: 0, purchases: 1 });
    expect((await sell("before-model", "bm-2")).status).toBe(201);
    expect(await stateOf("before-model")).toEqual({ version: 1, purchases: 2 });
  });

  it("concurrent first sales of one new customer each count once", async () => {
    const replies = await Promise.all(Array.from({ length: 16 }, (_, i) => sell("rush", `rush-${i}`)));
    expect(replies.map((r) => r.status)).toEqual(replies.map(() => 201));
    expect((await stateOf("rush")).purchases).toBe(16);
  });
});

describe("the tier template, called again", () => {
  it("keeps what exists, and publishes a tier promotion an earlier call created but did not publish", async () => {
    const ws = await server.newWorkspace({ currency: "PLN", timeZone: "Europe/Warsaw" });
    const as = { key: ws.admin };
    // What an earlier call leaves when it stops between creating and publishing the Golden benefit.
    const draft = await server.request("POST", "/v1/promotions", {
      ...as,
      body: {
        id: "loyalty-golden",
        name: "Golden tier: 10 % off",
        type: "loyalty",
        schedule: { startsAt: "2026-01-01T00:00:00Z" },
        eligibility: { kind: "tiers", programId: "loyalty", tierIds: ["golden"] },
        conditions: [],
        benefit: { kind: "cart", value: { kind: "percentage", bps: 1_000 } },
      },
    });
    expect(draft.status, JSON.stringify(draft.body)).toBe(201);
    const reply = await server.request<{ promotions: { id: string; created: boolean }[] }>(
      "POST",
      "/v1/loyalty/templates/tiers",
      { ...as, body: {} },
    );
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body.promotions).toEqual([
      { id: "loyalty-green", created: true },
      { id: "loyalty-silver", created: true },
      { id: "loyalty-golden", created: false },
    ]);
    for (const id of ["loyalty-green", "loyalty-silver", "loyalty-golden"]) {
      const read = await server.request<{ status: string }>("GET", `/v1/promotions/${id}`, as);
      expect([id, read.body.status]).toEqual([id, "active"]);
    }
    // Again: nothing new, nothing changed.
    const again = await server.request<{ promotions: { created: boolean }[] }>(
      "POST",
      "/v1/loyalty/templates/tiers",
      { ...as, body: {} },
    );
    expect(again.body.promotions.map((p) => p.created)).toEqual([false, false, false]);
  });
});
