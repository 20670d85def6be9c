// Applying one Plan inside a pricing run: form benefit instances (pick the benefit's units, set aside
// the units that trigger it), value them as parts, cap by the limits, and commit.
import { allocate, percentOf } from "../domain/money.js";
import type { ProductBenefit } from "../domain/promotion.js";
import type { CompiledValue } from "./compile.js";
import type { EvalContext } from "./context.js";
import type { Plan } from "./plan.js";
import { assertNever } from "./scope.js";
import type { Shortfall } from "./types.js";
import { FRESH, OPEN, TOUCHED, type Cursor, type Pick, type RunState } from "./units.js";

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

/** The outcomes of a promotion that gave nothing, shared: most promotions of a dense basket end so. */
const NOTHING: Outcome = Object.freeze({
  discount: 0,
  instances: 0,
  units: 0,
  cappedBy: undefined,
  blocked: null,
});
const UNITS_TAKEN: Outcome = Object.freeze({
  discount: 0,
  instances: 0,
  units: 0,
  cappedBy: undefined,
  blocked: "units",
});

export function applyPlan(run: RunState, plan: Plan): Outcome {
  return plan.isCart ? applyCart(run, plan) : applyProducts(run, plan);
}

function applyCart(run: RunState, plan: Plan): Outcome {
  const value = plan.p.shape.value;
  const weights = run.net;
  let net = 0;
  for (const w of weights) net += w;
  const base = Math.min(net, plan.tenderCap);
  let instances = 1;
  let discount: number;
  if (value.kind === "percentage") {
    discount = percentOf(base, value.bps);
  } else {
    instances = Math.min(plan.instancesMax, plan.caps.times);
    discount = Math.min(value.amountMinor * instances, base);
  }
  let cappedBy =
    value.kind === "fixed_amount" && instances < plan.instancesMax ? plan.caps.timesRule : undefined;
  if (discount > plan.caps.discount) [discount, cappedBy] = [plan.caps.discount, plan.caps.discountRule];
  if (discount <= 0 && cappedBy === undefined) return NOTHING;
  if (discount > 0) {
    const parts = allocate(discount, weights);
    parts.forEach((amount, line) => amount > 0 && run.discountLine(plan.p.index, line, amount));
  }
  return { discount, instances: discount > 0 ? instances : 0, units: 0, cappedBy, blocked: null };
}

