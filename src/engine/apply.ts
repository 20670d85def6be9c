// Applying one Plan inside a pricing run: form benefit instances (pick the benefit's units, set aside
// the units that trigger it), value them as parts, cap by the limits, and commit.
import { allocate, percentOf } from "../domain/money.js";
import type { Benefit, ProductBenefit, ProductValue } from "../domain/promotion.js";
import type { EvalContext } from "./context.js";
import type { Plan } from "./plan.js";
import { assertNever } from "./scope.js";
import type { Shortfall } from "./types.js";
import type { Part, Pick, RunState } from "./units.js";

/** Trigger units an "over and above" instance could not set aside: how many, for which condition. */
export interface Missing {
  readonly shortfall: Shortfall;
  /** The line condition that could not be met again (with `repeat`, the first line condition). */
  readonly conditionIndex?: number;
}

export interface Outcome {
  readonly discount: number;
  readonly instances: number;
  readonly units: number;
  readonly cappedBy: string | undefined;
  /** Why no instance formed: its units were taken, or (first instance) its trigger units were missing. */
  readonly blocked: "units" | Missing | null;
}

export function applyPlan(run: RunState, plan: Plan): Outcome {
  return plan.isCart ? applyCart(run, plan) : applyProducts(run, plan);
}

function applyCart(run: RunState, plan: Plan): Outcome {
  const benefit = plan.p.benefit as Exclude<Benefit, ProductBenefit>;
  const lines = run.ctx.lines;
  const weights = lines.map((_, i) => Math.max(run.lineNet(i), 0));
  const base = Math.min(weights.reduce((a, b) => a + b, 0), plan.tenderCap);
  let instances = 1;
  let discount: number;
  if (benefit.value.kind === "percentage") {
    discount = percentOf(base, benefit.value.bps);
  } else {
    instances = Math.min(plan.instancesMax, plan.caps.times);
    discount = Math.min(benefit.value.amountMinor * instances, base);
  }
  let cappedBy = benefit.value.kind === "fixed_amount" && instances < plan.instancesMax ? plan.caps.timesRule : undefined;
  if (discount > plan.caps.discount) [discount, cappedBy] = [plan.caps.discount, plan.caps.discountRule];
  if (discount > 0) {
    const parts = allocate(discount, weights);
    parts.forEach((amount, line) => {
      if (amount === 0) return;
      run.cartDiscount[line]! += amount;
      run.shares.push({ promotion: plan.p.index, line, amount, units: 0 });
    });
  }
  return { discount, instances: discount > 0 ? instances : 0, units: 0, cappedBy, blocked: null };
}

function applyProducts(run: RunState, plan: Plan): Outcome {
  const benefit = plan.p.benefit as ProductBenefit;
  const groups = orderedGroups(run.ctx, plan, benefit);
  const triggerHolds: Pick[] = [];
  const parts: Part[] = [];
  const byAmount = benefit.repeat?.kpi === "amount";
  const cap = Math.min(plan.instancesMax, plan.caps.times);
  let instances = 0;
  let blocked: Outcome["blocked"] = null;
  while (instances < cap) {
    const formed = formInstance(run, plan, benefit, groups, triggerHolds);
    if (!Array.isArray(formed)) {
      // Units missing while no other promotion touched them means there was nothing to discount.
      if (instances === 0) blocked = formed === "units" && !contested(run, plan) ? null : formed;
      break;
    }
    // "For every 500 spent, 50 off": one set of units, the amount once per instance.
    const multiplier = byAmount ? cap : 1;
    valueInto(benefit.value, formed, parts, run.ctx, multiplier);
    instances += multiplier;
  }
  let cappedBy = instances > 0 && instances === plan.caps.times && cutShort(run, plan, benefit, groups, triggerHolds)
    ? plan.caps.timesRule
    : undefined;
  run.release(triggerHolds);
  let discount = parts.reduce((sum, part) => sum + part.amount, 0);
  if (discount > plan.caps.discount) {
    const capped = allocate(plan.caps.discount, parts.map((part) => part.amount));
    parts.forEach((part, i) => (part.amount = capped[i]!));
    [discount, cappedBy] = [plan.caps.discount, plan.caps.discountRule];
  }
  run.commit(plan.p.index, plan.exclusive, parts);
  const units = parts.reduce((sum, part) => sum + (part.amount > 0 ? part.units : 0), 0);
  return { discount, instances: discount > 0 ? instances : 0, units, cappedBy, blocked };
}

