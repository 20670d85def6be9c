// CSV imports of promotions: the bulk reads and writes of one batch, and the import resource's row.
// Callers hold the workspace row (lockWorkspaceForPromotions) for the batch's writes.
import type { Promotion } from "../domain/promotion.js";
import type { Queryable, Tx } from "./db.js";
import type { StoredStatus } from "./promotions.js";

/** The external id as the index holds it ('' for none). */
const EXTERNAL_ID = `coalesce(definition ->> 'externalId', '')`;

export interface ExistingPromotion {
  readonly id: string;
  readonly status: StoredStatus;
  readonly publishedAt: Date | null;
  readonly definition: Promotion;
}

// Both lookups probe their index once per key: a lateral subquery that `offset 0` keeps from being
// flattened into a join. With `= any($2)` or a plain join, a workspace whose promotions an import has
// just created (no statistics yet: autovacuum has not analyzed them) had the planner read every
// promotion of the workspace for each batch, ~1 s a lookup at 100,000 promotions (bench/README.md,
// "Import benchmark"). Locks are taken key by key; the caller holds the workspace row, as every
// promotion change does, so their order cannot deadlock.

/** Promotions of the workspace with any of these external ids, locked for the batch's updates. */
export async function findByExternalIds(
  tx: Queryable,
  workspaceId: string,
  externalIds: readonly string[],
  options: { forUpdate: boolean },
): Promise<ExistingPromotion[]> {
  if (externalIds.length === 0) return [];
  const { rows } = await tx.query<ExistingPromotion>(
    `select p.id, p.status, p.published_at as "publishedAt", p.definition
       from (select distinct unnest($2::text[]) as key) k
       cross join lateral (
         select id, status, published_at, definition from promotions
          where workspace_id = $1 and ${EXTERNAL_ID} = k.key
         offset 0${options.forUpdate ? " for update" : ""}) p
      order by p.id`,
    [workspaceId, externalIds],
  );
  return rows;
}

/** Which promotions hold these names (compared lower case, as the unique index does). */
export async function findByNames(
  q: Queryable,
  workspaceId: string,
  lowerNames: readonly string[],
): Promise<(ExistingPromotion & { lowerName: string })[]> {
  if (lowerNames.length === 0) return [];
  const { rows } = await q.query<ExistingPromotion & { lowerName: string }>(
    `select p.id, p.status, p.published_at as "publishedAt", p.definition, lower(p.name) as "lowerName"
       from (select distinct unnest($2::text[]) as key) k
       cross join lateral (
         select id, status, published_at, definition, name from promotions
          where workspace_id = $1 and lower(name) = k.key
         offset 0) p`,
    [workspaceId, lowerNames],
  );
  return rows;
}

export interface NewPromotion {
  readonly id: string;
  readonly definition: Promotion;
  readonly status: "draft" | "published";
}

export async function insertPromotions(
  tx: Tx,
  workspaceId: string,
  rows: readonly NewPromotion[],
  nowMs: number,
): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `insert into promotions (workspace_id, id, name, status, definition, revision, created_at, updated_at, published_at)
     select $1, r.id, r.definition ->> 'name', r.status, r.definition, 1, $3, $3,
            case when r.status = 'published' then $3::timestamptz end
       from jsonb_to_recordset($2::jsonb) as r(id text, status text, definition jsonb)`,
    [workspaceId, JSON.stringify(rows), new Date(nowMs)],
  );
}

export async function updateDefinitions(
  tx: Tx,
  workspaceId: string,
  definitions: readonly Promotion[],
  nowMs: number,
): Promise<void> {
  if (definitions.length === 0) return;
  await tx.query(
    `update promotions p
        set definition = r.definition, name = r.definition ->> 'name', revision = p.revision + 1, updated_at = $3
       from jsonb_array_elements($2::jsonb) as r(definition)
      where p.workspace_id = $1 and p.id = r.definition ->> 'id'`,
    [workspaceId, JSON.stringify(definitions), new Date(nowMs)],
  );
}

/** Published promotions whose schedule has not ended at now (what the active cap counts). */
export async function countLive(q: Queryable, workspaceId: string, nowMs: number): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `select count(*)::int as n from promotions
      where workspace_id = $1 and status = 'published'
        and ((definition #>> '{schedule,endsAt}') is null or (definition #>> '{schedule,endsAt}')::timestamptz > $2)`,
    [workspaceId, new Date(nowMs)],
  );
  return rows[0]!.n;
}

export interface ExportRow extends ExistingPromotion {
  readonly externalIdKey: string;
}

/**
 * One batch of an export in (external id, id) order, after the key of the previous batch's last row,
 * optionally only the promotions with a tag.
 */
export async function exportBatch(
  q: Queryable,
  workspaceId: string,
  filter: { tag?: string; after?: { externalIdKey: string; id: string } },
  limit: number,
): Promise<ExportRow[]> {
  const { rows } = await q.query<ExportRow>(
    `select id, status, published_at as "publishedAt", definition, ${EXTERNAL_ID} as "externalIdKey"
       from promotions
      where workspace_id = $1
        and ($2::text is null or coalesce(definition -> 'tags', '[]'::jsonb) @> jsonb_build_array($2::text))
        and ($3::text is null or (${EXTERNAL_ID}, id) > ($3::text, $4::text))
      order by ${EXTERNAL_ID}, id limit $5`,
    [workspaceId, filter.tag ?? null, filter.after?.externalIdKey ?? null, filter.after?.id ?? null, limit],
  );
  return rows;
}

