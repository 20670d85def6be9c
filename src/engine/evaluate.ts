// Prices a basket. Reads top-down: look up the promotions the basket touches → pass each through the
// gates → plan its benefit → choose the best stacking → assemble the receipt and the explanations.
// Pure: no clock, no I/O; see docs/engine.md for every rule.
import type { PromotionIndex, CompiledPromotion } from "./compile.js";
import { EvalContext } from "./context.js";
import { REFUSED, refusal as refused, rejectionMessage } from "./explain.js";
import { checkGates, isRefusal, type Refusal } from "./gates.js";
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
  const looked = lookedAt(index, ctx);
  // Aligned with `looked`: the gate or plan refusal, or null for a promotion that became a plan.
  const refusals: (Refusal | null)[] = new Array(looked.length);
  const plans: Plan[] = [];
  for (let k = 0; k < looked.length; k++) {
    const p = looked[k]!;
    const planned = checkGates(p, ctx) ?? buildPlan(p, ctx);
    if (isRefusal(planned)) refusals[k] = planned;
    else {
      refusals[k] = null;
      plans.push(planned);
    }
  }
  const choice: Choice | null = plans.length > 0 ? choose(ctx, plans) : null;
  const evaluation = assemble(ctx, looked, refusals, plans, choice);
  ctx.release();
  return evaluation;
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
  const ranks = scratch.ranks;
  let count = 0;
  const look = (list: readonly number[]): void => {
    for (let k = 0; k < list.length; k++) {
      const rank = list[k]!;
      if (seen[rank] === epoch) continue;
      seen[rank] = epoch;
      ranks[count++] = rank;
    }
  };
  look(index.alwaysLooked);
  for (const scopeId of ctx.touchedScopeIds()) look(index.promotionsByScope[scopeId]!);
  const found: CompiledPromotion[] = new Array(count);
  const byRank = index.byRank;
  if (count * 8 >= byRank.length) {
    // A good part of the set: walking the marks in rank order is cheaper than sorting.
    let k = 0;
    for (let rank = 0; k < count; rank++) if (seen[rank] === epoch) found[k++] = byRank[rank]!;
  } else {
    // Ranks are distinct small integers: a typed-array sort needs no comparator.
    const sorted = ranks.subarray(0, count).sort();
    for (let k = 0; k < count; k++) found[k] = byRank[sorted[k]!]!;
  }
  return found;
}

/**
 * Who a plan that gave nothing lost to, in the chosen combination: the exclusive-at-cart-level
 * promotion that applied, or for a cart benefit the first cart benefit that applied, or the first
 * promotion (by rank) that discounted one of its lines. Built once per evaluation.
 */
class Winners {
  private readonly cartExclusive: CompiledPromotion | undefined;
  private readonly firstCart: CompiledPromotion | undefined;
  private readonly firstApplied: CompiledPromotion | undefined;
  /** The first promotion (by rank) that discounted each line. */
  private readonly holder: (CompiledPromotion | undefined)[];
  /** Plans of one scope share its line array, and so their answer. */
  private readonly byLines = new Map<readonly number[], CompiledPromotion | undefined>();
  /** The stacking refusals naming each winner, shared by the plans it beat (message written once). */
  private readonly unitsTaken = new Map<CompiledPromotion, Refusal>();
  private readonly excluded = new Map<CompiledPromotion, Refusal>();

  constructor(plans: readonly Plan[], choice: Choice) {
    const { outcomes, state } = choice.best;
    for (let i = 0; i < plans.length; i++) {
      if ((outcomes[i]?.discount ?? 0) <= 0) continue;
      const p = plans[i]!.p;
      this.firstApplied ??= p;
      if (p.exclusiveAtCartLevel) this.cartExclusive ??= p;
      if (plans[i]!.isCart) this.firstCart ??= p;
    }
    const promotions = state.ctx.index.promotions;
    this.holder = new Array(state.ctx.lines.length);
    for (const share of state.shares) {
      const known = this.holder[share.line];
      const p = promotions[share.promotion]!;
      if (known === undefined || p.rank < known.rank) this.holder[share.line] = p;
    }
  }