/** Sets aside the units of one instance, or says why none can be formed. */
function formInstance(
  run: RunState,
  plan: Plan,
  benefit: ProductBenefit,
  groups: readonly (readonly number[])[],
  triggerHolds: Pick[],
): Pick[] | "units" | Missing {
  const picks: Pick[] = [];
  const triggers: Pick[] = [];
  const fail = (why: "units" | Missing): "units" | Missing => {
    run.release(picks);
    run.release(triggers);
    return why;
  };
  const target = benefit.target;
  switch (target.kind) {
    case "selected_in_condition": {
      const wanted = benefit.repeat?.kpi === "quantity" ? benefit.repeat.per : Infinity;
      const got = run.pickBenefit(groups[0]!, wanted, plan.exclusive, picks);
      if (got === 0 || (Number.isFinite(wanted) && got < wanted)) return fail("units");
      break;
    }
    case "sku":
    case "selector": {
      const mode = target.quantity;
      const perInstance = mode.kind === "all" && benefit.repeat?.kpi === "quantity" ? benefit.repeat.per : 0;
      const wanted = perInstance || (mode.kind === "all" ? Infinity : mode.kind === "custom" ? mode.units : conditionQuantity(plan));
      const got = run.pickBenefit(groups[0]!, wanted, plan.exclusive, picks);
      if (got === 0 || got < perInstance) return fail("units");
      const missing = reserveTriggers(run, plan, benefit, triggers);
      if (missing !== null) return fail(missing);
      break;
    }
    case "combo":
      for (let i = 0; i < target.blocks.length; i++) {
        const quantity = target.blocks[i]!.quantity;
        if (run.pickBenefit(groups[i]!, quantity, plan.exclusive, picks) < quantity) return fail("units");
      }
      break;
    case "product_sets":
      for (let i = 0; i < target.sets.length; i++) {
        const set = target.sets[i]!;
        const lines = groups[i]!;
        const got = set.discountedUnits === undefined ? 0 : run.pickBenefit(lines, set.discountedUnits, plan.exclusive, picks);
        if (set.discountedUnits !== undefined && got === 0) return fail("units");
        const rest = set.requiredQuantity - got;
        if (rest > 0 && !run.pickTrigger(run.ctx.ordered(lines, true), { units: rest }, triggers).ok) return fail("units");
      }
      break;
    default:
      return assertNever(target);
  }
  triggerHolds.push(...triggers);
  return picks;
}

/**
 * "Over and above": the units that trigger the condition are not the benefit's. With `repeat`, each
 * instance needs `per` more units (or spend) of the trigger scope; without, each line condition's
 * threshold must be met again by units the benefit did not pick.
 */
function reserveTriggers(run: RunState, plan: Plan, benefit: ProductBenefit, triggers: Pick[]): Missing | null {
  if (plan.p.triggerScopeIds.length === 0) return null;
  const ordered = (lines: readonly number[]): number[] => run.ctx.ordered(lines, true);
  const repeat = benefit.repeat;
  if (repeat) {
    const need = repeat.kpi === "quantity" ? { units: repeat.per } : { amount: repeat.per };
    const result = run.pickTrigger(ordered(plan.triggerLines), need, triggers);
    if (result.ok) return null;
    const kind = repeat.kpi === "quantity" ? "quantity" : "amount";
    const first = plan.p.conditions.findIndex((c) => c.scopeId >= 0);
    return { shortfall: { kind, missing: result.missing }, ...(first >= 0 ? { conditionIndex: first } : {}) };
  }
  for (let index = 0; index < plan.p.conditions.length; index++) {
    const c = plan.p.conditions[index]!;
    const def = c.def;
    if (def.kind !== "line_quantity" && def.kind !== "line_amount") continue;
    if (def.op !== "gte" && def.op !== "gt") continue;
    const bump = def.op === "gt" ? 1 : 0;
    const need = def.kind === "line_quantity" ? { units: def.quantity + bump } : { amount: def.amountMinor + bump };
    const result = run.pickTrigger(ordered(run.ctx.match(c.scopeId).lines), need, triggers);
    if (!result.ok) {
      const kind = def.kind === "line_quantity" ? "quantity" : "amount";
      return { shortfall: { kind, missing: result.missing }, conditionIndex: index };
    }
  }
  return null;
}

