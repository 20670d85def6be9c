// Smoke: the app answers health, docs and a priced, committed sale on a real database.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "./harness.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
  await server.db.query(
    `insert into catalog_items (workspace_id, sku, name, price_minor, categories) values ($1, 'COFFEE', 'Coffee', 350, '{drinks}')`,
    [server.workspaceId],
  );
  const promo = {
    id: "coffee-free",
    name: "Free coffee",
    type: "pos",
    schedule: { startsAt: "2026-01-01T00:00:00Z" },
    conditions: [],
    benefit: {
      kind: "products",
      target: {
        kind: "selector",
        scope: { include: [{ kind: "categories", categories: ["drinks"] }] },
        quantity: { kind: "all" },
      },
      value: { kind: "exact_price", amountMinor: 0 },
      repeat: { per: 1, kpi: "quantity" },
    },
    limits: [{ level: "customer", measure: "times", max: 5, window: { kind: "lifetime" } }],
  };
  await server.db.query(
    `insert into promotions (workspace_id, id, name, status, definition) values ($1, $2, $3, 'published', $4)`,
    [server.workspaceId, promo.id, promo.name, promo],
  );
});
afterAll(async () => server?.close());

describe("smoke", () => {
  it("answers health and the OpenAPI document", async () => {
    expect((await server.request("GET", "/healthz")).status).toBe(200);
    expect((await server.request("GET", "/readyz")).status).toBe(200);
    const doc = await server.request("GET", "/openapi.json");
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body["paths"] as object)).toContain("/v1/sales");
  });

  it("names an over-long id in the path as a problem, not a bare 414", async () => {
    const reply = await server.request("GET", `/v1/sales/${"x".repeat(101)}`);
    expect(reply.status).toBe(400);
    expect(reply.headers["content-type"]).toMatch(/application\/problem\+json/);
    expect((reply.body["errors"] as { path: string }[])[0]?.path).toBe("/params/saleId");
  });

  it("commits a sale that uses what is left of a limit", async () => {
    const body = { transactionId: "t1", customerId: "c1", lines: [{ id: "1", sku: "COFFEE", quantity: 4 }] };
    const first = await server.request("POST", "/v1/sales", { body });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body["totals"]).toEqual({ grossMinor: 1400, discountMinor: 1400, netMinor: 0 });
    const second = await server.request("POST", "/v1/sales", {
      body: { ...body, transactionId: "t2" },
    });
    expect(second.body["totals"]).toEqual({ grossMinor: 1400, discountMinor: 350, netMinor: 1050 });
    const replay = await server.request("POST", "/v1/sales", { body });
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.body).toEqual(first.body);
    const other = await server.request("POST", "/v1/sales", { body: { ...body, customerId: "c2" } });
    expect(other.status).toBe(409);
  });
});
