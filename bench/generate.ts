// Deterministic synthetic data for the engine benchmark: a catalog, promotion sets ("dense" and
// "sparse") and baskets. Everything comes from a seeded PRNG (mulberry32), never Math.random, so two
// runs price exactly the same baskets against exactly the same promotions.
//
// The catalog has 8 departments. Baskets only ever hold products of the 6 "hot" departments, one
// department per basket (basket i shops in department i % 6). Departments 6 and 7 are "cold": their
// SKUs, leaf categories, brands and ranges never appear in a basket.
//   dense:  every promotion is anchored in one hot department (uniformly), through a department-wide
//           scope in its condition or its benefit, so a basket touches the ~1/6 of the promotions of
//           its department, plus the ~2 % that have no product scope (cart amount thresholds).
//   sparse: a fixed core of 9 promotions (3 cart amount thresholds with no product scope, one
//           promotion per hot department) that is the same for every size; every other promotion is
//           anchored in a cold department, so no basket touches more than a handful.
import type { BasketLine } from "../src/domain/basket.js";
import type {
  Benefit,
  Condition,
  ProductScope,
  Promotion,
  Schedule,
  Selector,
} from "../src/domain/promotion.js";
import type { EvaluationInput } from "../src/engine/index.js";

// ---- Seeded randomness.
export type Rng = () => number;

/** mulberry32: a tiny 32-bit PRNG, good enough for synthetic data and fully reproducible. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integer in [lo, hi]. */
export const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
export const pick = <T>(rng: Rng, list: readonly T[]): T => list[Math.floor(rng() * list.length)]!;
const chance = (rng: Rng, p: number): boolean => rng() < p;

/** `count` distinct items of `list` (count ≤ list.length). */
function sample<T>(rng: Rng, list: readonly T[], count: number): T[] {
  const copy = [...list];
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rng() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, count);
}

/** Log-uniform integer in [lo, hi]: thresholds and prices spread over orders of magnitude. */
function logUniform(rng: Rng, lo: number, hi: number): number {
  return Math.round(Math.exp(Math.log(lo) + rng() * (Math.log(hi) - Math.log(lo))));
}

// ---- Catalog.
export const CATALOG_SIZE = { skus: 5_000, categories: 200, brands: 50, departments: 8, hotDepartments: 6 };
const COLORS = ["black", "white", "red", "blue", "green", "grey", "navy", "beige", "pink", "brown"];
const SIZES = ["XS", "S", "M", "L", "XL", "one-size"];
const RANGES_PER_DEPARTMENT = 4;
const POPULAR_PER_DEPARTMENT = 20;

export interface Product {
  readonly sku: string;
  readonly department: number;
  readonly categories: readonly string[];
  readonly brand: string;
  readonly price: number;
  readonly attributes: Readonly<Record<string, string>>;
}

export interface Department {
  readonly index: number;
  /** Department label, carried by every product of the department as its first category. */
  readonly label: string;
  /** Leaf categories of the department. */
  readonly categories: readonly string[];
  readonly brands: readonly string[];
  /** Values of the department-specific "range" attribute. */
  readonly ranges: readonly string[];
  readonly products: readonly Product[];
  /** The products baskets pick most often (30 % of the lines). */
  readonly popular: readonly Product[];
}

export interface Catalog {
  readonly products: readonly Product[];
  readonly departments: readonly Department[];
}

const pad = (n: number, width: number): string => String(n).padStart(width, "0");

export function makeCatalog(seed = 1): Catalog {
  const rng = mulberry32(seed);
  const { skus, categories, brands, departments } = CATALOG_SIZE;
  const depts = Array.from({ length: departments }, (_, d) => ({
    index: d,
    label: `dept-${d}`,
    categories: [] as string[],
    brands: [] as string[],
    ranges: Array.from({ length: RANGES_PER_DEPARTMENT }, (_, k) => `dept-${d}/range-${k}`),
    products: [] as Product[],
    popular: [] as Product[],
  }));
  for (let c = 0; c < categories; c++) depts[c % departments]!.categories.push(`cat-${pad(c, 3)}`);
  for (let b = 0; b < brands; b++) depts[b % departments]!.brands.push(`brand-${pad(b, 2)}`);
  const products: Product[] = [];
  for (let i = 0; i < skus; i++) {
    const dept = depts[int(rng, 0, departments - 1)]!;
    const price = Math.floor(logUniform(rng, 99, 19_999) / 10) * 10 + 9;
    const product: Product = {
      sku: `SKU-${pad(i, 5)}`,
      department: dept.index,
      categories: [dept.label, pick(rng, dept.categories)],
      brand: pick(rng, dept.brands),
      price,
      attributes: { color: pick(rng, COLORS), size: pick(rng, SIZES), range: pick(rng, dept.ranges) },
    };
    products.push(product);
    dept.products.push(product);
  }
  for (const dept of depts) dept.popular.push(...dept.products.slice(0, POPULAR_PER_DEPARTMENT));
  return { products, departments: depts };
}

