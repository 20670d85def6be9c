// Everything the engine derives once per evaluation: lines in canonical order (by line id, so the
// request's order never matters), the scopes each line falls in, basket totals, and the customer
// context turned into lookups.
import type { BasketLine, CustomerContext, Tender, WalletEntry } from "../domain/basket.js";
import type { PromotionIndex } from "./compile.js";
import { LocalClock } from "./schedule.js";
import type { EvaluationInput } from "./types.js";

export interface Line {
  readonly def: BasketLine;
  /** Position in the request, to answer in the request's order. */
  readonly inputIndex: number;
  readonly price: number;
  readonly quantity: number;
}

export interface ScopeMatch {
  /** Canonical line indexes, ascending. */
  lines: number[];
  units: number;
  gross: number;
  /** `[lines]`, made on first use: the benefit groups of every plan whose target is this scope. */
  asGroups: readonly (readonly number[])[] | null;
}

export function newMatch(lines: number[], units: number, gross: number): ScopeMatch {
  return { lines, units, gross, asGroups: null };
}

const NO_LINES: number[] = [];
const NO_MATCH: ScopeMatch = Object.freeze(newMatch(NO_LINES, 0, 0)) as ScopeMatch;

export class EvalContext {
  readonly lines: Line[];
  /** The whole basket as one match: every line, all units, the gross (the trigger scope of a promotion without line conditions). */
  readonly basket: ScopeMatch;
  readonly clock: LocalClock;
  readonly channel: string;
  readonly tenders: readonly Tender[];
  readonly vouchers: ReadonlySet<string>;
  readonly customer: CustomerLookups;
  /**
   * Scope id → its match, for the scopes this basket touches: the index's scratch array, whose entry
   * is this evaluation's when its stamp is. Reused rather than sized to the index per evaluation,
   * so a one-line basket costs the same against 10,000 promotions as against 10.
   */
  private readonly matches: (ScopeMatch | undefined)[];
  private readonly stamps: Uint32Array;
  private readonly stamp: number;
  private readonly touched: number[] = [];
  private readonly orderedAscending = new Map<readonly number[], number[]>();
  private readonly orderedDescending = new Map<readonly number[], number[]>();
  private orderAscending: number[] | null = null;
  private orderDescending: number[] | null = null;
  private readonly member: number[];
  private memberEpoch = 0;

  constructor(
    readonly index: PromotionIndex,
    readonly input: EvaluationInput,
  ) {
    const basket = input.basket;
    this.lines = basket.lines
      .map((def, inputIndex) => ({ def, inputIndex, price: def.unitPriceMinor, quantity: def.quantity }))
      .sort((a, b) => (a.def.id < b.def.id ? -1 : a.def.id > b.def.id ? 1 : 0));
    for (let i = 1; i < this.lines.length; i++) {
      // Discounts are reported per line id: the edge (API, CLI) refuses duplicates; reaching here is a bug.
      if (this.lines[i]!.def.id === this.lines[i - 1]!.def.id)
        throw new Error(`duplicate line id ${this.lines[i]!.def.id}`);
    }
    this.basket = newMatch([], 0, 0);
    this.lines.forEach((line, i) => {
      this.basket.lines.push(i);
      this.basket.units += line.quantity;
      this.basket.gross += line.price * line.quantity;
    });
    const atMs = typeof input.at === "number" ? input.at : Date.parse(input.at);
    if (Number.isNaN(atMs)) throw new Error(`invalid evaluation instant ${String(input.at)}`);
    this.clock = new LocalClock(atMs, input.settings.timeZone);
    this.channel = basket.channel ?? "pos";
    this.tenders = basket.tenders ?? [];
    this.vouchers = new Set((basket.giftVouchers ?? []).map((v) => v.toUpperCase()));
    this.customer = new CustomerLookups(input.customer);
    // Sized once: a preallocated array keeps fast elements; one grown at random indexes turns into a dictionary.
    const scratch = index.scratch;
    if (scratch.matchEpoch === 0xffffffff) {
      scratch.matchStamps.fill(0);
      scratch.matchEpoch = 0;
    }
    this.stamp = ++scratch.matchEpoch;
    this.stamps = scratch.matchStamps;
    this.matches = scratch.matches;
    // Plain arrays, not typed ones, for per-evaluation scratch: a small typed array costs more to create.
    this.member = new Array<number>(this.lines.length).fill(0);
    this.matchScopes();
  }

