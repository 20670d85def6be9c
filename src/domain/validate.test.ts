// Proves validatePromotion accepts sound promotions and refuses each seed 004 rule with its exact code and path.
import { describe, expect, it } from "vitest";
import type {
  Benefit,
  Condition,
  LimitLevel,
  LimitRule,
  ProductSet,
  ProductTarget,
  ProductValue,
  Promotion,
  PromotionType,
} from "./promotion.js";
import { graphemeLength, validatePromotion } from "./validate.js";

const TYPES: readonly PromotionType[] = ["pos", "loyalty", "loyalty_earning", "rewards", "code"];
const LEVELS: readonly LimitLevel[] = ["issual", "code", "earn", "cart", "customer", "global"];

/** The smallest sound promotion of a type: 10 % off a cart of 50.00 or more. */
function basePromotion(type: PromotionType): Promotion {
  const promotion: Promotion = {
    id: `p_${type}`,
    name: "Spring sale",
    type,
    schedule: { startsAt: "2026-05-01T00:00:00Z", endsAt: "2026-06-01T00:00:00Z" },
    conditions: [{ kind: "cart_amount", op: "gte", amountMinor: 5_000 }],
    benefit: { kind: "cart", value: { kind: "percentage", bps: 1_000 } },
  };
  if (type === "code") promotion.limits = [limit("code")];
  if (type === "loyalty_earning") promotion.earning = { kind: "single_activity", activity: "transaction" };
  if (type === "rewards") promotion.earning = { kind: "direct_trigger" };
  return promotion;
}

function promo(type: PromotionType, patch: Partial<Promotion> = {}): Promotion {
  return { ...basePromotion(type), ...patch };
}

function limit(level: LimitLevel, rest: Partial<LimitRule> = {}): LimitRule {
  return { level, measure: "times", max: 5, window: { kind: "lifetime" }, ...rest };
}

function lineQuantity(quantity: number): Condition {
  return {
    kind: "line_quantity",
    scope: { include: [{ kind: "categories", categories: ["T-Shirts"] }] },
    op: "gte",
    quantity,
  };
}

const lineAmount: Condition = { kind: "line_amount", scope: { include: [] }, op: "gte", amountMinor: 10_000 };
const paymentMode: Condition = { kind: "payment_mode", mode: "card" };
const percent: ProductValue = { kind: "percentage", bps: 2_000 };

function products(target: ProductTarget, value: ProductValue = percent, repeat?: Benefit["repeat"]): Benefit {
  return repeat === undefined
    ? { kind: "products", target, value }
    : { kind: "products", target, value, repeat };
}

/** A promotion whose benefit targets products, triggered by buying 3 T-shirts. */
function productPromo(
  target: ProductTarget,
  value: ProductValue = percent,
  repeat?: Benefit["repeat"],
): Promotion {
  return promo("pos", { conditions: [lineQuantity(3)], benefit: products(target, value, repeat) });
}

function set(name: string, rest: Partial<ProductSet> = {}): ProductSet {
  return { name, products: { kind: "scope", scope: { include: [] } }, requiredQuantity: 1, ...rest };
}

const personalList: ProductSet["products"] = {
  kind: "personal_list",
  lockAfterFirstApply: false,
  defaultSku: "COFFEE",
};

/** The code and path of every issue; an empty list when the promotion is valid. */
function problems(input: unknown): { code: string; path: string }[] {
  const result = validatePromotion(input);
  return result.ok ? [] : result.issues.map(({ code, path }) => ({ code, path }));
}

interface RuleCase {
  readonly code: string;
  readonly path: string;
  readonly accepts: string;
  readonly valid: Promotion;
  readonly refuses: string;
  /** The sound variant broken in exactly one way. */
  readonly invalid: Promotion;
}

function ruleTests(cases: readonly RuleCase[]): void {
  for (const c of cases) {
    it(`accepts ${c.accepts}`, () => expect(problems(c.valid)).toEqual([]));
    it(`refuses ${c.refuses} (${c.code} at ${c.path})`, () => {
      expect(problems(c.invalid)).toEqual([{ code: c.code, path: c.path }]);
    });
  }
}

describe("basePromotion", () => {
  it.each(TYPES)("is valid for type %s", (type) => {
    const result = validatePromotion(basePromotion(type));
    expect(result).toEqual({ ok: true, value: basePromotion(type) });
  });
});

