// Generators for the engine's property tests: small baskets over a small catalog, and structurally and
// semantically valid promotions covering every target, value, condition, limit and stacking flag,
// together with the customer context (capacity, codes, product choices) that makes them bite.
import fc from "fast-check";
import type {
  Basket,
  BasketLine,
  Capacity,
  CustomerContext,
  Tender,
  WorkspaceSettings,
} from "../src/domain/basket.js";
import type {
  Benefit,
  CartValue,
  ComboBlock,
  Comparator,
  Condition,
  LimitRule,
  ProductScope,
  ProductSet,
  ProductValue,
  Promotion,
  QuantityMode,
  Repeat,
  Selector,
} from "../src/domain/promotion.js";
import { limitRuleKey } from "../src/domain/promotion.js";
import type { EvaluationInput } from "../src/engine/types.js";

export const SKUS = ["SKU0", "SKU1", "SKU2", "SKU3", "SKU4", "SKU5", "SKU6", "SKU7"] as const;
const CATEGORIES = ["food", "drink", "home"] as const;
const BRANDS = ["acme", "globex"] as const;
const COLORS = ["red", "blue"] as const;
const MODES = ["card", "cash", "points"] as const;
const CARDS = ["Capital One Card", "Visa Gold", "Loyalty Points"] as const;
const VOUCHERS = ["GV1", "GV2"] as const;

export const AT = "2026-06-01T12:00:00Z";
const STARTS_AT = "2026-01-01T00:00:00Z";
export const CUSTOMER_ID = "C1";
const SEGMENT = "vip";

// ---- Baskets

/** Prices that hit the rounding and zero edges often, and anything up to 200.00 otherwise. */
const priceArb = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 20_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 5, 85, 95, 999, 1000) },
);

/** A line without its id; ids are given by position so shrinking can drop lines. */
const lineArb: fc.Arbitrary<Omit<BasketLine, "id">> = fc.record(
  {
    sku: fc.constantFrom(...SKUS),
    quantity: fc.integer({ min: 1, max: 6 }),
    unitPriceMinor: priceArb,
    categories: fc.subarray([...CATEGORIES], { minLength: 1, maxLength: 2 }),
    brand: fc.constantFrom(...BRANDS),
    attributes: fc.constantFrom(...COLORS).map((color) => ({ color })),
  },
  { requiredKeys: ["sku", "quantity", "unitPriceMinor"] },
);

/** Line ids whose text order differs from their position in the basket ("L10" sorts before "L2"). */
const LINE_IDS = ["L7", "L10", "L2", "L31", "L4", "L19", "L1", "L25", "L3", "L12", "L8", "L40"] as const;

/** 1–12 lines with unique ids. */
const linesArb: fc.Arbitrary<BasketLine[]> = fc
  .array(lineArb, { minLength: 1, maxLength: LINE_IDS.length })
  .map((lines) => lines.map((line, i) => ({ id: LINE_IDS[i]!, ...line })));

const tenderArb: fc.Arbitrary<Tender> = fc.record(
  {
    mode: fc.oneof({ weight: 3, arbitrary: fc.constant("card") }, fc.constantFrom(...MODES, "CARD")),
    identifier: fc.constantFrom(...CARDS),
    amountMinor: fc.integer({ min: 0, max: 50_000 }),
  },
  { requiredKeys: ["mode"] },
);

export const basketArb: fc.Arbitrary<Basket> = fc.record(
  {
    lines: linesArb,
    tenders: fc.oneof(
      { weight: 4, arbitrary: fc.array(tenderArb, { minLength: 1, maxLength: 2 }) },
      { weight: 1, arbitrary: fc.constant<Tender[]>([]) },
    ),
    giftVouchers: fc.subarray([...VOUCHERS], { minLength: 1 }),
  },
  { requiredKeys: ["lines", "tenders"] },
);

// ---- Product scopes and conditions

