// Proves the engine's direct path for per-unit benefits on every unit (src/engine/apply.ts,
// applyToEveryUnit) prices exactly as the general path: a cart discount limit too large to bind
// forces the general path, and the two evaluations must be identical.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MINOR_MAX } from "../src/domain/money.js";
import type { Promotion } from "../src/domain/promotion.js";
import { compilePromotions, evaluate } from "../src/engine/index.js";
import { caseArb } from "./arbitraries.js";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 1000);

/** The same promotion, with a cart discount cap no basket can reach (if it has none yet). */
function withUnreachableCap(promotion: Promotion): Promotion {
  const limits = promotion.limits ?? [];
  if (limits.some((r) => r.level === "cart" && r.measure === "discount")) return promotion;
  return {
    ...promotion,
    limits: [...limits, { level: "cart", measure: "discount", max: MINOR_MAX, window: { kind: "lifetime" } }],
  };
}

describe("direct path for per-unit benefits", () => {
  it("gives the same evaluation as the general path", () => {
    fc.assert(
      fc.property(caseArb, ({ promotions, input }) => {
        const direct = evaluate(compilePromotions(promotions), input);
        const general = evaluate(compilePromotions(promotions.map(withUnreachableCap)), input);
        expect(direct).toEqual(general);
      }),
      { numRuns: RUNS },
    );
  });
});
