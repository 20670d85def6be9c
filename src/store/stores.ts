// Concepts (banners or chains), zones (regions) and the stores that belong to them. A store has at most
// one concept (a real foreign key) and any number of zones (an array, checked by the service under a
// lock, since PostgreSQL has no foreign keys from array elements).
import type { Queryable } from "./db.js";

/** The two tables that hold a plain id and name. */
export type Grouping = "concepts" | "zones";

export interface NamedRow {
  readonly id: string;
  readonly name: string;
}

export interface StoreRow {
  readonly id: string;
  readonly name: string;
  readonly conceptId: string | null;
  readonly zoneIds: string[];
}

export interface Page {
  readonly limit: number;
  /** The last id of the previous page. */
  readonly after?: string;
}

export interface Upserted<T> {
  readonly row: T;
  readonly created: boolean;
}

// Only these two literal table names ever reach the SQL text below.
const TABLES: Record<Grouping, string> = { concepts: "concepts", zones: "zones" };

export async function upsertNamed(
  q: Queryable,
  grouping: Grouping,
  workspaceId: string,
  row: NamedRow,
): Promise<Upserted<NamedRow>> {
  const table = TABLES[grouping];
  // `existing` reads the snapshot before the insert, so it tells a creation from a replacement.
  const { rows } = await q.query<NamedRow & { created: boolean }>(
    `with existing as (select 1 from ${table} where workspace_id = $1 and id = $2),
          up as (
            insert into ${table} (workspace_id, id, name) values ($1, $2, $3)
            on conflict (workspace_id, id) do update set name = excluded.name
            returning id, name)
     select up.id, up.name, not exists (select 1 from existing) as created from up`,
    [workspaceId, row.id, row.name],
  );
  const { created, ...named } = rows[0]!;
  return { row: named, created };
}

export async function getNamed(
  q: Queryable,
  grouping: Grouping,
  workspaceId: string,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<NamedRow | null> {
  const { rows } = await q.query<NamedRow>(
    `select id, name from ${TABLES[grouping]} where workspace_id = $1 and id = $2${options.forUpdate ? " for update" : ""}`,
    [workspaceId, id],
  );
  return rows[0] ?? null;
}

export async function listNamed(
  q: Queryable,
  grouping: Grouping,
  workspaceId: string,
  page: Page,
): Promise<NamedRow[]> {
  const { rows } = await q.query<NamedRow>(
    `select id, name from ${TABLES[grouping]}
      where workspace_id = $1 and ($2::text is null or id > $2) order by id limit $3`,
    [workspaceId, page.after ?? null, page.limit],
  );
  return rows;
}

export async function deleteNamed(
  q: Queryable,
  grouping: Grouping,
  workspaceId: string,
  id: string,
): Promise<boolean> {
  const { rowCount } = await q.query(`delete from ${TABLES[grouping]} where workspace_id = $1 and id = $2`, [
    workspaceId,
    id,
  ]);
  return rowCount === 1;
}

/**
 * Which of `ids` exist, each locked FOR KEY SHARE until the transaction ends, so that a concurrent
 * delete of a concept or zone waits for the store that is being written to name it.
 */
export async function lockExisting(
  q: Queryable,
  grouping: Grouping,
  workspaceId: string,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { rows } = await q.query<{ id: string }>(
    `select id from ${TABLES[grouping]} where workspace_id = $1 and id = any($2::text[]) for key share`,
    [workspaceId, ids],
  );
  return new Set(rows.map((r) => r.id));
}

/** How many stores name this concept or zone, and one of them for the message. */
export async function storesUsing(
  q: Queryable,
  grouping: Grouping,
  workspaceId: string,
  id: string,
): Promise<{ count: number; exampleId: string | null }> {
  const condition = grouping === "concepts" ? "concept_id = $2" : "zone_ids @> array[$2]::text[]";
  const { rows } = await q.query<{ count: number; exampleId: string | null }>(
    `select count(*)::int as count, min(id) as "exampleId" from stores where workspace_id = $1 and ${condition}`,
    [workspaceId, id],
  );
  return rows[0]!;
}

const STORE_COLUMNS = `id, name, concept_id as "conceptId", zone_ids as "zoneIds"`;

export async function upsertStore(
  q: Queryable,
  workspaceId: string,
  store: StoreRow,
): Promise<Upserted<StoreRow>> {
  const { rows } = await q.query<StoreRow & { created: boolean }>(
    `with existing as (select 1 from stores where workspace_id = $1 and id = $2),
          up as (
            insert into stores (workspace_id, id, name, concept_id, zone_ids) values ($1, $2, $3, $4, $5::text[])
            on conflict (workspace_id, id) do update
              set name = excluded.name, concept_id = excluded.concept_id, zone_ids = excluded.zone_ids
            returning ${STORE_COLUMNS})
     select up.*, not exists (select 1 from existing) as created from up`,
    [workspaceId, store.id, store.name, store.conceptId, store.zoneIds],
  );
  const { created, ...row } = rows[0]!;
  return { row, created };
}

export async function getStore(q: Queryable, workspaceId: string, id: string): Promise<StoreRow | null> {
  const { rows } = await q.query<StoreRow>(
    `select ${STORE_COLUMNS} from stores where workspace_id = $1 and id = $2`,
    [workspaceId, id],
  );
  return rows[0] ?? null;
}

export async function listStores(
  q: Queryable,
  workspaceId: string,
  filter: Page & { conceptId?: string; zoneId?: string },
): Promise<StoreRow[]> {
  const values: unknown[] = [workspaceId];
  const where = ["workspace_id = $1"];
  const add = (sql: (n: number) => string, value: unknown): void => {
    values.push(value);
    where.push(sql(values.length));
  };
  if (filter.conceptId !== undefined) add((n) => `concept_id = $${n}`, filter.conceptId);
  if (filter.zoneId !== undefined) add((n) => `zone_ids @> array[$${n}]::text[]`, filter.zoneId);
  if (filter.after !== undefined) add((n) => `id > $${n}`, filter.after);
  values.push(filter.limit);
  const { rows } = await q.query<StoreRow>(
    `select ${STORE_COLUMNS} from stores where ${where.join(" and ")} order by id limit $${values.length}`,
    values,
  );
  return rows;
}

export async function deleteStore(q: Queryable, workspaceId: string, id: string): Promise<boolean> {
  const { rowCount } = await q.query("delete from stores where workspace_id = $1 and id = $2", [
    workspaceId,
    id,
  ]);
  return rowCount === 1;
}