const selectorArb: fc.Arbitrary<Selector> = fc.oneof(
  fc.subarray([...SKUS], { minLength: 1, maxLength: 3 }).map((skus) => ({ kind: "skus" as const, skus })),
  fc
    .subarray([...CATEGORIES], { minLength: 1, maxLength: 2 })
    .map((categories) => ({ kind: "categories" as const, categories })),
  fc.subarray([...BRANDS], { minLength: 1 }).map((brands) => ({ kind: "brands" as const, brands })),
  fc
    .subarray([...COLORS], { minLength: 1 })
    .map((values) => ({ kind: "attribute" as const, name: "color", values })),
);

/** Mostly one or two include selectors; sometimes every item (no include), sometimes an exclusion. */
const scopeArb: fc.Arbitrary<ProductScope> = fc.record(
  {
    include: fc.oneof(
      { weight: 5, arbitrary: fc.array(selectorArb, { minLength: 1, maxLength: 2 }) },
      { weight: 1, arbitrary: fc.constant<Selector[]>([]) },
    ),
    exclude: fc.array(selectorArb, { minLength: 1, maxLength: 1 }),
  },
  { requiredKeys: ["include"] },
);

const opArb: fc.Arbitrary<Comparator> = fc.oneof(
  { weight: 6, arbitrary: fc.constant("gte" as const) },
  { weight: 1, arbitrary: fc.constantFrom("gt" as const, "eq" as const, "lte" as const, "lt" as const) },
);

const lineAmountArb: fc.Arbitrary<Condition> = fc.record({
  kind: fc.constant("line_amount" as const),
  scope: scopeArb,
  op: opArb,
  amountMinor: fc.integer({ min: 0, max: 20_000 }),
});

const lineQuantityArb: fc.Arbitrary<Extract<Condition, { kind: "line_quantity" }>> = fc.record({
  kind: fc.constant("line_quantity" as const),
  scope: scopeArb,
  op: opArb,
  quantity: fc.integer({ min: 0, max: 4 }),
});

const lineConditionArb: fc.Arbitrary<Condition> = fc.oneof(lineAmountArb, lineQuantityArb);

const paymentModeArb: fc.Arbitrary<Extract<Condition, { kind: "payment_mode" }>> = fc.record(
  {
    kind: fc.constant("payment_mode" as const),
    mode: fc.oneof({ weight: 3, arbitrary: fc.constant("card") }, fc.constantFrom(...MODES)),
    identifier: fc.constantFrom(
      { op: "is" as const, value: "Capital One Card" },
      { op: "starts_with" as const, value: "capital" },
      { op: "contains" as const, value: "gold" },
      { op: "contains" as const, value: "card" },
      { op: "is" as const, value: "Visa" },
    ),
  },
  { requiredKeys: ["kind", "mode"] },
);

/** A condition that must be the only one (cart amount, item count, gift voucher). */
const standaloneArb: fc.Arbitrary<Condition> = fc.oneof(
  fc.record({
    kind: fc.constant("cart_amount" as const),
    op: opArb,
    amountMinor: fc.integer({ min: 0, max: 30_000 }),
  }),
  fc.record(
    {
      kind: fc.constant("item_count" as const),
      op: opArb,
      count: fc.integer({ min: 0, max: 8 }),
      counting: fc.constantFrom("distinct_skus" as const, "units" as const),
    },
    { requiredKeys: ["kind", "op", "count"] },
  ),
  fc.record({ kind: fc.constant("gift_voucher" as const), code: fc.constantFrom(...VOUCHERS, "gv1") }),
);

/** Any valid condition list: none, one standalone condition, or up to two line / payment conditions. */
const conditionsArb: fc.Arbitrary<Condition[]> = fc.oneof(
  fc.constant<Condition[]>([]),
  standaloneArb.map((c) => [c]),
  fc.array(
    fc.oneof(
      { weight: 3, arbitrary: lineAmountArb },
      { weight: 3, arbitrary: lineQuantityArb },
      { weight: 1, arbitrary: paymentModeArb },
    ),
    { minLength: 1, maxLength: 2 },
  ),
);

