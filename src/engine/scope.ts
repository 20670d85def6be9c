// Product scopes, compiled. A scope's include selectors become index keys (so a basket finds the scopes
// its lines touch by lookup, never by scanning promotions); its exclude selectors become sets checked
// only on the lines that were found.
import type { BasketLine } from "../domain/basket.js";
import type { ProductScope, Selector } from "../domain/promotion.js";

const SEP = "\u0001";

export const skuKey = (sku: string): string => `s${SEP}${sku}`;
const categoryKey = (category: string): string => `c${SEP}${category}`;
const brandKey = (brand: string): string => `b${SEP}${brand}`;
const attributeKey = (name: string, value: string): string => `a${SEP}${name}${SEP}${value}`;

/** The index keys of one basket line: its SKU, categories, brand and attribute values. */
export function lineKeys(line: BasketLine): string[] {
  const keys = [skuKey(line.sku)];
  if (line.categories) for (const c of line.categories) keys.push(categoryKey(c));
  if (line.brand !== undefined) keys.push(brandKey(line.brand));
  if (line.attributes) for (const [name, value] of Object.entries(line.attributes)) keys.push(attributeKey(name, value));
  return keys;
}

export function selectorKeys(selector: Selector): string[] {
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
  readonly includeKeys: readonly string[];
  /** Keys of the exclude selectors; null when there are none (the common case). */
  readonly excludeKeys: ReadonlySet<string> | null;
}

export function compileScope(id: number, scope: ProductScope): CompiledScope {
  const includeKeys = [...new Set(scope.include.flatMap(selectorKeys))];
  const exclude = scope.exclude ?? [];
  return {
    id,
    universal: scope.include.length === 0,
    includeKeys,
    excludeKeys: exclude.length === 0 ? null : new Set(exclude.flatMap(selectorKeys)),
  };
}

export function isExcluded(scope: CompiledScope, keys: readonly string[]): boolean {
  const excluded = scope.excludeKeys;
  if (excluded === null) return false;
  for (const key of keys) if (excluded.has(key)) return true;
  return false;
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
