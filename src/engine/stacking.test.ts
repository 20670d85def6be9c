// Proves stacking: exclusive promotions that conflict are resolved to the combination best for the
// customer, the workspace switches hold, and the search is bounded and says when it was not exhaustive.
import { describe, expect, it } from "vitest";
import type { Basket, WorkspaceSettings } from "../domain/basket.js";
import type { Benefit, Promotion } from "../domain/promotion.js";
import { compilePromotions } from "./compile.js";
import { evaluate } from "./evaluate.js";
import { COMBINATIONS_MAX } from "./stacking.js";

const settings: WorkspaceSettings = { currency: "EUR", timeZone: "UTC" };
const at = "2026-06-01T12:00:00Z";
const basket: Basket = {
  lines: [
    { id: "1", sku: "A", quantity: 2, unitPriceMinor: 1000 },
    { id: "2", sku: "B", quantity: 1, unitPriceMinor: 3000 },
  ],
};

const onSku = (sku: string, bps: number): Benefit => ({
  kind: "products",
  target: { kind: "sku", sku, quantity: { kind: "all" } },
  value: { kind: "percentage", bps },
});
const onCart = (bps: number): Benefit => ({ kind: "cart", value: { kind: "percentage", bps } });

function promo(id: string, benefit: Benefit, extra: Partial<Promotion> = {}): Promotion {
  return {
    id,
    name: id,
    type: "pos",
    schedule: { startsAt: "2026-01-01T00:00:00Z" },
    conditions: [],
    benefit,
    ...extra,
  };
}

function run(promotions: Promotion[], overrides: Partial<WorkspaceSettings> = {}) {
  return evaluate(compilePromotions(promotions), { basket, settings: { ...settings, ...overrides }, at });
}

const applied = (result: ReturnType<typeof run>) =>
  Object.fromEntries(result.applied.map((a) => [a.promotionId, a.discountMinor]));
const rejected = (result: ReturnType<typeof run>) =>
  Object.fromEntries(result.rejected.map((r) => [r.promotionId, r.code]));

describe("exclusive for products", () => {
  it("drops a higher-priority exclusive promotion when the other is better for the customer", () => {
    const result = run([
      promo("excl-10", onSku("A", 1000), { priority: 10, stacking: { exclusiveForProducts: true } }),
      promo("open-30", onSku("A", 3000)),
    ]);
    expect(applied(result)).toEqual({ "open-30": 600 });
    expect(result.rejected).toEqual([
      expect.objectContaining({ promotionId: "excl-10", code: "excluded_by_exclusive", by: "open-30" }),
    ]);
    expect(result.search).toEqual({ combinationsTried: 2, exhaustive: true });
  });

  it("keeps the exclusive promotion when it is better, and no unit takes two discounts", () => {
    const result = run([
      promo("excl-50", onSku("A", 5000), { stacking: { exclusiveForProducts: true } }),
      promo("open-10", onSku("A", 1000)),
      promo("open-b", onSku("B", 1000)),
    ]);
    expect(applied(result)).toEqual({ "excl-50": 1000, "open-b": 300 });
    expect(rejected(result)).toEqual({ "open-10": "units_taken" });
    expect(result.lines[0]!.discounts).toEqual([{ promotionId: "excl-50", amountMinor: 1000, units: 2 }]);
  });

  it("stacks non-exclusive product promotions, each capped at what is left", () => {
    const result = run([promo("p80", onSku("A", 8000), { priority: 1 }), promo("p50", onSku("A", 5000))]);
    // 80 % of 10.00 leaves 2.00 a unit; 50 % would be 5.00, capped at the 2.00 left.
    expect(applied(result)).toEqual({ p80: 1600, p50: 400 });
    expect(result.lines[0]!.netMinor).toBe(0);
  });

  it("with product stacking off, each unit takes one product discount: the best", () => {
    const result = run([promo("p10", onSku("A", 1000)), promo("p20", onSku("A", 2000))], {
      productStacking: false,
    });
    expect(applied(result)).toEqual({ p20: 400 });
    expect(rejected(result)).toEqual({ p10: "excluded_by_exclusive" });
  });
});