/** The times cap stopped the benefit while the basket held units for one more instance. */
function cutShort(
  run: RunState,
  plan: Plan,
  benefit: ProductBenefit,
  groups: readonly (readonly number[])[],
  triggerHolds: Pick[],
): boolean {
  if (plan.caps.times >= plan.instancesMax || benefit.repeat?.kpi === "amount") return false;
  const probe = formInstance(run, plan, benefit, groups, triggerHolds);
  if (!Array.isArray(probe)) return false;
  run.release(probe);
  return true;
}

/** Some unit the plan could take carries another promotion's product discount. */
function contested(run: RunState, plan: Plan): boolean {
  return plan.groups.some((lines) => lines.some((line) => run.segments[line]!.some((s) => s.touched)));
}

function conditionQuantity(plan: Plan): number {
  const condition = plan.p.def.conditions.find((c) => c.kind === "line_quantity");
  return condition?.kind === "line_quantity" ? Math.max(condition.quantity, 1) : 1;
}

/** Lines of each benefit group in the order the benefit takes units (cached on the plan). */
function orderedGroups(ctx: EvalContext, plan: Plan, benefit: ProductBenefit): readonly (readonly number[])[] {
  let groups = orderCache.get(plan);
  if (groups === undefined) {
    const mostExpensive = benefit.unitOrder === "most_expensive_first";
    groups = plan.groups.map((g) => ctx.ordered(g, mostExpensive));
    orderCache.set(plan, groups);
  }
  return groups;
}
const orderCache = new WeakMap<Plan, readonly (readonly number[])[]>();

/** Values picked units as parts. Unit prices are what is left to pay, so stacked discounts never overlap. */
function valueInto(value: ProductValue, picks: readonly Pick[], parts: Part[], ctx: EvalContext, multiplier: number): void {
  switch (value.kind) {
    case "percentage":
      for (const p of picks) {
        const perUnit = Math.min(percentOf(ctx.lines[p.line]!.price, value.bps), p.segment.remaining);
        parts.push({ ...p, amount: perUnit * p.units });
      }
      return;
    case "exact_price":
      for (const p of picks) parts.push({ ...p, amount: Math.max(p.segment.remaining - value.amountMinor, 0) * p.units });
      return;
    case "free_product":
      for (const p of picks) parts.push({ ...p, amount: p.segment.remaining * p.units });
      return;
    case "fixed_amount":
      return spread(picks, parts, (worth) => Math.min(value.amountMinor * multiplier, worth));
    case "fixed_target_amount":
      return spread(picks, parts, (worth) => Math.max(worth - value.amountMinor, 0));
    default:
      return assertNever(value);
  }
}

/** One amount for a group of units, spread over them in proportion to what is left to pay. */
function spread(picks: readonly Pick[], parts: Part[], amountFor: (worth: number) => number): void {
  const weights = picks.map((p) => p.units * p.segment.remaining);
  const worth = weights.reduce((a, b) => a + b, 0);
  const amount = amountFor(worth);
  const shares = amount > 0 ? allocate(amount, weights) : weights.map(() => 0);
  picks.forEach((p, i) => parts.push({ ...p, amount: shares[i]! }));
}
