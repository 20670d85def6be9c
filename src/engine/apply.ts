// Applying one Plan inside a pricing run: form benefit instances (pick the benefit's units, set aside
// the units that trigger it), value them as parts, cap by the limits, and commit.
import { allocate, percentOf } from "../domain/money.js";
import type { Benefit, ProductBenefit, ProductValue } from "../domain/promotion.js";
import type { EvalContext } from "./context.js";
import type { Plan } from "./plan.js";
import { assertNever } from "./scope.js";
import type { Shortfall } from "./types.js";
import type { Cursor, Pick, RunState } from "./units.js";

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
  const weights = run.net;
  let net = 0;
  for (const w of weights) net += w;
  const base = Math.min(net, plan.tenderCap);
  let instances = 1;
  let discount: number;
  if (benefit.value.kind === "percentage") {
    discount = percentOf(base, benefit.value.bps);
  } else {
    instances = Math.min(plan.instancesMax, plan.caps.times);
    discount = Math.min(benefit.value.amountMinor * instances, base);
  }
  let cappedBy =
    benefit.value.kind === "fixed_amount" && instances < plan.instancesMax ? plan.caps.timesRule : undefined;
  if (discount > plan.caps.discount) [discount, cappedBy] = [plan.caps.discount, plan.caps.discountRule];
  if (discount > 0) {
    const parts = allocate(discount, weights);
    parts.forEach((amount, line) => amount > 0 && run.discountLine(plan.p.index, line, amount));
  }
  return { discount, instances: discount > 0 ? instances : 0, units: 0, cappedBy, blocked: null };
}

function applyProducts(run: RunState, plan: Plan): Outcome {
  const benefit = plan.p.benefit as ProductBenefit;
  if (takesEveryUnit(plan, benefit)) return applyToEveryUnit(run, plan, benefit);
  if (!run.couldTake(plan.groups, plan.exclusive)) {
    // No instance can form (the dense case: earlier promotions took every unit). The general path
    // would reach the same answer after setting up and failing to pick.
    return {
      discount: 0,
      instances: 0,
      units: 0,
      cappedBy: undefined,
      blocked: contested(run, plan) ? "units" : null,
    };
  }
  const groups = orderedGroups(run.ctx, plan, benefit);
  const triggerHolds: Pick[] = [];
  const application: Application = {
    run,
    plan,
    benefit,
    groups,
    cursors: groups.map(() => ({ position: 0 })),
    triggerHolds,
  };
  const parts: Pick[] = [];
  const byAmount = benefit.repeat?.kpi === "amount";
  const cap = Math.min(plan.instancesMax, plan.caps.times);
  let instances = 0;
  let blocked: Outcome["blocked"] = null;
  while (instances < cap) {
    const formed = formInstance(application);
    if (!Array.isArray(formed)) {
      // Units missing while no other promotion touched them means there was nothing to discount.
      if (instances === 0) blocked = formed === "units" && !contested(run, plan) ? null : formed;
      break;
    }
    // "For every 500 spent, 50 off": one set of units, the amount once per instance.
    const multiplier = byAmount ? cap : 1;
    valueInto(benefit.value, formed, run.ctx, multiplier);
    for (const pick of formed) parts.push(pick);
    instances += multiplier;
  }
  let cappedBy =
    instances > 0 && instances === plan.caps.times && cutShort(application) ? plan.caps.timesRule : undefined;
  run.release(triggerHolds);
  let discount = parts.reduce((sum, part) => sum + part.amount, 0);
  if (discount > plan.caps.discount) {
    const capped = allocate(
      plan.caps.discount,
      parts.map((part) => part.amount),
    );
    parts.forEach((part, i) => (part.amount = capped[i]!));
    [discount, cappedBy] = [plan.caps.discount, plan.caps.discountRule];
  }
  run.commit(plan.p.index, plan.exclusive, parts);
  const units = parts.reduce((sum, part) => sum + (part.amount > 0 ? part.units : 0), 0);
  return { discount, instances: discount > 0 ? instances : 0, units, cappedBy, blocked };
}

