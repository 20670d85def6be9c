// Product scopes, compiled. A scope's include selectors are filed in an index by catalog fact (so a
// basket finds the scopes its lines touch by lookup, never by scanning promotions); its exclude
// selectors become a small index checked only on the lines that were found.
import type { BasketLine } from "../domain/basket.js";
import type { ProductScope, Selector } from "../domain/promotion.js";

const SEP = "\u0001";

const skuKey = (sku: string): string => `s${SEP}${sku}`;
const categoryKey = (category: string): string => `c${SEP}${category}`;
const brandKey = (brand: string): string => `b${SEP}${brand}`;
const attributeKey = (name: string, value: string): string => `a${SEP}${name}${SEP}${value}`;

/**
 * Values filed under catalog facts: SKU, category, brand, attribute name and value. Lookups use the
 * basket line's own strings, so matching a line builds no key and hashes nothing new.
 */
export class ProductIndex<T> {
  readonly skus = new Map<string, T[]>();
  readonly categories = new Map<string, T[]>();
  readonly brands = new Map<string, T[]>();
  readonly attributes = new Map<string, Map<string, T[]>>();

  add(selector: Selector, value: T): void {
    switch (selector.kind) {
      case "skus":
        return selector.skus.forEach((sku) => file(this.skus, sku, value));
      case "categories":
        return selector.categories.forEach((category) => file(this.categories, category, value));
      case "brands":
        return selector.brands.forEach((brand) => file(this.brands, brand, value));
      case "attribute": {
        let values = this.attributes.get(selector.name);
        if (!values) this.attributes.set(selector.name, (values = new Map()));
        for (const v of selector.values) file(values, v, value);
        return;
      }
      default:
        return assertNever(selector);
    }
  }

  /**
   * Writes every list a line's facts are filed under into `into` from index 0 and returns how many
   * (a value may appear in several). `into` is reused across lines: no allocation, no truncation.
   */
  listsFor(line: BasketLine, into: (readonly T[])[]): number {
    let count = 0;
    const bySku = this.skus.get(line.sku);
    if (bySku) into[count++] = bySku;
    if (line.categories && this.categories.size > 0) {
      for (const c of line.categories) {
        const list = this.categories.get(c);
        if (list) into[count++] = list;
      }
    }
    if (line.brand !== undefined && this.brands.size > 0) {
      const list = this.brands.get(line.brand);
      if (list) into[count++] = list;
    }
    if (line.attributes && this.attributes.size > 0) {
      for (const name in line.attributes) {
        const list = this.attributes.get(name)?.get(line.attributes[name]!);
        if (list) into[count++] = list;
      }
    }
    return count;
  }

  /** Whether any of the line's facts is filed here. */
  holds(line: BasketLine): boolean {
    return this.listsFor(line, []) > 0;
  }
}

function file<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else if (list[list.length - 1] !== value) list.push(value);
}

function selectorKeys(selector: Selector): string[] {
  switch (selector.kind) {
    case "skus":
      return selector.skus.map(skuKey);
    case "categories":
      return selector.categories.map(categoryKey);
    case "brands":
      return selector.brands.map(brandKey);
    case "attribute":
      return selector.values.map((v) => attributeKey(selector.name, v));
    default:
      return assertNever(selector);
  }
}

export interface CompiledScope {
  readonly id: number;
  /** No include selector: the scope holds every item (minus excludes). */
  readonly universal: boolean;
  readonly include: readonly Selector[];
  /** The exclude selectors as an index; null when there are none (the common case). */
  readonly exclude: ProductIndex<true> | null;
}

export function compileScope(id: number, scope: ProductScope): CompiledScope {
  const exclude = scope.exclude ?? [];
  let excludeIndex: ProductIndex<true> | null = null;
  if (exclude.length > 0) {
    excludeIndex = new ProductIndex<true>();
    for (const selector of exclude) excludeIndex.add(selector, true);
  }
  return { id, universal: scope.include.length === 0, include: scope.include, exclude: excludeIndex };
}

export function isExcluded(scope: CompiledScope, line: BasketLine): boolean {
  return scope.exclude !== null && scope.exclude.holds(line);
}

/** A line's catalog facts as they were when its scopes were found, and those scopes. */
interface LineScopes {
  readonly brand: string | undefined;
  readonly categories: readonly string[] | undefined;
  readonly attributes: Readonly<Record<string, string>> | undefined;
  readonly attributeCount: number;
  /** Ids of the scopes the line falls in (excludes applied), each once. */
  readonly ids: Int32Array;
}

/**
 * The scopes a line falls in, remembered per SKU across baskets: the same SKUs come back all day,
 * and finding them (a lookup per catalog fact, then the excludes of every scope found) was most of
 * the cost of a basket's context. The basket, not a catalog, is the source of the facts, so an entry
 * serves only a line that carries the same facts; another one replaces it. One cache per compiled
 * index (scope ids mean nothing in another), bounded: cleared when full.
 */
export class LineScopeCache {
  private readonly entries = new Map<string, LineScopes>();

  constructor(
    private readonly find: (line: BasketLine) => Int32Array,
    private readonly entriesMax = 20_000,
  ) {}

  scopesOf(line: BasketLine): Int32Array {
    const known = this.entries.get(line.sku);
    if (known !== undefined && sameFacts(known, line)) return known.ids;
    if (this.entries.size >= this.entriesMax) this.entries.clear();
    const ids = this.find(line);
    const attributes = line.attributes === undefined ? undefined : { ...line.attributes };
    this.entries.set(line.sku, {
      brand: line.brand,
      categories: line.categories === undefined ? undefined : [...line.categories],
      attributes,
      attributeCount: attributes === undefined ? 0 : Object.keys(attributes).length,
      ids,
    });
    return ids;
  }
}

function sameFacts(known: LineScopes, line: BasketLine): boolean {
  if (known.brand !== line.brand) return false;
  const a = known.categories;
  const b = line.categories;
  if (a === undefined || b === undefined) {
    if (a !== b) return false;
  } else {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  }
  const x = known.attributes;
  const y = line.attributes;
  if (x === undefined || y === undefined) return x === y;
  let count = 0;
  for (const name in y) {
    if (!Object.hasOwn(x, name) || x[name] !== y[name]) return false;
    count++;
  }
  return count === known.attributeCount;
}

/** Canonical text of a scope, so equal scopes across promotions compile once. */
export function scopeSignature(scope: ProductScope): string {
  const canon = (list: readonly Selector[] | undefined): string[] =>
    (list ?? []).flatMap(selectorKeys).sort();
  return JSON.stringify([canon(scope.include), scope.include.length === 0, canon(scope.exclude)]);
}

export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
