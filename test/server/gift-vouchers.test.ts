// Seed 004's gift voucher condition through the API: the promotion applies only when the basket
// carries its voucher code (any letter case), in a quote and in the committed sale, and a basket
// without it is told which voucher is missing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertItems } from "./fixtures.js";
import { startServer, type TestServer } from "./harness.js";

interface Quote {
  applied: { promotionId: string; discountMinor: number }[];
  rejected: { promotionId: string; code: string; message: string }[];
  totals: { discountMinor: number; netMinor: number };
}

let server: TestServer;
let pos: string;

beforeAll(async () => {
  server = await startServer();
  pos = await server.newKey("pos");
  await insertItems(server, [
    { sku: "HEADPHONES", priceMinor: 12_347, categories: ["Electronics"] },
    { sku: "CABLE", priceMinor: 5_000, categories: ["Accessories"] },
  ]);
  const created = await server.request("POST", "/v1/promotions", {
    body: {
      id: "employee-20",
      name: "Employee special voucher, 20% off",
      type: "pos",
      schedule: { startsAt: "2026-01-01T00:00:00Z" },
      conditions: [{ kind: "gift_voucher", code: "Employee_Special_Voucher" }],
      benefit: { kind: "cart", value: { kind: "percentage", bps: 2_000 } },
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect((await server.request("POST", "/v1/promotions/employee-20/publish")).status).toBe(200);
});
afterAll(async () => server?.close());

const LINES = [
  { id: "l1", sku: "HEADPHONES", quantity: 1 },
  { id: "l2", sku: "CABLE", quantity: 3 },
];

describe("gift voucher condition (seed 004)", () => {
  it("applies with the voucher in any letter case: 20 % of 273.47 is 54.69", async () => {
    const reply = await server.request<Quote>("POST", "/v1/baskets/evaluate", {
      key: pos,
      body: { lines: LINES, giftVouchers: ["employee_special_voucher"] },
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body.applied).toEqual([
      expect.objectContaining({ promotionId: "employee-20", discountMinor: 5_469 }),
    ]);
    expect(reply.body.totals.netMinor).toBe(21_878);
  });

  it("does not apply without it, and says why", async () => {
    const reply = await server.request<Quote>("POST", "/v1/baskets/evaluate", {
      key: pos,
      body: { lines: LINES },
    });
    expect(reply.body.applied).toEqual([]);
    expect(reply.body.rejected).toEqual([
      expect.objectContaining({ promotionId: "employee-20", code: "condition_not_met" }),
    ]);
    expect(reply.body.rejected[0]!.message).toContain("Employee_Special_Voucher");
  });

  it("is redeemed by the sale that carries it, and another voucher gives nothing", async () => {
    const sale = await server.request<{ totals: { discountMinor: number } }>("POST", "/v1/sales", {
      key: pos,
      body: { transactionId: "v-1", lines: LINES, giftVouchers: ["EMPLOYEE_SPECIAL_VOUCHER"] },
    });
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    expect(sale.body.totals.discountMinor).toBe(5_469);
    const other = await server.request<{ totals: { discountMinor: number } }>("POST", "/v1/sales", {
      key: pos,
      body: { transactionId: "v-2", lines: LINES, giftVouchers: ["SOMETHING_ELSE"] },
    });
    expect(other.body.totals.discountMinor).toBe(0);
  });
});
