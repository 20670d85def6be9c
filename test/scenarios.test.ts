// Scenario tests: the independent check of the pricing engine. Every expected number in
// test/scenarios/*.json was worked out by hand from docs/engine.md (the rules) and the seeds, never by
// running the engine. When a case fails, docs/engine.md decides who is wrong.
//
// One JSON file per example. Format:
//
// {
//   "name": "Spend more, save more",          // the example
//   "seed": "004",                             // the seed it comes from (000, 002, 004)
//   "about": "Shop for 500 or more to unlock a 10% discount.",   // what it shows, and the hand arithmetic
//   "settings": { "currency": "EUR", "timeZone": "Europe/Warsaw" },   // WorkspaceSettings
//   "promotions": [ ...full Promotion objects (src/domain/promotion.ts), each must pass validatePromotion... ],
//   "cases": [
//     {
//       "name": "500 exactly qualifies",
//       "at": "2026-06-01T10:00:00Z",          // the instant of the sale
//       "basket": { "lines": [ { "id": "l1", "sku": "...", "quantity": 1, "unitPriceMinor": 50000, "categories": ["..."] } ] },
//       "customer": { ... },                   // optional CustomerContext
//       "explainAll": false,                   // optional, passed to the engine
//       "expect": {
//         "totals": { "grossMinor": 50000, "discountMinor": 5000, "netMinor": 45000 },      // exact, if given
//         "lines": {                           // each listed line: discountMinor, and netMinor if given;
//           "l1": { "discountMinor": 5000, "netMinor": 45000, "promotions": { "spend-500": 5000 } }
//         },                                   // "promotions": the line's discount per promotion, exactly
//         "applied": {                         // EXACTLY the applied promotion ids (every applied one listed)
//           "spend-500": { "discountMinor": 5000, "instances": 1, "units": 0,
//                          "consumption": [ { "rule": "customer:times:lifetime", "amount": 1 } ],  // as a set
//                          "cappedBy": "customer:times:lifetime" }  // null: must not be set
//         },                                   // discountMinor always checked; the rest if given
//         "rejected": {                        // each listed id must be rejected with this code, and if given
//           "other-promo": { "code": "condition_not_met", "conditionIndex": 0,   // this condition index,
//                            "shortfall": { "kind": "amount", "missing": 1250 },  // shortfall,
//                            "rule": "customer:times:lifetime", "by": "winner-id" } // limit rule, winner
//         },
//         "notReported": [ "promo-id" ]     // optional: neither applied nor rejected (the basket does not touch it)
//       }
//     }
//   ]
// }
//
// In every case the runner also asserts the receipt's own arithmetic: line discounts sum to
// totals.discountMinor, each line's promotion discounts sum to its discountMinor, net = gross − discount,
// no line goes below zero, and the applied promotions' discounts sum to the total discount. A second
// test per case evaluates the same input with the lines and the promotions in reverse order and expects
// the same receipt (docs/engine.md: "whatever the order of the lines or of the promotions").
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  BasketSchema,
  CustomerContextSchema,
  WorkspaceSettingsSchema,
  type Basket,
  type CustomerContext,
  type WorkspaceSettings,
} from "../src/domain/basket.js";
import { checkSchema } from "../src/domain/check.js";
import type { Promotion } from "../src/domain/promotion.js";
import { validatePromotion } from "../src/domain/validate.js";
import { compilePromotions } from "../src/engine/compile.js";
import { evaluate } from "../src/engine/evaluate.js";
import type { Evaluation, EvaluationInput, RejectionCode, Shortfall } from "../src/engine/types.js";

interface ExpectedLine {
  readonly discountMinor: number;
  readonly netMinor?: number;
  readonly promotions?: Readonly<Record<string, number>>;
}

interface ExpectedApplied {
  readonly discountMinor: number;
  readonly instances?: number;
  readonly units?: number;
  readonly consumption?: readonly { readonly rule: string; readonly amount: number }[];
  readonly cappedBy?: string | null;
}

interface ExpectedRejection {
  readonly code: RejectionCode;
  readonly shortfall?: Shortfall;
  readonly rule?: string;
  readonly conditionIndex?: number;
  readonly by?: string;
}

interface Expectation {
  readonly totals?: {
    readonly grossMinor: number;
    readonly discountMinor: number;
    readonly netMinor: number;
  };
  readonly lines?: Readonly<Record<string, ExpectedLine>>;
  readonly applied: Readonly<Record<string, ExpectedApplied>>;
  readonly rejected?: Readonly<Record<string, ExpectedRejection>>;
  readonly notReported?: readonly string[];
}

interface ScenarioCase {
  readonly name: string;
  readonly at: string;
  readonly basket: Basket;
  readonly customer?: CustomerContext;
  readonly explainAll?: boolean;
  readonly expect: Expectation;
}

