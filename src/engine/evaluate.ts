// Prices a basket. Reads top-down: look up the promotions the basket touches → pass each through the
// gates → plan its benefit → choose the best stacking → assemble the receipt and the explanations.
// Pure: no clock, no I/O; see docs/engine.md for every rule.
import type { PromotionIndex, CompiledPromotion } from "./compile.js";
import { EvalContext } from "./context.js";
import { rejectionMessage } from "./explain.js";
import { checkGates, type Refusal } from "./gates.js";
import { buildPlan, type Plan } from "./plan.js";
import { choose, type Choice } from "./stacking.js";
import type { LineShare } from "./units.js";
import type {
  AppliedPromotion,
  Evaluation,
  EvaluationInput,
  LineDiscount,
  PricedLine,
  Rejection,
} from "./types.js";

export function evaluate(index: PromotionIndex, input: EvaluationInput): Evaluation {
  const ctx = new EvalContext(index, input);
  const plans: Plan[] = [];
  const refusals: { p: CompiledPromotion; refusal: Refusal }[] = [];
  for (const p of lookedAt(index, ctx)) {
    const gateRefusal = checkGates(p, ctx);
    const planned = gateRefusal ?? buildPlan(p, ctx);
    if ("code" in planned) refusals.push({ p, refusal: planned });
    else plans.push(planned);
  }
  const choice: Choice | null = plans.length > 0 ? choose(ctx, plans) : null;
  // Both lists are in rank order already: merge rather than sort.
  let explained = choice ? mergeByRank(refusals, stackingRefusals(plans, choice)) : refusals;
  if (input.explainAll) {
    explained = [...explained, ...notLookedAt(index, plans, explained)].sort((a, b) => a.p.rank - b.p.rank);
  }
  return assemble(ctx, plans, choice, explained);
}

/** The promotions this basket touches through its lines' facts, plus those touching no product; by rank. */
function lookedAt(index: PromotionIndex, ctx: EvalContext): CompiledPromotion[] {
  const scratch = index.scratch;
  if (scratch.epoch === 0xffffffff) {
    scratch.seen.fill(0);
    scratch.epoch = 0;
  }
  const epoch = ++scratch.epoch;
  const seen = scratch.seen;
  const ranks: number[] = [];
  const add = (i: number): void => {
    if (seen[i] === epoch) return;
    seen[i] = epoch;
    ranks.push(index.promotions[i]!.rank);
  };
  for (const i of index.alwaysLooked) add(i);
  for (const scopeId of ctx.touchedScopeIds()) for (const i of index.promotionsByScope[scopeId]!) add(i);
  // Ranks are distinct small integers: a typed-array sort needs no comparator.
  const sorted = Int32Array.from(ranks).sort();
  const found: CompiledPromotion[] = new Array(sorted.length);
  for (let k = 0; k < sorted.length; k++) found[k] = index.byRank[sorted[k]!]!;
  return found;
}

/** Why each qualifying plan that gave nothing in the chosen combination did not apply. */
function stackingRefusals(
  plans: readonly Plan[],
  choice: Choice,
): { p: CompiledPromotion; refusal: Refusal }[] {
  const { outcomes, state } = choice.best;
  const applied = plans.filter((_, i) => (outcomes[i]?.discount ?? 0) > 0);
  const cartExclusive = applied.find((a) => a.p.exclusiveAtCartLevel);
  const firstCart = applied.find((a) => a.isCart);
  // The first promotion (by rank) that discounted each line: who holds what a rejected plan wanted.
  const promotions = choice.best.state.ctx.index.promotions;
  const holder: (CompiledPromotion | undefined)[] = new Array(state.ctx.lines.length);
  for (const share of state.shares) {
    const known = holder[share.line];
    const p = promotions[share.promotion]!;
    if (known === undefined || p.rank < known.rank) holder[share.line] = p;
  }
  const winnerOver = (plan: Plan): string | undefined => {
    if (cartExclusive) return cartExclusive.p.id;
    if (plan.isCart) return (firstCart ?? applied[0])?.p.id;
    let best: CompiledPromotion | undefined;
    for (const group of plan.groups) {
      for (const line of group) {
        const p = holder[line];
        if (p && p !== plan.p && (best === undefined || p.rank < best.rank)) best = p;
      }
    }
    return (best ?? applied[0]?.p)?.id;
  };
  const result: { p: CompiledPromotion; refusal: Refusal }[] = [];
  plans.forEach((plan, i) => {
    const outcome = outcomes[i];
    if (outcome && outcome.discount > 0) return;
    let refusal: Refusal;
    if (!outcome) refusal = withBy("excluded_by_exclusive", winnerOver(plan));
    else if (outcome.blocked !== null && outcome.blocked !== "units") {
      refusal = { code: "condition_not_met", ...outcome.blocked };
    } else if (outcome.blocked === "units") refusal = withBy("units_taken", winnerOver(plan));
    else refusal = { code: "no_discount" };
    result.push({ p: plan.p, refusal });
  });
  return result;
}

function withBy(code: "excluded_by_exclusive" | "units_taken", by: string | undefined): Refusal {
  return by === undefined ? { code } : { code, detail: by };
}

