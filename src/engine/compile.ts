// Compiles promotion definitions into the form the engine evaluates: times as epoch numbers and bit
// masks, product scopes deduplicated and indexed by the keys they include, limits split into the cart
// rules the engine enforces itself and the ledger rules whose capacity arrives as input.
import type {
  Benefit,
  Condition,
  Eligibility,
  LimitMeasure,
  ProductScope,
  Promotion,
} from "../domain/promotion.js";
import { limitRuleKey } from "../domain/promotion.js";
import { compileScope, ProductIndex, scopeSignature, type CompiledScope } from "./scope.js";

export interface LedgerRule {
  readonly key: string;
  readonly measure: LimitMeasure;
  readonly max: number;
  readonly level: "code" | "earn" | "customer" | "global";
}

export interface CompiledCondition {
  readonly def: Condition;
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
  readonly conditions: readonly CompiledCondition[];
  /** Scopes of the line conditions: the union is the trigger scope. */
  readonly triggerScopeIds: readonly number[];
  readonly benefit: Benefit;
  readonly target: TargetScopes;
  readonly cartTimesMax: number;
  readonly cartDiscountMax: number;
  readonly ledgerRules: readonly LedgerRule[];
  readonly exclusiveForProducts: boolean;
  readonly exclusiveAtCartLevel: boolean;
  /** Every scope the promotion reads: a basket touching one of them looks at the promotion. */
  readonly scopeIds: readonly number[];
}

export interface PromotionIndex {
  readonly promotions: readonly CompiledPromotion[];
  /** The same promotions in application order: byRank[p.rank] === p. */
  readonly byRank: readonly CompiledPromotion[];
  readonly scopes: readonly CompiledScope[];
  /** Catalog fact → ids of the scopes that include it. */
  readonly scopesByFact: ProductIndex<number>;
  readonly universalScopeIds: readonly number[];
  /** Scope id → indexes of the promotions that read it. */
  readonly promotionsByScope: readonly (readonly number[])[];
  /** Promotions every basket looks at: they read no keyed scope. */
  readonly alwaysLooked: readonly number[];
  /**
   * Per-evaluation marks, reused so an evaluation costs what the basket touches, not the size of the
   * index: a promotion is marked seen when seen[i] equals the current epoch. Evaluation is synchronous,
   * so one scratch per index is safe.
   */
  readonly scratch: { readonly seen: Uint32Array; epoch: number };
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
    for (const id of p.scopeIds) promotionsByScope[id]!.push(p.index);
    if (keyed.length === 0 || keyed.length < p.scopeIds.length) alwaysLooked.push(p.index);
  }
  const scopesByFact = new ProductIndex<number>();
  for (const scope of builder.scopes)
    for (const selector of scope.include) scopesByFact.add(selector, scope.id);
  return {
    promotions,
    byRank: order,
    scopes: builder.scopes,
    scopesByFact,
    universalScopeIds: builder.scopes.filter((s) => s.universal).map((s) => s.id),
    promotionsByScope,
    alwaysLooked,
    scratch: { seen: new Uint32Array(promotions.length), epoch: 0 },
  };
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
  const conditions = def.conditions.map((c) => ({
    def: c,
    scopeId: c.kind === "line_amount" || c.kind === "line_quantity" ? scopes.add(c.scope) : -1,
  }));
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
  return {
    index,
    rank: 0,
    def,
    id: def.id,
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
    stores: setOrNull(def.scope?.storeIds),
    concepts: setOrNull(def.scope?.conceptIds),
    zones: setOrNull(def.scope?.zoneIds),
    channels: setOrNull(def.scope?.channels),
    eligibility: compileEligibility(def),
    needsCode: def.type === "code",
    needsWallet:
      def.type === "loyalty_earning" ||
      def.type === "rewards" ||
      (def.type === "loyalty" && (def.activationRequired === true || hasIssual)),
    needsActivation: def.activationRequired === true,
    needsCustomer: ledgerRules.some((r) => r.level === "customer"),
    conditions,
    triggerScopeIds,
    benefit: def.benefit,
    target,
    cartTimesMax: cartMax("times"),
    cartDiscountMax: cartMax("discount"),
    ledgerRules,
    exclusiveForProducts: def.stacking?.exclusiveForProducts === true,
    exclusiveAtCartLevel: def.stacking?.exclusiveAtCartLevel === true,
    scopeIds: [...new Set([...triggerScopeIds, ...targetScopeIds.filter((id) => id >= 0)])],
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
