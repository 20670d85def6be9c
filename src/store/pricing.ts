// The reads that pricing needs: catalog facts of the basket's SKUs, the store, the customer, the codes
// presented, the customer's wallet, and the published promotions. Each is one query keyed by workspace.
import type { Membership } from "../domain/basket.js";
import type { ScalarValue } from "../domain/loyalty/definitions.js";
import type { ProfileState } from "../domain/loyalty/state.js";
import type { Promotion } from "../domain/promotion.js";
import type { Queryable } from "./db.js";
import type { CounterRow } from "./limits.js";
import type { WalletFact } from "./wallet.js";
import type { WorkspaceRow } from "./workspaces.js";

export interface CatalogFacts {
  readonly sku: string;
  readonly name: string;
  readonly priceMinor: number;
  readonly categories: string[];
  readonly brand: string | null;
  readonly attributes: Record<string, string>;
}

export async function loadCatalogFacts(
  q: Queryable,
  workspaceId: string,
  skus: readonly string[],
): Promise<Map<string, CatalogFacts>> {
  const { rows } = await q.query<CatalogFacts>(
    `select sku, name, price_minor as "priceMinor", categories, brand, attributes
       from catalog_items where workspace_id = $1 and sku = any($2::text[])`,
    [workspaceId, skus],
  );
  return new Map(rows.map((r) => [r.sku, r]));
}

export interface StoreFacts {
  readonly conceptId: string | null;
  readonly zoneIds: string[];
}

export async function loadStoreFacts(
  q: Queryable,
  workspaceId: string,
  storeId: string,
): Promise<StoreFacts | null> {
  const { rows } = await q.query<StoreFacts>(
    `select concept_id as "conceptId", zone_ids as "zoneIds" from stores where workspace_id = $1 and id = $2`,
    [workspaceId, storeId],
  );
  return rows[0] ?? null;
}

export interface CustomerFacts {
  readonly id: string;
  readonly memberships: Membership[];
  readonly segmentIds: string[];
}

/** The profile as the loyalty model reads it: attributes and the stored aggregate state. */
export interface ProfileRow {
  readonly attributes: Record<string, ScalarValue>;
  readonly state: ProfileState | null;
  readonly tiers: Record<string, string>;
  /** 0: no state row yet. */
  readonly version: number;
  /**
   * False only when there is no state row and no event either: the profile's state is then the empty
   * one, with no need to read its events. (A workspace without a loyalty model inserts events without
   * writing states, so a missing row alone does not say that.)
   */
  readonly hasEvents: boolean;
}

export async function loadCustomerFacts(
  q: Queryable,
  workspaceId: string,
  customerId: string,
): Promise<CustomerFacts | null> {
  const { rows } = await q.query<CustomerFacts>(
    `select id, memberships, segment_ids as "segmentIds" from customers where workspace_id = $1 and id = $2`,
    [workspaceId, customerId],
  );
  return rows[0] ?? null;
}

export async function resolveCodes(
  q: Queryable,
  workspaceId: string,
  codes: readonly string[],
): Promise<{ code: string; promotionId: string }[]> {
  const { rows } = await q.query<{ code: string; promotionId: string }>(
    `select code, promotion_id as "promotionId" from promotion_codes where workspace_id = $1 and code = any($2::text[])`,
    [workspaceId, codes],
  );
  return rows;
}

export async function loadPublishedPromotions(q: Queryable, workspaceId: string): Promise<Promotion[]> {
  const { rows } = await q.query<{ definition: Promotion }>(
    `select definition from promotions where workspace_id = $1 and status = 'published' order by id`,
    [workspaceId],
  );
  return rows.map((r) => r.definition);
}

export async function loadPromotionDefinition(
  q: Queryable,
  workspaceId: string,
  promotionId: string,
): Promise<{ definition: Promotion; status: string } | null> {
  const { rows } = await q.query<{ definition: Promotion; status: string }>(
    `select definition, status from promotions where workspace_id = $1 and id = $2`,
    [workspaceId, promotionId],
  );
  return rows[0] ?? null;
}

/** Everything pricing reads, fetched in one round trip. */
export interface PricingFacts {
  readonly workspace: WorkspaceRow;
  readonly catalog: Map<string, CatalogFacts>;
  readonly customer: CustomerFacts | null;
  /** The customer's attributes and loyalty state (services/loyalty.ts evaluates them). */
  readonly profile: ProfileRow | null;
  readonly store: StoreFacts | null;
  readonly codes: { code: string; promotionId: string }[];
  /** The workspace's points rules as stored (services/points-rules.ts reads them), or null. */
  readonly pointsRules: unknown;
  /** The customer's wallet entries that may still apply (issued or active); expiry is the service's. */
  readonly wallet: WalletFact[];
  /** Seed 002: the customer's chosen products per personalized promotion (customer_product_lists). */
  readonly productChoices: { promotionId: string; skus: string[] }[];
  /**
   * The counters of the published promotions whose subject is global, the customer or one of the
   * basket's codes: every counter pricing may need, so none is read afterwards (a missing one is
   * unused). Not locked: a sale checks them again at commit.
   */
  readonly counters: CounterRow[];
}

export interface SaleClaim {
  readonly saleId: string;
  readonly transactionId: string;
  readonly requestHash: Buffer;
  readonly occurredAtMs: number;
}

