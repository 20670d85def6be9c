// Promotions and their codes. The stored status is draft | published | paused | ended; "scheduled" and
// "active" are published before and inside the schedule, derived from the definition's instants at
// read time (here in SQL for filters, in services/promotions.ts for one row) so no job flips them.
//
// Every write takes the workspace row first (lockWorkspaceForPromotions), which also bumps
// promotions_version: writers of one workspace's promotions queue there, in one lock order.
import type { Promotion } from "../domain/promotion.js";
import type { Queryable, Tx } from "./db.js";

export type StoredStatus = "draft" | "published" | "paused" | "ended";
export type DerivedStatus = "draft" | "scheduled" | "active" | "paused" | "ended";

export interface PromotionRow {
  readonly id: string;
  readonly status: StoredStatus;
  readonly revision: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly publishedAt: Date | null;
  readonly definition: Promotion;
}

const COLUMNS = `id, status, revision, created_at as "createdAt", updated_at as "updatedAt",
  published_at as "publishedAt", definition`;

const STARTS_AT = `(definition #>> '{schedule,startsAt}')::timestamptz`;
const ENDS_AT = `(definition #>> '{schedule,endsAt}')::timestamptz`;

/** The status a reader sees at `now` (a parameter); must agree with derivedStatus in services/promotions.ts. */
function derivedStatusSql(now: string): string {
  return `case
    when status <> 'published' then status
    when ${ENDS_AT} <= ${now} then 'ended'
    when ${STARTS_AT} > ${now} then 'scheduled'
    else 'active'
  end`;
}

/** Which stored statuses can show as each derived one: lets the status index narrow the scan. */
const STORED_FOR: Readonly<Record<DerivedStatus, readonly StoredStatus[]>> = {
  draft: ["draft"],
  scheduled: ["published"],
  active: ["published"],
  paused: ["paused"],
  ended: ["published", "ended"],
};

/**
 * Locks the workspace row for a promotion change and bumps promotions_version, so every process
 * recompiles its promotions once this transaction commits. `for no key update` strength (what an
 * UPDATE takes) queues promotion writers without blocking the foreign-key checks of sales.
 * Answers the active cap, or null when the workspace does not exist.
 */
export async function lockWorkspaceForPromotions(
  tx: Tx,
  workspaceId: string,
): Promise<{ activePromotionsMax: number } | null> {
  const { rows } = await tx.query<{ activePromotionsMax: number }>(
    `update workspaces set promotions_version = promotions_version + 1 where id = $1
     returning active_promotions_max as "activePromotionsMax"`,
    [workspaceId],
  );
  return rows[0] ?? null;
}

