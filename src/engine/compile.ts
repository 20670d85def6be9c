// Compiles promotion definitions into the form the engine evaluates: times as epoch numbers and bit
// masks, product scopes deduplicated and indexed by the keys they include, limits split into the cart
// rules the engine enforces itself and the ledger rules whose capacity arrives as input.
import type {
  Benefit,
  Comparator,
  Condition,
  Eligibility,
  LimitMeasure,
  ProductScope,
  ProductValue,
  Promotion,
} from "../domain/promotion.js";
import { limitRuleKey } from "../domain/promotion.js";
import type { BasketLine } from "../domain/basket.js";
import type { ScopeMatch } from "./context.js";
import {
  assertNever,
  compileScope,
  isExcluded,
  LineScopeCache,
  ProductIndex,
  scopeSignature,
  type CompiledScope,
} from "./scope.js";

export interface LedgerRule {
  readonly key: string;
  readonly measure: LimitMeasure;
  readonly max: number;
  readonly level: "code" | "earn" | "customer" | "global";
}

export interface CompiledCondition {
  readonly def: Condition;
  /** def.kind, and for the threshold conditions def's comparator and threshold, read once (see BenefitShape). */
  readonly kind: Condition["kind"];
  readonly op: Comparator;
  /** amountMinor, quantity or count; 0 for payment_mode and gift_voucher. */
  readonly threshold: number;
  /** item_count counts units (otherwise distinct SKUs). */
  readonly byUnits: boolean;
  /** Scope id for line_amount / line_quantity, -1 otherwise. */
  readonly scopeId: number;
}

/** Scope ids a benefit target reads; -1 marks a personal list resolved per customer. */
export type TargetScopes =
  | { readonly kind: "cart" }
  | { readonly kind: "trigger" }
  | { readonly kind: "scope"; readonly scopeId: number }
  | { readonly kind: "blocks"; readonly scopeIds: readonly number[] }
  | { readonly kind: "sets"; readonly scopeIds: readonly number[] };

export interface CompiledPromotion {
  readonly index: number;
  /** Position in the application order: priority descending, then id. */
  rank: number;
  readonly def: Promotion;
  readonly id: string;
  readonly name: string;
  readonly startMs: number;
  readonly endMs: number;
  /** Bit d set for ISO weekday d, or bit d for date d; 0 when there is no recurrence. */
  readonly weekdayMask: number;
  readonly dateMask: number;
  readonly daily: { readonly hour: number; readonly minute: number; readonly durationMs: number } | null;
  readonly stores: ReadonlySet<string> | null;
  readonly concepts: ReadonlySet<string> | null;
  readonly zones: ReadonlySet<string> | null;
  readonly channels: ReadonlySet<string> | null;
  readonly eligibility: Eligibility;
  readonly needsCode: boolean;
  readonly needsWallet: boolean;
  readonly needsActivation: boolean;
  readonly needsCustomer: boolean;
  /**
   * Some gate between the schedule and the conditions can refuse it (store or channel scope, an
   * audience, a per-customer limit, a code or wallet): most promotions have none, and skip them.
   */
  readonly audienceGated: boolean;
  readonly conditions: readonly CompiledCondition[];
  /** Scopes of the line conditions: the union is the trigger scope. */
  readonly triggerScopeIds: readonly number[];
  readonly benefit: Benefit;
  readonly target: TargetScopes;
  /** Cart and payment-mode benefits; the rest are product benefits. */
  readonly isCart: boolean;
  /**
   * The benefit's shape, read once here: definitions come in many object shapes (optional fields,
   * JSON key order), so reading them on every basket is slow property lookups, while this object's
   * shape is one. See plan.ts (instancesOf) and apply.ts (applyProducts).
   */
  readonly shape: BenefitShape;
  readonly cartTimesMax: number;
  readonly cartDiscountMax: number;
  readonly ledgerRules: readonly LedgerRule[];
  readonly exclusiveForProducts: boolean;
  readonly exclusiveAtCartLevel: boolean;
  /** Every scope the promotion reads: a basket touching one of them looks at the promotion. */
  readonly scopeIds: readonly number[];
}

/** A product or cart value, in one object shape: bps for percentage, amountMinor for the others. */
export interface CompiledValue {
  readonly kind: ProductValue["kind"];
  readonly bps: number;
  readonly amountMinor: number;
}

