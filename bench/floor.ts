// The floor: what a plain hand-written loop costs to price the same baskets, restricted to the two
// kinds of promotion a loop can price without an engine: unconditional percentage discounts on a
// product scope, and cart percentages behind a cart amount threshold. Each promotion is precomputed to
// a Set of matching SKUs (expanded against the catalog) or a threshold; pricing loops over every such
// promotion and every line with integer math and allocates nothing.
import type { ProductScope, Promotion, Selector } from "../src/domain/promotion.js";
import type { EvaluationInput } from "../src/engine/index.js";
import type { Catalog, Product } from "./generate.js";

interface FloorProduct {
  readonly skus: ReadonlySet<string>;
  readonly bps: number;
}

interface FloorCart {
  /** Smallest gross that qualifies. */
  readonly threshold: number;
  readonly bps: number;
}

export interface Floor {
  /** In application order (priority descending, then id), like the engine. */
  readonly product: readonly FloorProduct[];
  readonly cart: readonly FloorCart[];
  /** Per-line scratch: what is left to pay per unit. */
  readonly remaining: Float64Array;
}

/** A promotion always live, for everyone, everywhere, with no limit and no exclusivity. */
function plain(p: Promotion): boolean {
  const s = p.schedule;
  return (
    p.type === "pos" &&
    (p.eligibility === undefined || p.eligibility.kind === "all") &&
    p.scope === undefined &&
    (p.limits ?? []).length === 0 &&
    p.stacking === undefined &&
    s.endsAt === undefined &&
    s.recurrence === undefined &&
    s.dailyWindow === undefined &&
    Date.parse(s.startsAt) <= Date.parse("2026-01-01T00:00:00Z")
  );
}

/** The promotions of a set the floor can price exactly as the engine does. */
export function floorSubset(promotions: readonly Promotion[]): Promotion[] {
  return promotions.filter((p) => {
    if (!plain(p)) return false;
    const b = p.benefit;
    if (b.kind === "products") {
      return (
        p.conditions.length === 0 &&
        b.repeat === undefined &&
        b.value.kind === "percentage" &&
        b.target.kind === "selector" &&
        b.target.quantity.kind === "all"
      );
    }
    if (b.kind === "cart") {
      const c = p.conditions[0];
      return (
        b.repeat === undefined &&
        b.value.kind === "percentage" &&
        p.conditions.length === 1 &&
        c?.kind === "cart_amount" &&
        (c.op === "gte" || c.op === "gt")
      );
    }
    return false;
  });
}

function selectorMatches(selector: Selector, product: Product): boolean {
  switch (selector.kind) {
    case "skus":
      return selector.skus.includes(product.sku);
    case "categories":
      return product.categories.some((c) => selector.categories.includes(c));
    case "brands":
      return selector.brands.includes(product.brand);
    case "attribute": {
      const value = product.attributes[selector.name];
      return value !== undefined && selector.values.includes(value);
    }
  }
}

function scopeMatches(scope: ProductScope, product: Product): boolean {
  const included = scope.include.length === 0 || scope.include.some((s) => selectorMatches(s, product));
  return included && !(scope.exclude ?? []).some((s) => selectorMatches(s, product));
}

/** Precomputes the floor for `promotions` (already restricted by floorSubset). */
export function buildFloor(catalog: Catalog, promotions: readonly Promotion[]): Floor {
  const ordered = [...promotions].sort(
    (a, b) => (b.priority ?? 0) - (a.priority ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const setsByScope = new Map<string, ReadonlySet<string>>();
  const product: FloorProduct[] = [];
  const cart: FloorCart[] = [];
  for (const p of ordered) {
    const b = p.benefit;
    if (b.kind === "products" && b.target.kind === "selector" && b.value.kind === "percentage") {
      const scope = b.target.scope;
      const key = JSON.stringify(scope);
      let skus = setsByScope.get(key);
      if (skus === undefined) {
        skus = new Set(catalog.products.filter((x) => scopeMatches(scope, x)).map((x) => x.sku));
        setsByScope.set(key, skus);
      }
      product.push({ skus, bps: b.value.bps });
    } else if (b.kind === "cart" && b.value.kind === "percentage") {
      const c = p.conditions[0];
      if (c?.kind !== "cart_amount") continue;
      cart.push({ threshold: c.op === "gt" ? c.amountMinor + 1 : c.amountMinor, bps: b.value.bps });
    }
  }
  return { product, cart, remaining: new Float64Array(1_000) };
}

/** amount × bps / 10 000, rounded half-even (integers only). */
function percentHalfEven(amount: number, bps: number): number {
  const x = amount * bps;
  let q = Math.floor(x / 10_000);
  const twice = (x - q * 10_000) * 2;
  if (twice > 10_000 || (twice === 10_000 && q % 2 === 1)) q++;
  return q;
}

/** The basket's total discount under the floor's promotions. */
export function priceFloor(floor: Floor, input: EvaluationInput): number {
  const lines = input.basket.lines;
  const n = lines.length;
  const remaining = floor.remaining;
  for (let l = 0; l < n; l++) remaining[l] = lines[l]!.unitPriceMinor;
  const product = floor.product;
  for (let k = 0; k < product.length; k++) {
    const p = product[k]!;
    for (let l = 0; l < n; l++) {
      const line = lines[l]!;
      if (!p.skus.has(line.sku)) continue;
      const left = remaining[l]!;
      if (left <= 0) continue;
      const off = percentHalfEven(line.unitPriceMinor, p.bps);
      remaining[l] = off < left ? left - off : 0;
    }
  }
  let gross = 0;
  let net = 0;
  for (let l = 0; l < n; l++) {
    const line = lines[l]!;
    gross += line.unitPriceMinor * line.quantity;
    net += remaining[l]! * line.quantity;
  }
  const cart = floor.cart;
  for (let k = 0; k < cart.length; k++) {
    const c = cart[k]!;
    if (gross >= c.threshold) net -= percentHalfEven(net, c.bps);
  }
  return gross - net;
}