  /** The refusal of a plan that lost to the winner over it, or (none found) without a name. */
  refusal(code: "excluded_by_exclusive" | "units_taken", plan: Plan): Refusal {
    const winner = this.over(plan);
    if (winner === undefined) return REFUSED[code];
    const known = code === "units_taken" ? this.unitsTaken : this.excluded;
    let refusal = known.get(winner);
    if (refusal === undefined) {
      const message = rejectionMessage(refused(code, { detail: winner.id }), "", []);
      refusal = refused(code, { detail: winner.id, message });
      known.set(winner, refusal);
    }
    return refusal;
  }

  private over(plan: Plan): CompiledPromotion | undefined {
    if (this.cartExclusive) return this.cartExclusive;
    if (plan.isCart) return this.firstCart ?? this.firstApplied;
    // A plan that gave nothing holds no line, so the holder found is never the plan itself.
    let best: CompiledPromotion | undefined;
    for (const group of plan.groups) {
      const holder = this.holderOf(group);
      if (holder && (best === undefined || holder.rank < best.rank)) best = holder;
    }
    return best ?? this.firstApplied;
  }

  private holderOf(lines: readonly number[]): CompiledPromotion | undefined {
    if (this.byLines.has(lines)) return this.byLines.get(lines);
    let best: CompiledPromotion | undefined;
    for (const line of lines) {
      const p = this.holder[line];
      if (p && (best === undefined || p.rank < best.rank)) best = p;
    }
    this.byLines.set(lines, best);
    return best;
  }
}

/** Why a qualifying plan gave nothing in the chosen combination; null when it applied. */
function stackingRefusal(plan: Plan, i: number, choice: Choice, winners: Winners): Refusal | null {
  const outcome = choice.best.outcomes[i];
  if (outcome && outcome.discount > 0) return null;
  if (!outcome) return winners.refusal("excluded_by_exclusive", plan);
  if (outcome.blocked === "units") return winners.refusal("units_taken", plan);
  if (outcome.blocked !== null) return refused("condition_not_met", outcome.blocked);
  return REFUSED.no_discount;
}

/**
 * The rejections in rank order: each looked-at promotion's gate or plan refusal, or its stacking
 * refusal; with `explainAll`, every other promotion of the index too, as not looked at.
 */
function rejections(
  ctx: EvalContext,
  looked: readonly CompiledPromotion[],
  refusals: readonly (Refusal | null)[],
  plans: readonly Plan[],
  choice: Choice | null,
): Rejection[] {
  const currency = ctx.input.settings.currency;
  const winners = choice ? new Winners(plans, choice) : null;
  const rejected: Rejection[] = [];
  let planAt = 0;
  const explain = (k: number): void => {
    const p = looked[k]!;
    let refusal: Refusal | null = refusals[k]!;
    if (refusal === null) {
      const i = planAt++;
      refusal = stackingRefusal(plans[i]!, i, choice!, winners!);
      if (refusal === null) return;
    }
    rejected.push(toRejection(p, refusal, currency));
  };
  if (!ctx.input.explainAll) {
    for (let k = 0; k < looked.length; k++) explain(k);
    return rejected;
  }
  let k = 0;
  for (const p of ctx.index.byRank) {
    if (k < looked.length && looked[k] === p) explain(k++);
    else rejected.push(toRejection(p, REFUSED.no_matching_items, currency));
  }
  return rejected;
}