describe("name and description", () => {
  ruleTests([
    {
      code: "name_blank",
      path: "/name",
      accepts: "a name with surrounding spaces",
      valid: promo("pos", { name: "  Spring sale  " }),
      refuses: "a name of spaces only",
      invalid: promo("pos", { name: "   " }),
    },
    {
      code: "name_too_long",
      path: "/name",
      accepts: "a name of 50 emoji with skin tones (200 UTF-16 code units)",
      valid: promo("pos", { name: "👍🏽".repeat(50) }),
      refuses: "a name of 51 graphemes",
      invalid: promo("pos", { name: "a".repeat(51) }),
    },
    {
      code: "description_too_long",
      path: "/description",
      accepts: "a description of 200 combined accented letters",
      valid: promo("pos", { description: "e\u0301".repeat(200) }),
      refuses: "a description of 201 graphemes",
      invalid: promo("pos", { description: "a".repeat(201) }),
    },
  ]);

  it("counts 51 emoji as too long", () => {
    expect(problems(promo("pos", { name: "👍🏽".repeat(51) }))).toEqual([
      { code: "name_too_long", path: "/name" },
    ]);
  });

  it("graphemeLength counts user-perceived characters", () => {
    expect(graphemeLength("")).toBe(0);
    expect(graphemeLength("abc")).toBe(3);
    expect(graphemeLength("👍🏽")).toBe(1);
    expect(graphemeLength("👨‍👩‍👧‍👦🇫🇷e\u0301")).toBe(3);
  });
});

describe("conditions", () => {
  ruleTests([
    {
      code: "too_many_conditions",
      path: "/conditions",
      accepts: "10 conditions",
      valid: promo("pos", { conditions: Array.from({ length: 10 }, (_, i) => lineQuantity(i + 1)) }),
      refuses: "11 conditions",
      invalid: promo("pos", { conditions: Array.from({ length: 11 }, (_, i) => lineQuantity(i + 1)) }),
    },
    {
      code: "condition_must_stand_alone",
      path: "/conditions/1/kind",
      accepts: "line and payment conditions joined together",
      valid: promo("pos", { conditions: [paymentMode, lineQuantity(2), lineAmount] }),
      refuses: "a gift voucher condition next to another",
      invalid: promo("pos", { conditions: [paymentMode, { kind: "gift_voucher", code: "STAFF" }] }),
    },
  ]);

  it.each([
    { kind: "cart_amount", op: "gte", amountMinor: 100 },
    { kind: "item_count", op: "gte", count: 5 },
    { kind: "gift_voucher", code: "STAFF" },
  ] as Condition[])("lets $kind stand alone and refuses it with company", (standalone) => {
    expect(problems(promo("pos", { conditions: [standalone] }))).toEqual([]);
    expect(problems(promo("pos", { conditions: [lineAmount, standalone] }))).toEqual([
      { code: "condition_must_stand_alone", path: "/conditions/1/kind" },
    ]);
  });
});

describe("benefit target and value", () => {
  ruleTests([
    {
      code: "free_product_not_selected_in_condition",
      path: "/benefit/target/kind",
      accepts: "a percentage on the products selected in the condition",
      valid: productPromo({ kind: "selected_in_condition" }),
      refuses: "a free product on the products selected in the condition",
      invalid: productPromo({ kind: "selected_in_condition" }, { kind: "free_product" }),
    },
    {
      code: "selected_in_condition_needs_line_condition",
      path: "/benefit/target/kind",
      accepts: "selected in condition with a line amount condition",
      valid: promo("pos", { conditions: [lineAmount], benefit: products({ kind: "selected_in_condition" }) }),
      refuses: "selected in condition without a line condition",
      invalid: promo("pos", {
        conditions: [paymentMode],
        benefit: products({ kind: "selected_in_condition" }),
      }),
    },
    {
      code: "as_in_condition_needs_line_quantity",
      path: "/benefit/target/quantity/kind",
      accepts: "a quantity taken from a line quantity condition",
      valid: productPromo({ kind: "sku", sku: "SOCKS", quantity: { kind: "as_in_condition" } }),
      refuses: "a quantity taken from the condition with no line quantity condition",
      invalid: promo("pos", {
        conditions: [lineAmount],
        benefit: products({ kind: "sku", sku: "SOCKS", quantity: { kind: "as_in_condition" } }),
      }),
    },
    {
      code: "payment_mode_benefit_needs_condition",
      path: "/benefit/kind",
      accepts: "a payment mode benefit with a payment mode condition",
      valid: promo("pos", { conditions: [paymentMode], benefit: { kind: "payment_mode", value: percent } }),
      refuses: "a payment mode benefit without one",
      invalid: promo("pos", { conditions: [lineAmount], benefit: { kind: "payment_mode", value: percent } }),
    },
  ]);

  it("accepts a free product over and above the condition", () => {
    const target: ProductTarget = { kind: "sku", sku: "BELT", quantity: { kind: "custom", units: 1 } };
    expect(problems(productPromo(target, { kind: "free_product" }))).toEqual([]);
  });
});

