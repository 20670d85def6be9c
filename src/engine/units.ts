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
  /** Grow only while the commit that made the share runs (see commit). */
  amount: number;
  units: number;
}

/**
 * Per-line summary bits of the segments, kept up to date by every change, so "could this benefit
 * take anything here?" is one test per line instead of a walk over its segments. In a dense basket
 * most promotions find every unit paid for by the ones before them: that test is most of their cost.
 */
export const OPEN = 1; // some unit is held by nobody and has something left to pay
export const FRESH = 2; // some such unit carries no product discount yet (what an exclusive may take)
export const TOUCHED = 4; // some unit carries a product discount

export class RunState {
  readonly segments: Segment[][];
  /** What is left to pay on each line, kept up to date by every discount (product or cart). */
  readonly net: number[];
  readonly shares: LineShare[] = [];
  /** OPEN | FRESH | TOUCHED per line, as of the last committed promotion. */
  readonly flags: number[];

  constructor(readonly ctx: EvalContext) {
    this.segments = ctx.lines.map((l) => [
      { count: l.quantity, remaining: l.price, owner: -1, touched: false, held: 0 },
    ]);
    this.net = ctx.lines.map((l) => l.price * l.quantity);
    // A plain array: a small typed array costs more to create, and a run state is made per combination.
    this.flags = new Array<number>(ctx.lines.length).fill(0);
    for (let line = 0; line < ctx.lines.length; line++) this.refresh(line);
  }

  /** Recomputes a line's summary bits after its segments changed. */
  refresh(line: number): void {
    let flags = 0;
    for (const s of this.segments[line]!) {
      if (s.touched) flags |= TOUCHED;
      if (s.owner < 0 && s.remaining > 0) flags |= s.touched ? OPEN : OPEN | FRESH;
    }
    this.flags[line] = flags;
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
   * Sets aside units that satisfy a condition (`goal` units, or with `byUnits` false units worth at
   * least `goal`), most expensive first, and returns what is still missing (0: met). Trigger units
   * are counted, not discounted, so any unit not already set aside by this promotion will do.
   */
  pickTrigger(lines: readonly number[], goal: number, byUnits: boolean, into: Pick[]): number {
    let have = 0;
    for (const line of lines) {
      const price = this.ctx.lines[line]!.price;
      for (const segment of this.segments[line]!) {
        if (have >= goal) return 0;
        const free = segment.count - segment.held;
        if (free <= 0 || (!byUnits && price === 0)) continue;
        const units = Math.min(free, byUnits ? goal - have : Math.ceil((goal - have) / price));
        segment.held += units;
        into.push({ line, segment, units, amount: 0 });
        have += byUnits ? units : units * price;
      }
    }
    return have >= goal ? 0 : goal - have;
  }

  /** A copy to branch from: the search prices "with" on one and "without" on the other. */
  clone(): RunState {
    const copy = Object.create(RunState.prototype) as RunState;
    Object.assign(copy, {
      ctx: this.ctx,
      segments: this.segments.map((list) => list.map((s) => ({ ...s }))),
      net: this.net.slice(),
      shares: this.shares.slice(),
      flags: this.flags.slice(),
    });
    return copy;
  }

  /**
   * Whether a benefit could still take a unit of these lines (exclusive: a unit nobody discounted).
   * Between promotions (no unit held), which is the only time it is asked.
   */
  couldTake(groups: readonly (readonly number[])[], exclusive: boolean): boolean {
    return this.anyLine(groups, exclusive ? FRESH : OPEN);
  }

  /** Whether some line of the groups has one of the summary bits of `mask`. */
  anyLine(groups: readonly (readonly number[])[], mask: number): boolean {
    const flags = this.flags;
    for (const lines of groups) {
      for (let i = 0; i < lines.length; i++) if ((flags[lines[i]!]! & mask) !== 0) return true;
    }
    return false;
  }

  release(picks: readonly Pick[]): void {
    for (const p of picks) p.segment.held -= p.units;
  }

  /** Releases the picks from index `from` on, and drops them from the list. */
  releaseFrom(picks: Pick[], from: number): void {
    for (let i = from; i < picks.length; i++) picks[i]!.segment.held -= picks[i]!.units;
    picks.length = from;
  }

  /** Applies a promotion's valued picks: each pick's units lose its amount between them (never below zero). */
  commit(promotion: number, exclusive: boolean, parts: readonly Pick[]): void {
    for (const part of parts) part.segment.held = 0;
    // Units that lose nothing are left as they were: an exclusive promotion does not lock what it does not discount.
    const first = this.shares.length;
    for (const part of parts) {
      if (part.units === 0 || part.amount === 0) continue;
      this.split(part, promotion, exclusive);
      this.net[part.line]! -= part.amount;
      // Parts in a row on one line ("each unit" benefits give one a unit) make one share. Only
      // shares made by this commit are merged: older ones may be shared with a clone.
      const last = this.shares[this.shares.length - 1];
      if (last !== undefined && this.shares.length > first && last.line === part.line) {
        last.amount += part.amount;
        last.units += part.units;
      } else this.shares.push({ promotion, line: part.line, amount: part.amount, units: part.units });
    }
    for (const part of parts) if (part.units !== 0 && part.amount !== 0) this.refresh(part.line);
  }

  private split(part: Pick, promotion: number, exclusive: boolean): void {
    const { segment, units, amount } = part;
    const base = Math.floor(amount / units);
    const extra = amount - base * units;
    if (segment.remaining - base - (extra > 0 ? 1 : 0) < 0)
      throw new Error("a part would take a unit below zero");
    const owner = exclusive ? promotion : segment.owner;
    const list = this.segments[part.line]!;
    if (units === segment.count) {
      segment.count = units - extra;
      segment.remaining -= base;
      segment.owner = owner;
      segment.touched = true;
      if (extra > 0) list.push(touchedSegment(extra, segment.remaining - 1, owner));
    } else {
      segment.count -= units;
      if (units - extra > 0) list.push(touchedSegment(units - extra, segment.remaining - base, owner));
      if (extra > 0) list.push(touchedSegment(extra, segment.remaining - base - 1, owner));
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

function touchedSegment(count: number, remaining: number, owner: number): Segment {
  return { count, remaining, owner, touched: true, held: 0 };
}

function takenBefore(a: Segment, b: Segment): boolean {
  return a.touched !== b.touched ? !a.touched : a.remaining > b.remaining;
}