function assemble(
  ctx: EvalContext,
  looked: readonly CompiledPromotion[],
  refusals: readonly (Refusal | null)[],
  plans: readonly Plan[],
  choice: Choice | null,
): Evaluation {
  const currency = ctx.input.settings.currency;
  const perLine = discountsPerLine(ctx, choice);
  const lines: PricedLine[] = new Array(ctx.lines.length);
  let gross = 0;
  let discount = 0;
  for (let i = 0; i < ctx.lines.length; i++) {
    const line = ctx.lines[i]!;
    const discounts = perLine[i]!;
    const lineGross = line.price * line.quantity;
    let lineDiscount = 0;
    for (const d of discounts) lineDiscount += d.amountMinor;
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
  }
  return {
    currency,
    lines,
    totals: { grossMinor: gross, discountMinor: discount, netMinor: gross - discount },
    applied: appliedList(plans, choice),
    rejected: rejections(ctx, looked, refusals, plans, choice),
    search: { combinationsTried: choice?.combinationsTried ?? 0, exhaustive: choice?.exhaustive ?? true },
  };
}

/**
 * Each line's discounts, one entry per promotion, in rank order. The shares are placed by line (a
 * counting sort, keeping the order they were made in), then each line's few are put in rank order.
 */
function discountsPerLine(ctx: EvalContext, choice: Choice | null): LineDiscount[][] {
  const lineCount = ctx.lines.length;
  const perLine: LineDiscount[][] = new Array(lineCount);
  for (let i = 0; i < lineCount; i++) perLine[i] = [];
  const shares = choice?.best.state.shares ?? [];
  const promotions = ctx.index.promotions;
  const next = new Array<number>(lineCount + 1).fill(0);
  for (const share of shares) next[share.line + 1]!++;
  for (let i = 0; i < lineCount; i++) next[i + 1]! += next[i]!;
  const byLine: LineShare[] = new Array(shares.length);
  for (const share of shares) byLine[next[share.line]!++] = share;
  const rankOf = (share: LineShare): number => promotions[share.promotion]!.rank;
  let from = 0;
  for (let line = 0; line < lineCount; line++) {
    const to = next[line]!; // after the placing, where the next line's shares start
    // Insertion sort, stable: a line carries a handful of shares, mostly in rank order already.
    for (let i = from + 1; i < to; i++) {
      const share = byLine[i]!;
      let j = i - 1;
      while (j >= from && rankOf(byLine[j]!) > rankOf(share)) byLine[j + 1] = byLine[j--]!;
      byLine[j + 1] = share;
    }
    const discounts = perLine[line]!;
    let last: { promotionId: string; amountMinor: number; units: number } | undefined;
    for (let i = from; i < to; i++) {
      const share = byLine[i]!;
      const promotionId = promotions[share.promotion]!.id;
      if (last !== undefined && last.promotionId === promotionId) {
        last.amountMinor += share.amount;
        last.units += share.units;
      } else discounts.push((last = { promotionId, amountMinor: share.amount, units: share.units }));
    }
    from = to;
  }
  return perLine;
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
      name: plan.p.name,
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
  const promotionId = p.id;
  const name = p.name;
  const code = refusal.code;
  const message = refusal.message ?? rejectionMessage(refusal, currency, p.def.conditions);
  const by = code === "excluded_by_exclusive" || code === "units_taken" ? refusal.detail : undefined;
  // The two common shapes as whole literals (no field added afterwards), the rest field by field.
  const plain =
    refusal.conditionIndex === undefined && refusal.shortfall === undefined && refusal.rule === undefined;
  if (plain && by === undefined) return { promotionId, name, code, message };
  if (plain) return { promotionId, name, code, message, by };
  const rejection: { -readonly [K in keyof Rejection]: Rejection[K] } = { promotionId, name, code, message };
  if (refusal.conditionIndex !== undefined) rejection.conditionIndex = refusal.conditionIndex;
  if (refusal.shortfall !== undefined) rejection.shortfall = refusal.shortfall;
  if (refusal.rule !== undefined) rejection.rule = refusal.rule;
  if (by !== undefined) rejection.by = by;
  return rejection;
}