/**
 * Reads what pricing needs in one statement (the sale path is round-trip bound). With a claim, the
 * same statement first claims the sale's transaction id and creates a bare profile for a customer
 * the server has not seen: `claimed` false means another sale holds the id (see claimSale).
 */
export async function loadPricingFacts(
  q: Queryable,
  workspaceId: string,
  wanted: { skus: readonly string[]; customerId?: string; storeId?: string; codes: readonly string[] },
  claim?: SaleClaim,
): Promise<(PricingFacts & { claimed: boolean }) | null> {
  const { rows } = await q.query<{
    claimed: number;
    workspace: (Omit<WorkspaceRow, "createdAt"> & { createdAt: string }) | null;
    items: CatalogFacts[];
    customer: (CustomerFacts & { profile: ProfileRow }) | null;
    store: StoreFacts | null;
    codes: { code: string; promotionId: string }[];
    pointsRules: unknown;
    wallet: WalletFact[];
    productChoices: { promotionId: string; skus: string[] }[];
    counters: (Omit<CounterRow, "cycleStart"> & { cycleStart: string })[];
  }>({
    name: "till_pricing_facts",
    text: `with claim as (
         insert into sales (workspace_id, id, transaction_id, request_hash, occurred_at)
         select $1, $2, $3, $4, $5 where $2::text is not null
         on conflict (workspace_id, transaction_id) do nothing returning id
       ), new_customer as (
         insert into customers (workspace_id, id)
         select $1, $6 where $6::text is not null and $2::text is not null
         on conflict do nothing
       )
       select (select count(*)::int from claim) as claimed,
         (select row_to_json(w) from (
            select id, name, currency, time_zone as "timeZone", cart_stacking as "cartStacking",
                   product_stacking as "productStacking", active_promotions_max as "activePromotionsMax",
                   promotions_version as "promotionsVersion", loyalty_version as "loyaltyVersion",
                   created_at as "createdAt"
              from workspaces where id = $1) w) as workspace,
         (select coalesce(json_agg(i), '[]') from (
            select sku, name, price_minor as "priceMinor", categories, brand, attributes
              from catalog_items where workspace_id = $1 and sku = any($7::text[])) i) as items,
         (select row_to_json(c) from (
            select c.id, c.memberships, c.segment_ids as "segmentIds",
                   json_build_object('attributes', c.attributes, 'state', ps.state,
                     'tiers', coalesce(ps.tiers, '{}'), 'version', coalesce(ps.version, 0),
                     'hasEvents', ps.customer_id is not null or exists (
                        select 1 from events e where e.workspace_id = c.workspace_id and e.customer_id = c.id)
                   ) as profile
              from customers c left join profile_states ps
                on ps.workspace_id = c.workspace_id and ps.customer_id = c.id
             where c.workspace_id = $1 and c.id = $6) c) as customer,
         (select row_to_json(s) from (
            select concept_id as "conceptId", zone_ids as "zoneIds" from stores
             where workspace_id = $1 and id = $8) s) as store,
         (select coalesce(json_agg(pc), '[]') from (
            select code, promotion_id as "promotionId" from promotion_codes
             where workspace_id = $1 and code = any($9::text[])) pc) as codes,
         (select coalesce(json_agg(we), '[]') from (
            select promotion_id as "promotionId", state, issued_at as "issuedAt",
                   earned_at as "earnedAt", expires_at as "expiresAt"
              from wallet_entries
             where workspace_id = $1 and customer_id = $6 and state in ('issued', 'active')) we) as wallet,
         (select coalesce(json_agg(pl), '[]') from (
            select promotion_id as "promotionId", skus from customer_product_lists
             where workspace_id = $1 and customer_id = $6) pl) as "productChoices",
         (select rules from points_rules where workspace_id = $1) as "pointsRules",
         (select coalesce(json_agg(lc), '[]') from (
            select c.promotion_id as "promotionId", c.rule, c.subject, c.cycle_start as "cycleStart", c.used
              from limit_counters c
              join promotions p on p.workspace_id = c.workspace_id and p.id = c.promotion_id
             where c.workspace_id = $1 and p.status = 'published'
               and c.subject = any(array_cat(array['', $6::text], $9::text[]))) lc) as counters`,
    values: [
      workspaceId,
      claim?.saleId ?? null,
      claim?.transactionId ?? null,
      claim?.requestHash ?? null,
      claim ? new Date(claim.occurredAtMs) : null,
      wanted.customerId ?? null,
      wanted.skus,
      wanted.storeId ?? null,
      wanted.codes,
    ],
  });
  const row = rows[0]!;
  if (row.workspace === null) return null;
  return {
    claimed: row.claimed === 1,
    workspace: { ...row.workspace, createdAt: new Date(row.workspace.createdAt) },
    catalog: new Map(row.items.map((i) => [i.sku, i])),
    customer:
      row.customer === null
        ? null
        : { id: row.customer.id, memberships: row.customer.memberships, segmentIds: row.customer.segmentIds },
    profile: row.customer?.profile ?? null,
    store: row.store,
    codes: row.codes,
    wallet: row.wallet,
    productChoices: row.productChoices,
    pointsRules: row.pointsRules,
    counters: row.counters.map((c) => ({ ...c, cycleStart: new Date(c.cycleStart) })),
  };
}
