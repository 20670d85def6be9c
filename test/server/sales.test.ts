// Quotes and sales through the API: prices come from the catalog unless the key may set them, bad
// input is refused naming the field and changes nothing, a quote writes nothing, reads show the sale,
// its redemptions and the usage left, windowed limits reset on their cycle, and no key reaches another
// workspace's sales, usage or limits.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { everyUnitAt, insertItems, insertPromotion } from "./fixtures.js";
import { startServer, type TestServer } from "./harness.js";

let server: TestServer;
let pos: string;
let till: string;
let app: string;
beforeAll(async () => {
  server = await startServer();
  pos = await server.newKey("pos");
  till = await server.newKey("pos", { maySetPrices: true });
  app = await server.newKey("app");
  await insertItems(server, [
    { sku: "COFFEE", priceMinor: 300, categories: ["coffee"] },
    { sku: "SHIRT", priceMinor: 2_000, categories: ["clothes"] },
  ]);
  await insertPromotion(server, {
    id: "weekly-coffee",
    name: "Two free coffees a week",
    benefit: everyUnitAt("coffee", 0),
    limits: [
      { level: "customer", measure: "times", max: 2, window: { kind: "fixed", unit: "weeks", every: 1 } },
    ],
  });
  await insertPromotion(server, {
    id: "shirts-10",
    name: "10% off shirts over 30.00",
    conditions: [
      {
        kind: "line_amount",
        scope: { include: [{ kind: "categories", categories: ["clothes"] }] },
        op: "gte",
        amountMinor: 3_000,
      },
    ],
    benefit: {
      kind: "products",
      target: { kind: "selected_in_condition" },
      value: { kind: "percentage", bps: 1_000 },
    },
    limits: [{ level: "global", measure: "discount", max: 1_000_000, window: { kind: "lifetime" } }],
  });
});
afterAll(async () => server?.close());

async function salesCount(): Promise<number> {
  const { rows } = await server.db.query<{ n: number }>("select count(*)::int as n from sales");
  return rows[0]!.n;
}

describe("quote", () => {
  it("prices from the catalog, explains the rest, and writes nothing", async () => {
    const before = await salesCount();
    const reply = await server.request("POST", "/v1/baskets/evaluate", {
      key: app,
      body: {
        customerId: "q1",
        lines: [
          { id: "1", sku: "SHIRT", quantity: 1 },
          { id: "2", sku: "COFFEE", quantity: 3 },
        ],
      },
    });
    expect(reply.status).toBe(200);
    expect(reply.body["totals"]).toEqual({ grossMinor: 2_900, discountMinor: 600, netMinor: 2_300 });
    const rejected = reply.body["rejected"] as { promotionId: string; code: string; shortfall?: unknown }[];
    expect(rejected.find((r) => r.promotionId === "shirts-10")).toMatchObject({
      code: "condition_not_met",
      shortfall: { kind: "amount", missing: 1_000 },
    });
    expect(await salesCount()).toBe(before);
    expect((await server.db.query("select * from limit_counters where subject = 'q1'")).rows).toEqual([]);
  });

  it("reports unknown codes as unused, the same as codes that give nothing", async () => {
    const reply = await server.request("POST", "/v1/baskets/evaluate", {
      key: app,
      body: { codes: ["NOPE"], lines: [{ id: "1", sku: "SHIRT", quantity: 1 }] },
    });
    expect(reply.body["unusedCodes"]).toEqual(["NOPE"]);
  });
});

describe("prices", () => {
  it("refuses a price from a key that may not set prices, and an unknown SKU, naming the line", async () => {
    const before = await salesCount();
    const reply = await server.request("POST", "/v1/sales", {
      key: pos,
      body: {
        transactionId: "p1",
        lines: [
          { id: "1", sku: "SHIRT", quantity: 1, unitPriceMinor: 1 },
          { id: "2", sku: "GHOST", quantity: 1 },
        ],
      },
    });
    expect(reply.status).toBe(422);
    expect((reply.body["errors"] as { path: string; code: string }[]).map((e) => [e.path, e.code])).toEqual([
      ["/lines/0/unitPriceMinor", "price_not_allowed"],
      ["/lines/1/sku", "unknown_sku"],
    ]);
    expect(await salesCount()).toBe(before);
  });

  it("accepts the catalog's own price from any key, and a till's shelf price from a key that may set prices", async () => {
    const same = await server.request("POST", "/v1/sales", {
      key: pos,
      body: { transactionId: "p2", lines: [{ id: "1", sku: "SHIRT", quantity: 1, unitPriceMinor: 2_000 }] },
    });
    expect(same.status).toBe(201);
    const shelf = await server.request("POST", "/v1/sales", {
      key: till,
      body: {
        transactionId: "p3",
        lines: [
          { id: "1", sku: "SHIRT", quantity: 2, unitPriceMinor: 1_800 },
          { id: "2", sku: "LOCAL-ONLY", quantity: 1, unitPriceMinor: 100 },
        ],
      },
    });
    expect(shelf.status).toBe(201);
    expect(shelf.body["totals"]).toEqual({ grossMinor: 3_700, discountMinor: 360, netMinor: 3_340 });
  });
});