/** The most tags one promotion of the workspace has: how many tags columns an export writes. */
export async function maxTagCount(q: Queryable, workspaceId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `select coalesce(max(jsonb_array_length(coalesce(definition -> 'tags', '[]'::jsonb))), 0)::int as n
       from promotions where workspace_id = $1`,
    [workspaceId],
  );
  return rows[0]!.n;
}

export async function listWorkspaceIds(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>("select id from workspaces order by id limit 100");
  return rows.map((r) => r.id);
}

// ---- The import resource.

export type ImportStatus = "running" | "done" | "failed";

export interface ImportRow {
  readonly id: string;
  readonly status: ImportStatus;
  readonly dryRun: boolean;
  readonly publish: boolean;
  readonly rowsTotal: number;
  readonly rowsProcessed: number;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly failed: number;
  readonly report: readonly { row: number; column: string; code: string; message: string }[];
  readonly reportTruncated: boolean;
  readonly error: string | null;
  readonly createdAt: Date;
  readonly finishedAt: Date | null;
}

const IMPORT_COLUMNS = `id, status, dry_run as "dryRun", publish, rows_total as "rowsTotal",
  rows_processed as "rowsProcessed", created, updated, unchanged, failed, report,
  report_truncated as "reportTruncated", error, created_at as "createdAt", finished_at as "finishedAt"`;

export async function insertImport(
  q: Queryable,
  workspaceId: string,
  row: { id: string; dryRun: boolean; publish: boolean; rowsTotal: number },
  nowMs: number,
): Promise<void> {
  await q.query(
    `insert into promotion_imports (workspace_id, id, status, dry_run, publish, rows_total, created_at)
     values ($1, $2, 'running', $3, $4, $5, $6)`,
    [workspaceId, row.id, row.dryRun, row.publish, row.rowsTotal, new Date(nowMs)],
  );
}

export interface ImportProgress {
  readonly rowsProcessed: number;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly failed: number;
  readonly report: readonly unknown[];
  readonly reportTruncated: boolean;
}

export async function recordImport(
  q: Queryable,
  workspaceId: string,
  id: string,
  progress: ImportProgress,
  finish?: { status: "done" | "failed"; error?: string; nowMs: number },
): Promise<void> {
  await q.query(
    `update promotion_imports
        set rows_processed = $3, created = $4, updated = $5, unchanged = $6, failed = $7, report = $8,
            report_truncated = $9, status = coalesce($10, status), error = $11, finished_at = $12
      where workspace_id = $1 and id = $2`,
    [
      workspaceId,
      id,
      progress.rowsProcessed,
      progress.created,
      progress.updated,
      progress.unchanged,
      progress.failed,
      JSON.stringify(progress.report),
      progress.reportTruncated,
      finish?.status ?? null,
      finish?.error ?? null,
      finish === undefined ? null : new Date(finish.nowMs),
    ],
  );
}

export async function findImport(
  q: Queryable,
  workspaceId: string,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<ImportRow | null> {
  const { rows } = await q.query<ImportRow>(
    `select ${IMPORT_COLUMNS} from promotion_imports where workspace_id = $1 and id = $2${options.forUpdate ? " for update" : ""}`,
    [workspaceId, id],
  );
  return rows[0] ?? null;
}

/** Marks a running import failed, keeping its progress (what its committed batches wrote). */
export async function failImport(
  tx: Tx,
  workspaceId: string,
  id: string,
  error: string,
  nowMs: number,
): Promise<void> {
  await tx.query(
    `update promotion_imports set status = 'failed', error = $3, finished_at = $4
      where workspace_id = $1 and id = $2 and status = 'running'`,
    [workspaceId, id, error, new Date(nowMs)],
  );
}

/**
 * The advisory lock an import holds on its own connection while it runs (as a code generation does).
 * A running row whose lock is free belongs to an import whose process or connection died.
 */
export function importLockKey(workspaceId: string, id: string): string {
  return `till_import:${workspaceId}:${id}`;
}

export async function holdImportLock(client: Tx, key: string): Promise<void> {
  await client.query(`select pg_advisory_lock(hashtextextended($1, 0))`, [key]);
}

export async function releaseImportLock(client: Tx, key: string): Promise<void> {
  await client.query(`select pg_advisory_unlock(hashtextextended($1, 0))`, [key]);
}

/** Inside a transaction: true when no session holds the lock (taken until the transaction ends). */
export async function importLockIsFree(tx: Tx, key: string): Promise<boolean> {
  const { rows } = await tx.query<{ free: boolean }>(
    `select pg_try_advisory_xact_lock(hashtextextended($1, 0)) as free`,
    [key],
  );
  return rows[0]!.free;
}