export interface BenefitShape {
  readonly value: CompiledValue;
  /** Units per instance of an "over and above" target: custom units, or the first line_quantity's quantity (at least 1) for as_in_condition; Infinity for all. */
  readonly quantityUnits: number;
  readonly mostExpensiveFirst: boolean;
  readonly isPaymentMode: boolean;
  /** Instances whatever the basket holds (1, or INSTANCES_MAX for repeated combos and sets); 0: measured by `repeat`. */
  readonly instancesFixed: number;
  readonly repeatKpi: "quantity" | "amount" | undefined;
  /** `repeat.per`, 0 without repeat. */
  readonly repeatPer: number;
  /** A per-unit value on every unit the benefit may take: the direct path, unless a discount cap binds. */
  readonly everyUnit: boolean;
  /** No limit rule of any kind: the caps are the same for every basket. */
  readonly unlimited: boolean;
}

/** A hard bound on instances in one basket, whatever the definition says. */
export const INSTANCES_MAX = 100_000;

export interface PromotionIndex {
  readonly promotions: readonly CompiledPromotion[];
  /** The same promotions in application order: byRank[p.rank] === p. */
  readonly byRank: readonly CompiledPromotion[];
  readonly scopes: readonly CompiledScope[];
  /** Catalog fact → ids of the scopes that include it. */
  readonly scopesByFact: ProductIndex<number>;
  readonly universalScopeIds: readonly number[];
  /** The scopes of the lines seen so far, by SKU (see LineScopeCache). */
  readonly lineScopes: LineScopeCache;
  /**
   * Scope id → ranks of the promotions that read it. Ranks, not indexes: finding what a basket looks
   * at, in rank order, then reads no promotion object.
   */
  readonly promotionsByScope: readonly (readonly number[])[];
  /** Ranks of the promotions every basket looks at: they read no keyed scope. */
  readonly alwaysLooked: readonly number[];
  /**
   * Per-evaluation marks, reused so an evaluation costs what the basket touches, not the size of the
   * index: the promotion of rank r is marked seen when seen[r] equals the current epoch. Evaluation
   * is synchronous, so one scratch per index is safe.
   */
  readonly scratch: {
    readonly seen: Uint32Array;
    epoch: number;
    readonly ranks: Int32Array;
    /** Per scope, zero between evaluations (see EvalContext.matchScopes). */
    readonly scopeCounts: Int32Array;
    /** Per scope, the basket's match, valid where matchStamps holds the evaluation's matchEpoch. */
    readonly matches: (ScopeMatch | undefined)[];
    readonly matchStamps: Uint32Array;
    matchEpoch: number;
  };
}