type Explained = { p: CompiledPromotion; refusal: Refusal };

function mergeByRank(a: readonly Explained[], b: readonly Explained[]): Explained[] {
  const merged: Explained[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  for (let k = 0; k < merged.length; k++) {
    merged[k] = j >= b.length || (i < a.length && a[i]!.p.rank < b[j]!.p.rank) ? a[i++]! : b[j++]!;
  }
  return merged;
}

function notLookedAt(
  index: PromotionIndex,
  plans: readonly Plan[],
  refusals: readonly { p: CompiledPromotion }[],
): { p: CompiledPromotion; refusal: Refusal }[] {
  const known = new Set<number>([...plans.map((p) => p.p.index), ...refusals.map((r) => r.p.index)]);
  return index.promotions
    .filter((p) => !known.has(p.index))
    .map((p) => ({ p, refusal: { code: "no_matching_items" } }));
}

function assemble(
  ctx: EvalContext,
  plans: readonly Plan[],
  choice: Choice | null,
  refusals: readonly { p: CompiledPromotion; refusal: Refusal }[],
): Evaluation {
  const currency = ctx.input.settings.currency;
  const perLine = discountsPerLine(ctx, choice);
  const lines: PricedLine[] = new Array(ctx.lines.length);
  let gross = 0;
  let discount = 0;
  ctx.lines.forEach((line, i) => {
    const discounts = perLine[i]!;
    const lineGross = line.price * line.quantity;
    const lineDiscount = discounts.reduce((sum, d) => sum + d.amountMinor, 0);
    if (lineDiscount > lineGross) throw new Error(`line ${line.def.id} discounted below zero`);
    gross += lineGross;
    discount += lineDiscount;
    lines[line.inputIndex] = {
      lineId: line.def.id,
      sku: line.def.sku,
      quantity: line.quantity,
      unitPriceMinor: line.price,
      grossMinor: lineGross,
      discounts,
      discountMinor: lineDiscount,
      netMinor: lineGross - lineDiscount,
    };
  });
  const rejected: Rejection[] = refusals.map(({ p, refusal }) => toRejection(p, refusal, currency));
  return {
    currency,
    lines,
    totals: { grossMinor: gross, discountMinor: discount, netMinor: gross - discount },
    applied: appliedList(plans, choice),
    rejected,
    search: { combinationsTried: choice?.combinationsTried ?? 0, exhaustive: choice?.exhaustive ?? true },
  };
}

/** Each line's discounts, one entry per promotion, in rank order. */
function discountsPerLine(ctx: EvalContext, choice: Choice | null): LineDiscount[][] {
  const promotions = ctx.index.promotions;
  const buckets: LineShare[][] = ctx.lines.map(() => []);
  for (const share of choice?.best.state.shares ?? []) buckets[share.line]!.push(share);
  return buckets.map((bucket) => {
    if (bucket.length > 1)
      bucket.sort((a, b) => promotions[a.promotion]!.rank - promotions[b.promotion]!.rank);
    const discounts: LineDiscount[] = [];
    let last: { promotionId: string; amountMinor: number; units: number } | undefined;
    for (const share of bucket) {
      const promotionId = promotions[share.promotion]!.id;
      if (last !== undefined && last.promotionId === promotionId) {
        last.amountMinor += share.amount;
        last.units += share.units;
      } else discounts.push((last = { promotionId, amountMinor: share.amount, units: share.units }));
    }
    return discounts;
  });
}

function appliedList(plans: readonly Plan[], choice: Choice | null): AppliedPromotion[] {
  if (!choice) return [];
  const applied: AppliedPromotion[] = [];
  plans.forEach((plan, i) => {
    const outcome = choice.best.outcomes[i];
    if (!outcome || outcome.discount <= 0) return;
    const consumption = plan.p.ledgerRules.map((rule) => ({
      rule: rule.key,
      amount:
        rule.measure === "times" ? outcome.instances : rule.measure === "transactions" ? 1 : outcome.discount,
    }));
    applied.push({
      promotionId: plan.p.id,
      name: plan.p.def.name,
      discountMinor: outcome.discount,
      instances: outcome.instances,
      units: outcome.units,
      consumption,
      ...(outcome.cappedBy !== undefined ? { cappedBy: outcome.cappedBy } : {}),
    });
  });
  return applied;
}

function toRejection(p: CompiledPromotion, refusal: Refusal, currency: string): Rejection {
  const byStacking = refusal.code === "excluded_by_exclusive" || refusal.code === "units_taken";
  const rejection: { -readonly [K in keyof Rejection]: Rejection[K] } = {
    promotionId: p.id,
    name: p.def.name,
    code: refusal.code,
    message: rejectionMessage(refusal, currency, p.def.conditions),
  };
  if (refusal.conditionIndex !== undefined) rejection.conditionIndex = refusal.conditionIndex;
  if (refusal.shortfall !== undefined) rejection.shortfall = refusal.shortfall;
  if (refusal.rule !== undefined) rejection.rule = refusal.rule;
  if (byStacking && refusal.detail !== undefined) rejection.by = refusal.detail;
  return rejection;
}
