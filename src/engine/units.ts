// The units of a basket during one pricing run. A line's units are kept as a few segments of equal
// state (count, what is left to pay per unit, who holds them exclusively), so a line of 500 units
// costs no more than a line of one. Benefits pick units, value them as parts, and commit the parts,
// which splits segments; the sum of the parts is what the line loses.
import type { EvalContext } from "./context.js";

export interface Segment {
  count: number;
  /** What is left to pay for each unit of this segment. */
  remaining: number;
  /** Promotion index holding these units exclusively, or -1. */
  owner: number;
  /** Some product discount already took from these units. */
  touched: boolean;
  /** Units set aside by the promotion being applied (as benefit or as trigger); 0 between promotions. */
  held: number;
}

/** Units of one segment set aside by a benefit, and (once valued) what they lose between them. */
export interface Pick {
  readonly line: number;
  readonly segment: Segment;
  readonly units: number;
  amount: number;
}

/** Where a benefit's walk over its ordered lines stands: lines before it have nothing left for it. */
export interface Cursor {
  position: number;
}

/** One promotion's share of one line, as it ends up on the receipt. */
export interface LineShare {
  readonly promotion: number;
  readonly line: number;
  readonly amount: number;
  readonly units: number;
}

export class RunState {
  readonly segments: Segment[][];
  /** What is left to pay on each line, kept up to date by every discount (product or cart). */
  readonly net: number[];
  readonly shares: LineShare[] = [];

  constructor(readonly ctx: EvalContext) {
    this.segments = ctx.lines.map((l) => [
      { count: l.quantity, remaining: l.price, owner: -1, touched: false, held: 0 },
    ]);
    this.net = ctx.lines.map((l) => l.price * l.quantity);
  }

  /** Spreads a cart discount's part on a line. */
  discountLine(promotion: number, line: number, amount: number): void {
    this.net[line]! -= amount;
    this.shares.push({ promotion, line, amount, units: 0 });
  }

  /**
   * Sets aside up to `wanted` units of `lines` (already in the order to take them) for a benefit.
   * Exclusive benefits take only units no product discount touched; nobody takes units held
   * exclusively by another promotion or with nothing left to pay.
   */
  pickBenefit(
    lines: readonly number[],
    wanted: number,
    exclusive: boolean,
    into: Pick[],
    cursor: Cursor,
  ): number {
    let taken = 0;
    for (let i = cursor.position; i < lines.length && taken < wanted; i++) {
      const line = lines[i]!;
      let left = 0;
      for (const segment of this.orderedSegments(line)) {
        if (segment.owner >= 0 || segment.remaining <= 0 || (exclusive && segment.touched)) continue;
        const free = segment.count - segment.held;
        const units = Math.min(free, wanted - taken);
        if (units > 0) {
          segment.held += units;
          into.push({ line, segment, units, amount: 0 });
          taken += units;
        }
        left += free - Math.max(units, 0);
      }
      // A line with nothing left for this benefit stays so while it is applied: skip it next time.
      if (left === 0 && i === cursor.position) cursor.position++;
    }
    return taken;
  }

  /**
   * Sets aside units that satisfy a condition (`units` of them, or worth at least `amount`), most
   * expensive first. Trigger units are counted, not discounted, so any unit not already set aside
   * by this promotion will do.
   */
  pickTrigger(
    lines: readonly number[],
    need: { units: number } | { amount: number },
    into: Pick[],
  ): { ok: boolean; missing: number } {
    const byUnits = "units" in need;
    const goal = byUnits ? need.units : need.amount;
    let have = 0;
    for (const line of lines) {
      const price = this.ctx.lines[line]!.price;
      for (const segment of this.segments[line]!) {
        if (have >= goal) return { ok: true, missing: 0 };
        const free = segment.count - segment.held;
        if (free <= 0 || (!byUnits && price === 0)) continue;
        const units = Math.min(free, byUnits ? goal - have : Math.ceil((goal - have) / price));
        segment.held += units;
        into.push({ line, segment, units, amount: 0 });
        have += byUnits ? units : units * price;
      }
    }
    return have >= goal ? { ok: true, missing: 0 } : { ok: false, missing: goal - have };
  }

  /** A copy to branch from: the search prices "with" on one and "without" on the other. */
  clone(): RunState {
    const copy = Object.create(RunState.prototype) as RunState;
    Object.assign(copy, {
      ctx: this.ctx,
      segments: this.segments.map((list) => list.map((s) => ({ ...s }))),
      net: this.net.slice(),
      shares: this.shares.slice(),
    });
    return copy;
  }

  /** Whether a benefit could still take a unit of these lines (exclusive: a unit nobody discounted). */
  couldTake(groups: readonly (readonly number[])[], exclusive: boolean): boolean {
    for (const lines of groups) {
      for (const line of lines) {
        for (const s of this.segments[line]!) {
          if (s.owner < 0 && s.remaining > 0 && s.count > s.held && !(exclusive && s.touched)) return true;
        }
      }
    }
    return false;
  }

  release(picks: readonly Pick[]): void {
    for (const p of picks) p.segment.held -= p.units;
  }

  /** Applies a promotion's valued picks: each pick's units lose its amount between them (never below zero). */
  commit(promotion: number, exclusive: boolean, parts: readonly Pick[]): void {
    for (const part of parts) part.segment.held = 0;
    // Units that lose nothing are left as they were: an exclusive promotion does not lock what it does not discount.
    for (const part of parts) {
      if (part.units === 0 || part.amount === 0) continue;
      this.split(part, promotion, exclusive);
      this.net[part.line]! -= part.amount;
      this.shares.push({ promotion, line: part.line, amount: part.amount, units: part.units });
    }
  }

  private split(part: Pick, promotion: number, exclusive: boolean): void {
    const { segment, units, amount } = part;
    const base = Math.floor(amount / units);
    const extra = amount - base * units;
    if (segment.remaining - base - (extra > 0 ? 1 : 0) < 0)
      throw new Error("a part would take a unit below zero");
    const owner = exclusive ? promotion : segment.owner;
    const list = this.segments[part.line]!;
    const make = (count: number, remaining: number): Segment => ({
      count,
      remaining,
      owner,
      touched: true,
      held: 0,
    });
    if (units === segment.count) {
      segment.count = units - extra;
      segment.remaining -= base;
      segment.owner = owner;
      segment.touched = true;
      if (extra > 0) list.push(make(extra, segment.remaining - 1));
    } else {
      segment.count -= units;
      if (units - extra > 0) list.push(make(units - extra, segment.remaining - base));
      if (extra > 0) list.push(make(extra, segment.remaining - base - 1));
    }
    if (segment.count === 0) list.splice(list.indexOf(segment), 1);
  }

  /** A line's segments in the order benefits take them: untouched first, then most left to pay. */
  private orderedSegments(line: number): readonly Segment[] {
    const list = this.segments[line]!;
    for (let i = 1; i < list.length; i++) {
      // Insertion sort: a line holds a handful of segments, nearly always already in order.
      const segment = list[i]!;
      let j = i - 1;
      while (j >= 0 && takenBefore(segment, list[j]!)) {
        list[j + 1] = list[j]!;
        j--;
      }
      list[j + 1] = segment;
    }
    return list;
  }
}

function takenBefore(a: Segment, b: Segment): boolean {
  return a.touched !== b.touched ? !a.touched : a.remaining > b.remaining;
}
