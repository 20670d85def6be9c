// Earning on registration and profile.update events through the API proves: a new event earns one entry of each running single_activity promotion of its kind (a resent event, a sale, a refused event earn nothing), answered in the event's result and written as handbill.assign; maxEarningsPerCustomer and the issual limit hold across batches and concurrent senders; the activity's instant decides the schedule and the earning window; the earning scope needs the event's store (or channel); the entry expires from the activity or the issue as the promotion says.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { everyUnitAt, insertItems, insertPromotion } from "./fixtures.js";
import { promotionFate, startServer, type Page, type TestServer } from "./harness.js";

interface Earned {
  promotionId: string;
  entryId: string;
}
interface EventResult {
  id: string | null;
  status: string;
  earned?: Earned[];
}
interface BatchResult {
  accepted: number;
  duplicates: number;
  rejected: number;
  results: EventResult[];
}
interface Entry {
  id: string;
  promotionId: string;
  state: string;
  source: string;
  issuedAt: string;
  earnedAt: string | null;
  expiresAt: string | null;
}
interface StoredEvent {
  id: string;
  type: string;
  occurredAt: string;
  params: Record<string, unknown>;
  source: string;
}
interface Shop {
  readonly workspaceId: string;
  readonly key: string;
}

const NOW = Date.parse("2026-03-02T10:00:00Z");
let server: TestServer;
let sequence = 0;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => server?.close());

/** A loyalty_earning promotion that earns a free coffee on one activity. */
function earner(
  id: string,
  activity: "registration" | "profile_update" | "transaction",
  earning: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id,
    name: id,
    type: "loyalty_earning",
    earning: { kind: "single_activity", activity, ...earning },
    benefit: everyUnitAt("coffee", 0),
    ...extra,
  };
}

/** A workspace of its own with these promotions published and a coffee to sell. */
async function shop(promotions: readonly Record<string, unknown>[]): Promise<Shop> {
  server.clock.now = NOW;
  const { workspaceId, admin } = await server.newWorkspace();
  await insertItems(server, [{ sku: "COFFEE", priceMinor: 300, categories: ["coffee"] }], workspaceId);
  for (const p of promotions) await insertPromotion(server, p, { workspaceId });
  return { workspaceId, key: admin };
}