export async function findPromotion(
  q: Queryable,
  workspaceId: string,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<PromotionRow | null> {
  const { rows } = await q.query<PromotionRow>(
    `select ${COLUMNS} from promotions where workspace_id = $1 and id = $2${options.forUpdate ? " for update" : ""}`,
    [workspaceId, id],
  );
  return rows[0] ?? null;
}

export async function insertPromotion(
  tx: Tx,
  workspaceId: string,
  definition: Promotion,
  nowMs: number,
): Promise<PromotionRow> {
  const { rows } = await tx.query<PromotionRow>(
    `insert into promotions (workspace_id, id, name, status, definition, revision, created_at, updated_at)
     values ($1, $2, $3, 'draft', $4, 1, $5, $5) returning ${COLUMNS}`,
    [workspaceId, definition.id, definition.name, definition, new Date(nowMs)],
  );
  return rows[0]!;
}

export async function updateDefinition(
  tx: Tx,
  workspaceId: string,
  definition: Promotion,
  nowMs: number,
): Promise<PromotionRow> {
  const { rows } = await tx.query<PromotionRow>(
    `update promotions set definition = $3, name = $4, revision = revision + 1, updated_at = $5
      where workspace_id = $1 and id = $2 returning ${COLUMNS}`,
    [workspaceId, definition.id, definition, definition.name, new Date(nowMs)],
  );
  return rows[0]!;
}

/** Moves the stored status; the first publication is remembered (it freezes the limits). */
export async function updateStatus(
  tx: Tx,
  workspaceId: string,
  id: string,
  status: StoredStatus,
  nowMs: number,
): Promise<PromotionRow> {
  const { rows } = await tx.query<PromotionRow>(
    `update promotions
        set status = $3, revision = revision + 1, updated_at = $4,
            published_at = case when $3 = 'published' then coalesce(published_at, $4) else published_at end
      where workspace_id = $1 and id = $2 returning ${COLUMNS}`,
    [workspaceId, id, status, new Date(nowMs)],
  );
  return rows[0]!;
}

/** A draft goes with its codes. */
export async function deletePromotion(tx: Tx, workspaceId: string, id: string): Promise<void> {
  await tx.query(`delete from promotion_codes where workspace_id = $1 and promotion_id = $2`, [
    workspaceId,
    id,
  ]);
  await tx.query(`delete from promotions where workspace_id = $1 and id = $2`, [workspaceId, id]);
}

/** Published promotions whose schedule has not ended at now: what the active cap counts. */
export async function countLivePublished(tx: Tx, workspaceId: string, nowMs: number): Promise<number> {
  const { rows } = await tx.query<{ n: number }>(
    `select count(*)::int as n from promotions
      where workspace_id = $1 and status = 'published' and (${ENDS_AT} is null or ${ENDS_AT} > $2)`,
    [workspaceId, new Date(nowMs)],
  );
  return rows[0]!.n;
}

export interface PromotionFilter {
  readonly status?: DerivedStatus;
  readonly type?: string;
  readonly tag?: string;
  /** Name contains, case-insensitive. */
  readonly q?: string;
  readonly limit: number;
  /** Keyset: the last id of the previous page. */
  readonly after?: string;
}

/** One page in id order, plus one row more than asked when there is a next page. */
export async function listPromotions(
  q: Queryable,
  workspaceId: string,
  filter: PromotionFilter,
  nowMs: number,
): Promise<PromotionRow[]> {
  const stored = filter.status === undefined ? null : STORED_FOR[filter.status];
  const { rows } = await q.query<PromotionRow>(
    `select ${COLUMNS} from promotions
      where workspace_id = $1
        and ($2::text[] is null or status = any($2::text[]))
        and ($3::text is null or ${derivedStatusSql("$4::timestamptz")} = $3)
        and ($5::text is null or definition ->> 'type' = $5)
        and ($6::text is null or coalesce(definition -> 'tags', '[]'::jsonb) @> jsonb_build_array($6::text))
        and ($7::text is null or position(lower($7::text) in lower(name)) > 0)
        and ($8::text is null or id > $8)
      order by id limit $9`,
    [
      workspaceId,
      stored,
      filter.status ?? null,
      new Date(nowMs),
      filter.type ?? null,
      filter.tag ?? null,
      filter.q ?? null,
      filter.after ?? null,
      filter.limit + 1,
    ],
  );
  return rows;
}

// ---- Codes of code promotions, stored normalized (trimmed, upper case).

export interface CodeHolder {
  readonly code: string;
  readonly promotionId: string;
}

export async function findCodeHolders(
  q: Queryable,
  workspaceId: string,
  codes: readonly string[],
): Promise<CodeHolder[]> {
  const { rows } = await q.query<CodeHolder>(
    `select code, promotion_id as "promotionId" from promotion_codes where workspace_id = $1 and code = any($2::text[])`,
    [workspaceId, codes],
  );
  return rows;
}

export async function insertCodes(
  tx: Tx,
  workspaceId: string,
  promotionId: string,
  codes: readonly string[],
  nowMs: number,
): Promise<void> {
  await tx.query(
    `insert into promotion_codes (workspace_id, code, promotion_id, created_at)
     select $1, c, $2, $4 from unnest($3::text[]) as c`,
    [workspaceId, promotionId, codes, new Date(nowMs)],
  );
}

export interface CodeRow {
  readonly code: string;
  readonly createdAt: Date;
}

export async function listCodes(
  q: Queryable,
  workspaceId: string,
  promotionId: string,
  page: { limit: number; after?: string },
): Promise<CodeRow[]> {
  const { rows } = await q.query<CodeRow>(
    `select code, created_at as "createdAt" from promotion_codes
      where workspace_id = $1 and promotion_id = $2 and ($3::text is null or code > $3)
      order by code limit $4`,
    [workspaceId, promotionId, page.after ?? null, page.limit + 1],
  );
  return rows;
}
