// Proves the pricing engine's invariants on random baskets and promotions: no negatives, exact sums and
// allocation, order independence, limits, determinism, one explanation per promotion, exclusivity.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BasketSchema, CustomerContextSchema } from "../src/domain/basket.js";
import { checkSchema } from "../src/domain/check.js";
import { limitRuleKey, type Promotion } from "../src/domain/promotion.js";
import { validatePromotion } from "../src/domain/validate.js";
import { compilePromotions, evaluate, type Evaluation, type EvaluationInput } from "../src/engine/index.js";
import { AT, CUSTOMER_ID, caseArb, type Case } from "./arbitraries.js";

/** Runs per property: enough to find the interesting mixes, small enough that the file stays fast. */
const RUNS = Number(process.env.PROPERTY_RUNS ?? 1000);

const price = (c: Case): Evaluation => evaluate(compilePromotions(c.promotions), c.input);
const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
const byId = (promotions: readonly Promotion[]): Map<string, Promotion> =>
  new Map(promotions.map((p) => [p.id, p]));

/** The capacity left under a rule: the smallest the ledger sent, or the rule's max when it sent none. */
function remainingOf(input: EvaluationInput, promotionId: string, key: string, max: number): number {
  const sent = (input.customer?.capacity ?? []).filter(
    (c) => c.promotionId === promotionId && c.rule === key,
  );
  return Math.min(max, ...sent.map((c) => c.remaining));
}