// ---- Baskets.
export const SETTINGS = { currency: "EUR", timeZone: "Europe/Paris" } as const;
/** A Tuesday, 13:00 in Paris. */
export const AT = "2026-03-10T12:00:00Z";
export const INPUTS_PER_CASE = 64;

export function makeInputs(
  catalog: Catalog,
  lines: number,
  count = INPUTS_PER_CASE,
  seed = 7,
): EvaluationInput[] {
  const rng = mulberry32(seed * 1_000_003 + lines);
  const inputs: EvaluationInput[] = [];
  for (let i = 0; i < count; i++) {
    const dept = catalog.departments[i % CATALOG_SIZE.hotDepartments]!;
    const chosen = new Set<Product>();
    while (chosen.size < lines) {
      chosen.add(chance(rng, 0.3) ? pick(rng, dept.popular) : pick(rng, dept.products));
    }
    const basketLines: BasketLine[] = [...chosen].map((p, k) => ({
      id: String(k + 1),
      sku: p.sku,
      quantity: chance(rng, 0.7) ? 1 : chance(rng, 0.67) ? 2 : int(rng, 3, 6),
      unitPriceMinor: p.price,
      categories: [...p.categories],
      brand: p.brand,
      attributes: { ...p.attributes },
    }));
    inputs.push({
      basket: {
        lines: basketLines,
        storeId: `S${i % 5}`,
        channel: "pos",
        tenders: [{ mode: "card", identifier: i % 2 === 0 ? "Visa" : "Amex" }],
      },
      customer: {
        customerId: `C${pad(i, 4)}`,
        memberships: i % 2 === 0 ? [{ programId: "club", tierId: i % 4 === 0 ? "gold" : "silver" }] : [],
        segmentIds: i % 3 === 0 ? ["vip"] : [],
      },
      settings: SETTINGS,
      at: AT,
    });
  }
  return inputs;
}

// ---- Promotions.
export type Mix = "dense" | "sparse";

/** Kinds of promotion and their weights (out of ~90). */
const KINDS = [
  ["product_percentage", 30],
  ["product_fixed", 12],
  ["cart", 15],
  ["bundle", 12],
  ["buy_x_get_y", 12],
  ["combo", 4],
  ["exact_price", 3],
  ["exclusive", 1.5],
] as const;
export type Kind = (typeof KINDS)[number][0];
const KIND_TOTAL = KINDS.reduce((sum, [, w]) => sum + w, 0);

function pickKind(rng: Rng): Kind {
  let r = rng() * KIND_TOTAL;
  for (const [kind, weight] of KINDS) {
    if ((r -= weight) < 0) return kind;
  }
  return KINDS[0][0];
}

const PRIORITIES = [0, 0, 0, 0, 0, 10, 10, 20, 50, 100, -10];

/** A scope that holds every product of the department, written in one of four ways. */
function departmentScope(rng: Rng, d: Department): ProductScope {
  const r = rng();
  const include: Selector[] =
    r < 0.4
      ? [{ kind: "categories", categories: [d.label] }]
      : r < 0.6
        ? [{ kind: "brands", brands: [...d.brands] }]
        : r < 0.8
          ? [{ kind: "attribute", name: "range", values: [...d.ranges] }]
          : [{ kind: "categories", categories: [...d.categories] }];
  return chance(rng, 0.1)
    ? { include, exclude: [{ kind: "brands", brands: [pick(rng, d.brands)] }] }
    : { include };
}