export function compilePromotions(definitions: readonly Promotion[]): PromotionIndex {
  const builder = new ScopeBuilder();
  const promotions = definitions.map((def, index) => compileOne(def, index, builder));
  const order = [...promotions].sort(
    (a, b) => (b.def.priority ?? 0) - (a.def.priority ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  order.forEach((p, rank) => (p.rank = rank));

  const promotionsByScope: number[][] = builder.scopes.map(() => []);
  const alwaysLooked: number[] = [];
  for (const p of promotions) {
    const keyed = p.scopeIds.filter((id) => !builder.scopes[id]!.universal);
    for (const id of p.scopeIds) promotionsByScope[id]!.push(p.rank);
    if (keyed.length === 0 || keyed.length < p.scopeIds.length) alwaysLooked.push(p.rank);
  }
  const scopesByFact = new ProductIndex<number>();
  for (const scope of builder.scopes)
    for (const selector of scope.include) scopesByFact.add(selector, scope.id);
  const universalScopeIds = builder.scopes.filter((s) => s.universal).map((s) => s.id);
  return {
    promotions,
    byRank: order,
    scopes: builder.scopes,
    scopesByFact,
    universalScopeIds,
    lineScopes: new LineScopeCache((line) =>
      scopesOfLine(builder.scopes, scopesByFact, universalScopeIds, line),
    ),
    promotionsByScope,
    alwaysLooked,
    scratch: {
      seen: new Uint32Array(promotions.length),
      epoch: 0,
      ranks: new Int32Array(promotions.length),
      scopeCounts: new Int32Array(builder.scopes.length),
      // Sized once: a preallocated array keeps fast elements; one grown at random indexes turns into a dictionary.
      matches: new Array<ScopeMatch | undefined>(builder.scopes.length),
      matchStamps: new Uint32Array(builder.scopes.length),
      matchEpoch: 0,
    },
  };
}

/** Every scope a line falls in: those including one of its facts, and the universal ones, minus excludes. */
function scopesOfLine(
  scopes: readonly CompiledScope[],
  scopesByFact: ProductIndex<number>,
  universalScopeIds: readonly number[],
  line: BasketLine,
): Int32Array {
  const lists: (readonly number[])[] = [];
  const found = scopesByFact.listsFor(line, lists);
  const ids = new Set<number>();
  for (let k = 0; k < found; k++) for (const id of lists[k]!) ids.add(id);
  for (const id of universalScopeIds) ids.add(id);
  return Int32Array.from([...ids].filter((id) => !isExcluded(scopes[id]!, line)));
}

class ScopeBuilder {
  readonly scopes: CompiledScope[] = [];
  private readonly bySignature = new Map<string, number>();

  add(scope: ProductScope): number {
    const signature = scopeSignature(scope);
    const known = this.bySignature.get(signature);
    if (known !== undefined) return known;
    const id = this.scopes.length;
    this.scopes.push(compileScope(id, scope));
    this.bySignature.set(signature, id);
    return id;
  }
}

function compileOne(def: Promotion, index: number, scopes: ScopeBuilder): CompiledPromotion {
  const conditions = def.conditions.map((c) => compileCondition(c, scopes));
  const triggerScopeIds = conditions.filter((c) => c.scopeId >= 0).map((c) => c.scopeId);
  const target = compileTarget(def.benefit, scopes);
  const limits = def.limits ?? [];
  const cartMax = (measure: LimitMeasure): number =>
    Math.min(
      Infinity,
      ...limits.filter((r) => r.level === "cart" && r.measure === measure).map((r) => r.max),
    );
  const ledgerRules: LedgerRule[] = limits
    .filter((r) => r.level !== "cart" && r.level !== "issual")
    .map((r) => ({
      key: limitRuleKey(r),
      measure: r.measure,
      max: r.max,
      level: r.level as LedgerRule["level"],
    }));
  const schedule = def.schedule;
  const recurrence = schedule.recurrence;
  const targetScopeIds =
    target.kind === "scope"
      ? [target.scopeId]
      : target.kind === "blocks" || target.kind === "sets"
        ? target.scopeIds
        : [];
  const hasIssual = limits.some((r) => r.level === "issual");
  const eligibility = compileEligibility(def);
  const needsCode = def.type === "code";
  const needsWallet =
    def.type === "loyalty_earning" ||
    def.type === "rewards" ||
    (def.type === "loyalty" && (def.activationRequired === true || hasIssual));
  const needsCustomer = ledgerRules.some((r) => r.level === "customer");
  const stores = setOrNull(def.scope?.storeIds);
  const concepts = setOrNull(def.scope?.conceptIds);
  const zones = setOrNull(def.scope?.zoneIds);
  const channels = setOrNull(def.scope?.channels);
  return {
    index,
    rank: 0,
    def,
    id: def.id,
    name: def.name,
    startMs: Date.parse(schedule.startsAt),
    endMs: schedule.endsAt === undefined ? Infinity : Date.parse(schedule.endsAt),
    weekdayMask: recurrence?.kind === "days_of_week" ? mask(recurrence.days) : 0,
    dateMask: recurrence?.kind === "dates_of_month" ? mask(recurrence.dates) : 0,
    daily: schedule.dailyWindow
      ? {
          hour: Number(schedule.dailyWindow.startTime.slice(0, 2)),
          minute: Number(schedule.dailyWindow.startTime.slice(3, 5)),
          durationMs: schedule.dailyWindow.durationHours * 3_600_000,
        }
      : null,
    stores,
    concepts,
    zones,
    channels,
    eligibility,
    needsCode,
    needsWallet,
    needsActivation: def.activationRequired === true,
    needsCustomer,
    audienceGated:
      stores !== null ||
      concepts !== null ||
      zones !== null ||
      channels !== null ||
      eligibility.kind !== "all" ||
      needsCustomer ||
      needsCode ||
      needsWallet,
    conditions,
    triggerScopeIds,
    benefit: def.benefit,
    target,
    isCart: def.benefit.kind !== "products",
    shape: benefitShape(def, triggerScopeIds.length > 0, limits.length === 0),
    cartTimesMax: cartMax("times"),
    cartDiscountMax: cartMax("discount"),
    ledgerRules,
    exclusiveForProducts: def.stacking?.exclusiveForProducts === true,
    exclusiveAtCartLevel: def.stacking?.exclusiveAtCartLevel === true,
    scopeIds: [...new Set([...triggerScopeIds, ...targetScopeIds.filter((id) => id >= 0)])],
  };
}

function compileCondition(c: Condition, scopes: ScopeBuilder): CompiledCondition {
  // One literal for every kind, so every compiled condition shares one hidden class.
  const make = (op: Comparator, threshold: number, scopeId: number): CompiledCondition => ({
    def: c,
    kind: c.kind,
    op,
    threshold,
    byUnits: c.kind === "item_count" && c.counting === "units",
    scopeId,
  });
  switch (c.kind) {
    case "cart_amount":
      return make(c.op, c.amountMinor, -1);
    case "item_count":
      return make(c.op, c.count, -1);
    case "line_amount":
      return make(c.op, c.amountMinor, scopes.add(c.scope));
    case "line_quantity":
      return make(c.op, c.quantity, scopes.add(c.scope));
    case "payment_mode":
    case "gift_voucher":
      return make("gte", 0, -1);
    default:
      return assertNever(c);
  }
}

function compileValue(value: ProductValue): CompiledValue {
  return {
    kind: value.kind,
    bps: value.kind === "percentage" ? value.bps : 0,
    amountMinor: value.kind === "percentage" || value.kind === "free_product" ? 0 : value.amountMinor,
  };
}

function benefitShape(def: Promotion, hasLineConditions: boolean, unlimited: boolean): BenefitShape {
  const benefit = def.benefit;
  const repeat = benefit.repeat;
  let instancesFixed = repeat ? 0 : 1;
  let everyUnit = false;
  let quantityUnits = Infinity;
  if (benefit.kind === "products") {
    const { target, value } = benefit;
    const overAndAbove = target.kind === "sku" || target.kind === "selector";
    const perUnit =
      value.kind === "percentage" || value.kind === "exact_price" || value.kind === "free_product";
    if (target.kind === "combo" || target.kind === "product_sets")
      instancesFixed = repeat ? INSTANCES_MAX : 1;
    // "All units" is one instance, unless "apply on each unit" splits them into instances of `per` units.
    else if (overAndAbove && target.quantity.kind === "all" && repeat?.kpi !== "quantity") instancesFixed = 1;
    // "Over and above" with line conditions must set trigger units aside: the general path does.
    everyUnit =
      repeat === undefined &&
      perUnit &&
      (target.kind === "selected_in_condition" ||
        (overAndAbove && target.quantity.kind === "all" && !hasLineConditions));
    if (overAndAbove && target.quantity.kind === "custom") quantityUnits = target.quantity.units;
    if (overAndAbove && target.quantity.kind === "as_in_condition") {
      const condition = def.conditions.find((c) => c.kind === "line_quantity");
      quantityUnits = condition?.kind === "line_quantity" ? Math.max(condition.quantity, 1) : 1;
    }
  }
  // One literal, fields always in this order and of these types: every shape shares one hidden class.
  return {
    value: compileValue(benefit.value),
    quantityUnits,
    mostExpensiveFirst: benefit.kind === "products" && benefit.unitOrder === "most_expensive_first",
    isPaymentMode: benefit.kind === "payment_mode",
    instancesFixed,
    repeatKpi: repeat?.kpi,
    repeatPer: repeat?.per ?? 0,
    everyUnit,
    unlimited,
  };
}

function compileTarget(benefit: Benefit, scopes: ScopeBuilder): TargetScopes {
  if (benefit.kind !== "products") return { kind: "cart" };
  const target = benefit.target;
  switch (target.kind) {
    case "selected_in_condition":
      return { kind: "trigger" };
    case "sku":
      return { kind: "scope", scopeId: scopes.add({ include: [{ kind: "skus", skus: [target.sku] }] }) };
    case "selector":
      return { kind: "scope", scopeId: scopes.add(target.scope) };
    case "combo":
      return {
        kind: "blocks",
        scopeIds: target.blocks.map((b) => scopes.add({ include: [{ kind: "skus", skus: b.skus }] })),
      };
    case "product_sets":
      return {
        kind: "sets",
        scopeIds: target.sets.map((s) => (s.products.kind === "scope" ? scopes.add(s.products.scope) : -1)),
      };
    default: {
      const unreachable: never = target;
      throw new Error(`unhandled target ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Loyalty promotions are for members: "all customers" on a loyalty promotion means all members. */
function compileEligibility(def: Promotion): Eligibility {
  const eligibility = def.eligibility ?? { kind: "all" };
  return def.type === "loyalty" && eligibility.kind === "all" ? { kind: "members" } : eligibility;
}

function mask(values: readonly number[]): number {
  let bits = 0;
  for (const v of values) bits |= 1 << v;
  return bits;
}

function setOrNull<T>(values: readonly T[] | undefined): ReadonlySet<T> | null {
  return values && values.length > 0 ? new Set(values) : null;
}
