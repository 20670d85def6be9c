// Stacking: which of the qualifying promotions apply together, best for the customer.
//
// Product benefits apply in rank order, then cart benefits. Non-exclusive promotions always apply.
// An exclusive-for-products promotion that shares lines with another is a choice: keep it (it takes
// its units, others lose them) or leave it out. The search walks the plans in rank order, depth
// first, keeping before leaving out; the priced prefix is shared by both branches, and an exclusive
// promotion that would take nothing (its units are gone) is no choice at all. Cart stacking off makes
// the cart benefits one choice among them; each exclusive-at-cart-level promotion is priced alone.
// At most COMBINATIONS_MAX combinations are priced; past that the best found so far wins and the
// result says the search was not exhaustive.
import { applyPlan, type Outcome } from "./apply.js";
import type { EvalContext } from "./context.js";
import type { Plan } from "./plan.js";
import { RunState } from "./units.js";

export const COMBINATIONS_MAX = 256;

export interface Run {
  readonly state: RunState;
  /** Aligned with the plans; null for a plan left out of this combination. */
  readonly outcomes: readonly (Outcome | null)[];
  readonly total: number;
  readonly appliedCount: number;
}

export interface Choice {
  readonly best: Run;
  readonly combinationsTried: number;
  readonly exhaustive: boolean;
}

export function choose(ctx: EvalContext, plans: readonly Plan[]): Choice {
  const search = new Search(ctx, plans);
  search.start();
  for (let i = 0; i < plans.length; i++) if (plans[i]!.p.exclusiveAtCartLevel) search.alone(i);
  return search.result();
}

/**
 * The exclusive plans that share a line with another product plan: only those make exclusivity a
 * choice. Each exclusive plan marks its lines and looks for another plan on one of them, stopping at
 * the first: in a dense basket that is the first plan it looks at.
 */
function sharingLines(plans: readonly Plan[], lineCount: number): boolean[] {
  const sharing = new Array<boolean>(plans.length).fill(false);
  const mark = new Array<number>(lineCount).fill(-1);
  for (let i = 0; i < plans.length; i++) {
    const plan = plans[i]!;
    if (!plan.exclusive) continue;
    for (const group of plan.groups) for (const line of group) mark[line] = i;
    sharing[i] = plans.some(
      (other, j) =>
        j !== i && !other.isCart && other.groups.some((group) => group.some((line) => mark[line] === i)),
    );
  }
  return sharing;
}

class Search {
  private best: Run | null = null;
  private tried = 0;
  private skipped = false;
  private readonly products: number[] = [];
  private readonly carts: number[] = [];
  private readonly choice: boolean[];
  private readonly cartStacking: boolean;

  constructor(
    private readonly ctx: EvalContext,
    private readonly plans: readonly Plan[],
  ) {
    plans.forEach((plan, i) => {
      if (plan.p.exclusiveAtCartLevel) return;
      (plan.isCart ? this.carts : this.products).push(i);
    });
    this.choice = sharingLines(plans, ctx.lines.length);
    this.cartStacking = ctx.input.settings.cartStacking !== false;
  }

  start(): void {
    this.visit(
      new RunState(this.ctx),
      this.plans.map(() => null),
      0,
    );
  }

  /** An exclusive-at-cart-level promotion on its own. */
  alone(index: number): void {
    const state = new RunState(this.ctx);
    const outcomes: (Outcome | null)[] = this.plans.map(() => null);
    outcomes[index] = applyPlan(state, this.plans[index]!);
    this.consider(outcomes, state);
  }

  private visit(state: RunState, outcomes: (Outcome | null)[], from: number): void {
    for (let k = from; k < this.products.length; k++) {
      const i = this.products[k]!;
      const plan = this.plans[i]!;
      if (this.choice[i] && state.couldTake(plan.groups, true)) {
        if (this.tried + 1 >= COMBINATIONS_MAX) this.skipped = true;
        else {
          const before = state.clone();
          const outcomesBefore = outcomes.slice();
          outcomes[i] = applyPlan(state, plan);
          if (outcomes[i]!.discount > 0) {
            this.visit(state, outcomes, k + 1);
            [state, outcomes] = [before, outcomesBefore]; // and go on without it
            continue;
          }
          continue; // it took nothing: keeping it and leaving it out are the same
        }
      }
      outcomes[i] = applyPlan(state, plan);
    }
    this.cartPhase(state, outcomes);
  }

  private cartPhase(state: RunState, outcomes: (Outcome | null)[]): void {
    if (this.cartStacking || this.carts.length <= 1) {
      for (const i of this.carts) outcomes[i] = applyPlan(state, this.plans[i]!);
      return this.consider(outcomes, state);
    }
    this.consider(outcomes, state.clone());
    for (const i of this.carts) {
      const withCart = state.clone();
      const option = outcomes.slice();
      option[i] = applyPlan(withCart, this.plans[i]!);
      this.consider(option, withCart);
    }
  }

  private consider(outcomes: readonly (Outcome | null)[], state: RunState): void {
    this.tried++;
    let total = 0;
    let appliedCount = 0;
    for (const o of outcomes) {
      if (o === null || o.discount === 0) continue;
      total += o.discount;
      appliedCount++;
    }
    const best = this.best;
    // More discount wins; then fewer promotions; then the one found first (higher priorities kept).
    if (best === null || total > best.total || (total === best.total && appliedCount < best.appliedCount)) {
      this.best = { state, outcomes: outcomes.slice(), total, appliedCount };
    }
  }

  result(): Choice {
    if (this.best === null) throw new Error("stacking search priced no combination");
    return { best: this.best, combinationsTried: this.tried, exhaustive: !this.skipped };
  }
}