/** A scope that holds part of the department: a leaf category or two, a brand, a range or a few SKUs. */
function narrowScope(rng: Rng, d: Department): ProductScope {
  const r = rng();
  const include: Selector[] =
    r < 0.4
      ? [{ kind: "categories", categories: sample(rng, d.categories, int(rng, 1, 2)) }]
      : r < 0.65
        ? [{ kind: "brands", brands: [pick(rng, d.brands)] }]
        : r < 0.85
          ? [{ kind: "attribute", name: "range", values: [pick(rng, d.ranges)] }]
          : [{ kind: "skus", skus: sample(rng, d.popular, int(rng, 1, 5)).map((p) => p.sku) }];
  return { include };
}

const lineQuantity = (scope: ProductScope, quantity: number): Condition => ({
  kind: "line_quantity",
  scope,
  op: "gte",
  quantity,
});
const lineAmount = (scope: ProductScope, amountMinor: number): Condition => ({
  kind: "line_amount",
  scope,
  op: "gte",
  amountMinor,
});
const percentage = (rng: Rng, values: readonly number[]) => ({
  kind: "percentage" as const,
  bps: pick(rng, values),
});

interface Shape {
  readonly conditions: Condition[];
  readonly benefit: Benefit;
  readonly exclusiveForProducts?: boolean;
}

/**
 * The conditions and benefit of one promotion anchored in department `d`. Every kind reaches the
 * department through a department-wide scope (in a condition or in the benefit), except combos and
 * exact prices on popular SKUs (they touch the baskets holding those SKUs) and `universal` cart
 * amount thresholds (they touch every basket).
 */
