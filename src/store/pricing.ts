// The reads that pricing needs: catalog facts of the basket's SKUs, the store, the customer, the codes
// presented, and the published promotions. Each is one query keyed by workspace.
import type { Membership } from "../domain/basket.js";
import type { Promotion } from "../domain/promotion.js";
import type { Queryable } from "./db.js";

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

/** A sale may name a customer the server has not seen yet (a new loyalty card): it starts bare. */
export async function ensureCustomer(q: Queryable, workspaceId: string, customerId: string): Promise<void> {
  await q.query(`insert into customers (workspace_id, id) values ($1, $2) on conflict do nothing`, [
    workspaceId,
    customerId,
  ]);
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