describe("exclusive at cart level", () => {
  it("wins alone when it beats everything else together", () => {
    const result = run([
      promo("cart-excl-30", onCart(3000), { stacking: { exclusiveAtCartLevel: true } }),
      promo("cart-10", onCart(1000)),
      promo("a-10", onSku("A", 1000)),
    ]);
    expect(applied(result)).toEqual({ "cart-excl-30": 1500 });
    expect(rejected(result)).toEqual({ "cart-10": "excluded_by_exclusive", "a-10": "excluded_by_exclusive" });
  });

  it("loses when the others together give more", () => {
    const result = run([
      promo("cart-excl-15", onCart(1500), { stacking: { exclusiveAtCartLevel: true } }),
      promo("cart-10", onCart(1000)),
      promo("a-50", onSku("A", 5000)),
    ]);
    // a-50 takes 10.00; cart-10 takes 10 % of the 40.00 left: 4.00. Together 14.00 > 7.50.
    expect(applied(result)).toEqual({ "a-50": 1000, "cart-10": 400 });
    expect(rejected(result)).toEqual({ "cart-excl-15": "excluded_by_exclusive" });
  });

  it("with cart stacking off, only the best cart benefit applies", () => {
    const result = run([promo("cart-10", onCart(1000)), promo("cart-12", onCart(1200))], {
      cartStacking: false,
    });
    expect(applied(result)).toEqual({ "cart-12": 600 });
  });

  it("compounds stacked cart percentages in priority order", () => {
    const result = run([
      promo("first", onCart(1000), { priority: 2 }),
      promo("second", onCart(1000), { priority: 1 }),
    ]);
    expect(applied(result)).toEqual({ first: 500, second: 450 });
  });
});

describe("bounded search", () => {
  it("prunes exclusives that could take nothing: 12 rivals for one SKU cost 13 combinations (each alone, or none)", () => {
    const rivals = Array.from({ length: 12 }, (_, i) =>
      promo(`x${String(i).padStart(2, "0")}`, onSku("A", 1000 + i * 100), {
        stacking: { exclusiveForProducts: true },
      }),
    );
    const result = run(rivals);
    expect(result.search).toEqual({ combinationsTried: 13, exhaustive: true });
    expect(applied(result)).toEqual({ x11: 420 }); // the best single one: 21 % of 20.00
  });

  it("stops at the budget, says so, and keeps the best combination found", () => {
    // 10 lines, each with its own exclusive 20 % promotion, and a 5 % promotion on every line ranked
    // after them: every exclusive is a real choice, 2^10 combinations in all.
    const lines = Array.from({ length: 10 }, (_, i) => ({
      id: `l${i}`,
      sku: `S${i}`,
      quantity: 1,
      unitPriceMinor: 1000,
    }));
    const exclusives = lines.map((l, i) =>
      promo(`e${i}`, onSku(l.sku, 2000), { priority: 1, stacking: { exclusiveForProducts: true } }),
    );
    const everything = promo("all-5", {
      kind: "products",
      target: { kind: "selector", scope: { include: [] }, quantity: { kind: "all" } },
      value: { kind: "percentage", bps: 500 },
    });
    const result = evaluate(compilePromotions([...exclusives, everything]), {
      basket: { lines },
      settings,
      at,
    });
    expect(result.search.exhaustive).toBe(false);
    expect(result.search.combinationsTried).toBeLessThanOrEqual(COMBINATIONS_MAX + 10);
    expect(result.totals.discountMinor).toBe(2000); // every exclusive kept: 10 × 2.00
  });
});

describe("input contract", () => {
  it("refuses a basket with a duplicate line id loudly (the edge validates; this is a bug)", () => {
    const duplicate: Basket = { lines: [basket.lines[0]!, { ...basket.lines[1]!, id: "1" }] };
    expect(() => evaluate(compilePromotions([]), { basket: duplicate, settings, at })).toThrow(
      /duplicate line id 1/,
    );
  });
});