  private distinct = -1;

  /** Distinct SKUs of the basket; counted on first use (only item_count conditions ask). */
  get distinctSkus(): number {
    if (this.distinct < 0) this.distinct = new Set(this.lines.map((l) => l.def.sku)).size;
    return this.distinct;
  }

  /** Lets go of this basket's matches in the index's scratch, so they die young (evaluation done). */
  release(): void {
    for (const id of this.touched) this.matches[id] = undefined;
  }

  match(scopeId: number): ScopeMatch {
    return this.stamps[scopeId] === this.stamp ? this.matches[scopeId]! : NO_MATCH;
  }

  touchedScopeIds(): readonly number[] {
    return this.touched;
  }

  /**
   * `lines` sorted cheapest first (price, then SKU, then line id) or most expensive first (price
   * descending, then SKU, then line id): the order in which benefits and triggers take units.
   */
  ordered(lines: readonly number[], mostExpensiveFirst: boolean): readonly number[] {
    // Plans that share a scope share its line array: order each array once per direction.
    const cache = mostExpensiveFirst ? this.orderedDescending : this.orderedAscending;
    let sorted = cache.get(lines);
    if (sorted === undefined) {
      // Walk the basket's one price order and keep the members: linear, no comparator.
      const stamp = ++this.memberEpoch;
      for (const line of lines) this.member[line] = stamp;
      const order = this.order(mostExpensiveFirst ? -1 : 1);
      sorted = [];
      for (const line of order) if (this.member[line] === stamp) sorted.push(line);
      cache.set(lines, sorted);
    }
    return sorted;
  }

  private order(direction: 1 | -1): readonly number[] {
    let order = direction === 1 ? this.orderAscending : this.orderDescending;
    if (order === null) {
      order = direction === 1 ? this.cheapestFirst() : this.mostExpensiveFirst(this.order(1));
      if (direction === 1) this.orderAscending = order;
      else this.orderDescending = order;
    }
    return order;
  }

  /**
   * Lines cheapest first: price, then SKU, then line index. Sorted as numbers (price × lines + index,
   * exact: at most 1e11 × 1,000) by the native sort, so no comparator runs; then only lines of
   * equal price are put in SKU order.
   */
  private cheapestFirst(): number[] {
    const n = this.lines.length;
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = this.lines[i]!.price * n + i;
    keys.sort();
    const order = new Array<number>(n);
    for (let k = 0; k < n; k++) order[k] = keys[k]! % n;
    for (let k = 1; k < n; k++) {
      const line = this.lines[order[k]!]!;
      const index = order[k]!;
      let j = k - 1;
      // Insertion within a run of one price; stable, so index order holds between equal SKUs.
      for (; j >= 0; j--) {
        const before = this.lines[order[j]!]!;
        if (before.price !== line.price || before.def.sku <= line.def.sku) break;
        order[j + 1] = order[j]!;
      }
      order[j + 1] = index;
    }
    return order;
  }

  /** Most expensive first; lines of equal price as cheapest first orders them (SKU, then index). */
  private mostExpensiveFirst(ascending: readonly number[]): number[] {
    const order: number[] = [];
    let end = ascending.length;
    while (end > 0) {
      const price = this.lines[ascending[end - 1]!]!.price;
      let start = end - 1;
      while (start > 0 && this.lines[ascending[start - 1]!]!.price === price) start--;
      for (let k = start; k < end; k++) order.push(ascending[k]!);
      end = start;
    }
    return order;
  }