function applyProducts(run: RunState, plan: Plan): Outcome {
  const shape = plan.p.shape;
  if (shape.everyUnit && !Number.isFinite(plan.caps.discount)) return applyToEveryUnit(run, plan);
  if (!run.couldTake(plan.groups, plan.exclusive)) {
    // No instance can form (the dense case: earlier promotions took every unit). The general path
    // would reach the same answer after setting up and failing to pick.
    return contested(run, plan) ? UNITS_TAKEN : NOTHING;
  }
  const benefit = plan.p.benefit as ProductBenefit;
  const groups = orderedGroups(run.ctx, plan);
  const triggerHolds: Pick[] = [];
  const application: Application = {
    run,
    plan,
    target: benefit.target,
    groups,
    cursors: groups.map(() => ({ position: 0 })),
    triggerHolds,
    triggerOrder: null,
    picksBefore: 0,
    triggersBefore: 0,
  };
  const parts: Pick[] = [];
  const byAmount = shape.repeatKpi === "amount";
  const cap = Math.min(plan.instancesMax, plan.caps.times);
  let instances = 0;
  let blocked: Outcome["blocked"] = null;
  while (instances < cap) {
    const from = parts.length;
    const formed = formInstance(application, parts);
    if (formed !== null) {
      // Units missing while no other promotion touched them means there was nothing to discount.
      if (instances === 0) blocked = formed === "units" && !contested(run, plan) ? null : formed;
      break;
    }
    // "For every 500 spent, 50 off": one set of units, the amount once per instance.
    const multiplier = byAmount ? cap : 1;
    valueInto(shape.value, parts, from, run.ctx, multiplier);
    instances += multiplier;
  }
  let cappedBy =
    instances > 0 && instances === plan.caps.times && cutShort(application, parts)
      ? plan.caps.timesRule
      : undefined;
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
 * may take, as one instance, with no discount cap (`shape.everyUnit`, compile.ts). Which units and in
 * which order do not matter then, so it walks the segments directly: the same result as the general
 * path, without picking.
 */
function applyToEveryUnit(run: RunState, plan: Plan): Outcome {
  const value = plan.p.shape.value;
  const promotion = plan.p.index;
  let discount = 0;
  let units = 0;
  let available = false;
  let touched = false;
  const takeable = plan.exclusive ? FRESH : OPEN;
  for (const line of plan.groups[0]!) {
    const flags = run.flags[line]!;
    touched ||= (flags & TOUCHED) !== 0;
    if ((flags & takeable) === 0) continue;
    available = true;
    const price = run.ctx.lines[line]!.price;
    const percentOff = value.kind === "percentage" ? percentOf(price, value.bps) : 0;
    let lineAmount = 0;
    let lineUnits = 0;
    for (const segment of run.segments[line]!) {
      if (segment.owner >= 0 || segment.remaining <= 0 || (plan.exclusive && segment.touched)) continue;
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
      run.refresh(line);
      run.net[line]! -= lineAmount;
      run.shares.push({ promotion, line, amount: lineAmount, units: lineUnits });
      discount += lineAmount;
      units += lineUnits;
    }
  }
  // As in the general path: nothing to take while another promotion discounted these lines is "units".
  if (discount === 0) return !available && touched ? UNITS_TAKEN : NOTHING;
  return { discount, instances: 1, units, cappedBy: undefined, blocked: null };
}

/** One product promotion being applied: where its walk over each group stands, what it set aside. */
interface Application {
  readonly run: RunState;
  readonly plan: Plan;
  /** The benefit's target, read from the definition once per promotion rather than per instance. */
  readonly target: ProductBenefit["target"];
  /** The plan's groups in the order the benefit takes units. */
  readonly groups: readonly (readonly number[])[];
  readonly cursors: readonly Cursor[];
  /** Trigger units set aside by the instances formed so far; released when the promotion is done. */
  readonly triggerHolds: Pick[];
  /** The trigger lines most expensive first, for `repeat` (found on first use). */
  triggerOrder: readonly number[] | null;
  /** Where the picks and trigger holds of the instance being formed start (to undo it). */
  picksBefore: number;
  triggersBefore: number;
}

/**
 * Sets aside the units of one instance, appended to `picks` (and its trigger units to the
 * application's), or says why none can be formed and sets nothing aside. Appending to the
 * promotion's own lists rather than to new ones per instance: "each unit" benefits form dozens.
 */
function formInstance(application: Application, picks: Pick[]): "units" | Missing | null {
  const { run, plan, target, groups, cursors } = application;
  const shape = plan.p.shape;
  const triggers = application.triggerHolds;
  application.picksBefore = picks.length;
  application.triggersBefore = triggers.length;
  const fail = (why: "units" | Missing): "units" | Missing => undoInstance(application, picks, why);
  switch (target.kind) {
    case "selected_in_condition": {
      const wanted = shape.repeatKpi === "quantity" ? shape.repeatPer : Infinity;
      const got = run.pickBenefit(groups[0]!, wanted, plan.exclusive, picks, cursors[0]!);
      if (got === 0 || (Number.isFinite(wanted) && got < wanted)) return fail("units");
      break;
    }
    case "sku":
    case "selector": {
      const all = shape.quantityUnits === Infinity;
      const perInstance = all && shape.repeatKpi === "quantity" ? shape.repeatPer : 0;
      const wanted = perInstance || shape.quantityUnits;
      const got = run.pickBenefit(groups[0]!, wanted, plan.exclusive, picks, cursors[0]!);
      if (got === 0 || got < perInstance) return fail("units");
      const missing = reserveTriggers(application, triggers);
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
        if (rest > 0 && run.pickTrigger(run.ctx.ordered(lines, true), rest, true, triggers) > 0)
          return fail("units");
      }
      break;
    default:
      return assertNever(target);
  }
  return null;
}

/** An instance that could not form gives back what it set aside. */
function undoInstance(application: Application, picks: Pick[], why: "units" | Missing): "units" | Missing {
  application.run.releaseFrom(picks, application.picksBefore);
  application.run.releaseFrom(application.triggerHolds, application.triggersBefore);
  return why;
}

/**
 * "Over and above": the units that trigger the condition are not the benefit's. With `repeat`, each
 * instance needs `per` more units (or spend) of the trigger scope; without, each line condition's
 * threshold must be met again by units the benefit did not pick.
 */
function reserveTriggers(application: Application, triggers: Pick[]): Missing | null {
  const { run, plan } = application;
  if (plan.p.triggerScopeIds.length === 0) return null;
  const ordered = (lines: readonly number[]): readonly number[] => run.ctx.ordered(lines, true);
  const { repeatKpi, repeatPer } = plan.p.shape;
  if (repeatKpi !== undefined) {
    const byUnits = repeatKpi === "quantity";
    application.triggerOrder ??= ordered(plan.triggerLines);
    const missing = run.pickTrigger(application.triggerOrder, repeatPer, byUnits, triggers);
    if (missing === 0) return null;
    const kind = byUnits ? "quantity" : "amount";
    const first = plan.p.conditions.findIndex((c) => c.scopeId >= 0);
    return { shortfall: { kind, missing }, ...(first >= 0 ? { conditionIndex: first } : {}) };
  }
  for (let index = 0; index < plan.p.conditions.length; index++) {
    const c = plan.p.conditions[index]!;
    if (c.kind !== "line_quantity" && c.kind !== "line_amount") continue;
    if (c.op !== "gte" && c.op !== "gt") continue;
    const goal = c.threshold + (c.op === "gt" ? 1 : 0);
    const byUnits = c.kind === "line_quantity";
    const missing = run.pickTrigger(ordered(run.ctx.match(c.scopeId).lines), goal, byUnits, triggers);
    if (missing > 0)
      return { shortfall: { kind: byUnits ? "quantity" : "amount", missing }, conditionIndex: index };
  }
  return null;
}

/** The times cap stopped the benefit while the basket held units for one more instance. */
function cutShort(application: Application, parts: Pick[]): boolean {
  const { run, plan } = application;
  if (plan.caps.times >= plan.instancesMax || plan.p.shape.repeatKpi === "amount") return false;
  const from = parts.length;
  if (formInstance(application, parts) !== null) return false;
  run.releaseFrom(parts, from);
  return true;
}

/** Some unit the plan could take carries another promotion's product discount. */
function contested(run: RunState, plan: Plan): boolean {
  return run.anyLine(plan.groups, TOUCHED);
}

/** Lines of each benefit group in the order the benefit takes units (computed once per plan). */
function orderedGroups(ctx: EvalContext, plan: Plan): readonly (readonly number[])[] {
  if (plan.ordered === null) {
    const mostExpensive = plan.p.shape.mostExpensiveFirst;
    plan.ordered = plan.groups.map((g) => ctx.ordered(g, mostExpensive));
  }
  return plan.ordered;
}

/**
 * Values the picks of one instance, `parts` from index `from` on: sets each pick's amount. Prices
 * are what is left to pay, so stacked discounts never overlap.
 */
function valueInto(
  value: CompiledValue,
  parts: readonly Pick[],
  from: number,
  ctx: EvalContext,
  multiplier: number,
): void {
  switch (value.kind) {
    case "percentage":
      for (let i = from; i < parts.length; i++) {
        const p = parts[i]!;
        p.amount = Math.min(percentOf(ctx.lines[p.line]!.price, value.bps), p.segment.remaining) * p.units;
      }
      return;
    case "exact_price":
      for (let i = from; i < parts.length; i++) {
        const p = parts[i]!;
        p.amount = Math.max(p.segment.remaining - value.amountMinor, 0) * p.units;
      }
      return;
    case "free_product":
      for (let i = from; i < parts.length; i++) {
        const p = parts[i]!;
        p.amount = p.segment.remaining * p.units;
      }
      return;
    case "fixed_amount":
    case "fixed_target_amount":
      return spread(parts, from, value, multiplier);
    default:
      return assertNever(value.kind);
  }
}

/**
 * One amount for the units of an instance (`parts` from `from` on), spread over them in proportion
 * to what is left to pay: the fixed amount (times the multiplier), at most their worth, or for a
 * bundle price what they are worth above it.
 */
function spread(parts: readonly Pick[], from: number, value: CompiledValue, multiplier: number): void {
  let worth = 0;
  for (let i = from; i < parts.length; i++) worth += parts[i]!.units * parts[i]!.segment.remaining;
  const amount =
    value.kind === "fixed_amount"
      ? Math.min(value.amountMinor * multiplier, worth)
      : Math.max(worth - value.amountMinor, 0);
  if (amount <= 0) return;
  // One pick takes it all (what allocate would give it): most instances of "each unit" benefits.
  if (parts.length - from === 1) {
    parts[from]!.amount = amount;
    return;
  }
  const picks = parts.slice(from);
  const shares = allocate(
    amount,
    picks.map((p) => p.units * p.segment.remaining),
  );
  picks.forEach((p, i) => (p.amount = shares[i]!));
}