// ---- Values and benefits

const cartValueArb: fc.Arbitrary<CartValue> = fc.oneof(
  fc.record({
    kind: fc.constant("percentage" as const),
    bps: fc.oneof(fc.constantFrom(1000, 2500, 10_000), fc.integer({ min: 1, max: 10_000 })),
  }),
  fc.record({ kind: fc.constant("fixed_amount" as const), amountMinor: fc.integer({ min: 1, max: 5_000 }) }),
);

const productValueArb: fc.Arbitrary<ProductValue> = fc.oneof(
  fc.record({
    kind: fc.constant("percentage" as const),
    bps: fc.oneof(fc.constantFrom(1000, 5000, 10_000), fc.integer({ min: 1, max: 10_000 })),
  }),
  fc.record({ kind: fc.constant("fixed_amount" as const), amountMinor: fc.integer({ min: 1, max: 3_000 }) }),
  fc.record({
    kind: fc.constant("fixed_target_amount" as const),
    amountMinor: fc.integer({ min: 0, max: 5_000 }),
  }),
  fc.record({
    kind: fc.constant("exact_price" as const),
    amountMinor: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5_000 })),
  }),
  fc.constant({ kind: "free_product" as const }),
);

/**
 * Repeat, or none. By amount only works with a fixed amount (validation rule), so for other values an
 * amount repeat is read as a quantity repeat; mapping instead of chaining keeps shrinking effective.
 */
const rawRepeatArb: fc.Arbitrary<Repeat | undefined> = fc.option(
  fc.oneof(
    fc.record({ per: fc.integer({ min: 1, max: 3 }), kpi: fc.constant("quantity" as const) }),
    fc.record({ per: fc.integer({ min: 500, max: 20_000 }), kpi: fc.constant("amount" as const) }),
  ),
  { nil: undefined, freq: 2 },
);

function repeatFor(value: { kind: string }, repeat: Repeat | undefined): Repeat | undefined {
  if (repeat?.kpi !== "amount" || value.kind === "fixed_amount") return repeat;
  return { per: 1 + (repeat.per % 3), kpi: "quantity" };
}

const groupRepeatArb: fc.Arbitrary<Repeat | undefined> = fc.option(
  fc.constant({ per: 1, kpi: "quantity" as const }),
  { nil: undefined },
);

const unitOrderArb = fc.option(fc.constantFrom("cheapest_first" as const, "most_expensive_first" as const), {
  nil: undefined,
});

/** What a generated promotion needs besides its definition. */
interface Shape {
  readonly conditions: Condition[];
  readonly benefit: Benefit;
  /** The customer's chosen products, for a personal-list product set. */
  readonly choices?: string[];
}

function withOptional<T extends object>(base: T, extra: Record<string, unknown>): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) out[key] = value;
  return out as T;
}

const cartShapeArb: fc.Arbitrary<Shape> = fc
  .tuple(conditionsArb, cartValueArb, rawRepeatArb)
  .map(([conditions, value, repeat]) => ({
    conditions,
    benefit: withOptional<Benefit>({ kind: "cart", value }, { repeat: repeatFor(value, repeat) }),
  }));

const paymentShapeArb: fc.Arbitrary<Shape> = fc
  .tuple(paymentModeArb, fc.array(lineConditionArb, { maxLength: 1 }), cartValueArb, rawRepeatArb)
  .map(([payment, lines, value, repeat]) => ({
    conditions: [payment, ...lines],
    benefit: withOptional<Benefit>({ kind: "payment_mode", value }, { repeat: repeatFor(value, repeat) }),
  }));