function shapeOf(rng: Rng, kind: Kind, d: Department, universal: boolean): Shape {
  switch (kind) {
    case "product_percentage": {
      const r = rng();
      const value = percentage(rng, [500, 1000, 1500, 2000, 2500, 3000]);
      if (r < 0.35) {
        // "15 % off the department".
        const target = {
          kind: "selector" as const,
          scope: departmentScope(rng, d),
          quantity: { kind: "all" as const },
        };
        return { conditions: [], benefit: { kind: "products", target, value } };
      }
      if (r < 0.7) {
        // "Buy 2 of the department, 20 % off them".
        const conditions = [lineQuantity(departmentScope(rng, d), int(rng, 1, 4))];
        return {
          conditions,
          benefit: { kind: "products", target: { kind: "selected_in_condition" }, value },
        };
      }
      // "Spend 40.00 in the department, 25 % off a brand of it" (over and above).
      const conditions = [lineAmount(departmentScope(rng, d), logUniform(rng, 500, 100_000))];
      const target = {
        kind: "selector" as const,
        scope: narrowScope(rng, d),
        quantity: { kind: "all" as const },
      };
      return { conditions, benefit: { kind: "products", target, value } };
    }
    case "product_fixed": {
      const value = { kind: "fixed_amount" as const, amountMinor: int(rng, 5, 50) * 10 };
      const scope = departmentScope(rng, d);
      if (chance(rng, 0.5)) {
        // "2.00 off one item of the department".
        const target = { kind: "selector" as const, scope, quantity: { kind: "custom" as const, units: 1 } };
        return { conditions: [], benefit: { kind: "products", target, value } };
      }
      // "0.50 off each item of the department".
      const target = { kind: "selector" as const, scope, quantity: { kind: "all" as const } };
      return {
        conditions: [],
        benefit: { kind: "products", target, value, repeat: { per: 1, kpi: "quantity" } },
      };
    }
    case "cart": {
      if (universal) {
        // "Spend 80.00, 10 % off the basket": no product scope, every basket looks at it.
        const conditions: Condition[] = [
          { kind: "cart_amount", op: "gte", amountMinor: logUniform(rng, 1_000, 200_000) },
        ];
        return { conditions, benefit: { kind: "cart", value: percentage(rng, [300, 500, 1000, 1500]) } };
      }
      const threshold = logUniform(rng, 500, 100_000);
      const conditions = [lineAmount(departmentScope(rng, d), threshold)];
      if (chance(rng, 0.6)) {
        // "Spend 50.00 in the department, 5 % off the basket".
        return { conditions, benefit: { kind: "cart", value: percentage(rng, [300, 500, 1000]) } };
      }
      // "5.00 off the basket (for every 50.00 spent in the department)".
      const value = { kind: "fixed_amount" as const, amountMinor: int(rng, 1, 20) * 100 };
      const repeat = chance(rng, 0.5) ? { repeat: { per: threshold, kpi: "amount" as const } } : {};
      return { conditions, benefit: { kind: "cart", value, ...repeat } };
    }
    case "bundle": {
      // "Any 3 of the department for 19.99", each group of 3.
      const k = int(rng, 2, 4);
      const conditions = [lineQuantity(departmentScope(rng, d), k)];
      const value = { kind: "fixed_target_amount" as const, amountMinor: k * int(rng, 5, 60) * 100 - 1 };
      const unitOrder = chance(rng, 0.5) ? { unitOrder: "most_expensive_first" as const } : {};
      return {
        conditions,
        benefit: {
          kind: "products",
          target: { kind: "selected_in_condition" },
          value,
          repeat: { per: k, kpi: "quantity" },
          ...unitOrder,
        },
      };
    }
    case "buy_x_get_y": {
      // "Buy 2, get the cheapest one free" or "buy 2 of the department, get this SKU free".
      const n = int(rng, 1, 3);
      const scope = departmentScope(rng, d);
      const conditions = [lineQuantity(scope, n)];
      const custom = { kind: "custom" as const, units: 1 };
      const target = chance(rng, 0.5)
        ? { kind: "selector" as const, scope, quantity: custom }
        : { kind: "sku" as const, sku: pick(rng, d.popular).sku, quantity: custom };
      const repeat = chance(rng, 0.3) ? { repeat: { per: n, kpi: "quantity" as const } } : {};
      return {
        conditions,
        benefit: { kind: "products", target, value: { kind: "free_product" }, ...repeat },
      };
    }
    case "combo": {
      const [a, b, c, e] = sample(rng, d.popular, 4);
      const blocks = [
        { skus: [a!.sku, b!.sku], quantity: 1 },
        { skus: chance(rng, 0.5) ? [c!.sku] : [c!.sku, e!.sku], quantity: 1 },
      ];
      const value = chance(rng, 0.6)
        ? { kind: "fixed_target_amount" as const, amountMinor: int(rng, 10, 200) * 100 }
        : percentage(rng, [1000, 2000]);
      return { conditions: [], benefit: { kind: "products", target: { kind: "combo", blocks }, value } };
    }
    case "exact_price": {
      const product = pick(rng, d.popular);
      const target = { kind: "sku" as const, sku: product.sku, quantity: { kind: "all" as const } };
      const value = { kind: "exact_price" as const, amountMinor: Math.floor((product.price * 8) / 10) };
      return { conditions: [], benefit: { kind: "products", target, value } };
    }
    case "exclusive": {
      // "30 % off this brand, not combinable", once the basket holds something of the department.
      const conditions = [lineQuantity(departmentScope(rng, d), 1)];
      const target = {
        kind: "selector" as const,
        scope: narrowScope(rng, d),
        quantity: { kind: "all" as const },
      };
      const value = percentage(rng, [2000, 3000, 4000, 5000]);
      return { conditions, benefit: { kind: "products", target, value }, exclusiveForProducts: true };
    }
  }
}

const START = "2026-01-01T00:00:00Z";

/** Schedules: mostly plain; some ended, not started, recurring on some weekdays, or in a daily window. */
function scheduleOf(rng: Rng): Schedule {
  const r = rng();
  if (r < 0.03) return { startsAt: START, endsAt: "2026-03-01T00:00:00Z" };
  if (r < 0.04) return { startsAt: "2026-06-01T00:00:00Z" };
  if (r < 0.08) {
    const days = sample(rng, [1, 2, 3, 4, 5, 6, 7], int(rng, 2, 4)).sort((a, b) => a - b);
    return { startsAt: START, recurrence: { kind: "days_of_week", days } };
  }
  if (r < 0.1)
    return {
      startsAt: START,
      dailyWindow: { startTime: pick(rng, ["08:00", "09:30", "17:00"]), durationHours: 4 },
    };
  return { startsAt: START };
}