describe("stacking", () => {
  ruleTests([
    {
      code: "exclusivity_does_not_match_scope",
      path: "/stacking/exclusiveAtCartLevel",
      accepts: "exclusive at cart level on a cart benefit",
      valid: promo("pos", { stacking: { exclusiveAtCartLevel: true } }),
      refuses: "exclusive at cart level on a product benefit",
      invalid: {
        ...productPromo({ kind: "selected_in_condition" }),
        stacking: { exclusiveAtCartLevel: true },
      },
    },
    {
      code: "exclusivity_does_not_match_scope",
      path: "/stacking/exclusiveForProducts",
      accepts: "exclusive for products on a product benefit",
      valid: { ...productPromo({ kind: "selected_in_condition" }), stacking: { exclusiveForProducts: true } },
      refuses: "exclusive for products on a cart benefit",
      invalid: promo("pos", { stacking: { exclusiveForProducts: true } }),
    },
  ]);

  it("accepts exclusive at cart level on a payment mode benefit, and false flags anywhere", () => {
    const payment = promo("pos", {
      conditions: [paymentMode],
      benefit: { kind: "payment_mode", value: percent },
    });
    expect(problems({ ...payment, stacking: { exclusiveAtCartLevel: true } })).toEqual([]);
    expect(
      problems(promo("pos", { stacking: { exclusiveAtCartLevel: false, exclusiveForProducts: false } })),
    ).toEqual([]);
  });
});

const combo: ProductTarget = {
  kind: "combo",
  blocks: [
    { skus: ["COFFEE", "TEA"], quantity: 2 },
    { skus: ["MUFFIN"], quantity: 1 },
  ],
};

describe("repeat", () => {
  ruleTests([
    {
      code: "repeat_amount_needs_fixed_amount",
      path: "/benefit/repeat/kpi",
      accepts: "50.00 off for every 500.00 spent",
      valid: promo("pos", {
        benefit: {
          kind: "cart",
          value: { kind: "fixed_amount", amountMinor: 5_000 },
          repeat: { per: 50_000, kpi: "amount" },
        },
      }),
      refuses: "a percentage repeated by amount",
      invalid: promo("pos", {
        benefit: { kind: "cart", value: percent, repeat: { per: 50_000, kpi: "amount" } },
      }),
    },
    {
      code: "repeat_per_must_be_one_for_groups",
      path: "/benefit/repeat",
      accepts: "a combo repeated once per group",
      valid: productPromo(combo, percent, { per: 1, kpi: "quantity" }),
      refuses: "a combo repeated every 2 units",
      invalid: productPromo(combo, percent, { per: 2, kpi: "quantity" }),
    },
  ]);

  it("refuses product sets repeated by amount, even with a fixed amount", () => {
    const target: ProductTarget = { kind: "product_sets", sets: [set("Coffee", { discountedUnits: 1 })] };
    const fixed: ProductValue = { kind: "fixed_amount", amountMinor: 100 };
    expect(problems(productPromo(target, fixed, { per: 1, kpi: "amount" }))).toEqual([
      { code: "repeat_per_must_be_one_for_groups", path: "/benefit/repeat" },
    ]);
  });
});

describe("product sets", () => {
  ruleTests([
    {
      code: "product_sets_need_discounted_set",
      path: "/benefit/target/sets",
      accepts: "a set that requires 1 unit and discounts 1",
      valid: productPromo({
        kind: "product_sets",
        sets: [set("Bread"), set("Butter", { discountedUnits: 1 })],
      }),
      refuses: "sets of which none is discounted",
      invalid: productPromo({ kind: "product_sets", sets: [set("Bread"), set("Butter")] }),
    },
    {
      code: "one_personal_list_only",
      path: "/benefit/target/sets/1/products/kind",
      accepts: "one personal list with a default SKU",
      valid: productPromo({
        kind: "product_sets",
        sets: [set("Mine", { products: personalList, discountedUnits: 1 }), set("Bread")],
      }),
      refuses: "two personal lists",
      invalid: productPromo({
        kind: "product_sets",
        sets: [
          set("Mine", { products: personalList, discountedUnits: 1 }),
          set("Also mine", { products: personalList }),
        ],
      }),
    },
  ]);

  it("does not tie discounted units to the required quantity", () => {
    const target: ProductTarget = { kind: "product_sets", sets: [set("Coffee", { discountedUnits: 3 })] };
    expect(problems(productPromo(target))).toEqual([]);
  });
});