const selectedShapeArb: fc.Arbitrary<Shape> = fc
  .tuple(
    fc.array(lineConditionArb, { minLength: 1, maxLength: 2 }),
    fc.array(paymentModeArb, { maxLength: 1 }),
    productValueArb.filter((v) => v.kind !== "free_product"),
    rawRepeatArb,
    unitOrderArb,
  )
  .map(([lines, payment, value, repeat, unitOrder]) => ({
    conditions: [...lines, ...payment],
    benefit: withOptional<Benefit>(
      { kind: "products", target: { kind: "selected_in_condition" }, value },
      { repeat: repeatFor(value, repeat), unitOrder },
    ),
  }));

const quantityModeArb: fc.Arbitrary<QuantityMode> = fc.oneof(
  fc.constant({ kind: "all" as const }),
  fc.record({ kind: fc.constant("custom" as const), units: fc.integer({ min: 1, max: 4 }) }),
  fc.constant({ kind: "as_in_condition" as const }),
);

/** "Over and above" on one SKU or a selector; as_in_condition brings its own line_quantity condition. */
const overAboveShapeArb: fc.Arbitrary<Shape> = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(...SKUS).map((sku) => ({ kind: "sku" as const, sku })),
      scopeArb.map((scope) => ({ kind: "selector" as const, scope })),
    ),
    quantityModeArb,
    conditionsArb,
    lineQuantityArb,
    productValueArb,
    rawRepeatArb,
    unitOrderArb,
  )
  .map(([where, quantity, conditions, lineQuantity, value, repeat, unitOrder]) => {
    const needsLineQuantity =
      quantity.kind === "as_in_condition" && !conditions.some((c) => c.kind === "line_quantity");
    const allConditions = needsLineQuantity
      ? [
          lineQuantity,
          ...conditions.filter((c) => c.kind === "line_amount" || c.kind === "payment_mode").slice(0, 1),
        ]
      : conditions;
    return {
      conditions: allConditions,
      benefit: withOptional<Benefit>(
        { kind: "products", target: { ...where, quantity }, value },
        { repeat: repeatFor(value, repeat), unitOrder },
      ),
    };
  });

/** 2–3 blocks over disjoint SKUs (a SKU is in one block only). */
const comboShapeArb: fc.Arbitrary<Shape> = fc
  .tuple(
    fc.shuffledSubarray([...SKUS], { minLength: 2, maxLength: 6 }),
    fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 2, maxLength: 3 }),
    conditionsArb,
    productValueArb,
    groupRepeatArb,
    unitOrderArb,
  )
  .map(([skus, quantities, conditions, value, repeat, unitOrder]) => {
    const blocks: ComboBlock[] = quantities.slice(0, skus.length).map((quantity) => ({ skus: [], quantity }));
    skus.forEach((sku, i) => blocks[i % blocks.length]!.skus.push(sku));
    return {
      conditions,
      benefit: withOptional<Benefit>(
        { kind: "products", target: { kind: "combo", blocks }, value },
        { repeat, unitOrder },
      ),
    };
  });

/** A set from a scope, or (when `personal` wins) the customer's personal list. */
const rawSetArb = fc.record(
  {
    personal: fc.boolean(),
    scope: scopeArb,
    list: fc.record(
      {
        kind: fc.constant("personal_list" as const),
        maxDistinct: fc.integer({ min: 1, max: 3 }),
        lockAfterFirstApply: fc.boolean(),
        defaultSku: fc.constantFrom(...SKUS),
      },
      { requiredKeys: ["kind", "lockAfterFirstApply"] },
    ),
    requiredQuantity: fc.integer({ min: 1, max: 3 }),
    discountedUnits: fc.integer({ min: 1, max: 3 }),
  },
  { requiredKeys: ["personal", "scope", "list", "requiredQuantity"] },
);

