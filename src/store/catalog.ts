// The catalog: what each SKU costs and what promotions match it by (categories, brand, attributes).
// Writes of one item or ten thousand are the same single statement: the items travel as one JSON
// parameter and are upserted with `insert … select from jsonb_to_recordset … on conflict`.
import type { Queryable } from "./db.js";

export interface CatalogItemRecord {
  readonly sku: string;
  readonly name: string;
  readonly priceMinor: number;
  readonly categories: readonly string[];
  readonly brand: string | null;
  readonly attributes: Readonly<Record<string, string>>;
}

export interface CatalogItemRow extends CatalogItemRecord {
  readonly updatedAt: Date;
}

const ITEM_COLUMNS = `sku, name, price_minor as "priceMinor", categories, brand, attributes, updated_at as "updatedAt"`;

// `existing` reads the snapshot before the insert, so the final select can tell creations from
// replacements. The caller guarantees the SKUs are distinct: ON CONFLICT may touch a row only once.
const UPSERT = `
  with input as (
         select * from jsonb_to_recordset($2::jsonb)
           as x(sku text, name text, "priceMinor" bigint, categories text[], brand text, attributes jsonb)),
       existing as (
         select sku from catalog_items where workspace_id = $1 and sku in (select sku from input)),
       up as (
         insert into catalog_items (workspace_id, sku, name, price_minor, categories, brand, attributes, updated_at)
         select $1, sku, name, "priceMinor", categories, brand, attributes, $3 from input
         on conflict (workspace_id, sku) do update
           set name = excluded.name, price_minor = excluded.price_minor, categories = excluded.categories,
               brand = excluded.brand, attributes = excluded.attributes, updated_at = excluded.updated_at
         returning sku)`;

/** Upserts every item in one statement; answers how many were new and how many replaced. */
export async function upsertItems(
  q: Queryable,
  workspaceId: string,
  items: readonly CatalogItemRecord[],
  at: Date,
): Promise<{ created: number; updated: number }> {
  const { rows } = await q.query<{ created: number; updated: number }>(
    `${UPSERT}
     select count(*) filter (where e.sku is null)::int as created, count(e.sku)::int as updated
       from up left join existing e using (sku)`,
    [workspaceId, JSON.stringify(items), at],
  );
  return rows[0]!;
}

export async function upsertItem(
  q: Queryable,
  workspaceId: string,
  item: CatalogItemRecord,
  at: Date,
): Promise<{ row: CatalogItemRow; created: boolean }> {
  // The statement's snapshot does not hold the upserted row: answer what was written.
  const { rows } = await q.query<{ created: boolean }>(
    `${UPSERT}
     select not exists (select 1 from existing) as created from up`,
    [workspaceId, JSON.stringify([item]), at],
  );
  return { row: { ...item, updatedAt: at }, created: rows[0]!.created };
}

export async function getItem(
  q: Queryable,
  workspaceId: string,
  sku: string,
): Promise<CatalogItemRow | null> {
  const { rows } = await q.query<CatalogItemRow>(
    `select ${ITEM_COLUMNS} from catalog_items where workspace_id = $1 and sku = $2`,
    [workspaceId, sku],
  );
  return rows[0] ?? null;
}

export interface ItemFilter {
  readonly category?: string;
  readonly brand?: string;
  /** Part of the name or the SKU, any case. */
  readonly q?: string;
  readonly after?: string;
  readonly limit: number;
}

/** Items in SKU order, keyset-paged. */
export async function listItems(
  q: Queryable,
  workspaceId: string,
  filter: ItemFilter,
): Promise<CatalogItemRow[]> {
  const values: unknown[] = [workspaceId];
  const where = ["workspace_id = $1"];
  const add = (sql: (n: number) => string, value: unknown): void => {
    values.push(value);
    where.push(sql(values.length));
  };
  if (filter.category !== undefined) add((n) => `categories @> array[$${n}]::text[]`, filter.category);
  if (filter.brand !== undefined) add((n) => `brand = $${n}`, filter.brand);
  if (filter.q !== undefined)
    add((n) => `(sku ilike $${n} or name ilike $${n})`, `%${likeEscape(filter.q)}%`);
  if (filter.after !== undefined) add((n) => `sku > $${n}`, filter.after);
  values.push(filter.limit);
  const { rows } = await q.query<CatalogItemRow>(
    `select ${ITEM_COLUMNS} from catalog_items where ${where.join(" and ")} order by sku limit $${values.length}`,
    values,
  );
  return rows;
}

export async function deleteItem(q: Queryable, workspaceId: string, sku: string): Promise<boolean> {
  const { rowCount } = await q.query("delete from catalog_items where workspace_id = $1 and sku = $2", [
    workspaceId,
    sku,
  ]);
  return rowCount === 1;
}

/** Makes `%`, `_` and `\` match themselves in a LIKE pattern (backslash is LIKE's default escape). */
function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
