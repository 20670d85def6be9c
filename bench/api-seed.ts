// The data of the API benchmark (bench/api.ts): a shop's catalog, the promotions it typically runs,
// its customers, and the baskets its tills send. Written straight to the database with SQL, because
// the benchmark measures pricing and selling, not the admin endpoints. Everything except the
// per-request picks comes from a seeded PRNG, so every run seeds the same shop.
import { validatePromotion } from "../src/domain/validate.js";
import type { Promotion } from "../src/domain/promotion.js";
import type { Queryable } from "../src/store/db.js";
import { int, mulberry32, pick, type Rng } from "./generate.js";

// ---- Catalog: 200 SKUs in 8 departments, each with 2 or 3 sub-categories, and 12 brands.
interface Department {
  readonly id: string;
  readonly skus: number;
  readonly subs: readonly string[];
  /** Price range in minor units. */
  readonly price: readonly [number, number];
}

const DEPARTMENTS: readonly Department[] = [
  { id: "coffee", skus: 10, subs: ["cup", "beans"], price: [180, 1_290] },
  { id: "bakery", skus: 20, subs: ["bread", "pastry"], price: [90, 450] },
  { id: "dairy", skus: 25, subs: ["milk", "cheese", "yogurt"], price: [79, 890] },
  { id: "produce", skus: 40, subs: ["fruit", "vegetables"], price: [49, 599] },
  { id: "snacks", skus: 30, subs: ["chips", "sweets", "nuts"], price: [99, 549] },
  { id: "drinks", skus: 30, subs: ["water", "soda", "juice"], price: [39, 399] },
  { id: "household", skus: 25, subs: ["cleaning", "paper"], price: [149, 1_999] },
  { id: "personal-care", skus: 20, subs: ["hair", "body"], price: [199, 1_499] },
];
export const BRANDS = 12;

export interface Item {
  readonly sku: string;
  readonly priceMinor: number;
  readonly categories: readonly string[];
  readonly brand: string;
}

export function makeCatalog(seed = 7): Item[] {
  const rng = mulberry32(seed);
  const items: Item[] = [];
  for (const d of DEPARTMENTS) {
    for (let i = 0; i < d.skus; i++) {
      const sub = d.subs[i % d.subs.length]!;
      // Log-uniform in the department's range, rounded to a price ending in 9.
      const [lo, hi] = d.price;
      const raw = Math.exp(Math.log(lo) + rng() * (Math.log(hi) - Math.log(lo)));
      items.push({
        sku: `${d.id.toUpperCase()}-${sub.toUpperCase()}-${String(i).padStart(2, "0")}`,
        priceMinor: Math.max(9, Math.round(raw / 10) * 10 - 1),
        categories: [d.id, `${d.id}/${sub}`],
        brand: `brand-${int(rng, 0, BRANDS - 1)}`,
      });
    }
  }
  return items;
}

// ---- Customers c-0 … c-9999: a third in the loyalty club (a quarter of those gold), a tenth "vip".
export const CUSTOMERS = 10_000;

// ---- Promotions: ~30 that a grocery chain runs at once. Most touch a department; a few never apply
// at a till (online only, a code nobody presents, ended), as in a real set.
const START = "2026-01-01T00:00:00Z";
const scope = (...categories: string[]) => ({ include: [{ kind: "categories", categories }] });
const brandScope = (...brands: string[]) => ({ include: [{ kind: "brands", brands }] });
const every = (s: object, value: object, extra: object = {}) => ({
  kind: "products",
  target: { kind: "selector", scope: s, quantity: { kind: "all" } },
  value,
  ...extra,
});
const pct = (bps: number) => ({ kind: "percentage", bps });