describe("bad input", () => {
  const line = { id: "1", sku: "COFFEE", quantity: 1 };
  const cases: [string, Record<string, unknown>, number, string][] = [
    ["negative quantity", { lines: [{ ...line, quantity: -1 }] }, 400, "/lines/0/quantity"],
    ["fractional quantity", { lines: [{ ...line, quantity: 1.5 }] }, 400, "/lines/0/quantity"],
    ["absurd quantity", { lines: [{ ...line, quantity: 1e300 }] }, 400, "/lines/0/quantity"],
    ["quantity as text", { lines: [{ ...line, quantity: "2" }] }, 400, "/lines/0/quantity"],
    ["negative price", { lines: [{ ...line, unitPriceMinor: -5 }] }, 400, "/lines/0/unitPriceMinor"],
    ["fractional price", { lines: [{ ...line, unitPriceMinor: 2.5 }] }, 400, "/lines/0/unitPriceMinor"],
    ["absurd price", { lines: [{ ...line, unitPriceMinor: 1e20 }] }, 400, "/lines/0/unitPriceMinor"],
    ["unknown field", { lines: [line], discount: 100 }, 400, "/discount"],
    ["unknown line field", { lines: [{ ...line, discountMinor: 5 }] }, 400, "/lines/0/discountMinor"],
    ["missing lines", {}, 400, "/lines"],
    ["empty lines", { lines: [] }, 400, "/lines"],
    ["lines not an array", { lines: { id: "1" } }, 400, "/lines"],
    ["missing sku", { lines: [{ id: "1", quantity: 1 }] }, 400, "/lines/0/sku"],
    ["a 101-character customer id", { customerId: "c".repeat(101), lines: [line] }, 400, "/customerId"],
    ["unknown channel", { channel: "fax", lines: [line] }, 400, "/channel"],
    ["duplicate line ids", { lines: [line, line] }, 422, "/lines/1/id"],
    ["unknown store", { storeId: "nowhere", lines: [line] }, 422, "/storeId"],
  ];
  it.each(cases)("%s: %i naming %s, nothing changed", async (_name, body, status, path) => {
    const before = await salesCount();
    const reply = await server.request("POST", "/v1/sales", {
      key: pos,
      body: { transactionId: "bad", ...body },
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(status);
    expect(reply.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect((reply.body["errors"] as { path: string }[]).map((e) => e.path)).toContain(path);
    expect(await salesCount()).toBe(before);
  });

  it("refuses a missing transaction id, malformed JSON, deep nesting and an oversized body", async () => {
    const before = await salesCount();
    const missing = await server.request("POST", "/v1/sales", { key: pos, body: { lines: [line] } });
    expect(missing.status).toBe(400);
    expect((missing.body["errors"] as { path: string }[])[0]?.path).toBe("/transactionId");
    const malformed = await server.request("POST", "/v1/sales", {
      key: pos,
      body: '{"transactionId": "x", "lines": [',
      headers: { "content-type": "application/json" },
    });
    expect(malformed.status).toBe(400);
    let deep: unknown = "x";
    for (let i = 0; i < 200; i++) deep = { a: deep };
    const nested = await server.request("POST", "/v1/sales", {
      key: pos,
      body: { transactionId: "deep", lines: [line], tenders: [{ mode: "cash", deep }] },
    });
    expect(nested.status).toBe(400);
    const huge = await server.request("POST", "/v1/sales", {
      key: pos,
      body: { transactionId: "huge", lines: [{ ...line, id: "x".repeat(2_000_000) }] },
    });
    expect(huge.status).toBe(413);
    expect(await salesCount()).toBe(before);
  });

  it("refuses a sale from a key whose role may not sell", async () => {
    const reply = await server.request("POST", "/v1/sales", {
      key: app,
      body: { transactionId: "r", lines: [line] },
    });
    expect(reply.status).toBe(403);
  });
});

describe("reads and windows", () => {
  it("reads a sale back with its redemptions, and the usage left this week and when it resets", async () => {
    server.clock.now = Date.parse("2026-03-04T10:00:00Z"); // a Wednesday
    const sale = await server.request("POST", "/v1/sales", {
      key: pos,
      body: { transactionId: "w1", customerId: "weekly", lines: [{ id: "1", sku: "COFFEE", quantity: 3 }] },
    });
    expect(sale.body["totals"]).toMatchObject({ discountMinor: 600 });
    const read = await server.request("GET", `/v1/sales/${String(sale.body["saleId"])}`);
    expect(read.status).toBe(200);
    expect(read.body["redemptions"]).toEqual([
      expect.objectContaining({ promotionId: "weekly-coffee", discountMinor: 600, instances: 2, units: 2 }),
    ]);
    expect(read.body["receipt"]).toEqual(sale.body);
    const listed = await server.request("GET", "/v1/sales?transactionId=w1");
    expect((listed.body["items"] as { id: string }[]).map((s) => s.id)).toEqual([sale.body["saleId"]]);

    const usage = await server.request<{ promotions: { promotionId: string; rules: object[] }[] }>(
      "GET",
      "/v1/customers/weekly/usage",
      { key: app },
    );
    expect(usage.body.promotions.find((p) => p.promotionId === "weekly-coffee")?.rules[0]).toMatchObject({
      max: 2,
      used: 2,
      remaining: 0,
      countsFrom: "2026-03-01T23:00:00.000Z", // Monday 00:00 in Berlin
      resetsAt: "2026-03-08T23:00:00.000Z",
    });

    server.clock.now = Date.parse("2026-03-09T08:00:00Z"); // the next Monday
    const next = await server.request("POST", "/v1/sales", {
      key: pos,
      body: { transactionId: "w2", customerId: "weekly", lines: [{ id: "1", sku: "COFFEE", quantity: 1 }] },
    });
    expect(next.body["totals"]).toMatchObject({ discountMinor: 300 });
  });

  it("previews the cycles of a promotion's windowed limits", async () => {
    server.clock.now = Date.parse("2026-03-04T10:00:00Z");
    const reply = await server.request<{ rules: { rule: string; cycles?: { start: string }[] }[] }>(
      "GET",
      "/v1/promotions/weekly-coffee/limits?cycles=3",
    );
    expect(reply.status).toBe(200);
    expect(reply.body.rules[0]?.cycles?.map((c) => c.start)).toEqual([
      "2026-03-01T23:00:00.000Z",
      "2026-03-08T23:00:00.000Z",
      "2026-03-15T23:00:00.000Z",
    ]);
  });
});

describe("tenant isolation", () => {
  it("a key of another workspace gets 404 for this workspace's sales, usage and limits, and sells nothing here", async () => {
    const sale = await server.request("POST", "/v1/sales", {
      key: pos,
      body: { transactionId: "mine", customerId: "iso", lines: [{ id: "1", sku: "COFFEE", quantity: 1 }] },
    });
    const other = await server.newWorkspace();
    const saleId = String(sale.body["saleId"]);
    for (const url of [
      `/v1/sales/${saleId}`,
      "/v1/customers/iso/usage",
      "/v1/promotions/weekly-coffee/limits",
    ]) {
      const reply = await server.request("GET", url, { key: other.admin });
      expect(reply.status, url).toBe(404);
    }
    const list = await server.request("GET", "/v1/sales?transactionId=mine", { key: other.admin });
    expect(list.body["items"]).toEqual([]);
    const before = await salesCount();
    const foreign = await server.request("POST", "/v1/sales", {
      key: other.admin,
      body: { transactionId: "mine", lines: [{ id: "1", sku: "COFFEE", quantity: 1 }] },
    });
    expect(foreign.status).toBe(422); // COFFEE is not in that workspace's catalog
    expect(await salesCount()).toBe(before);
    const quote = await server.request("POST", "/v1/baskets/evaluate", {
      key: other.admin,
      body: { lines: [{ id: "1", sku: "COFFEE", quantity: 1 }] },
    });
    expect(quote.status).toBe(422);
  });
});