/**
 * The most common product benefit: a per-unit value (percentage, exact price, free) on every unit it
 * may take, as one instance, with no discount cap. Which units and in which order do not matter
 * then, so it walks the segments directly: the same result as the general path, without picking.
 */
function takesEveryUnit(plan: Plan, benefit: ProductBenefit): boolean {
  const { target, value } = benefit;
  if (benefit.repeat !== undefined || Number.isFinite(plan.caps.discount)) return false;
  if (value.kind !== "percentage" && value.kind !== "exact_price" && value.kind !== "free_product")
    return false;
  if (target.kind === "selected_in_condition") return true;
  // "Over and above" with line conditions must set trigger units aside: the general path does.
  const overAndAbove = target.kind === "sku" || target.kind === "selector";
  return overAndAbove && target.quantity.kind === "all" && plan.p.triggerScopeIds.length === 0;
}

function applyToEveryUnit(run: RunState, plan: Plan, benefit: ProductBenefit): Outcome {
  const value = benefit.value;
  const promotion = plan.p.index;
  let discount = 0;
  let units = 0;
  let available = false;
  let touched = false;
  for (const line of plan.groups[0]!) {
    const price = run.ctx.lines[line]!.price;
    const percentOff = value.kind === "percentage" ? percentOf(price, value.bps) : 0;
    let lineAmount = 0;
    let lineUnits = 0;
    for (const segment of run.segments[line]!) {
      touched ||= segment.touched;
      if (segment.owner >= 0 || segment.remaining <= 0 || (plan.exclusive && segment.touched)) continue;
      available = true;
      const perUnit =
        value.kind === "percentage"
          ? Math.min(percentOff, segment.remaining)
          : value.kind === "exact_price"
            ? Math.max(segment.remaining - value.amountMinor, 0)
            : segment.remaining;
      if (perUnit === 0) continue;
      segment.remaining -= perUnit;
      segment.touched = true;
      if (plan.exclusive) segment.owner = promotion;
      lineAmount += perUnit * segment.count;
      lineUnits += segment.count;
    }
    if (lineAmount > 0) {
      run.net[line]! -= lineAmount;
      run.shares.push({ promotion, line, amount: lineAmount, units: lineUnits });
      discount += lineAmount;
      units += lineUnits;
    }
  }
  // As in the general path: nothing to take while another promotion discounted these lines is "units".
  const blocked = discount === 0 && !available && touched ? "units" : null;
  return { discount, instances: discount > 0 ? 1 : 0, units, cappedBy: undefined, blocked };
}

/** One product promotion being applied: where its walk over each group stands, what it set aside. */
interface Application {
  readonly run: RunState;
  readonly plan: Plan;
  readonly benefit: ProductBenefit;
  /** The plan's groups in the order the benefit takes units. */
  readonly groups: readonly (readonly number[])[];
  readonly cursors: readonly Cursor[];
  /** Trigger units set aside by the instances formed so far; released when the promotion is done. */
  readonly triggerHolds: Pick[];
}

