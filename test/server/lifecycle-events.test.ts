// The promotion lifecycle's own events through the API proves: a staff issue, an entry a sale earns and a reward bought write handbill.assign; an activation writes client.activatePromotion; points burned at the till, by a burn, by a transfer (the giver), by a purchase and clawed back by a return write client.removePoints with the points and the reason; each exactly once with an id derived from what it records, under replays and concurrent retries, none for a refused operation, and folded once into the customer's aggregates.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { everyUnitAt, insertItems, insertPromotion } from "./fixtures.js";
import { expectProblem, startServer, type Reply, type TestServer } from "./harness.js";

interface StoredEvent {
  id: string;
  type: string;
  params: Record<string, unknown>;
  source: string;
}
interface Entry {
  id: string;
  promotionId: string;
}

const LIFECYCLE = ["handbill.assign", "client.activatePromotion", "client.removePoints"];
let server: TestServer;
let pos: string;
let app: string;
let customers = 0;

beforeAll(async () => {
  server = await startServer();
  pos = await server.newKey("pos");
  app = await server.newKey("app");
  await insertItems(server, [{ sku: "COFFEE", priceMinor: 300, categories: ["coffee"] }]);
  await insertPromotion(server, {
    id: "staff-coffee",
    name: "A coffee on the house, once activated",
    type: "loyalty",
    activationRequired: true,
    benefit: everyUnitAt("coffee", 0),
  });
  await insertPromotion(server, {
    id: "first-visit",
    name: "A coffee for the first visit",
    type: "loyalty_earning",
    earning: { kind: "single_activity", activity: "transaction", maxEarningsPerCustomer: 1 },
    benefit: everyUnitAt("coffee", 0),
  });
  await insertPromotion(server, {
    id: "reward-100",
    name: "A coffee for 100 points",
    type: "rewards",
    earning: { kind: "direct_trigger", pointsCost: 100 },
    benefit: everyUnitAt("coffee", 0),
  });
  await insertPromotion(server, {
    id: "free-claim",
    name: "A coffee to claim",
    type: "rewards",
    earning: { kind: "direct_trigger" },
    benefit: everyUnitAt("coffee", 0),
  });
  const rules = await server.request("PUT", "/v1/points/rules", {
    body: { enabled: true, pointsPerUnit: 1, burnValueMinorPerPoint: 1 },
  });
  expect(rules.status, JSON.stringify(rules.body)).toBe(200);
  // Aggregates over the lifecycle's events: they must count each event once.
  for (const [id, body] of [
    ["removed", { name: "Points removed", fn: "sum", event: "client.removePoints", param: "points" }],
    ["assigned", { name: "Assigned", fn: "count", event: "handbill.assign" }],
    ["activated", { name: "Activated", fn: "count", event: "client.activatePromotion" }],
  ] as const) {
    const put = await server.request("PUT", `/v1/aggregates/${id}`, {
      body: { ...body, period: { kind: "lifetime" } },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
  }
});
afterAll(async () => server?.close());

async function customer(points = 0): Promise<string> {
  const id = `c-${++customers}`;
  const reply = await server.request("PUT", `/v1/customers/${id}`, { body: {} });
  expect(reply.status, JSON.stringify(reply.body)).toBeLessThan(300);
  if (points > 0) {
    const earn = await server.request("POST", `/v1/customers/${id}/points/earn`, {
      body: { amount: points, reference: `seed-${id}` },
    });
    expect(earn.status, JSON.stringify(earn.body)).toBe(200);
  }
  return id;
}

/** The customer's lifecycle events by type, then id, as [id, type, params, source]. */
async function lifecycleOf(customerId: string): Promise<[string, string, unknown, string][]> {
  const reply = await server.request<{ items: StoredEvent[] }>(
    "GET",
    `/v1/customers/${customerId}/events?limit=100`,
  );
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.items
    .filter((e) => LIFECYCLE.includes(e.type))
    .map((e): [string, string, unknown, string] => [e.id, e.type, e.params, e.source])
    .sort((a, b) => (a[1] + a[0] < b[1] + b[0] ? -1 : 1));
}

async function aggregatesOf(customerId: string): Promise<Record<string, unknown>> {
  const reply = await server.request<{ aggregates: Record<string, unknown> }>(
    "GET",
    `/v1/customers/${customerId}/loyalty`,
  );
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.aggregates;
}

function ok<T>(reply: Reply<T>, status: number): T {
  expect(reply.status, JSON.stringify(reply.body)).toBe(status);
  return reply.body;
}

describe("the wallet's events", () => {
  it("a staff issue writes handbill.assign; the first activation client.activatePromotion, once", async () => {
    const id = await customer();
    const entry = ok(
      await server.request<Entry>("POST", `/v1/customers/${id}/wallet`, {
        key: pos,
        body: { promotionId: "staff-coffee" },
      }),
      201,
    );
    for (let i = 0; i < 3; i++)
      ok(await server.request("POST", `/v1/customers/${id}/wallet/${entry.id}/activate`, { key: app }), 200);
    expect(await lifecycleOf(id)).toEqual([
      [`${entry.id}.activate`, "client.activatePromotion", { promotionId: "staff-coffee" }, "api"],
      [`${entry.id}.assign`, "handbill.assign", { promotionId: "staff-coffee" }, "api"],
    ]);
    expect(await aggregatesOf(id)).toMatchObject({ assigned: 1, activated: 1, removed: 0 });
  });

  it("a refused issue writes nothing", async () => {
    const id = await customer();
    expectProblem(
      await server.request("POST", `/v1/customers/${id}/wallet`, { body: { promotionId: "nope" } }),
      422,
      "/promotionId",
    );
    expect(await lifecycleOf(id)).toEqual([]);
  });
});

describe("a sale's events", () => {
  it("the entry it earns and the points burned at the till, once however often it is replayed", async () => {
    const id = await customer(1_000);
    const body = {
      transactionId: `lifecycle-${id}`,
      customerId: id,
      lines: [{ id: "1", sku: "COFFEE", quantity: 1 }],
      tenders: [{ mode: "points", amountMinor: 200 }],
    };
    const replies = await Promise.all(
      Array.from({ length: 5 }, () =>
        server.request<Record<string, unknown>>("POST", "/v1/sales", { key: pos, body }),
      ),
    );
    const receipts = replies.map((r) => JSON.stringify(r.body));
    expect(new Set(receipts).size).toBe(1);
    const receipt = replies[0]!.body as {
      saleId: string;
      earned: { promotionId: string; entryId: string }[];
      points: { burned: number };
    };
    expect(receipt.points.burned).toBe(200);
    const [earned] = receipt.earned;
    expect(earned?.promotionId).toBe("first-visit");
    expect(await lifecycleOf(id)).toEqual([
      [`${receipt.saleId}.removePoints`, "client.removePoints", { points: 200, reason: "sale" }, "sale"],
      [`${earned!.entryId}.assign`, "handbill.assign", { promotionId: "first-visit" }, "sale"],
    ]);
    expect(await aggregatesOf(id)).toMatchObject({ assigned: 1, removed: 200 });

    // Without a points tender nor an earning: neither event.
    ok(
      await server.request("POST", "/v1/sales", {
        key: pos,
        body: {
          transactionId: `plain-${id}`,
          customerId: id,
          lines: [{ id: "1", sku: "COFFEE", quantity: 1 }],
        },
      }),
      201,
    );
    expect(await lifecycleOf(id)).toHaveLength(2);
  });
});

describe("points leaving", () => {
  it("a burn writes client.removePoints once per reference; a refused burn writes nothing", async () => {
    const id = await customer(500);
    const body = { amount: 120, reference: `burn-${id}` };
    const replies = await Promise.all(
      Array.from({ length: 5 }, () =>
        server.request("POST", `/v1/customers/${id}/points/burn`, { key: app, body }),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(5).fill(200));
    expectProblem(
      await server.request("POST", `/v1/customers/${id}/points/burn`, {
        key: app,
        body: { amount: 10_000, reference: `too-much-${id}` },
      }),
      409,
      "/amount",
    );
    expect(await lifecycleOf(id)).toEqual([
      [`burn-${id}.removePoints`, "client.removePoints", { points: 120, reason: "burn" }, "api"],
    ]);
    expect(await aggregatesOf(id)).toMatchObject({ removed: 120 });
  });

  it("a return writes client.removePoints for the points it clawed back, once however often it is replayed", async () => {
    const id = await customer();
    const sale = ok(
      await server.request<{ saleId: string; points: { earned: number } }>("POST", "/v1/sales", {
        key: pos,
        body: {
          transactionId: `clawed-${id}`,
          customerId: id,
          lines: [{ id: "1", sku: "COFFEE", quantity: 4 }],
        },
      }),
      201,
    );
    expect(sale.points.earned).toBeGreaterThan(0);
    const body = {
      returnId: `back-${id}`,
      transactionId: `clawed-${id}`,
      lines: [{ lineId: "1", quantity: 2 }],
    };
    const replies = await Promise.all(
      Array.from({ length: 3 }, () =>
        server.request<{ points: { clawedBack: number } }>("POST", "/v1/returns", { key: pos, body }),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(3).fill(201));
    const { clawedBack } = replies[0]!.body.points;
    expect(clawedBack).toBe(Math.floor(sale.points.earned / 2));
    const removals = (await lifecycleOf(id)).filter(([, type]) => type === "client.removePoints");
    expect(removals).toEqual([
      [
        `${sale.saleId}.return.back-${id}.removePoints`,
        "client.removePoints",
        { points: clawedBack, reason: "return" },
        "return",
      ],
    ]);
    expect(await aggregatesOf(id)).toMatchObject({ removed: clawedBack });
  });

  it("a transfer writes client.removePoints for the giver only, once per reference", async () => {
    const giver = await customer(300);
    const receiver = await customer();
    const body = { toCustomerId: receiver, amount: 75, reference: `gift-${giver}` };
    for (let i = 0; i < 2; i++)
      ok(await server.request("POST", `/v1/customers/${giver}/points/transfer`, { body }), 200);
    expect(await lifecycleOf(giver)).toEqual([
      [`gift-${giver}.removePoints`, "client.removePoints", { points: 75, reason: "transfer" }, "api"],
    ]);
    expect(await lifecycleOf(receiver)).toEqual([]);
    expect(await aggregatesOf(giver)).toMatchObject({ removed: 75 });
  });
});

describe("rewards bought with points", () => {
  it("a purchase writes handbill.assign and client.removePoints, once under concurrent retries", async () => {
    const id = await customer(250);
    const body = { promotionId: "reward-100", reference: `buy-${id}` };
    const replies = await Promise.all(
      Array.from({ length: 8 }, () =>
        server.request<{ entry: Entry }>("POST", `/v1/customers/${id}/wallet/purchases`, { key: app, body }),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(8).fill(201));
    const entryId = replies[0]!.body.entry.id;
    expect(await lifecycleOf(id)).toEqual([
      [`buy-${id}.removePoints`, "client.removePoints", { points: 100, reason: "reward" }, "api"],
      [`${entryId}.assign`, "handbill.assign", { promotionId: "reward-100" }, "api"],
    ]);
    expect(await aggregatesOf(id)).toMatchObject({ assigned: 1, removed: 100 });
  });

  it("a free claim writes handbill.assign only; a purchase short of points writes nothing", async () => {
    const id = await customer(50);
    const claim = ok(
      await server.request<{ entry: Entry }>("POST", `/v1/customers/${id}/wallet/purchases`, {
        key: app,
        body: { promotionId: "free-claim", reference: `claim-${id}` },
      }),
      201,
    );
    expectProblem(
      await server.request("POST", `/v1/customers/${id}/wallet/purchases`, {
        key: app,
        body: { promotionId: "reward-100", reference: `short-${id}` },
      }),
      409,
      "/promotionId",
    );
    expect(await lifecycleOf(id)).toEqual([
      [`${claim.entry.id}.assign`, "handbill.assign", { promotionId: "free-claim" }, "api"],
    ]);
    expect(await aggregatesOf(id)).toMatchObject({ assigned: 1, removed: 0 });
  });
});