/** 1–3 sets, at most one personal list, at least one set that gets the discount. */
const setsShapeArb: fc.Arbitrary<Shape> = fc
  .tuple(
    fc.array(rawSetArb, { minLength: 1, maxLength: 3 }),
    fc.subarray([...SKUS], { minLength: 1, maxLength: 4 }),
    conditionsArb,
    productValueArb,
    groupRepeatArb,
  )
  .map(([raw, choices, conditions, value, repeat]) => {
    const personalAt = raw.findIndex((s) => s.personal);
    const sets: ProductSet[] = raw.map((s, i) =>
      withOptional<ProductSet>(
        {
          name: `set${i}`,
          products: i === personalAt ? s.list : { kind: "scope", scope: s.scope },
          requiredQuantity: s.requiredQuantity,
        },
        {
          discountedUnits:
            s.discountedUnits ?? (i === 0 && !raw.some((r) => r.discountedUnits) ? 1 : undefined),
        },
      ),
    );
    return {
      conditions,
      benefit: withOptional<Benefit>(
        { kind: "products", target: { kind: "product_sets", sets }, value },
        { repeat },
      ),
      ...(personalAt >= 0 ? { choices } : {}),
    };
  });

const shapeArb: fc.Arbitrary<Shape> = fc.oneof(
  cartShapeArb,
  paymentShapeArb,
  selectedShapeArb,
  overAboveShapeArb,
  overAboveShapeArb,
  comboShapeArb,
  setsShapeArb,
);

// ---- Limits, stacking, type: one generated promotion with the customer context it needs

const lifetime = { kind: "lifetime" as const };
const ruleArb = (
  level: LimitRule["level"],
  measures: readonly LimitRule["measure"][],
): fc.Arbitrary<LimitRule> =>
  fc.record({
    level: fc.constant(level),
    measure: fc.constantFrom(...measures),
    max: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 10_000 })),
    window: fc.constant(lifetime),
  });

/** POS limits: cart (times, discount), customer and global (any measure); keys unique. */
const posLimitsArb: fc.Arbitrary<LimitRule[]> = fc.uniqueArray(
  fc.oneof(
    ruleArb("cart", ["times", "discount"]),
    ruleArb("customer", ["times", "discount", "transactions"]),
    ruleArb("global", ["times", "discount", "transactions"]),
  ),
  { maxLength: 3, selector: limitRuleKey },
);

/** Code promotions need a code limit; they may also have cart limits. */
const codeLimitsArb: fc.Arbitrary<LimitRule[]> = fc
  .tuple(
    ruleArb("code", ["times", "discount", "transactions"]),
    fc.array(ruleArb("cart", ["times", "discount"]), { maxLength: 1 }),
  )
  .map(([code, cart]) => [code, ...cart]);

export interface PromotionCase {
  readonly promotion: Promotion;
  /** Capacity the ledger reports for some of its non-cart rules. */
  readonly capacity: Omit<Capacity, "promotionId">[];
  /** The customer presents the code (code promotions). */
  readonly code: boolean;
  readonly choices?: string[];
}

/** Per mille of a rule's max left in the ledger, or no entry (untouched): from used up to full. */
const capacityShareArb = fc.option(
  fc.oneof(
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 1000 }) },
    { weight: 2, arbitrary: fc.constant(1000) },
  ),
  { nil: undefined, freq: 4 },
);

/** Promotion ids whose text order differs from their generation order ("P12" sorts before "P3"). */
const PROMOTION_IDS = ["P7", "P12", "P3", "P40", "P5", "P26", "P1", "P18"] as const;