describe("combo", () => {
  ruleTests([
    {
      code: "combo_sku_in_two_blocks",
      path: "/benefit/target/blocks/1/skus/1",
      accepts: "blocks with distinct SKUs",
      valid: productPromo(combo),
      refuses: "a SKU in two blocks",
      invalid: productPromo({
        kind: "combo",
        blocks: [
          { skus: ["COFFEE", "TEA"], quantity: 2 },
          { skus: ["MUFFIN", "TEA"], quantity: 1 },
        ],
      }),
    },
  ]);
});

const daily = (every: number): LimitRule["window"] => ({ kind: "fixed", unit: "days", every });

describe("limits", () => {
  ruleTests([
    {
      code: "too_many_limits",
      path: "/limits",
      accepts: "10 limit rules",
      valid: promo("pos", {
        limits: Array.from({ length: 10 }, (_, i) => limit("customer", { window: daily(i + 1) })),
      }),
      refuses: "11 limit rules",
      invalid: promo("pos", {
        limits: Array.from({ length: 11 }, (_, i) => limit("customer", { window: daily(i + 1) })),
      }),
    },
    {
      code: "duplicate_limit",
      path: "/limits/2",
      accepts: "the same level and measure with different windows",
      valid: promo("pos", { limits: [limit("customer"), limit("customer", { window: daily(30) })] }),
      refuses: "the same rule twice, whatever the max",
      invalid: promo("pos", { limits: [limit("customer"), limit("global"), limit("customer", { max: 9 })] }),
    },
    {
      code: "limit_windows_mixed",
      path: "/limits/2/window/kind",
      accepts: "a lifetime rule next to a fixed window",
      valid: promo("pos", { limits: [limit("customer"), limit("global", { window: daily(7) })] }),
      refuses: "fixed and rolling windows together",
      invalid: promo("pos", {
        limits: [
          limit("customer"),
          limit("global", { window: daily(7) }),
          limit("customer", { window: { kind: "rolling", unit: "weeks", last: 2 } }),
        ],
      }),
    },
    {
      code: "issual_limit_too_high",
      path: "/limits/0/max",
      accepts: "an issual limit of 50",
      valid: promo("loyalty", { limits: [limit("issual", { max: 50 })] }),
      refuses: "an issual limit of 51",
      invalid: promo("loyalty", { limits: [limit("issual", { max: 51 })] }),
    },
    {
      code: "issual_limit_must_be_times_lifetime",
      path: "/limits/0",
      accepts: "an issual limit in times over the lifetime",
      valid: promo("rewards", { limits: [limit("issual")] }),
      refuses: "an issual limit that resets",
      invalid: promo("rewards", { limits: [limit("issual", { window: daily(7) })] }),
    },
    {
      code: "cart_limit_invalid",
      path: "/limits/1",
      accepts: "cart limits in times and in discount",
      valid: promo("pos", { limits: [limit("cart"), limit("cart", { measure: "discount", max: 10_000 })] }),
      refuses: "a cart limit counting transactions",
      invalid: promo("pos", { limits: [limit("cart"), limit("cart", { measure: "transactions" })] }),
    },
    {
      code: "code_promotion_needs_code_limit",
      path: "/limits",
      accepts: "a code promotion with a per-code limit",
      valid: promo("code", { limits: [limit("cart"), limit("code", { measure: "discount", max: 50_000 })] }),
      refuses: "a code promotion without one",
      invalid: promo("code", { limits: [limit("cart")] }),
    },
  ]);

  it("refuses an issual limit counting discount, and a cart limit with a window", () => {
    expect(problems(promo("loyalty", { limits: [limit("issual", { measure: "discount" })] }))).toEqual([
      { code: "issual_limit_must_be_times_lifetime", path: "/limits/0" },
    ]);
    expect(problems(promo("pos", { limits: [limit("cart", { window: daily(1) })] }))).toEqual([
      { code: "cart_limit_invalid", path: "/limits/0" },
    ]);
  });

  it("refuses a code promotion with no limits at all", () => {
    expect(problems(promo("code", { limits: [] }))).toEqual([
      { code: "code_promotion_needs_code_limit", path: "/limits" },
    ]);
  });
});

