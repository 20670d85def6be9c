// Proves the CSV mapping without a database: seed 001 cells become the documented definition, bad
// cells are reported by column, local times are read in the workspace zone, and a definition's row
// reads back as the same definition (or the format refuses it rather than lose something).
import { describe, expect, it } from "vitest";
import type { Promotion } from "../domain/promotion.js";
import { CsvFileError, csvHeader, definitionToRow, parseCsv, rowToDefinition } from "./promotion-csv.js";

const ctx = { currency: "EUR", timeZone: "Europe/Warsaw" };
const cells = {
  externalId: "S-1",
  name: "Latte 20%",
  type: "Personalized promotion",
  discountType: "PERCENT",
  discountValue: "12.5",
  catalogIndexItems: '["LATTE","FLAT WHITE"]',
  redeemLimitPerClient: "3",
  startAt: "2026-03-01",
  displayTo: "2026-03-31",
  "tags.0.name": "MOBILE",
  "tags.1.name": "",
  "tags.2.name": "CHECKOUT",
};

describe("rowToDefinition", () => {
  it("maps seed 001 columns onto a promotion", () => {
    const result = rowToDefinition(2, cells, ctx);
    expect(result).toEqual({
      ok: true,
      definition: {
        externalId: "S-1",
        name: "Latte 20%",
        type: "loyalty",
        activationRequired: true,
        tags: ["MOBILE", "CHECKOUT"],
        customFields: { displayTo: "2026-03-31" },
        schedule: { startsAt: "2026-03-01T00:00:00+01:00" },
        conditions: [],
        benefit: {
          kind: "products",
          target: {
            kind: "selector",
            scope: { include: [{ kind: "skus", skus: ["LATTE", "FLAT WHITE"] }] },
            quantity: { kind: "all" },
          },
          value: { kind: "percentage", bps: 1250 },
        },
        limits: [{ level: "customer", measure: "times", max: 3, window: { kind: "lifetime" } }],
      },
    });
  });

  it("reports every bad cell by column", () => {
    const result = rowToDefinition(
      7,
      { ...cells, discountValue: "1.234", priority: "high", type: "flyer", storeIds: "[1]" },
      ctx,
    );
    expect(result.ok).toBe(false);
    const found = result.ok ? [] : result.problems.map((p) => `${p.row} ${p.column} ${p.code}`);
    expect(found).toEqual([
      "7 type unknown_type",
      "7 storeIds not_a_list",
      "7 priority not_an_integer",
      "7 discountValue not_a_percentage",
    ]);
  });

  it("refuses a price without catalog items", () => {
    const result = rowToDefinition(2, { ...cells, discountType: "price", catalogIndexItems: "" }, ctx);
    expect(result.ok ? [] : result.problems.map((p) => p.code)).toEqual(["price_needs_catalog_items"]);
  });
});

describe("definitionToRow", () => {
  it("writes a row that reads back as the same definition", () => {
    const mapped = rowToDefinition(2, cells, ctx);
    if (!mapped.ok) throw new Error("fixture must map");
    const definition: Promotion = { id: "promo_1", ...mapped.definition };
    const row = definitionToRow(definition, ctx)!;
    expect(row).toMatchObject({ type: "personalized", discountType: "percent", discountValue: "12.5" });
    expect(row["catalogIndexItems"]).toBe("LATTE,FLAT WHITE");
    const back = rowToDefinition(2, row, ctx);
    expect(back.ok && back.definition).toEqual(mapped.definition);
  });

  it("answers null for what the format cannot hold", () => {
    const mapped = rowToDefinition(2, cells, ctx);
    if (!mapped.ok) throw new Error("fixture must map");
    const withCondition: Promotion = {
      id: "promo_2",
      ...mapped.definition,
      conditions: [{ kind: "cart_amount", op: "gte", amountMinor: 1000 }],
    };
    expect(definitionToRow(withCondition, ctx)).toBeNull();
  });
});

describe("parseCsv", () => {
  it("reads semicolon files, skips blank rows and reports short rows", () => {
    const header = csvHeader(1).join(";");
    const table = parseCsv(`\uFEFF${header}\n${"x;".repeat(23)}x\n\nshort;row\n`);
    expect(table.rows.map((r) => r.row)).toEqual([2]);
    expect(table.problems).toMatchObject([{ row: 4, code: "wrong_cell_count" }]);
  });

  it("refuses unknown and missing columns", () => {
    expect(() => parseCsv("name,color\n")).toThrow(CsvFileError);
  });
});
