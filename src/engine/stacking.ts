// Stacking: which of the qualifying promotions apply together. Non-conflicting promotions always
// apply. Exclusive ones that conflict (shared units, exclusive at cart level, cart stacking off) are
// resolved by pricing combinations and keeping the best for the customer: exhaustively up to
// EXHAUSTIVE_CONFLICTS_MAX of them, otherwise by hill climbing from the priority order, and never
// more than COMBINATIONS_MAX runs.
import { applyPlan, type Outcome } from "./apply.js";
import type { EvalContext } from "./context.js";
import type { Plan } from "./plan.js";
import { RunState } from "./units.js";

export const EXHAUSTIVE_CONFLICTS_MAX = 8;
export const COMBINATIONS_MAX = 1 << EXHAUSTIVE_CONFLICTS_MAX;

export interface Run {
  readonly state: RunState;
  /** Aligned with the plans; null for a plan left out of this combination. */
  readonly outcomes: readonly (Outcome | null)[];
  readonly total: number;
  readonly allowedCount: number;
}

export interface Choice {
  readonly best: Run;
  readonly conflicting: readonly number[];
  readonly combinationsTried: number;
  readonly exhaustive: boolean;
}

/** Prices the basket with the allowed plans: product benefits first, then cart benefits, each in rank order. */
export function runCombination(ctx: EvalContext, plans: readonly Plan[], allowed: readonly boolean[]): Run {
  const state = new RunState(ctx);
  const outcomes: (Outcome | null)[] = plans.map(() => null);
  let total = 0;
  let allowedCount = 0;
  for (const cartPhase of [false, true]) {
    plans.forEach((plan, i) => {
      if (!allowed[i] || plan.isCart !== cartPhase) return;
      const outcome = applyPlan(state, plan);
      outcomes[i] = outcome;
      total += outcome.discount;
      allowedCount++;
    });
  }
  return { state, outcomes, total, allowedCount };
}

export function choose(ctx: EvalContext, plans: readonly Plan[]): Choice {
  const conflicting = findConflicts(ctx, plans);
  if (conflicting.length === 0) {
    return { best: runCombination(ctx, plans, plans.map(() => true)), conflicting, combinationsTried: 1, exhaustive: true };
  }
  const search = new Search(ctx, plans, conflicting);
  if (conflicting.length <= EXHAUSTIVE_CONFLICTS_MAX) {
    for (let mask = 0; mask < 1 << conflicting.length; mask++) search.consider(mask);
    return search.result(true);
  }
  search.hillClimb();
  return search.result(false);
}

function findConflicts(ctx: EvalContext, plans: readonly Plan[]): number[] {
  const cartPlans = plans.filter((p) => p.isCart).length;
  const cartStacking = ctx.input.settings.cartStacking !== false;
  const conflicting: number[] = [];
  plans.forEach((plan, i) => {
    const conflicts =
      (plan.p.exclusiveAtCartLevel && plans.length > 1) ||
      (plan.isCart && !cartStacking && cartPlans > 1) ||
      (plan.exclusive && plans.some((other, j) => j !== i && !other.isCart && overlaps(plan.reach, other.reach)));
    if (conflicts) conflicting.push(i);
  });
  return conflicting;
}

export function overlaps(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const x of small) if (large.has(x)) return true;
  return false;
}

class Search {
  private best: Run | null = null;
  private bestMask = 0;
  private tried = 0;
  private readonly cartStacking: boolean;

  constructor(
    private readonly ctx: EvalContext,
    private readonly plans: readonly Plan[],
    private readonly conflicting: readonly number[],
  ) {
    this.cartStacking = ctx.input.settings.cartStacking !== false;
  }

  /** The plans allowed when the conflicting plans in `mask` are kept, or null for an impossible mix. */
  private allowedFor(mask: number): boolean[] | null {
    const kept = this.conflicting.filter((_, bit) => (mask & (1 << bit)) !== 0);
    const cartExclusive = kept.filter((i) => this.plans[i]!.p.exclusiveAtCartLevel);
    if (cartExclusive.length > 1 || (cartExclusive.length === 1 && kept.length > 1)) return null;
    if (cartExclusive.length === 1) return this.plans.map((_, i) => i === cartExclusive[0]);
    const dropped = new Set(this.conflicting.filter((i) => !kept.includes(i)));
    const allowed = this.plans.map((_, i) => !dropped.has(i));
    if (!this.cartStacking && this.plans.filter((p, i) => allowed[i] && p.isCart).length > 1) return null;
    return allowed;
  }

  consider(mask: number): boolean {
    if (this.tried >= COMBINATIONS_MAX) return false;
    const allowed = this.allowedFor(mask);
    if (allowed === null) return false;
    this.tried++;
    const run = runCombination(this.ctx, this.plans, allowed);
    if (this.best === null || better(run, mask, this.best, this.bestMask)) {
      this.best = run;
      this.bestMask = mask;
      return true;
    }
    return false;
  }

  /** Start from the conflicting plans in rank order, kept while they fit; then flip one at a time. */
  hillClimb(): void {
    let mask = 0;
    this.conflicting.forEach((_, bit) => {
      if (this.allowedFor(mask | (1 << bit)) !== null) mask |= 1 << bit;
    });
    this.consider(mask);
    let improved = true;
    while (improved && this.tried < COMBINATIONS_MAX) {
      improved = false;
      for (let bit = 0; bit < this.conflicting.length && this.tried < COMBINATIONS_MAX; bit++) {
        if (this.consider(this.bestMask ^ (1 << bit))) improved = true;
      }
    }
  }

  result(exhaustive: boolean): Choice {
    if (this.best === null) throw new Error("stacking search priced no combination");
    return { best: this.best, conflicting: this.conflicting, combinationsTried: this.tried, exhaustive };
  }
}

/** More discount wins; then fewer promotions; then the lower mask (keeps higher-ranked plans' bits stable). */
function better(a: Run, aMask: number, b: Run, bMask: number): boolean {
  if (a.total !== b.total) return a.total > b.total;
  if (a.allowedCount !== b.allowedCount) return a.allowedCount < b.allowedCount;
  return aMask < bMask;
}