  /** Finds every scope each line falls in (looked up in the index by its catalog facts, once per SKU). */
  private matchScopes(): void {
    const cache = this.index.lineScopes;
    const counts = this.index.scratch.scopeCounts;
    const idsOfLine: Int32Array[] = new Array(this.lines.length);
    // First count each scope's lines, then fill arrays of that exact size: arrays grown by push are
    // reallocated on the way, and a basket touches dozens of scopes.
    for (let i = 0; i < this.lines.length; i++) {
      const line = this.lines[i]!;
      const ids = (idsOfLine[i] = cache.scopesOf(line.def));
      for (let k = 0; k < ids.length; k++) {
        counts[ids[k]!]!++;
        this.addLine(ids[k]!, line);
      }
    }
    for (const id of this.touched) {
      this.matches[id]!.lines = new Array<number>(counts[id]!);
      counts[id] = 0; // from here, where the next line goes
    }
    for (let i = 0; i < this.lines.length; i++) {
      const ids = idsOfLine[i]!;
      for (let k = 0; k < ids.length; k++) this.matches[ids[k]!]!.lines[counts[ids[k]!]!++] = i;
    }
    for (const id of this.touched) counts[id] = 0;
  }

  /** Adds a line's units and gross to a scope's match (its `lines` are filled by matchScopes). */
  private addLine(scopeId: number, line: Line): void {
    let match = this.matches[scopeId];
    if (this.stamps[scopeId] !== this.stamp || match === undefined) {
      match = newMatch(NO_LINES, 0, 0);
      this.matches[scopeId] = match;
      this.stamps[scopeId] = this.stamp;
      this.touched.push(scopeId);
    }
    match.units += line.quantity;
    match.gross += line.price * line.quantity;
  }
}

/** The customer context as lookups; built once per evaluation. */
export class CustomerLookups {
  readonly customerId: string | undefined;
  readonly segments: ReadonlySet<string>;
  readonly memberships: NonNullable<CustomerContext["memberships"]>;
  // Each lookup is built only when the context has entries for it: most sales carry none of them.
  private readonly wallet: Map<string, WalletEntry[]> | null = null;
  private readonly codes: Map<string, string> | null = null;
  private readonly choices: Map<string, readonly string[]> | null = null;
  private readonly capacity: Map<string, Map<string, number>> | null = null;

  constructor(context: CustomerContext | undefined) {
    this.customerId = context?.customerId;
    this.segments = new Set(context?.segmentIds ?? []);
    this.memberships = context?.memberships ?? [];
    if (context?.wallet?.length) {
      const wallet = (this.wallet = new Map());
      for (const entry of context.wallet) {
        const list = wallet.get(entry.promotionId);
        if (list) list.push(entry);
        else wallet.set(entry.promotionId, [entry]);
      }
    }
    if (context?.codes?.length) this.codes = new Map(context.codes.map((c) => [c.promotionId, c.code]));
    if (context?.productChoices?.length)
      this.choices = new Map(context.productChoices.map((c) => [c.promotionId, c.skus]));
    if (context?.capacity?.length) {
      const capacity = (this.capacity = new Map());
      for (const c of context.capacity) {
        let rules = capacity.get(c.promotionId);
        if (!rules) capacity.set(c.promotionId, (rules = new Map()));
        rules.set(c.rule, Math.min(c.remaining, rules.get(c.rule) ?? Infinity));
      }
    }
  }

  walletEntries(promotionId: string): readonly WalletEntry[] {
    return this.wallet?.get(promotionId) ?? [];
  }

  hasCode(promotionId: string): boolean {
    return this.codes?.has(promotionId) ?? false;
  }

  productChoices(promotionId: string): readonly string[] | undefined {
    return this.choices?.get(promotionId);
  }

  /** Capacity left under a rule; a rule the ledger sent nothing for is unused. */
  remaining(promotionId: string, rule: string, max: number): number {
    const left = this.capacity?.get(promotionId)?.get(rule);
    return left === undefined ? max : Math.min(left, max);
  }
}