/** Seed 004, table 5.2. */
const ALLOWED_LEVELS: Record<PromotionType, readonly LimitLevel[]> = {
  pos: ["cart", "customer", "global"],
  loyalty: ["issual", "cart", "customer", "global"],
  loyalty_earning: ["issual", "earn", "cart", "customer"],
  rewards: ["issual", "earn", "cart", "customer"],
  code: ["code", "cart"],
};

describe("limit levels by promotion type (seed 004 table 5.2)", () => {
  it.each(TYPES)("accepts every level a %s promotion offers", (type) => {
    expect(problems(promo(type, { limits: ALLOWED_LEVELS[type].map((level) => limit(level)) }))).toEqual([]);
  });

  const refused = TYPES.flatMap((type) =>
    LEVELS.filter((level) => !ALLOWED_LEVELS[type].includes(level)).map((level) => ({ type, level })),
  );
  it.each(refused)("refuses a $level limit on a $type promotion", ({ type, level }) => {
    const limits = type === "code" ? [limit("code"), limit(level)] : [limit(level)];
    expect(problems(promo(type, { limits }))).toEqual([
      { code: "limit_level_not_allowed", path: `/limits/${limits.length - 1}/level` },
    ]);
  });
});

const creative = { channels: ["sms" as const], strategy: "broadcast" as const };

describe("features by promotion type", () => {
  ruleTests([
    {
      code: "activation_not_allowed_for_type",
      path: "/activationRequired",
      accepts: "activation on a loyalty promotion",
      valid: promo("loyalty", { activationRequired: true }),
      refuses: "activation on a POS promotion",
      invalid: promo("pos", { activationRequired: true }),
    },
    {
      code: "earning_required",
      path: "/earning",
      accepts: "a rewards promotion with a direct trigger",
      valid: promo("rewards"),
      refuses: "a rewards promotion without earning",
      invalid: promo("rewards", { earning: undefined }),
    },
    {
      code: "earning_not_allowed_for_type",
      path: "/earning",
      accepts: "a loyalty promotion without earning",
      valid: promo("loyalty"),
      refuses: "a loyalty promotion with earning",
      invalid: promo("loyalty", { earning: { kind: "direct_trigger" } }),
    },
    {
      code: "earning_kind_does_not_match_type",
      path: "/earning/kind",
      accepts: "a loyalty earning promotion earned by a milestone",
      valid: promo("loyalty_earning", {
        earning: { kind: "activity_milestone", metric: "transaction_count", target: 3 },
      }),
      refuses: "a loyalty earning promotion with a direct trigger",
      invalid: promo("loyalty_earning", { earning: { kind: "direct_trigger" } }),
    },
    {
      code: "expiry_not_allowed_for_type",
      path: "/expiry",
      accepts: "an expiry on a loyalty earning promotion",
      valid: promo("loyalty_earning", { expiry: { kind: "days_from_earning", days: 30 } }),
      refuses: "an expiry on a loyalty promotion",
      invalid: promo("loyalty", { expiry: { kind: "with_promotion" } }),
    },
    {
      code: "communication_not_allowed_for_type",
      path: "/communication",
      accepts: "an expiry reminder on a loyalty promotion",
      valid: promo("loyalty", { communication: { expiryReminder: { daysBefore: 3, ...creative } } }),
      refuses: "communication on a code promotion",
      invalid: promo("code", { communication: { expiryReminder: { daysBefore: 3, ...creative } } }),
    },
    {
      code: "on_earning_not_allowed_for_type",
      path: "/communication/onEarning",
      accepts: "an on-earning message on a rewards promotion",
      valid: promo("rewards", { communication: { onEarning: creative } }),
      refuses: "an on-earning message on a loyalty promotion",
      invalid: promo("loyalty", { communication: { onEarning: creative } }),
    },
  ]);

  it("refuses a direct trigger on no type but rewards", () => {
    const milestone = { kind: "activity_milestone", metric: "transaction_value", target: 100_000 } as const;
    expect(problems(promo("rewards", { earning: milestone }))).toEqual([
      { code: "earning_kind_does_not_match_type", path: "/earning/kind" },
    ]);
  });

  it("refuses communication on a POS promotion once, not again for its on-earning message", () => {
    expect(problems(promo("pos", { communication: { onEarning: creative } }))).toEqual([
      { code: "communication_not_allowed_for_type", path: "/communication" },
    ]);
  });
});