export function makePromotions(catalog: readonly Item[]): Promotion[] {
  const skusOf = (category: string): string[] =>
    catalog.filter((i) => i.categories.includes(category)).map((i) => i.sku);
  const raw: Record<string, unknown>[] = [
    // Cart percentages over a threshold: 5 % over 30.00; 10 % over 80.00 replaces every other cart benefit.
    {
      id: "cart-5-over-30",
      name: "5% off baskets over 30.00",
      conditions: [{ kind: "cart_amount", op: "gte", amountMinor: 3_000 }],
      benefit: { kind: "cart", value: pct(500) },
    },
    {
      id: "cart-10-over-80",
      name: "10% off baskets over 80.00",
      priority: 10,
      conditions: [{ kind: "cart_amount", op: "gte", amountMinor: 8_000 }],
      benefit: { kind: "cart", value: pct(1_000) },
      stacking: { exclusiveAtCartLevel: true },
    },
    {
      id: "club-3-off-50",
      name: "Club: 3.00 off baskets over 50.00",
      type: "loyalty",
      eligibility: { kind: "members", programId: "club" },
      conditions: [{ kind: "cart_amount", op: "gte", amountMinor: 5_000 }],
      benefit: { kind: "cart", value: { kind: "fixed_amount", amountMinor: 300 } },
    },
    {
      id: "six-items-2-off",
      name: "2.00 off six items or more",
      conditions: [{ kind: "item_count", op: "gte", count: 6, counting: "distinct_skus" }],
      benefit: { kind: "cart", value: { kind: "fixed_amount", amountMinor: 200 } },
    },
    // Category percentages.
    { id: "snacks-20", name: "20% off snacks", benefit: every(scope("snacks"), pct(2_000)) },
    { id: "dairy-10", name: "10% off dairy", benefit: every(scope("dairy"), pct(1_000)) },
    {
      id: "household-15-over-20",
      name: "15% off household when you spend 20.00 on it",
      conditions: [{ kind: "line_amount", scope: scope("household"), op: "gte", amountMinor: 2_000 }],
      benefit: { kind: "products", target: { kind: "selected_in_condition" }, value: pct(1_500) },
    },
    {
      id: "bakery-10-over-15",
      name: "10% off bakery when you spend 15.00 on it",
      conditions: [{ kind: "line_amount", scope: scope("bakery"), op: "gte", amountMinor: 1_500 }],
      benefit: { kind: "products", target: { kind: "selected_in_condition" }, value: pct(1_000) },
    },
    { id: "brand-3-25", name: "25% off brand 3", benefit: every(brandScope("brand-3"), pct(2_500)) },
    {
      id: "brand-5-1-off",
      name: "1.00 off every brand 5 item",
      benefit: every(
        brandScope("brand-5"),
        { kind: "fixed_amount", amountMinor: 100 },
        { repeat: { per: 1, kpi: "quantity" } },
      ),
    },
    // A free coffee, five times per customer, ever.
    {
      id: "free-coffee",
      name: "A free coffee (five per customer)",
      benefit: {
        kind: "products",
        target: {
          kind: "selector",
          scope: scope("coffee/cup"),
          quantity: { kind: "custom", units: 1 },
        },
        value: { kind: "exact_price", amountMinor: 0 },
      },
      limits: [{ level: "customer", measure: "times", max: 5, window: { kind: "lifetime" } }],
    },
    // A national campaign capped at a million times: every sale with bread locks the same counter.
    {
      id: "bread-50c-million",
      name: "0.50 off every bread (a million times)",
      benefit: every(
        scope("bakery/bread"),
        { kind: "fixed_amount", amountMinor: 50 },
        { repeat: { per: 1, kpi: "quantity" } },
      ),
      limits: [{ level: "global", measure: "times", max: 1_000_000, window: { kind: "lifetime" } }],
    },
    // Bundles.
    {
      id: "drinks-3-for-5",
      name: "Any 3 drinks for 5.00",
      conditions: [{ kind: "line_quantity", scope: scope("drinks"), op: "gte", quantity: 3 }],
      benefit: {
        kind: "products",
        target: { kind: "selected_in_condition" },
        value: { kind: "fixed_target_amount", amountMinor: 500 },
        repeat: { per: 3, kpi: "quantity" },
        unitOrder: "most_expensive_first",
      },
    },
    {
      id: "coffee-pastry-combo",
      name: "A coffee and a pastry for 3.50",
      benefit: {
        kind: "products",
        target: {
          kind: "combo",
          blocks: [
            { skus: skusOf("coffee/cup"), quantity: 1 },
            { skus: skusOf("bakery/pastry"), quantity: 1 },
          ],
        },
        value: { kind: "fixed_target_amount", amountMinor: 350 },
      },
      stacking: { exclusiveForProducts: true },
    },
    {
      id: "brand-7-2-for-3",
      name: "Any 2 brand 7 items for 3.00",
      conditions: [{ kind: "line_quantity", scope: brandScope("brand-7"), op: "gte", quantity: 2 }],
      benefit: {
        kind: "products",
        target: { kind: "selected_in_condition" },
        value: { kind: "fixed_target_amount", amountMinor: 300 },
        repeat: { per: 2, kpi: "quantity" },
      },
    },
    // Buy n, get one.
    {
      id: "care-buy-2-get-1",
      name: "Personal care: buy 2, get one free",
      conditions: [{ kind: "line_quantity", scope: scope("personal-care"), op: "gte", quantity: 2 }],
      benefit: {
        kind: "products",
        target: { kind: "selector", scope: scope("personal-care"), quantity: { kind: "custom", units: 1 } },
        value: { kind: "free_product" },
      },
    },
    {
      id: "milk-second-half",
      name: "Second milk half price",
      conditions: [{ kind: "line_quantity", scope: scope("dairy/milk"), op: "gte", quantity: 1 }],
      benefit: {
        kind: "products",
        target: { kind: "selector", scope: scope("dairy/milk"), quantity: { kind: "custom", units: 1 } },
        value: pct(5_000),
      },
    },
    {
      id: "water-29c",
      name: "Still water at 0.29",
      benefit: {
        kind: "products",
        target: { kind: "sku", sku: skusOf("drinks/water")[0]!, quantity: { kind: "all" } },
        value: { kind: "exact_price", amountMinor: 29 },
      },
    },
    // Audiences: club members, gold tier, vip segment.
    {
      id: "club-dairy-5",
      name: "Club: 5% off dairy",
      type: "loyalty",
      eligibility: { kind: "members", programId: "club" },
      benefit: every(scope("dairy"), pct(500)),
    },
    {
      id: "gold-care-10",
      name: "Gold: 10% off personal care",
      type: "loyalty",
      eligibility: { kind: "tiers", programId: "club", tierIds: ["gold"] },
      benefit: every(scope("personal-care"), pct(1_000)),
    },
    {
      id: "vip-5-all",
      name: "VIP: 5% off everything",
      eligibility: { kind: "segments", segmentIds: ["vip"] },
      benefit: every({ include: [] }, pct(500)),
    },
    // Limits other than the two above: a monthly discount budget per customer.
    {
      id: "household-budget",
      name: "30% off cleaning, up to 10.00 a month",
      benefit: every(scope("household/cleaning"), pct(3_000)),
      limits: [
        {
          level: "customer",
          measure: "discount",
          max: 1_000,
          window: { kind: "fixed", unit: "calendar_months", every: 1 },
        },
      ],
    },
    // Schedules: weekends, a daily happy hour, one that has ended, one that has not started.
    {
      id: "weekend-produce",
      name: "Weekend: 20% off fruit",
      schedule: { startsAt: START, recurrence: { kind: "days_of_week", days: [6, 7] } },
      benefit: every(scope("produce/fruit"), pct(2_000)),
    },
    {
      id: "happy-hour",
      name: "Happy hour: half-price coffee",
      schedule: { startsAt: START, dailyWindow: { startTime: "16:00", durationHours: 2 } },
      benefit: every(scope("coffee/cup"), pct(5_000)),
    },
    {
      id: "summer-ended",
      name: "Summer: 30% off juice",
      schedule: { startsAt: START, endsAt: "2026-09-01T00:00:00Z" },
      benefit: every(scope("drinks/juice"), pct(3_000)),
    },
    {
      id: "christmas-soon",
      name: "Christmas: 20% off sweets",
      schedule: { startsAt: "2026-12-24T00:00:00Z" },
      benefit: every(scope("snacks/sweets"), pct(2_000)),
    },
    // Never at a till: online only, and a code nobody presents.
    {
      id: "online-paper-10",
      name: "Online: 10% off paper",
      scope: { channels: ["online"] },
      benefit: every(scope("household/paper"), pct(1_000)),
    },
    {
      id: "code-nuts-25",
      name: "NUTS25: 25% off nuts",
      type: "code",
      benefit: every(scope("snacks/nuts"), pct(2_500)),
      limits: [{ level: "code", measure: "transactions", max: 1_000, window: { kind: "lifetime" } }],
    },
    // Produce and bread: a percentage over and above a spend.
    {
      id: "veg-over-5",
      name: "15% off vegetables when you spend 5.00 on fruit",
      conditions: [{ kind: "line_amount", scope: scope("produce/fruit"), op: "gte", amountMinor: 500 }],
      benefit: every(scope("produce/vegetables"), pct(1_500)),
    },
    {
      id: "cheese-3-for-2",
      name: "Cheese: 3 for the price of 2",
      conditions: [{ kind: "line_quantity", scope: scope("dairy/cheese"), op: "gte", quantity: 3 }],
      benefit: {
        kind: "products",
        target: { kind: "selected_in_condition" },
        value: pct(3_333),
        repeat: { per: 3, kpi: "quantity" },
      },
    },
  ];
  return raw.map((definition) => {
    const checked = validatePromotion({
      schedule: { startsAt: START },
      conditions: [],
      type: "pos",
      ...definition,
    });
    if (!checked.ok)
      throw new Error(`invalid promotion ${String(definition["id"])}: ${JSON.stringify(checked.issues)}`);
    return checked.value;
  });
}