interface Scenario {
  readonly name: string;
  readonly seed: string;
  readonly about: string;
  readonly settings: WorkspaceSettings;
  readonly promotions: readonly Promotion[];
  readonly cases: readonly ScenarioCase[];
}

const folder = join(dirname(fileURLToPath(import.meta.url)), "scenarios");
const scenarios = readdirSync(folder)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => ({
    file: basename(f, ".json"),
    scenario: JSON.parse(readFileSync(join(folder, f), "utf8")) as Scenario,
  }));

function input(scenario: Scenario, c: ScenarioCase, basket: Basket = c.basket): EvaluationInput {
  return {
    basket,
    settings: scenario.settings,
    at: c.at,
    ...(c.customer !== undefined ? { customer: c.customer } : {}),
    ...(c.explainAll !== undefined ? { explainAll: c.explainAll } : {}),
  };
}

function checkReceiptArithmetic(result: Evaluation): void {
  let lineDiscounts = 0;
  let gross = 0;
  for (const line of result.lines) {
    expect(line.netMinor, `line ${line.lineId} net`).toBeGreaterThanOrEqual(0);
    expect(line.grossMinor, `line ${line.lineId} gross`).toBe(line.unitPriceMinor * line.quantity);
    expect(line.netMinor, `line ${line.lineId} net = gross − discount`).toBe(
      line.grossMinor - line.discountMinor,
    );
    const perPromotion = line.discounts.reduce((sum, d) => sum + d.amountMinor, 0);
    expect(perPromotion, `line ${line.lineId} discounts sum to its discountMinor`).toBe(line.discountMinor);
    lineDiscounts += line.discountMinor;
    gross += line.grossMinor;
  }
  expect(lineDiscounts, "line discounts sum to totals.discountMinor").toBe(result.totals.discountMinor);
  expect(result.totals.grossMinor, "totals.grossMinor is the sum of the lines").toBe(gross);
  expect(result.totals.netMinor, "totals net = gross − discount").toBe(
    result.totals.grossMinor - result.totals.discountMinor,
  );
  const appliedSum = result.applied.reduce((sum, a) => sum + a.discountMinor, 0);
  expect(appliedSum, "applied promotions' discounts sum to totals.discountMinor").toBe(
    result.totals.discountMinor,
  );
}

function checkExpectation(result: Evaluation, want: Expectation): void {
  if (want.totals !== undefined) expect(result.totals, "totals").toEqual(want.totals);

  for (const [lineId, line] of Object.entries(want.lines ?? {})) {
    const got = result.lines.find((l) => l.lineId === lineId);
    expect(got, `line ${lineId} is priced`).toBeDefined();
    if (got === undefined) continue;
    expect(got.discountMinor, `line ${lineId} discountMinor`).toBe(line.discountMinor);
    if (line.netMinor !== undefined) expect(got.netMinor, `line ${lineId} netMinor`).toBe(line.netMinor);
    if (line.promotions !== undefined) {
      const byPromotion: Record<string, number> = {};
      for (const d of got.discounts) {
        if (d.amountMinor !== 0)
          byPromotion[d.promotionId] = (byPromotion[d.promotionId] ?? 0) + d.amountMinor;
      }
      expect(byPromotion, `line ${lineId} discount per promotion`).toEqual(line.promotions);
    }
  }

  const appliedIds = result.applied.map((a) => a.promotionId).sort();
  expect(appliedIds, "exactly these promotions apply").toEqual(Object.keys(want.applied).sort());
  for (const [id, applied] of Object.entries(want.applied)) {
    const got = result.applied.find((a) => a.promotionId === id);
    if (got === undefined) continue;
    expect(got.discountMinor, `${id} discountMinor`).toBe(applied.discountMinor);
    if (applied.instances !== undefined) expect(got.instances, `${id} instances`).toBe(applied.instances);
    if (applied.units !== undefined) expect(got.units, `${id} units`).toBe(applied.units);
    if (applied.consumption !== undefined) {
      const byRule = (a: { rule: string }, b: { rule: string }) => a.rule.localeCompare(b.rule);
      const gotConsumption = got.consumption.map((c) => ({ rule: c.rule, amount: c.amount })).sort(byRule);
      expect(gotConsumption, `${id} consumption`).toEqual([...applied.consumption].sort(byRule));
    }
    if (applied.cappedBy !== undefined) {
      expect(got.cappedBy, `${id} cappedBy`).toBe(applied.cappedBy === null ? undefined : applied.cappedBy);
    }
  }

  for (const [id, rejected] of Object.entries(want.rejected ?? {})) {
    const got = result.rejected.find((r) => r.promotionId === id);
    expect(got, `${id} is rejected`).toBeDefined();
    if (got === undefined) continue;
    expect(got.code, `${id} rejection code`).toBe(rejected.code);
    if (rejected.shortfall !== undefined)
      expect(got.shortfall, `${id} shortfall`).toEqual(rejected.shortfall);
    if (rejected.rule !== undefined) expect(got.rule, `${id} rule`).toBe(rejected.rule);
    if (rejected.conditionIndex !== undefined) {
      expect(got.conditionIndex, `${id} conditionIndex`).toBe(rejected.conditionIndex);
    }
    if (rejected.by !== undefined) expect(got.by, `${id} won by`).toBe(rejected.by);
  }

  for (const id of want.notReported ?? []) {
    const reported = [...result.applied, ...result.rejected].filter((p) => p.promotionId === id);
    expect(reported, `${id} is not looked at, so not reported`).toEqual([]);
  }
}