async function send(s: Shop, events: readonly Record<string, unknown>[]): Promise<BatchResult> {
  const reply = await server.request<BatchResult>("POST", "/v1/events/batch", {
    key: s.key,
    body: { events },
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body;
}

/** Events of a type for a customer, each with a fresh id unless given. */
function event(
  customerId: string,
  type: "registration" | "profile.update",
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { id: `ev-${++sequence}`, customerId, type, ...extra };
}

async function walletOf(s: Shop, customerId: string): Promise<Entry[]> {
  const reply = await server.request<Page<Entry>>("GET", `/v1/customers/${customerId}/wallet?limit=100`, {
    key: s.key,
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.items;
}

async function eventsOf(s: Shop, customerId: string): Promise<StoredEvent[]> {
  const reply = await server.request<{ items: StoredEvent[] }>(
    "GET",
    `/v1/customers/${customerId}/events?limit=100`,
    { key: s.key },
  );
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body.items;
}

const promotionsOf = (earned: readonly Earned[] | undefined) => (earned ?? []).map((e) => e.promotionId);
const heldOf = (entries: readonly Entry[]) => entries.map((e) => e.promotionId).sort();

describe("a registration or profile update earns", () => {
  it("one entry of each running promotion of its activity, once per event id, answered and recorded", async () => {
    const s = await shop([
      earner("welcome", "registration"),
      earner("welcome-app", "registration", {}, { activationRequired: true }),
      earner("profile-bonus", "profile_update"),
      earner("per-sale", "transaction"),
      earner(
        "welcome-ended",
        "registration",
        {},
        { schedule: { startsAt: "2026-01-01T00:00:00Z", endsAt: "2026-02-01T00:00:00Z" } },
      ),
    ]);
    const registration = {
      id: "reg-ada",
      customerId: "ada",
      type: "registration",
      occurredAt: "2026-03-02T09:59:00Z",
      params: { channel: "mobile" },
    };
    const one = await server.request<EventResult>("POST", "/v1/events", { key: s.key, body: registration });
    expect(one.status, JSON.stringify(one.body)).toBe(200);
    expect(one.body.status).toBe("accepted");
    expect(promotionsOf(one.body.earned)).toEqual(["welcome", "welcome-app"]);

    // Resent, alone or in a batch: a duplicate, earning nothing again.
    const again = await server.request<EventResult>("POST", "/v1/events", { key: s.key, body: registration });
    expect(again.body).toEqual({ id: "reg-ada", status: "duplicate" });
    const batch = await send(s, [
      registration,
      { id: "bad", customerId: "ada", type: "registration", params: { channel: 3 } },
    ]);
    expect(batch.results.map((r) => [r.status, r.earned])).toEqual([
      ["duplicate", undefined],
      ["rejected", undefined],
    ]);

    const wallet = await walletOf(s, "ada");
    expect(heldOf(wallet)).toEqual(["welcome", "welcome-app"]);
    const byPromotion = new Map(wallet.map((e) => [e.promotionId, e]));
    expect(byPromotion.get("welcome")).toMatchObject({
      state: "active",
      source: "earned",
      issuedAt: new Date(NOW).toISOString(),
      earnedAt: "2026-03-02T09:59:00.000Z",
      expiresAt: null,
    });
    expect(byPromotion.get("welcome-app")).toMatchObject({ state: "issued", source: "earned" });

    // A profile update earns the profile_update promotion only; a sale the transaction one only.
    const update = await send(s, [event("ada", "profile.update", { params: { fields: "email" } })]);
    expect(promotionsOf(update.results[0]!.earned)).toEqual(["profile-bonus"]);
    const sale = await server.request<{ earned: Earned[] }>("POST", "/v1/sales", {
      key: s.key,
      body: {
        transactionId: "sale-ada",
        customerId: "ada",
        lines: [{ id: "1", sku: "COFFEE", quantity: 1 }],
      },
    });
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    expect(promotionsOf(sale.body.earned)).toEqual(["per-sale"]);

    // Each earned entry is one handbill.assign, written with the event that earned it.
    const events = await eventsOf(s, "ada");
    const assigns = events.filter((e) => e.type === "handbill.assign");
    const earnedIds = [...one.body.earned!, ...update.results[0]!.earned!, ...sale.body.earned];
    expect(assigns.map((e) => [e.id, e.params]).sort()).toEqual(
      earnedIds.map((e) => [`${e.entryId}.assign`, { promotionId: e.promotionId }]).sort(),
    );
    expect(events.filter((e) => e.type === "registration").map((e) => e.id)).toEqual(["reg-ada"]);
  });

  it("caps at maxEarningsPerCustomer and the issual limit, across batches and concurrent senders", async () => {
    const s = await shop([
      earner("twice", "profile_update", { maxEarningsPerCustomer: 2 }),
      earner(
        "once-held",
        "registration",
        {},
        {
          limits: [{ level: "issual", measure: "times", max: 1, window: { kind: "lifetime" } }],
        },
      ),
    ]);
    // One batch of three: the first two (by occurredAt) earn.
    const batch = await send(s, [
      event("bo", "profile.update", { occurredAt: "2026-03-02T09:03:00Z" }),
      event("bo", "profile.update", { occurredAt: "2026-03-02T09:01:00Z" }),
      event("bo", "profile.update", { occurredAt: "2026-03-02T09:02:00Z" }),
    ]);
    expect(batch.results.map((r) => promotionsOf(r.earned))).toEqual([[], ["twice"], ["twice"]]);
    expect(promotionsOf((await send(s, [event("bo", "profile.update")])).results[0]!.earned)).toEqual([]);
    expect(heldOf(await walletOf(s, "bo"))).toEqual(["twice", "twice"]);

    // Twelve concurrent senders of one customer: still two.
    await Promise.all(Array.from({ length: 12 }, () => send(s, [event("cy", "profile.update")])));
    expect(heldOf(await walletOf(s, "cy"))).toEqual(["twice", "twice"]);

    // The issual limit counts a staff issue: the registration then earns nothing.
    expect((await server.request("PUT", "/v1/customers/dee", { key: s.key, body: {} })).status).toBeLessThan(
      300,
    );
    const issued = await server.request("POST", "/v1/customers/dee/wallet", {
      key: s.key,
      body: { promotionId: "once-held" },
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(201);
    expect((await send(s, [event("dee", "registration")])).results[0]!.earned).toBeUndefined();
    expect(heldOf(await walletOf(s, "dee"))).toEqual(["once-held"]);
  });

  it("when the activity happened within the schedule and the earning window, and the promotion has not ended", async () => {
    // Starts at local midnight on 1 March in Berlin; 7 earning days run to local midnight on 8 March.
    const s = await shop([
      earner(
        "early",
        "registration",
        { earningWindowDays: 7 },
        { schedule: { startsAt: "2026-02-28T23:00:00Z" } },
      ),
      earner(
        "ended",
        "profile_update",
        {},
        {
          schedule: { startsAt: "2026-01-01T00:00:00Z", endsAt: "2026-03-05T00:00:00Z" },
        },
      ),
    ]);
    server.clock.now = Date.parse("2026-03-10T10:00:00Z");
    const result = await send(s, [
      event("in", "registration", { occurredAt: "2026-03-07T22:59:59.999Z" }),
      event("closed", "registration", { occurredAt: "2026-03-07T23:00:00.000Z" }),
      event("before", "registration", { occurredAt: "2026-02-28T22:59:59.999Z" }),
      event("late", "profile.update", { occurredAt: "2026-03-04T12:00:00Z" }),
    ]);
    expect(result.results.map((r) => promotionsOf(r.earned))).toEqual([["early"], [], [], []]);
    expect(heldOf(await walletOf(s, "in"))).toEqual(["early"]);
    expect(await walletOf(s, "late")).toEqual([]);
  });

  it("in the earning scope only: the event's $storeId (a store, or its concept or zone) and channel", async () => {
    const s = await shop([
      earner("at-ber-1", "registration", { scope: { storeIds: ["ber-1"] } }),
      earner("in-berlin", "registration", { scope: { zoneIds: ["berlin"] } }),
      earner("on-mobile", "profile_update", { scope: { channels: ["mobile"] } }),
    ]);
    for (const [path, body] of [
      ["/v1/zones/berlin", { name: "Berlin" }],
      ["/v1/stores/ber-2", { name: "Berlin Ost", zoneIds: ["berlin"] }],
    ] as const) {
      const put = await server.request("PUT", path, { key: s.key, body });
      expect(put.status, JSON.stringify(put.body)).toBeLessThan(300);
    }
    const result = await send(s, [
      event("a", "registration", { params: { $storeId: "ber-1" } }),
      event("b", "registration", { params: { $storeId: "ber-2" } }),
      event("c", "registration", { params: { $storeId: "muc-1" } }),
      event("d", "registration"),
      event("e", "profile.update", { params: { channel: "mobile" } }),
      event("f", "profile.update", { params: { channel: "pos" } }),
      event("g", "profile.update"),
    ]);
    expect(result.results.map((r) => promotionsOf(r.earned))).toEqual([
      ["at-ber-1"],
      ["in-berlin"],
      [],
      [],
      ["on-mobile"],
      [],
      [],
    ]);
  });

  it("an entry that expires as the promotion says: from the activity, from the issue, never dead on arrival", async () => {
    const s = await shop([
      earner("from-earning", "registration", {}, { expiry: { kind: "days_from_earning", days: 10 } }),
      earner("from-issue", "registration", {}, { expiry: { kind: "days_from_issuance", days: 10 } }),
    ]);
    const result = await send(s, [
      event("eve", "registration", { occurredAt: "2026-03-01T10:00:00Z" }),
      // Registered 15 days ago: 10 days from earning are over, so that entry is not earned at all.
      event("old", "registration", { occurredAt: "2026-02-15T10:00:00Z" }),
    ]);
    expect(result.results.map((r) => promotionsOf(r.earned))).toEqual([
      ["from-earning", "from-issue"],
      ["from-issue"],
    ]);
    const wallet = new Map((await walletOf(s, "eve")).map((e) => [e.promotionId, e]));
    expect(wallet.get("from-earning")?.expiresAt).toBe("2026-03-11T10:00:00.000Z");
    expect(wallet.get("from-issue")?.expiresAt).toBe("2026-03-12T10:00:00.000Z");

    expect(await promotionFate(server, s.key, "eve", "COFFEE", "from-earning")).toBe(300);
    server.clock.now = Date.parse("2026-03-11T10:00:00Z");
    expect(await promotionFate(server, s.key, "eve", "COFFEE", "from-earning")).toBe("wallet_entry_expired");
    expect((await walletOf(s, "eve")).find((e) => e.promotionId === "from-earning")?.state).toBe("expired");
    expect(await promotionFate(server, s.key, "eve", "COFFEE", "from-issue")).toBe(300);
  });

  it("while sales of the same customer commit concurrently, each counted once", async () => {
    const s = await shop([
      earner("welcome", "registration", { maxEarningsPerCustomer: 3 }),
      earner("per-sale", "transaction"),
    ]);
    const rules = await server.request("PUT", "/v1/points/rules", {
      key: s.key,
      body: { enabled: true, pointsPerUnit: 1, burnValueMinorPerPoint: 1 },
    });
    expect(rules.status, JSON.stringify(rules.body)).toBe(200);
    const aggregate = await server.request("PUT", "/v1/aggregates/assigned", {
      key: s.key,
      body: { name: "Assigned", fn: "count", event: "handbill.assign", period: { kind: "lifetime" } },
    });
    expect(aggregate.status, JSON.stringify(aggregate.body)).toBe(201);
    expect((await server.request("PUT", "/v1/customers/fay", { key: s.key, body: {} })).status).toBeLessThan(
      300,
    );
    const sales = Array.from({ length: 8 }, (_, i) =>
      server.request("POST", "/v1/sales", {
        key: s.key,
        body: {
          transactionId: `fay-${i}`,
          customerId: "fay",
          lines: [{ id: "1", sku: "COFFEE", quantity: 1 }],
        },
      }),
    );
    const events = Array.from({ length: 8 }, () => send(s, [event("fay", "registration")]));
    const replies = await Promise.all(sales);
    await Promise.all(events);
    expect(replies.map((r) => r.status)).toEqual(Array(8).fill(201));
    const held = heldOf(await walletOf(s, "fay"));
    expect(held.filter((p) => p === "welcome")).toHaveLength(3);
    expect(held.filter((p) => p === "per-sale")).toHaveLength(8);
    const loyalty = await server.request<{ aggregates: Record<string, unknown> }>(
      "GET",
      "/v1/customers/fay/loyalty",
      { key: s.key },
    );
    expect(loyalty.body.aggregates["assigned"]).toBe(11);
  });
});