/** Codes of the promotions of type "code" (nobody presents them: they only have to exist). */
export const PROMOTION_CODES: Readonly<Record<string, readonly string[]>> = { "code-nuts-25": ["NUTS25"] };

/** Writes the catalog, the customers and the promotions, and bumps the promotions version. */
export async function seed(
  q: Queryable,
  workspaceId: string,
  catalog: readonly Item[],
  promotions: readonly Promotion[],
): Promise<void> {
  await q.query(
    `insert into catalog_items (workspace_id, sku, name, price_minor, categories, brand)
     select $1, i.sku, i.sku, i.price, string_to_array(i.categories, ','), i.brand
       from unnest($2::text[], $3::bigint[], $4::text[], $5::text[]) as i(sku, price, categories, brand)`,
    [
      workspaceId,
      catalog.map((i) => i.sku),
      catalog.map((i) => i.priceMinor),
      catalog.map((i) => i.categories.join(",")),
      catalog.map((i) => i.brand),
    ],
  );
  // Every third customer is in the club (every twelfth gold); every tenth is vip.
  await q.query(
    `insert into customers (workspace_id, id, memberships, segment_ids)
     select $1, 'c-' || n,
            case when n % 12 = 0 then '[{"programId":"club","tierId":"gold"}]'::jsonb
                 when n % 3 = 0 then '[{"programId":"club","tierId":"silver"}]'::jsonb
                 else '[]'::jsonb end,
            case when n % 10 = 1 then array['vip'] else array[]::text[] end
       from generate_series(0, $2::int - 1) as n`,
    [workspaceId, CUSTOMERS],
  );
  for (const p of promotions) {
    await q.query(
      `insert into promotions (workspace_id, id, name, status, definition, published_at)
       values ($1, $2, $3, 'published', $4, now())`,
      [workspaceId, p.id, p.name, p],
    );
    for (const code of PROMOTION_CODES[p.id] ?? []) {
      await q.query(`insert into promotion_codes (workspace_id, code, promotion_id) values ($1, $2, $3)`, [
        workspaceId,
        code,
        p.id,
      ]);
    }
  }
  await q.query(`update workspaces set promotions_version = promotions_version + 1 where id = $1`, [
    workspaceId,
  ]);
}

// ---- Requests: baskets of 3–8 distinct SKUs (quantity 1 mostly, up to 3), a random customer.
export interface RequestLine {
  readonly id: string;
  readonly sku: string;
  readonly quantity: number;
}

export interface BasketBody {
  readonly customerId: string;
  readonly channel: "pos";
  readonly lines: RequestLine[];
}

export function basketMaker(catalog: readonly Item[], rng: Rng): () => BasketBody {
  const skus = catalog.map((i) => i.sku);
  return () => {
    const count = int(rng, 3, 8);
    const chosen = new Set<string>();
    while (chosen.size < count) chosen.add(pick(rng, skus));
    const lines = [...chosen].map((sku, i) => {
      const r = rng();
      return { id: String(i + 1), sku, quantity: r < 0.7 ? 1 : r < 0.9 ? 2 : 3 };
    });
    return { customerId: `c-${int(rng, 0, CUSTOMERS - 1)}`, channel: "pos", lines };
  };
}