/** One promotion anchored in department `d`, with the gates a real set has (audiences, stores, limits). */
export function makePromotion(
  rng: Rng,
  id: string,
  d: Department,
  options: { universal: boolean; kind?: Kind },
): Promotion {
  const kind = options.kind ?? pickKind(rng);
  const shape = shapeOf(rng, kind, d, options.universal);
  const loyalty = chance(rng, 0.06);
  const r = rng();
  const eligibility =
    loyalty || r > 0.07
      ? {}
      : r < 0.04
        ? { eligibility: { kind: "segments" as const, segmentIds: ["vip"] } }
        : { eligibility: { kind: "tiers" as const, programId: "club", tierIds: ["gold"] } };
  const s = rng();
  const scope =
    s < 0.05
      ? { scope: { storeIds: ["S1", "S2"] } }
      : s < 0.08
        ? { scope: { channels: ["online" as const] } }
        : {};
  const l = rng();
  const limits =
    l < 0.08
      ? {
          limits: [
            {
              level: "customer" as const,
              measure: "times" as const,
              max: 3,
              window: { kind: "lifetime" as const },
            },
          ],
        }
      : l < 0.13
        ? {
            limits: [
              {
                level: "cart" as const,
                measure: "times" as const,
                max: 2,
                window: { kind: "lifetime" as const },
              },
            ],
          }
        : {};
  return {
    id,
    name: `${kind.replaceAll("_", " ")} ${id}`,
    type: loyalty ? "loyalty" : "pos",
    priority: pick(rng, PRIORITIES),
    schedule: scheduleOf(rng),
    ...eligibility,
    ...scope,
    conditions: shape.conditions,
    benefit: shape.benefit,
    ...limits,
    ...(shape.exclusiveForProducts ? { stacking: { exclusiveForProducts: true } } : {}),
  };
}

/** One dense promotion in 50 is a cart amount threshold with no product scope (every basket looks at it). */
export const DENSE_UNIVERSAL_EVERY = 50;

/** The dense set: each promotion in a random hot department; sets of different sizes share a prefix. */
export function densePromotions(catalog: Catalog, count: number, seed = 101): Promotion[] {
  const rng = mulberry32(seed);
  const hot = catalog.departments.slice(0, CATALOG_SIZE.hotDepartments);
  return Array.from({ length: count }, (_, i) => {
    const universal = i % DENSE_UNIVERSAL_EVERY === DENSE_UNIVERSAL_EVERY / 2;
    return makePromotion(
      rng,
      `d${pad(i, 5)}`,
      pick(rng, hot),
      universal ? { universal, kind: "cart" } : { universal },
    );
  });
}

/** The promotions every sparse set starts with: 3 cart thresholds and one promotion per hot department. */
export const SPARSE_CORE = 9;
const CORE_KINDS: readonly Kind[] = [
  "product_percentage",
  "buy_x_get_y",
  "cart",
  "bundle",
  "product_fixed",
  "product_percentage",
];

/** The sparse set: the same core at every size, then promotions on cold departments only. */
export function sparsePromotions(catalog: Catalog, count: number, seed = 202): Promotion[] {
  const core = mulberry32(seed);
  const promotions: Promotion[] = [];
  const thresholds: [number, number][] = [
    [5_000, 500],
    [20_000, 1000],
    [60_000, 1500],
  ];
  thresholds.forEach(([amountMinor, bps], i) =>
    promotions.push({
      id: `s-core-${i}`,
      name: `spend ${amountMinor / 100}, ${bps / 100} % off`,
      type: "pos",
      schedule: { startsAt: START },
      conditions: [{ kind: "cart_amount", op: "gte", amountMinor }],
      benefit: { kind: "cart", value: { kind: "percentage", bps } },
    }),
  );
  CORE_KINDS.forEach((kind, d) =>
    promotions.push(
      makePromotion(core, `s-core-${3 + d}`, catalog.departments[d]!, { universal: false, kind }),
    ),
  );
  const rng = mulberry32(seed + 1);
  const cold = catalog.departments.slice(CATALOG_SIZE.hotDepartments);
  for (let i = promotions.length; i < count; i++) {
    promotions.push(makePromotion(rng, `s${pad(i, 5)}`, pick(rng, cold), { universal: false }));
  }
  return promotions.slice(0, count);
}

export function makePromotions(catalog: Catalog, mix: Mix, count: number): Promotion[] {
  return mix === "dense" ? densePromotions(catalog, count) : sparsePromotions(catalog, count);
}