/** The order-free view of a receipt: what each line and each promotion got, and every rejection code. */
function canonical(result: Evaluation) {
  return {
    totals: result.totals,
    lines: Object.fromEntries(
      result.lines.map((l) => [
        l.lineId,
        {
          discountMinor: l.discountMinor,
          discounts: [...l.discounts]
            .map((d) => ({ promotionId: d.promotionId, amountMinor: d.amountMinor, units: d.units }))
            .sort((a, b) => a.promotionId.localeCompare(b.promotionId)),
        },
      ]),
    ),
    applied: [...result.applied]
      .map((a) => ({
        id: a.promotionId,
        discountMinor: a.discountMinor,
        instances: a.instances,
        units: a.units,
      }))
      .sort((a, b) => a.id.localeCompare(b.id)),
    rejected: [...result.rejected].map((r) => `${r.promotionId}:${r.code}`).sort(),
  };
}

describe.each(scenarios.map((s) => [s.file, s.scenario] as const))("%s", (file, scenario) => {
  it(`${file} › promotions, baskets and settings are valid input`, () => {
    expect(checkSchema(WorkspaceSettingsSchema, scenario.settings)).toMatchObject({ ok: true });
    for (const promotion of scenario.promotions) {
      const checked = validatePromotion(promotion);
      expect(checked.ok ? [] : checked.issues, `promotion ${promotion.id}`).toEqual([]);
    }
    const ids = scenario.promotions.map((p) => p.id);
    expect(new Set(ids).size, "promotion ids are unique").toBe(ids.length);
    expect(Object.keys(scenario).sort(), "file keys").toEqual([
      "about",
      "cases",
      "name",
      "promotions",
      "seed",
      "settings",
    ]);
    for (const c of scenario.cases) {
      for (const key of Object.keys(c)) {
        expect(
          ["name", "at", "basket", "customer", "explainAll", "expect"],
          `case key of "${c.name}"`,
        ).toContain(key);
      }
      for (const key of Object.keys(c.expect)) {
        expect(
          ["totals", "lines", "applied", "rejected", "notReported"],
          `expect key of "${c.name}"`,
        ).toContain(key);
      }
      const basket = checkSchema(BasketSchema, c.basket);
      expect(basket.ok ? [] : basket.issues, `basket of "${c.name}"`).toEqual([]);
      if (c.customer !== undefined) {
        const customer = checkSchema(CustomerContextSchema, c.customer);
        expect(customer.ok ? [] : customer.issues, `customer of "${c.name}"`).toEqual([]);
      }
      const named = [
        ...Object.keys(c.expect.applied),
        ...Object.keys(c.expect.rejected ?? {}),
        ...(c.expect.notReported ?? []),
      ];
      for (const id of named) {
        expect(ids, `"${c.name}" names a promotion of the file`).toContain(id);
      }
    }
    const names = scenario.cases.map((c) => c.name);
    expect(new Set(names).size, "case names are unique").toBe(names.length);
  });

  const index = compilePromotions([...scenario.promotions]);
  const rows = scenario.cases.map((c) => [`${file} › ${c.name}`, c] as const);

  it.each(rows)("%s", (_title, c) => {
    const result = evaluate(index, input(scenario, c));
    checkReceiptArithmetic(result);
    checkExpectation(result, c.expect);
  });

  const reversedIndex = compilePromotions([...scenario.promotions].reverse());
  it.each(rows)("%s (lines and promotions in reverse order)", (_title, c) => {
    const straight = evaluate(index, input(scenario, c));
    const basket: Basket = { ...c.basket, lines: [...c.basket.lines].reverse() };
    const reversed = evaluate(reversedIndex, input(scenario, c, basket));
    expect(canonical(reversed)).toEqual(canonical(straight));
  });
});