const promotionCaseArb = (slot: number): fc.Arbitrary<PromotionCase> =>
  fc
    .record({
      shape: shapeArb,
      type: fc.oneof(
        { weight: 9, arbitrary: fc.constant("pos" as const) },
        { weight: 1, arbitrary: fc.constant("code" as const) },
      ),
      priority: fc.option(fc.integer({ min: -2, max: 2 }), { nil: undefined }),
      exclusive: fc.option(fc.boolean(), { nil: undefined, freq: 2 }),
      code: fc.boolean(),
      segments: fc.oneof(
        { weight: 7, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constant({ kind: "segments" as const, segmentIds: [SEGMENT] }) },
      ),
      posLimits: posLimitsArb,
      codeLimits: codeLimitsArb,
      shares: fc.tuple(capacityShareArb, capacityShareArb, capacityShareArb),
    })
    .map(({ shape, type, priority, exclusive, code, segments, posLimits, codeLimits, shares }) => {
      const id = PROMOTION_IDS[slot]!;
      const limits = type === "code" ? codeLimits : posLimits;
      const isCart = shape.benefit.kind !== "products";
      const stacking =
        exclusive === undefined
          ? undefined
          : isCart
            ? { exclusiveAtCartLevel: exclusive }
            : { exclusiveForProducts: exclusive };
      const promotion = withOptional<Promotion>(
        {
          id,
          name: `promotion ${id}`,
          type,
          schedule: { startsAt: STARTS_AT },
          conditions: shape.conditions,
          benefit: shape.benefit,
        },
        { priority, eligibility: segments, limits: limits.length > 0 ? limits : undefined, stacking },
      );
      const ledger = limits.filter((r) => r.level !== "cart" && r.level !== "issual");
      const capacity = ledger.flatMap((rule, i) => {
        const share = shares[i];
        return share === undefined
          ? []
          : [{ rule: limitRuleKey(rule), remaining: Math.floor((rule.max * share) / 1000) }];
      });
      return { promotion, capacity, code, ...(shape.choices ? { choices: shape.choices } : {}) };
    });

/** 1–8 promotions with unique ids; the first n slots are used, so shrinking drops promotions. */
export const promotionCasesArb: fc.Arbitrary<PromotionCase[]> = fc
  .tuple(...PROMOTION_IDS.map((_, slot) => promotionCaseArb(slot)), fc.integer({ min: 1, max: 8 }))
  .map((all) => all.slice(0, all[8] as number) as PromotionCase[]);

const settingsArb: fc.Arbitrary<WorkspaceSettings> = fc.record(
  {
    currency: fc.constant("EUR"),
    timeZone: fc.constant("Europe/Warsaw"),
    cartStacking: fc.boolean(),
    productStacking: fc.boolean(),
  },
  { requiredKeys: ["currency", "timeZone"] },
);

export interface Case {
  readonly promotions: Promotion[];
  readonly input: EvaluationInput;
}

function customerOf(cases: readonly PromotionCase[], known: boolean, vip: boolean): CustomerContext {
  const capacity = cases.flatMap((c) =>
    c.capacity.map((entry) => ({ promotionId: c.promotion.id, ...entry })),
  );
  const codes = cases
    .filter((c) => c.code && c.promotion.type === "code")
    .map((c) => ({ promotionId: c.promotion.id, code: "CODE" }));
  const productChoices = cases.flatMap((c) =>
    c.choices ? [{ promotionId: c.promotion.id, skus: c.choices }] : [],
  );
  return withOptional<CustomerContext>(
    {},
    {
      customerId: known ? CUSTOMER_ID : undefined,
      segmentIds: vip ? [SEGMENT] : undefined,
      codes: codes.length > 0 ? codes : undefined,
      productChoices: productChoices.length > 0 ? productChoices : undefined,
      capacity: capacity.length > 0 ? capacity : undefined,
    },
  );
}

/** A whole evaluation: basket, promotions, customer context and workspace switches. */
export const caseArb: fc.Arbitrary<Case> = fc
  .record({
    basket: basketArb,
    cases: promotionCasesArb,
    settings: settingsArb,
    known: fc.oneof(
      { weight: 6, arbitrary: fc.constant(true) },
      { weight: 1, arbitrary: fc.constant(false) },
    ),
    vip: fc.boolean(),
  })
  .map(({ basket, cases, settings, known, vip }) => ({
    promotions: cases.map((c) => c.promotion),
    input: { basket, customer: customerOf(cases, known, vip), settings, at: AT },
  }));
