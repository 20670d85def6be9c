// Seed 002 personalized product lists through the API: a list assigned or chosen sends the product-set discount to the customer's chosen products in a quote and a sale, maxDistinct, unknown and repeated SKUs and bad input are refused naming the path, the default product applies while nothing is chosen, the list locks after the first sale that applied it, and every route keeps to its roles and its workspace.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { everyUnitAt, insertItems, insertPromotion } from "./fixtures.js";
import { expectProblem, startServer, type TestServer } from "./harness.js";

interface List {
  customerId: string;
  promotionId: string;
  skus: string[];
  source: "assigned" | "chosen";
  createdAt: string;
  chosenAt: string;
  locked: boolean;
  lockedAt: string | null;
  maxDistinct: number | null;
  lockAfterFirstApply: boolean;
  defaultSku: string | null;
}
interface Priced {
  totals: { grossMinor: number; discountMinor: number; netMinor: number };
  lines: { lineId: string; discountMinor: number; netMinor: number }[];
  applied: { promotionId: string; discountMinor: number; units: number }[];
  rejected: { promotionId: string; code: string }[];
}

let server: TestServer;
let pos: string;
let app: string;
let marketer: string;

/** Seed 002's promotion: two breads, then the customer's pick at half price on 2 units. */
function personal(id: string, list: Record<string, unknown>): Record<string, unknown> {
  return {
    id,
    name: `Half-price pick with two breads: ${id}`,
    benefit: {
      kind: "products",
      target: {
        kind: "product_sets",
        sets: [
          {
            name: "Two breads",
            products: { kind: "scope", scope: { include: [{ kind: "categories", categories: ["Bread"] }] } },
            requiredQuantity: 2,
          },
          {
            name: "Your pick",
            products: { kind: "personal_list", ...list },
            requiredQuantity: 1,
            discountedUnits: 2,
          },
        ],
      },
      value: { kind: "percentage", bps: 5_000 },
    },
  };
}

beforeAll(async () => {
  server = await startServer();
  pos = await server.newKey("pos");
  app = await server.newKey("app");
  marketer = await server.newKey("marketer");
  await insertItems(server, [
    { sku: "BREAD-RYE", priceMinor: 450, categories: ["Bread"] },
    { sku: "JUICE-APPLE", priceMinor: 399, categories: ["Juice"] },
    { sku: "SMOOTHIE-MANGO", priceMinor: 599, categories: ["Juice"] },
    { sku: "JUICE-ORANGE", priceMinor: 349, categories: ["Juice"] },
    { sku: "KOMBUCHA", priceMinor: 499, categories: ["Juice"] },
  ]);
  await insertPromotion(
    server,
    personal("personal-juice", { maxDistinct: 2, lockAfterFirstApply: false, defaultSku: "JUICE-ORANGE" }),
  );
  // No default: it applies only to a customer who chose.
  await insertPromotion(server, personal("personal-lock", { maxDistinct: 1, lockAfterFirstApply: true }));
  await insertPromotion(server, { id: "pos-any", name: "Not personalized", benefit: everyUnitAt("none", 0) });
});
afterAll(async () => server?.close());

async function customer(id: string): Promise<void> {
  const reply = await server.request("PUT", `/v1/customers/${id}`, { body: {} });
  expect(reply.status, JSON.stringify(reply.body)).toBeLessThan(300);
}

async function choose(customerId: string, promotionId: string, body: unknown, key?: string) {
  return server.request<List>("PUT", `/v1/customers/${customerId}/product-lists/${promotionId}`, {
    body,
    ...(key ? { key } : {}),
  });
}

async function listOf(customerId: string, promotionId: string, key?: string) {
  return server.request<List>("GET", `/v1/customers/${customerId}/product-lists/${promotionId}`, {
    ...(key ? { key } : {}),
  });
}

async function rows(): Promise<unknown[]> {
  return (await server.db.query("select * from customer_product_lists order by customer_id, promotion_id"))
    .rows;
}

const bread = { id: "l1", sku: "BREAD-RYE", quantity: 2 };

