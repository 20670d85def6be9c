// Generated codes and their generations: the batch insert that skips codes the workspace already has,
// the generation rows (status and progress), the keyset batches an export streams, and which of some
// presented codes exist at all (for the guessing guard).
import { isUniqueViolation, type Queryable, type Tx } from "./db.js";

export type GenerationStatus = "running" | "done" | "failed";

export interface GenerationRow {
  readonly id: string;
  readonly promotionId: string;
  readonly status: GenerationStatus;
  readonly requestedCount: number;
  readonly createdCount: number;
  readonly template: string;
  readonly alphabet: string;
  readonly bitsPerCode: number;
  readonly error: string | null;
  readonly createdAt: Date;
  readonly finishedAt: Date | null;
}

const GENERATION_COLUMNS = `id, promotion_id as "promotionId", status, requested_count as "requestedCount",
  created_count as "createdCount", template, alphabet, bits_per_code as "bitsPerCode", error,
  created_at as "createdAt", finished_at as "finishedAt"`;

export interface NewGeneration {
  readonly id: string;
  readonly promotionId: string;
  readonly requestedCount: number;
  readonly template: string;
  readonly alphabet: string;
  readonly bitsPerCode: number;
}

export async function insertGeneration(
  q: Queryable,
  workspaceId: string,
  g: NewGeneration,
  nowMs: number,
): Promise<void> {
  await q.query(
    `insert into code_generations
       (workspace_id, id, promotion_id, status, requested_count, template, alphabet, bits_per_code, created_at)
     values ($1, $2, $3, 'running', $4, $5, $6, $7, $8)`,
    [
      workspaceId,
      g.id,
      g.promotionId,
      g.requestedCount,
      g.template,
      g.alphabet,
      g.bitsPerCode,
      new Date(nowMs),
    ],
  );
}

export async function findGeneration(
  q: Queryable,
  workspaceId: string,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<GenerationRow | null> {
  const { rows } = await q.query<GenerationRow>(
    `select ${GENERATION_COLUMNS} from code_generations where workspace_id = $1 and id = $2${options.forUpdate ? " for update" : ""}`,
    [workspaceId, id],
  );
  return rows[0] ?? null;
}

/** Progress of a running generation, written outside its transaction so other readers see it. */
export async function recordProgress(
  q: Queryable,
  workspaceId: string,
  id: string,
  createdCount: number,
): Promise<void> {
  await q.query(
    `update code_generations set created_count = $3 where workspace_id = $1 and id = $2 and status = 'running'`,
    [workspaceId, id, createdCount],
  );
}

export async function finishGeneration(
  q: Queryable,
  workspaceId: string,
  id: string,
  outcome: { status: "done"; createdCount: number } | { status: "failed"; error: string },
  nowMs: number,
): Promise<void> {
  await q.query(
    `update code_generations
        set status = $3, created_count = coalesce($4, 0), error = $5, finished_at = $6
      where workspace_id = $1 and id = $2`,
    [
      workspaceId,
      id,
      outcome.status,
      outcome.status === "done" ? outcome.createdCount : null,
      outcome.status === "failed" ? outcome.error : null,
      new Date(nowMs),
    ],
  );
}

/**
 * The advisory lock a generation holds on its connection while it runs. A running row whose lock is
 * free belongs to a generation whose process or connection died: its transaction rolled back.
 */
export function generationLockKey(workspaceId: string, id: string): string {
  return `till_codegen:${workspaceId}:${id}`;
}

export async function holdGenerationLock(client: Tx, key: string): Promise<void> {
  await client.query(`select pg_advisory_lock(hashtextextended($1, 0))`, [key]);
}

export async function releaseGenerationLock(client: Tx, key: string): Promise<void> {
  await client.query(`select pg_advisory_unlock(hashtextextended($1, 0))`, [key]);
}

/** Inside a transaction: true when no session holds the lock (taken until the transaction ends). */
export async function generationLockIsFree(tx: Tx, key: string): Promise<boolean> {
  const { rows } = await tx.query<{ free: boolean }>(
    `select pg_try_advisory_xact_lock(hashtextextended($1, 0)) as free`,
    [key],
  );
  return rows[0]!.free;
}

/**
 * Inserts the codes the workspace does not have yet and answers how many it inserted: the rest
 * collided with an existing code (or with each other) and must be drawn again. A plain insert first,
 * in a savepoint: at 60 bits a collision almost never happens, and `on conflict do nothing` costs a
 * third more per row. Only a batch that did collide is inserted again, skipping the taken codes.
 */
export async function insertGeneratedCodes(
  tx: Tx,
  workspaceId: string,
  promotionId: string,
  generationId: string,
  codes: readonly string[],
  nowMs: number,
): Promise<number> {
  const values = [workspaceId, promotionId, codes, new Date(nowMs), generationId];
  const insert = `insert into promotion_codes (workspace_id, code, promotion_id, created_at, generation_id)
    select $1, c, $2, $4, $5 from unnest($3::text[]) as c`;
  await tx.query("savepoint generated_codes");
  try {
    const { rowCount } = await tx.query(insert, values);
    await tx.query("release savepoint generated_codes");
    return rowCount ?? 0;
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    await tx.query("rollback to savepoint generated_codes");
  }
  const { rows } = await tx.query<{ inserted: number }>(
    `with inserted as (${insert} on conflict (workspace_id, code) do nothing returning 1)
     select count(*)::int as inserted from inserted`,
    values,
  );
  return rows[0]!.inserted;
}

export interface ExportedCode {
  readonly code: string;
  readonly createdAt: Date;
}

/** One keyset batch of a promotion's codes in code order, after `after` (exclusive). */
export async function codeBatch(
  q: Queryable,
  workspaceId: string,
  promotionId: string,
  after: string | null,
  limit: number,
): Promise<ExportedCode[]> {
  const { rows } = await q.query<ExportedCode>({
    name: "till_code_batch",
    text: `select code, created_at as "createdAt" from promotion_codes
            where workspace_id = $1 and promotion_id = $2 and ($3::text is null or code > $3)
            order by code limit $4`,
    values: [workspaceId, promotionId, after, limit],
  });
  return rows;
}

/** Which of these (normalized) codes the workspace has, for any promotion. */
export async function existingCodes(
  q: Queryable,
  workspaceId: string,
  codes: readonly string[],
): Promise<Set<string>> {
  const { rows } = await q.query<{ code: string }>(
    `select code from promotion_codes where workspace_id = $1 and code = any($2::text[])`,
    [workspaceId, codes],
  );
  return new Set(rows.map((r) => r.code));
}
