// Proves money arithmetic is exact: named rounding modes, half-even percentages, allocations that sum
// to the whole without any part exceeding its weight.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allocate, divRound, formatMinor, percentOf } from "./money.js";

describe("divRound", () => {
  it.each([
    [25, 10, "half_even", 2],
    [35, 10, "half_even", 4],
    [25, 10, "half_up", 3],
    [29, 10, "down", 2],
    [26, 10, "half_even", 3],
    [24, 10, "half_even", 2],
  ] as const)("%i / %i %s = %i", (n, d, mode, expected) => {
    expect(divRound(n, d, mode)).toBe(expected);
  });

  it("refuses a zero denominator", () => {
    expect(() => divRound(1, 0, "half_even")).toThrow();
  });
});

describe("percentOf", () => {
  it("rounds half to even", () => {
    expect(percentOf(95, 1000)).toBe(10); // 9.5 → 10
    expect(percentOf(85, 1000)).toBe(8); // 8.5 → 8
    expect(percentOf(50000, 1000)).toBe(5000);
    expect(percentOf(1, 10_000)).toBe(1);
  });
});

describe("allocate", () => {
  it("splits by largest remainder, ties to the lower index", () => {
    expect(allocate(100, [1, 1, 1])).toEqual([34, 33, 33]);
    expect(allocate(10, [3, 7])).toEqual([3, 7]);
    expect(allocate(0, [5, 5])).toEqual([0, 0]);
    // Past 32 parts the remainders are sorted instead of selected: same rule.
    expect(
      allocate(
        40,
        Array.from({ length: 40 }, () => 3),
      ),
    ).toEqual(Array.from({ length: 40 }, () => 1));
    expect(
      allocate(
        41,
        Array.from({ length: 40 }, () => 1),
      ).slice(0, 2),
    ).toEqual([2, 1]);
  });

  it("parts sum exactly to the total and never exceed their weight", () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 80 })
          .filter((w) => w.some((x) => x > 0)),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (weights, fraction) => {
          const sum = weights.reduce((a, b) => a + b, 0);
          const total = Math.floor(sum * fraction);
          const parts = allocate(total, weights);
          expect(parts.reduce((a, b) => a + b, 0)).toBe(total);
          parts.forEach((part, i) => {
            expect(part).toBeGreaterThanOrEqual(0);
            expect(part).toBeLessThanOrEqual(weights[i]!);
          });
        },
      ),
    );
  });
});

describe("formatMinor", () => {
  it("formats by the currency's exponent", () => {
    expect(formatMinor(1250, "EUR")).toBe("12.50");
    expect(formatMinor(5, "USD")).toBe("0.05");
    expect(formatMinor(1250, "JPY")).toBe("1250");
    expect(formatMinor(12345, "KWD")).toBe("12.345");
    expect(formatMinor(-1250, "EUR")).toBe("-12.50");
  });
});