describe("schedule", () => {
  ruleTests([
    {
      code: "schedule_ends_before_start",
      path: "/schedule/endsAt",
      accepts: "an end one hour after the start, in another offset",
      valid: promo("pos", {
        schedule: { startsAt: "2026-05-01T10:00:00+02:00", endsAt: "2026-05-01T09:00:00Z" },
      }),
      refuses: "an end equal to the start",
      invalid: promo("pos", {
        schedule: { startsAt: "2026-05-01T10:00:00+02:00", endsAt: "2026-05-01T08:00:00Z" },
      }),
    },
    {
      code: "duplicate_recurrence_value",
      path: "/schedule/recurrence/days/2",
      accepts: "distinct weekdays",
      valid: promo("pos", {
        schedule: { startsAt: "2026-05-01T00:00:00Z", recurrence: { kind: "days_of_week", days: [1, 3, 5] } },
      }),
      refuses: "a weekday listed twice",
      invalid: promo("pos", {
        schedule: { startsAt: "2026-05-01T00:00:00Z", recurrence: { kind: "days_of_week", days: [1, 3, 1] } },
      }),
    },
  ]);

  it("refuses an end before the start and a date of the month listed twice", () => {
    const schedule: Promotion["schedule"] = {
      startsAt: "2026-05-01T00:00:00Z",
      endsAt: "2026-04-01T00:00:00Z",
      recurrence: { kind: "dates_of_month", dates: [15, 1, 15] },
    };
    expect(problems(promo("pos", { schedule }))).toEqual([
      { code: "schedule_ends_before_start", path: "/schedule/endsAt" },
      { code: "duplicate_recurrence_value", path: "/schedule/recurrence/dates/2" },
    ]);
  });
});

describe("eligibility", () => {
  ruleTests([
    {
      code: "duplicate_tier",
      path: "/eligibility/tierIds/1",
      accepts: "distinct tiers",
      valid: promo("loyalty", {
        eligibility: { kind: "tiers", programId: "club", tierIds: ["gold", "silver"] },
      }),
      refuses: "a tier listed twice",
      invalid: promo("loyalty", {
        eligibility: { kind: "tiers", programId: "club", tierIds: ["gold", "gold"] },
      }),
    },
  ]);
});

describe("several problems at once", () => {
  it("reports every problem, each with a message", () => {
    const broken = promo("pos", {
      name: " ",
      activationRequired: true,
      earning: { kind: "direct_trigger" },
      conditions: [{ kind: "cart_amount", op: "gte", amountMinor: 100 }, paymentMode],
      stacking: { exclusiveForProducts: true },
      limits: [limit("issual", { max: 60 })],
    });
    const result = validatePromotion(broken);
    expect(problems(broken)).toEqual([
      { code: "name_blank", path: "/name" },
      { code: "condition_must_stand_alone", path: "/conditions/0/kind" },
      { code: "exclusivity_does_not_match_scope", path: "/stacking/exclusiveForProducts" },
      { code: "limit_level_not_allowed", path: "/limits/0/level" },
      { code: "issual_limit_too_high", path: "/limits/0/max" },
      { code: "activation_not_allowed_for_type", path: "/activationRequired" },
      { code: "earning_not_allowed_for_type", path: "/earning" },
    ]);
    expect(result.ok).toBe(false);
    if (!result.ok) for (const issue of result.issues) expect(issue.message.length).toBeGreaterThan(10);
  });
});

describe("structural errors", () => {
  it("reports them with paths", () => {
    const input = {
      ...basePromotion("pos"),
      colour: "red",
      benefit: { kind: "cart", value: { kind: "percentage", bps: 10_001 } },
      conditions: [{ kind: "cart_total", op: "gte", amountMinor: 100 }],
    };
    expect(problems(input)).toEqual([
      { code: "invalid_kind", path: "/conditions/0/kind" },
      { code: "too_big", path: "/benefit/value/bps" },
      { code: "unknown_field", path: "/colour" },
    ]);
  });

  it("skips semantic checks on a structurally broken promotion", () => {
    const input = { ...promo("pos", { name: "   ", activationRequired: true }), id: "" };
    expect(problems(input)).toEqual([{ code: "too_short", path: "/id" }]);
  });

  it("refuses what is not a promotion at all", () => {
    expect(problems(null)).toEqual([{ code: "invalid_type", path: "/" }]);
  });
});
