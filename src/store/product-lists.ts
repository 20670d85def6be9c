// Personalized product lists (seed 002): one row per (workspace, customer, promotion) holding the SKUs
// the customer chose (or staff assigned) for a promotion whose product set is the customer's personal
// list. Every read names the workspace and the customer. Pricing reads the lists in its own single
// statement (store/pricing.ts); this module serves the API and the lock after first apply.
import type { Promotion } from "../domain/promotion.js";
import type { Queryable, Tx } from "./db.js";

export type ListSource = "assigned" | "chosen";

export interface ProductListRow {
  readonly customerId: string;
  readonly promotionId: string;
  readonly skus: string[];
  readonly source: ListSource;
  readonly createdAt: Date;
  readonly chosenAt: Date;
  readonly lockedAt: Date | null;
  /** The list's promotion as it is defined now. */
  readonly definition: Promotion;
}

const COLUMNS = `l.customer_id as "customerId", l.promotion_id as "promotionId", l.skus, l.source,
  l.created_at as "createdAt", l.chosen_at as "chosenAt", l.locked_at as "lockedAt", p.definition`;
const FROM = `customer_product_lists l join promotions p on p.workspace_id = l.workspace_id and p.id = l.promotion_id`;

/** What setting a list reads, in one statement. */
export interface ListFacts {
  readonly workspaceExists: boolean;
  readonly customerExists: boolean;
  readonly promotion: Promotion | null;
  /** The current list, if any. */
  readonly list: ProductListRow | null;
  /** Which of the wanted SKUs the catalog holds. */
  readonly knownSkus: string[];
}

export async function listFacts(
  q: Queryable,
  workspaceId: string,
  customerId: string,
  promotionId: string,
  skus: readonly string[],
): Promise<ListFacts> {
  const { rows } = await q.query<{
    workspaceExists: boolean;
    customerExists: boolean;
    promotion: Promotion | null;
    list: Record<string, unknown> | null;
    knownSkus: string[];
  }>(
    `select exists (select 1 from workspaces where id = $1) as "workspaceExists",
            exists (select 1 from customers where workspace_id = $1 and id = $2) as "customerExists",
            (select definition from promotions where workspace_id = $1 and id = $3) as promotion,
            (select row_to_json(x) from (
               select ${COLUMNS} from ${FROM}
                where l.workspace_id = $1 and l.customer_id = $2 and l.promotion_id = $3) x) as list,
            array(select sku from catalog_items where workspace_id = $1 and sku = any($4::text[])) as "knownSkus"`,
    [workspaceId, customerId, promotionId, skus],
  );
  const row = rows[0]!;
  return { ...row, list: row.list === null ? null : fromJson(row.list) };
}

function fromJson(json: Record<string, unknown>): ProductListRow {
  const at = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(String(v)));
  return {
    customerId: json["customerId"] as string,
    promotionId: json["promotionId"] as string,
    skus: json["skus"] as string[],
    source: json["source"] as ListSource,
    createdAt: at(json["createdAt"])!,
    chosenAt: at(json["chosenAt"])!,
    lockedAt: at(json["lockedAt"]),
    definition: json["definition"] as Promotion,
  };
}

/**
 * Sets the list, unless it is locked and the promotion (as passed) locks after first apply: then null.
 * A change clears a lock the promotion no longer asks for; the check and the write are one statement,
 * so a sale locking the row concurrently is seen.
 */
export async function upsertList(
  q: Queryable,
  workspaceId: string,
  list: { customerId: string; promotionId: string; skus: readonly string[]; source: ListSource; at: Date },
  lockRequired: boolean,
): Promise<ProductListRow | null> {
  const { rows } = await q.query<ProductListRow>(
    `with l as (
       insert into customer_product_lists as c
              (workspace_id, customer_id, promotion_id, skus, source, created_at, chosen_at)
       values ($1, $2, $3, $4, $5, $6, $6)
       on conflict (workspace_id, customer_id, promotion_id) do update
          set skus = excluded.skus, source = excluded.source, chosen_at = excluded.chosen_at, locked_at = null
        where c.locked_at is null or not $7::boolean
       returning *
     )
     select ${COLUMNS} from l join promotions p on p.workspace_id = l.workspace_id and p.id = l.promotion_id`,
    [workspaceId, list.customerId, list.promotionId, list.skus, list.source, list.at, lockRequired],
  );
  return rows[0] ?? null;
}

/** Whether the workspace and the customer exist, and the customer's lists in promotion id order. */
export async function readLists(
  q: Queryable,
  workspaceId: string,
  customerId: string,
  promotionId?: string,
): Promise<{ customerExists: boolean; lists: ProductListRow[] }> {
  const { rows } = await q.query<{
    customerExists: boolean;
    lists: Record<string, unknown>[];
  }>(
    `select exists (select 1 from customers where workspace_id = $1 and id = $2) as "customerExists",
            (select coalesce(json_agg(x order by x."promotionId"), '[]') from (
               select ${COLUMNS} from ${FROM}
                where l.workspace_id = $1 and l.customer_id = $2
                  and ($3::text is null or l.promotion_id = $3)) x) as lists`,
    [workspaceId, customerId, promotionId ?? null],
  );
  const row = rows[0]!;
  return { customerExists: row.customerExists, lists: row.lists.map(fromJson) };
}

/** The definitions' path to a personal-list set that locks after first apply. */
const LOCKING_LIST = `'$.benefit.target.sets[*].products ? (@.kind == "personal_list" && @.lockAfterFirstApply == true)'`;

/**
 * Locks the customer's non-empty lists of those promotions whose definition locks after first apply.
 * Lists already locked keep their instant. Answers how many rows it locked.
 */
export async function lockLists(
  tx: Tx,
  workspaceId: string,
  customerId: string,
  promotionIds: readonly string[],
  at: Date | null,
): Promise<number> {
  const { rowCount } = await tx.query(
    `update customer_product_lists l set locked_at = coalesce($4, now())
       from promotions p
      where l.workspace_id = $1 and l.customer_id = $2 and l.promotion_id = any($3::text[])
        and l.locked_at is null and cardinality(l.skus) > 0
        and p.workspace_id = l.workspace_id and p.id = l.promotion_id
        and jsonb_path_exists(p.definition, ${LOCKING_LIST})`,
    [workspaceId, customerId, promotionIds, at],
  );
  return rowCount ?? 0;
}