async function quote(customerId: string, lines: unknown[]): Promise<Priced> {
  const reply = await server.request<Priced>("POST", "/v1/baskets/evaluate", {
    key: pos,
    body: { customerId, lines },
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body;
}

async function sell(customerId: string, transactionId: string, lines: unknown[]): Promise<Priced> {
  const reply = await server.request<Priced>("POST", "/v1/sales", {
    key: pos,
    body: { transactionId, customerId, lines },
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body;
}

const discountOf = (priced: Priced, lineId: string) =>
  priced.lines.find((l) => l.lineId === lineId)?.discountMinor;

describe("assigned list", () => {
  it("sends the product-set discount to the chosen products in a quote and a sale", async () => {
    server.clock.now = Date.parse("2026-06-01T10:00:00Z");
    await customer("c-9");
    const set = await choose("c-9", "personal-juice", { skus: ["JUICE-APPLE", "SMOOTHIE-MANGO"] }, marketer);
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toEqual({
      customerId: "c-9",
      promotionId: "personal-juice",
      skus: ["JUICE-APPLE", "SMOOTHIE-MANGO"],
      source: "assigned",
      createdAt: "2026-06-01T10:00:00.000Z",
      chosenAt: "2026-06-01T10:00:00.000Z",
      locked: false,
      lockedAt: null,
      maxDistinct: 2,
      lockAfterFirstApply: false,
      defaultSku: "JUICE-ORANGE",
    });
    expect((await listOf("c-9", "personal-juice", app)).body).toEqual(set.body);

    // Seed 002's first case: the 2 cheapest chosen units at half price (3.99 -> 2.00, 5.99 -> 3.00).
    const lines = [
      bread,
      { id: "l2", sku: "JUICE-APPLE", quantity: 1 },
      { id: "l3", sku: "SMOOTHIE-MANGO", quantity: 2 },
      { id: "l4", sku: "JUICE-ORANGE", quantity: 1 },
    ];
    const quoted = await quote("c-9", lines);
    expect(quoted.applied.find((a) => a.promotionId === "personal-juice")).toMatchObject({
      discountMinor: 500,
      units: 2,
    });
    expect([
      discountOf(quoted, "l1"),
      discountOf(quoted, "l2"),
      discountOf(quoted, "l3"),
      discountOf(quoted, "l4"),
    ]).toEqual([0, 200, 300, 0]);
    const sold = await sell("c-9", "pl-sale-1", lines);
    expect(sold.totals).toEqual(quoted.totals);
    expect(sold.lines.map((l) => l.discountMinor)).toEqual(quoted.lines.map((l) => l.discountMinor));

    // This promotion does not lock: the customer may change after the sale.
    server.clock.now += 60_000;
    const changed = await choose("c-9", "personal-juice", { skus: ["KOMBUCHA"] }, app);
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      skus: ["KOMBUCHA"],
      source: "chosen",
      createdAt: "2026-06-01T10:00:00.000Z",
      chosenAt: "2026-06-01T10:01:00.000Z",
      locked: false,
    });
    const after = await quote("c-9", [bread, { id: "l2", sku: "KOMBUCHA", quantity: 1 }]);
    expect(discountOf(after, "l2")).toBe(250);
  });

  it("refuses more distinct products than maxDistinct, naming /skus, and keeps the list", async () => {
    await customer("max");
    expect((await choose("max", "personal-juice", { skus: ["JUICE-APPLE", "KOMBUCHA"] })).status).toBe(200);
    const before = await rows();
    const third = await choose("max", "personal-juice", {
      skus: ["JUICE-APPLE", "KOMBUCHA", "SMOOTHIE-MANGO"],
    });
    expectProblem(third, 422, "/skus");
    expect((third.body as unknown as { errors: { code: string }[] }).errors[0]?.code).toBe(
      "max_distinct_exceeded",
    );
    expect(await rows()).toEqual(before);
    expect((await listOf("max", "personal-juice")).body.skus).toEqual(["JUICE-APPLE", "KOMBUCHA"]);
  });

  it("refuses unknown and repeated SKUs naming each, and a promotion without a personal list", async () => {
    await customer("bad-sku");
    const before = await rows();
    expectProblem(
      await choose("bad-sku", "personal-juice", { skus: ["JUICE-APPLE", "NOPE"] }),
      422,
      "/skus/1",
    );
    expectProblem(
      await choose("bad-sku", "personal-juice", { skus: ["KOMBUCHA", "KOMBUCHA"] }),
      422,
      "/skus/1",
    );
    expectProblem(await choose("bad-sku", "pos-any", { skus: ["KOMBUCHA"] }), 422, "/promotionId");
    expectProblem(await choose("bad-sku", "no-such-promotion", { skus: ["KOMBUCHA"] }), 422, "/promotionId");
    expectProblem(await choose("nobody", "personal-juice", { skus: ["KOMBUCHA"] }), 404);
    expect(await rows()).toEqual(before);
  });
});

describe("default product", () => {
  it("applies when nothing was chosen, and when the list is emptied", async () => {
    await customer("none");
    expectProblem(await listOf("none", "personal-juice"), 404);
    const lines = [
      bread,
      { id: "l2", sku: "JUICE-APPLE", quantity: 1 },
      { id: "l3", sku: "JUICE-ORANGE", quantity: 1 },
    ];
    const nothing = await quote("none", lines);
    expect([discountOf(nothing, "l2"), discountOf(nothing, "l3")]).toEqual([0, 174]);

    expect((await choose("none", "personal-juice", { skus: ["JUICE-APPLE"] }, app)).status).toBe(200);
    const chosen = await quote("none", lines);
    expect([discountOf(chosen, "l2"), discountOf(chosen, "l3")]).toEqual([200, 0]);

    const emptied = await choose("none", "personal-juice", { skus: [] }, app);
    expect(emptied.status).toBe(200);
    expect(emptied.body.skus).toEqual([]);
    const sold = await sell("none", "pl-default-1", lines);
    expect([discountOf(sold, "l2"), discountOf(sold, "l3")]).toEqual([0, 174]);
  });
});

describe("lock after first apply", () => {
  it("lets the customer change until a sale applies the list, then refuses a change with 409 list_locked", async () => {
    server.clock.now = Date.parse("2026-06-02T09:00:00Z");
    await customer("lock");
    const lines = [bread, { id: "l2", sku: "SMOOTHIE-MANGO", quantity: 1 }];
    expect((await choose("lock", "personal-lock", { skus: ["JUICE-APPLE"] }, app)).status).toBe(200);
    expectProblem(
      await choose("lock", "personal-lock", { skus: ["JUICE-APPLE", "KOMBUCHA"] }, app),
      422,
      "/skus",
    );
    expect((await choose("lock", "personal-lock", { skus: ["SMOOTHIE-MANGO"] }, app)).status).toBe(200);

    // A quote does not lock; a sale that does not apply the promotion does not either.
    expect(discountOf(await quote("lock", lines), "l2")).toBe(300);
    await sell("lock", "pl-lock-0", [{ id: "l1", sku: "SMOOTHIE-MANGO", quantity: 1 }]);
    expect((await listOf("lock", "personal-lock")).body).toMatchObject({ locked: false, lockedAt: null });

    server.clock.now += 60_000;
    const sold = await sell("lock", "pl-lock-1", lines);
    expect(sold.applied.map((a) => a.promotionId)).toContain("personal-lock");
    const locked = await listOf("lock", "personal-lock", app);
    expect(locked.body).toMatchObject({
      skus: ["SMOOTHIE-MANGO"],
      locked: true,
      lockedAt: "2026-06-02T09:01:00.000Z",
    });

    const before = await rows();
    for (const key of [app, pos, marketer, server.admin]) {
      const refused = await choose("lock", "personal-lock", { skus: ["JUICE-APPLE"] }, key);
      expectProblem(refused, 409);
      expect((refused.body as unknown as { type: string }).type).toMatch(/\/list_locked$/);
    }
    // The same choice again answers the list unchanged.
    const same = await choose("lock", "personal-lock", { skus: ["SMOOTHIE-MANGO"] }, app);
    expect(same.status).toBe(200);
    expect(same.body).toEqual(locked.body);
    expect(await rows()).toEqual(before);
    // The locked choice keeps applying.
    expect(discountOf(await quote("lock", lines), "l2")).toBe(300);
  });
});

describe("roles", () => {
  it("records staff lists as assigned and the customer's as chosen; every role reads", async () => {
    await customer("rol");
    const cases: [string, string][] = [
      [server.admin, "assigned"],
      [marketer, "assigned"],
      [app, "chosen"],
      [pos, "chosen"],
    ];
    for (const [key, source] of cases) {
      const set = await choose("rol", "personal-juice", { skus: ["KOMBUCHA"] }, key);
      expect(set.status).toBe(200);
      expect(set.body.source).toBe(source);
    }
    for (const key of [server.admin, marketer, app, pos]) {
      const all = await server.request<{ items: List[] }>("GET", "/v1/customers/rol/product-lists", { key });
      expect(all.status).toBe(200);
      expect(all.body.items.map((l) => [l.promotionId, l.skus, l.source])).toEqual([
        ["personal-juice", ["KOMBUCHA"], "chosen"],
      ]);
      expect((await listOf("rol", "personal-juice", key)).status).toBe(200);
    }
  });
});

describe("tenant isolation", () => {
  it("gives another workspace's key 404 for this customer's lists and changes nothing", async () => {
    await customer("iso");
    expect((await choose("iso", "personal-juice", { skus: ["KOMBUCHA"] })).status).toBe(200);
    const before = await rows();
    const other = await server.newWorkspace();
    const key = other.admin;
    expectProblem(await server.request("GET", "/v1/customers/iso/product-lists", { key }), 404);
    expectProblem(await listOf("iso", "personal-juice", key), 404);
    expectProblem(await choose("iso", "personal-juice", { skus: ["JUICE-APPLE"] }, key), 404);
    expectProblem(await choose("iso", "personal-juice", { skus: [] }, key), 404);
    expect(await rows()).toEqual(before);
  });
});

describe("bad input", () => {
  const cases: [string, unknown, string][] = [
    ["skus not a list", { skus: "KOMBUCHA" }, "/skus"],
    ["no skus", {}, "/skus"],
    ["an empty SKU", { skus: ["KOMBUCHA", ""] }, "/skus/1"],
    ["a SKU that is no string", { skus: [7] }, "/skus/0"],
    ["an unknown field", { skus: [], locked: false }, "/locked"],
    ["too many SKUs", { skus: Array.from({ length: 1_001 }, (_, i) => `S${i}`) }, "/skus"],
  ];
  it.each(cases)("answers 400 for %s, naming the path, and changes nothing", async (_, body, path) => {
    await customer("val");
    const before = await rows();
    expectProblem(await choose("val", "personal-juice", body), 400, path);
    expect(await rows()).toEqual(before);
  });

  it("answers 400 for a customer id that is too long", async () => {
    expectProblem(await choose("x".repeat(101), "personal-juice", { skus: [] }), 400, "/params/customerId");
  });
});
