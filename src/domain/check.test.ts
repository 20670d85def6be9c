// Proves the structural checker reports every problem at its own path, dispatching tagged unions on
// `kind` instead of reporting "matches no variant".
import { describe, expect, it } from "vitest";
import { BasketSchema } from "./basket.js";
import { checkSchema } from "./check.js";
import { BenefitSchema } from "./promotion.js";

describe("checkSchema", () => {
  it("reports a bad field inside the matching union variant", () => {
    const result = checkSchema(BenefitSchema, { kind: "cart", value: { kind: "percentage", bps: 10_001 } });
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.issues).toEqual([
        { code: "too_big", path: "/value/bps", message: "must be at most 10000" },
      ]);
  });

  it("names the allowed kinds for an unknown kind", () => {
    const result = checkSchema(BenefitSchema, { kind: "bogus" });
    expect(!result.ok && result.issues[0]).toMatchObject({ code: "invalid_kind", path: "/kind" });
  });

  it("collects every problem at once", () => {
    const result = checkSchema(BasketSchema, {
      lines: [{ id: "1", sku: "A", quantity: 1.5, unitPriceMinor: -1, colour: "red" }],
      channel: "fax",
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const found = result.issues.map((i) => `${i.code} ${i.path}`);
    expect(found).toEqual(
      expect.arrayContaining([
        "not_integer /lines/0/quantity",
        "too_small /lines/0/unitPriceMinor",
        "unknown_field /lines/0/colour",
        "invalid_value /channel",
      ]),
    );
  });

  it("reports missing fields and wrong types", () => {
    const result = checkSchema(BasketSchema, { lines: [{ id: 7 }] });
    const found = !result.ok ? result.issues.map((i) => `${i.code} ${i.path}`) : [];
    expect(found).toEqual(
      expect.arrayContaining([
        "invalid_type /lines/0/id",
        "required /lines/0/sku",
        "required /lines/0/quantity",
      ]),
    );
  });

  it("refuses oversized lists without walking them", () => {
    const lines = Array.from({ length: 1001 }, (_, i) => ({
      id: String(i),
      sku: "A",
      quantity: 1,
      unitPriceMinor: 1,
    }));
    const result = checkSchema(BasketSchema, { lines });
    expect(!result.ok && result.issues).toEqual([
      { code: "too_many", path: "/lines", message: "must hold at most 1000 items" },
    ]);
  });

  it("accepts a valid value", () => {
    expect(
      checkSchema(BasketSchema, { lines: [{ id: "1", sku: "A", quantity: 2, unitPriceMinor: 100 }] }).ok,
    ).toBe(true);
  });
});
