// Everything the engine derives once per evaluation: lines in canonical order (by line id, so the
// request's order never matters), the scopes each line falls in, basket totals, and the customer
// context turned into lookups.
import type { BasketLine, CustomerContext, Tender, WalletEntry } from "../domain/basket.js";
import type { PromotionIndex } from "./compile.js";
import { isExcluded } from "./scope.js";
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
  readonly lines: number[];
  units: number;
  gross: number;
}

const NO_MATCH: ScopeMatch = Object.freeze({ lines: [], units: 0, gross: 0 }) as ScopeMatch;

export class EvalContext {
  readonly lines: Line[];
  /** The whole basket as one match: every line, all units, the gross (the trigger scope of a promotion without line conditions). */
  readonly basket: ScopeMatch;
  readonly distinctSkus: number;
  readonly clock: LocalClock;
  readonly channel: string;
  readonly tenders: readonly Tender[];
  readonly vouchers: ReadonlySet<string>;
  readonly customer: CustomerLookups;
  /** Scope id → its match, for the scopes this basket touches (sparse array over the index's scopes). */
  private readonly matches: (ScopeMatch | undefined)[];
  private readonly touched: number[] = [];
  private readonly orderedAscending = new Map<readonly number[], number[]>();
  private readonly orderedDescending = new Map<readonly number[], number[]>();
  private orderAscending: number[] | null = null;
  private orderDescending: number[] | null = null;
  private readonly member: Int32Array;
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
    this.basket = { lines: [], units: 0, gross: 0 };
    this.lines.forEach((line, i) => {
      this.basket.lines.push(i);
      this.basket.units += line.quantity;
      this.basket.gross += line.price * line.quantity;
    });
    this.distinctSkus = new Set(this.lines.map((l) => l.def.sku)).size;
    const atMs = typeof input.at === "number" ? input.at : Date.parse(input.at);
    if (Number.isNaN(atMs)) throw new Error(`invalid evaluation instant ${String(input.at)}`);
    this.clock = new LocalClock(atMs, input.settings.timeZone);
    this.channel = basket.channel ?? "pos";
    this.tenders = basket.tenders ?? [];
    this.vouchers = new Set((basket.giftVouchers ?? []).map((v) => v.toUpperCase()));
    this.customer = new CustomerLookups(input.customer);
    // Sized once: a preallocated array keeps fast elements; one grown at random indexes turns into a dictionary.
    this.matches = new Array<ScopeMatch | undefined>(index.scopes.length);
    this.member = new Int32Array(this.lines.length);
    this.matchScopes();
  }

  match(scopeId: number): ScopeMatch {
    return this.matches[scopeId] ?? NO_MATCH;
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
      order = this.lines.map((_, i) => i).sort((a, b) => this.compareLines(a, b, direction));
      if (direction === 1) this.orderAscending = order;
      else this.orderDescending = order;
    }
    return order;
  }

  private compareLines(a: number, b: number, direction: 1 | -1): number {
    const la = this.lines[a]!;
    const lb = this.lines[b]!;
    if (la.price !== lb.price) return (la.price - lb.price) * direction;
    if (la.def.sku !== lb.def.sku) return la.def.sku < lb.def.sku ? -1 : 1;
    return a - b;
  }

  /** Finds every scope each line falls in, by looking the line's catalog facts up in the index. */
  private matchScopes(): void {
    const { scopesByFact, scopes, universalScopeIds } = this.index;
    const lists: (readonly number[])[] = [];
    for (let i = 0; i < this.lines.length; i++) {
      const line = this.lines[i]!;
      const found = scopesByFact.listsFor(line.def, lists);
      for (let k = 0; k < found; k++) {
        for (const id of lists[k]!) this.addLine(id, i, line, isExcluded(scopes[id]!, line.def));
      }
      for (const id of universalScopeIds) this.addLine(id, i, line, isExcluded(scopes[id]!, line.def));
    }
  }

  private addLine(scopeId: number, lineIndex: number, line: Line, excluded: boolean): void {
    if (excluded) return;
    let match = this.matches[scopeId];
    if (match === undefined) {
      match = { lines: [], units: 0, gross: 0 };
      this.matches[scopeId] = match;
      this.touched.push(scopeId);
    }
    // A line reaches the same scope once per matching key: count it once.
    if (match.lines[match.lines.length - 1] === lineIndex) return;
    match.lines.push(lineIndex);
    match.units += line.quantity;
    match.gross += line.price * line.quantity;
  }
}

/** The customer context as lookups; built once per evaluation. */
export class CustomerLookups {
  readonly customerId: string | undefined;
  readonly segments: ReadonlySet<string>;
  readonly memberships: NonNullable<CustomerContext["memberships"]>;
  private readonly wallet = new Map<string, WalletEntry[]>();
  private readonly codes = new Map<string, string>();
  private readonly choices = new Map<string, readonly string[]>();
  private readonly capacity = new Map<string, Map<string, number>>();

  constructor(context: CustomerContext | undefined) {
    this.customerId = context?.customerId;
    this.segments = new Set(context?.segmentIds ?? []);
    this.memberships = context?.memberships ?? [];
    for (const entry of context?.wallet ?? []) {
      const list = this.wallet.get(entry.promotionId);
      if (list) list.push(entry);
      else this.wallet.set(entry.promotionId, [entry]);
    }
    for (const c of context?.codes ?? []) this.codes.set(c.promotionId, c.code);
    for (const c of context?.productChoices ?? []) this.choices.set(c.promotionId, c.skus);
    for (const c of context?.capacity ?? []) {
      let rules = this.capacity.get(c.promotionId);
      if (!rules) this.capacity.set(c.promotionId, (rules = new Map()));
      rules.set(c.rule, Math.min(c.remaining, rules.get(c.rule) ?? Infinity));
    }
  }

  walletEntries(promotionId: string): readonly WalletEntry[] {
    return this.wallet.get(promotionId) ?? [];
  }

  hasCode(promotionId: string): boolean {
    return this.codes.has(promotionId);
  }

  productChoices(promotionId: string): readonly string[] | undefined {
    return this.choices.get(promotionId);
  }

  /** Capacity left under a rule; a rule the ledger sent nothing for is unused. */
  remaining(promotionId: string, rule: string, max: number): number {
    const left = this.capacity.get(promotionId)?.get(rule);
    return left === undefined ? max : Math.min(left, max);
  }
}