describe("generators", () => {
  it("make only promotions, baskets and customers the validators accept", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        for (const p of c.promotions) expect(validatePromotion(p)).toEqual({ ok: true, value: p });
        expect(new Set(c.promotions.map((p) => p.id)).size).toBe(c.promotions.length);
        expect(checkSchema(BasketSchema, c.input.basket).ok).toBe(true);
        expect(new Set(c.input.basket.lines.map((l) => l.id)).size).toBe(c.input.basket.lines.length);
        expect(checkSchema(CustomerContextSchema, c.input.customer).ok).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe("pricing engine properties", () => {
  it("1. never goes negative: line nets, discount amounts and the total net", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const result = price(c);
        for (const line of result.lines) {
          expect(line.netMinor).toBeGreaterThanOrEqual(0);
          for (const d of line.discounts) expect(d.amountMinor).toBeGreaterThan(0);
        }
        expect(result.totals.netMinor).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: RUNS },
    );
  });

  it("2. the receipt adds up: per line, over lines, and gross − discount = net", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const result = price(c);
        for (const line of result.lines) {
          expect(line.grossMinor).toBe(line.unitPriceMinor * line.quantity);
          expect(line.discountMinor).toBeLessThanOrEqual(line.grossMinor);
          expect(sum(line.discounts.map((d) => d.amountMinor))).toBe(line.discountMinor);
          expect(line.grossMinor - line.discountMinor).toBe(line.netMinor);
        }
        const { totals } = result;
        expect(sum(result.lines.map((l) => l.grossMinor))).toBe(totals.grossMinor);
        expect(sum(result.lines.map((l) => l.discountMinor))).toBe(totals.discountMinor);
        expect(totals.grossMinor - totals.discountMinor).toBe(totals.netMinor);
      }),
      { numRuns: RUNS },
    );
  });

  it("3. allocates exactly: each applied promotion's discount is the sum of its line discounts", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const result = price(c);
        const onLines = new Map<string, number>();
        for (const line of result.lines) {
          for (const d of line.discounts)
            onLines.set(d.promotionId, (onLines.get(d.promotionId) ?? 0) + d.amountMinor);
        }
        const applied = new Map(result.applied.map((a) => [a.promotionId, a.discountMinor]));
        expect(onLines).toEqual(applied);
        expect(sum(result.applied.map((a) => a.discountMinor))).toBe(result.totals.discountMinor);
      }),
      { numRuns: RUNS },
    );
  });

  it("4. ignores the order of the lines and of the promotions", () => {
    const shuffled = caseArb.chain((c) =>
      fc.tuple(
        fc.constant(c),
        fc.shuffledSubarray([...c.input.basket.lines], { minLength: c.input.basket.lines.length }),
        fc.shuffledSubarray([...c.promotions], { minLength: c.promotions.length }),
      ),
    );
    const canonical = (result: Evaluation) => ({
      lines: Object.fromEntries(result.lines.map((l) => [l.lineId, l])),
      totals: result.totals,
      applied: Object.fromEntries(result.applied.map((a) => [a.promotionId, a])),
      rejected: Object.fromEntries(result.rejected.map((r) => [r.promotionId, r])),
    });
    fc.assert(
      fc.property(shuffled, ([c, lines, promotions]) => {
        const original = price(c);
        const reordered = price({ promotions, input: { ...c.input, basket: { ...c.input.basket, lines } } });
        expect(canonical(reordered)).toEqual(canonical(original));
        expect(reordered.lines.map((l) => l.lineId)).toEqual(lines.map((l) => l.id));
      }),
      { numRuns: RUNS },
    );
  });

  it("5. never exceeds a limit: ledger capacity, cart times and cart discount", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const result = price(c);
        const definitions = byId(c.promotions);
        for (const a of result.applied) {
          const limits = definitions.get(a.promotionId)!.limits ?? [];
          const ledger = limits.filter((r) => r.level !== "cart" && r.level !== "issual");
          expect(a.consumption.map((x) => x.rule).sort()).toEqual(ledger.map(limitRuleKey).sort());
          for (const rule of ledger) {
            const key = limitRuleKey(rule);
            const left = remainingOf(c.input, a.promotionId, key, rule.max);
            const used = a.consumption.find((x) => x.rule === key)!.amount;
            if (rule.measure === "times") {
              expect(used).toBe(a.instances);
              expect(used).toBeLessThanOrEqual(left);
            } else if (rule.measure === "discount") {
              expect(used).toBe(a.discountMinor);
              expect(used).toBeLessThanOrEqual(left);
            } else {
              expect(used).toBe(1);
              expect(left).toBeGreaterThanOrEqual(1);
            }
          }
          for (const rule of limits.filter((r) => r.level === "cart")) {
            if (rule.measure === "times") expect(a.instances).toBeLessThanOrEqual(rule.max);
            if (rule.measure === "discount") expect(a.discountMinor).toBeLessThanOrEqual(rule.max);
          }
        }
        for (const r of result.rejected.filter((x) => x.code === "limit_reached")) {
          const rule = (definitions.get(r.promotionId)!.limits ?? []).find(
            (x) => limitRuleKey(x) === r.rule,
          )!;
          expect(rule).toBeDefined();
          expect(remainingOf(c.input, r.promotionId, r.rule!, rule.max)).toBe(0);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("5b. names in cappedBy only a rule of the promotion that this sale used up", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const definitions = byId(c.promotions);
        for (const a of price(c).applied) {
          if (a.cappedBy === undefined) continue;
          const rule = (definitions.get(a.promotionId)!.limits ?? []).find(
            (r) => limitRuleKey(r) === a.cappedBy,
          );
          expect(rule).toBeDefined();
          const left = remainingOf(c.input, a.promotionId, a.cappedBy, rule!.max);
          expect(rule!.measure === "times" ? a.instances : a.discountMinor).toBe(left);
        }
      }),
      { numRuns: RUNS },
    );
  });

  describe("5c. uses what is left: free coffee (exact price 0, each unit, customer times max 5)", () => {
    const rule = "customer:times:lifetime";
    const freeCoffee: Promotion = {
      id: "free-coffee",
      name: "free coffee",
      type: "pos",
      schedule: { startsAt: "2026-01-01T00:00:00Z" },
      conditions: [],
      benefit: {
        kind: "products",
        target: { kind: "sku", sku: "COFFEE", quantity: { kind: "all" } },
        value: { kind: "exact_price", amountMinor: 0 },
        repeat: { per: 1, kpi: "quantity" },
      },
      limits: [{ level: "customer", measure: "times", max: 5, window: { kind: "lifetime" } }],
    };
    const index = compilePromotions([freeCoffee]);
    const coffeeLines = fc
      .array(
        fc.record({ quantity: fc.integer({ min: 1, max: 4 }), price: fc.integer({ min: 1, max: 20_000 }) }),
        { minLength: 1, maxLength: 3 },
      )
      .filter((lines) => sum(lines.map((l) => l.quantity)) <= 8);
    /** Other products in the basket, which the coffee promotion must ignore. */
    const teaLines = fc.array(
      fc.record({ quantity: fc.integer({ min: 1, max: 3 }), price: fc.integer({ min: 0, max: 20_000 }) }),
      { maxLength: 2 },
    );
    const coffeeCase = fc.record({
      left: fc.integer({ min: 0, max: 5 }),
      coffees: coffeeLines,
      teas: teaLines,
    });
    type CoffeeCase = typeof coffeeCase extends fc.Arbitrary<infer T> ? T : never;
    const priceCoffee = ({ left, coffees, teas }: CoffeeCase): Evaluation =>
      evaluate(index, {
        basket: {
          lines: [
            ...coffees.map((l, i) => ({
              id: `c${i}`,
              sku: "COFFEE",
              quantity: l.quantity,
              unitPriceMinor: l.price,
            })),
            ...teas.map((l, i) => ({
              id: `t${i}`,
              sku: "TEA",
              quantity: l.quantity,
              unitPriceMinor: l.price,
            })),
          ],
        },
        customer: {
          customerId: CUSTOMER_ID,
          capacity: [{ promotionId: "free-coffee", rule, remaining: left }],
        },
        settings: { currency: "EUR", timeZone: "Europe/Warsaw" },
        at: AT,
      });
    const coffeesIn = (c: CoffeeCase): number => sum(c.coffees.map((l) => l.quantity));

    it("gives exactly min(r, n) free coffees, the cheapest, and consumes that many (r = 0: limit_reached)", () => {
      fc.assert(
        fc.property(coffeeCase, (c) => {
          const result = priceCoffee(c);
          const free = Math.min(c.left, coffeesIn(c));
          if (free === 0) {
            expect(result.applied).toEqual([]);
            expect(result.rejected).toEqual([
              expect.objectContaining({ promotionId: "free-coffee", code: "limit_reached", rule }),
            ]);
            return;
          }
          const cheapest = c.coffees
            .flatMap((l) => Array.from({ length: l.quantity }, () => l.price))
            .sort((a, b) => a - b)
            .slice(0, free);
          expect(result.applied).toHaveLength(1);
          expect(result.applied[0]).toMatchObject({
            promotionId: "free-coffee",
            instances: free,
            units: free,
            discountMinor: sum(cheapest),
          });
          expect(result.applied[0]!.consumption).toEqual([{ rule, amount: free }]);
          expect(sum(result.lines.flatMap((l) => l.discounts.map((d) => d.units)))).toBe(free);
          expect(result.lines.filter((l) => l.sku === "TEA").flatMap((l) => l.discounts)).toEqual([]);
        }),
        { numRuns: RUNS },
      );
    });

    it("reports cappedBy only when the limit cut the benefit short (r < n)", () => {
      fc.assert(
        fc.property(coffeeCase, (c) => {
          const [applied] = priceCoffee(c).applied;
          if (applied) expect(applied.cappedBy).toBe(c.left < coffeesIn(c) ? rule : undefined);
        }),
        { numRuns: RUNS },
      );
    });
  });

  it("6. is deterministic: same input, reused or fresh index, other evaluations in between", () => {
    fc.assert(
      fc.property(caseArb, caseArb, (c, other) => {
        const before = structuredClone(c);
        const index = compilePromotions(c.promotions);
        const first = evaluate(index, c.input);
        const second = evaluate(index, c.input);
        evaluate(index, other.input);
        const third = evaluate(index, c.input);
        const fresh = evaluate(compilePromotions(c.promotions), c.input);
        expect(second).toEqual(first);
        expect(third).toEqual(first);
        expect(fresh).toEqual(first);
        expect(c).toEqual(before);
      }),
      { numRuns: RUNS / 2 },
    );
  });

  it("7. explains every promotion exactly once, applied or rejected, never both", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const touching = price(c);
        const seenTouching = [...touching.applied, ...touching.rejected].map((x) => x.promotionId);
        expect(new Set(seenTouching).size).toBe(seenTouching.length);
        const all = evaluate(compilePromotions(c.promotions), { ...c.input, explainAll: true });
        const seen = [...all.applied, ...all.rejected].map((x) => x.promotionId).sort();
        expect(seen).toEqual(c.promotions.map((p) => p.id).sort());
        expect(all.applied).toEqual(touching.applied);
      }),
      { numRuns: RUNS },
    );
  });

  it("8. respects exclusivity: cart-level exclusive stands alone, exclusive units take one product discount", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const result = price(c);
        const definitions = byId(c.promotions);
        const settings = c.input.settings;
        const appliedDefs = result.applied.map((a) => definitions.get(a.promotionId)!);
        if (appliedDefs.some((p) => p.stacking?.exclusiveAtCartLevel === true))
          expect(result.applied).toHaveLength(1);
        if (settings.cartStacking === false) {
          expect(appliedDefs.filter((p) => p.benefit.kind !== "products").length).toBeLessThanOrEqual(1);
        }
        const exclusive = (p: Promotion): boolean =>
          p.benefit.kind === "products" &&
          (p.stacking?.exclusiveForProducts === true || settings.productStacking === false);
        for (const line of result.lines) {
          const product = line.discounts.filter(
            (d) => definitions.get(d.promotionId)!.benefit.kind === "products",
          );
          const held = product.filter((d) => exclusive(definitions.get(d.promotionId)!));
          if (held.length === 0) continue;
          // Exclusive units carry one discount; the other product discounts share what is left.
          const shared = product.filter((d) => !exclusive(definitions.get(d.promotionId)!));
          const sharedUnitsMax = Math.max(0, ...shared.map((d) => d.units));
          expect(sum(held.map((d) => d.units)) + sharedUnitsMax).toBeLessThanOrEqual(line.quantity);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