/** Sets aside the units of one instance, or says why none can be formed. */
function formInstance(application: Application): Pick[] | "units" | Missing {
  const { run, plan, benefit, groups, cursors, triggerHolds } = application;
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
      const got = run.pickBenefit(groups[0]!, wanted, plan.exclusive, picks, cursors[0]!);
      if (got === 0 || (Number.isFinite(wanted) && got < wanted)) return fail("units");
      break;
    }
    case "sku":
    case "selector": {
      const mode = target.quantity;
      const perInstance = mode.kind === "all" && benefit.repeat?.kpi === "quantity" ? benefit.repeat.per : 0;
      const wanted =
        perInstance ||
        (mode.kind === "all" ? Infinity : mode.kind === "custom" ? mode.units : conditionQuantity(plan));
      const got = run.pickBenefit(groups[0]!, wanted, plan.exclusive, picks, cursors[0]!);
      if (got === 0 || got < perInstance) return fail("units");
      const missing = reserveTriggers(run, plan, benefit, triggers);
      if (missing !== null) return fail(missing);
      break;
    }
    case "combo":
      for (let i = 0; i < target.blocks.length; i++) {
        const quantity = target.blocks[i]!.quantity;
        if (run.pickBenefit(groups[i]!, quantity, plan.exclusive, picks, cursors[i]!) < quantity)
          return fail("units");
      }
      break;
    case "product_sets":
      for (let i = 0; i < target.sets.length; i++) {
        const set = target.sets[i]!;
        const lines = groups[i]!;
        const got =
          set.discountedUnits === undefined
            ? 0
            : run.pickBenefit(lines, set.discountedUnits, plan.exclusive, picks, cursors[i]!);
        if (set.discountedUnits !== undefined && got === 0) return fail("units");
        const rest = set.requiredQuantity - got;
        if (rest > 0 && !run.pickTrigger(run.ctx.ordered(lines, true), { units: rest }, triggers).ok)
          return fail("units");
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
function reserveTriggers(
  run: RunState,
  plan: Plan,
  benefit: ProductBenefit,
  triggers: Pick[],
): Missing | null {
  if (plan.p.triggerScopeIds.length === 0) return null;
  const ordered = (lines: readonly number[]): readonly number[] => run.ctx.ordered(lines, true);
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
    const need =
      def.kind === "line_quantity" ? { units: def.quantity + bump } : { amount: def.amountMinor + bump };
    const result = run.pickTrigger(ordered(run.ctx.match(c.scopeId).lines), need, triggers);
    if (!result.ok) {
      const kind = def.kind === "line_quantity" ? "quantity" : "amount";
      return { shortfall: { kind, missing: result.missing }, conditionIndex: index };
    }
  }
  return null;
}

/** The times cap stopped the benefit while the basket held units for one more instance. */
function cutShort(application: Application): boolean {
  const { run, plan, benefit } = application;
  if (plan.caps.times >= plan.instancesMax || benefit.repeat?.kpi === "amount") return false;
  const probe = formInstance(application);
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

/** Lines of each benefit group in the order the benefit takes units (computed once per plan). */
function orderedGroups(
  ctx: EvalContext,
  plan: Plan,
  benefit: ProductBenefit,
): readonly (readonly number[])[] {
  if (plan.ordered === null) {
    const mostExpensive = benefit.unitOrder === "most_expensive_first";
    plan.ordered = plan.groups.map((g) => ctx.ordered(g, mostExpensive));
  }
  return plan.ordered;
}

/** Values picked units: sets each pick's amount. Prices are what is left to pay, so stacked discounts never overlap. */
function valueInto(value: ProductValue, picks: readonly Pick[], ctx: EvalContext, multiplier: number): void {
  switch (value.kind) {
    case "percentage":
      for (const p of picks)
        p.amount = Math.min(percentOf(ctx.lines[p.line]!.price, value.bps), p.segment.remaining) * p.units;
      return;
    case "exact_price":
      for (const p of picks) p.amount = Math.max(p.segment.remaining - value.amountMinor, 0) * p.units;
      return;
    case "free_product":
      for (const p of picks) p.amount = p.segment.remaining * p.units;
      return;
    case "fixed_amount":
      return spread(picks, (worth) => Math.min(value.amountMinor * multiplier, worth));
    case "fixed_target_amount":
      return spread(picks, (worth) => Math.max(worth - value.amountMinor, 0));
    default:
      return assertNever(value);
  }
}

/** One amount for a group of units, spread over them in proportion to what is left to pay. */
function spread(picks: readonly Pick[], amountFor: (worth: number) => number): void {
  const weights = picks.map((p) => p.units * p.segment.remaining);
  const amount = amountFor(weights.reduce((a, b) => a + b, 0));
  if (amount <= 0) return;
  const shares = allocate(amount, weights);
  picks.forEach((p, i) => (p.amount = shares[i]!));
}
