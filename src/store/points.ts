// Points lots, the ledger and operation references (issue 4), keyed by workspace then customer. The
// service holds the rules (FIFO by expiry, lazy write-off of expired lots); this file only reads and
// writes rows. Writes run with the customer's row locked (lockCustomers), so one customer's points
// change one operation at a time.
import type { Queryable, Tx } from "./db.js";

export type LedgerKind = "earn" | "burn" | "expire" | "transfer_in" | "transfer_out" | "adjust";

export interface LotRow {
  readonly id: string;
  readonly earnedAt: Date;
  readonly expiresAt: Date | null;
  readonly amount: number;
  readonly remaining: number;
}

export interface LedgerRow {
  readonly id: string;
  readonly kind: LedgerKind;
  readonly amount: number;
  readonly lotId: string;
  readonly reference: string | null;
  readonly occurredAt: Date;
}

export interface NewLedgerEntry extends LedgerRow {
  readonly customerId: string;
}

const LOT_COLUMNS = `id, earned_at as "earnedAt", expires_at as "expiresAt", amount, remaining`;
/** Burn order: the oldest expiry first (never-expiring last), then the earliest earned. */
const FIFO = `order by expires_at asc nulls last, earned_at, id`;

/**
 * Locks the customers' rows in id order (so two transfers between the same pair cannot deadlock),
 * FOR NO KEY UPDATE: inserts that reference the customer pass. Answers the ids that exist.
 */
export async function lockCustomers(
  tx: Tx,
  workspaceId: string,
  customerIds: readonly string[],
): Promise<Set<string>> {
  const { rows } = await tx.query<{ id: string }>(
    `select id from customers where workspace_id = $1 and id = any($2::text[])
      order by id for no key update`,
    [workspaceId, [...customerIds]],
  );
  return new Set(rows.map((r) => r.id));
}

export async function customerExists(
  q: Queryable,
  workspaceId: string,
  customerId: string,
): Promise<boolean> {
  const { rows } = await q.query(`select 1 from customers where workspace_id = $1 and id = $2`, [
    workspaceId,
    customerId,
  ]);
  return rows.length > 0;
}

export async function workspaceTimeZone(q: Queryable, workspaceId: string): Promise<string | null> {
  const { rows } = await q.query<{ timeZone: string }>(
    `select time_zone as "timeZone" from workspaces where id = $1`,
    [workspaceId],
  );
  return rows[0]?.timeZone ?? null;
}

/** The customer's lots with points left, expired or not, in burn order. */
export async function lotsWithPoints(
  q: Queryable,
  workspaceId: string,
  customerId: string,
): Promise<LotRow[]> {
  const { rows } = await q.query<LotRow>(
    `select ${LOT_COLUMNS} from points_lots
      where workspace_id = $1 and customer_id = $2 and remaining > 0 ${FIFO}`,
    [workspaceId, customerId],
  );
  return rows;
}

export async function insertLots(
  tx: Tx,
  workspaceId: string,
  customerId: string,
  lots: readonly LotRow[],
): Promise<void> {
  if (lots.length === 0) return;
  await tx.query(
    `insert into points_lots (workspace_id, customer_id, id, earned_at, expires_at, amount, remaining)
     select $1, $2, l.id, l.earned_at, l.expires_at, l.amount, l.remaining
       from unnest($3::text[], $4::timestamptz[], $5::timestamptz[], $6::bigint[], $7::bigint[])
         as l (id, earned_at, expires_at, amount, remaining)`,
    [
      workspaceId,
      customerId,
      lots.map((l) => l.id),
      lots.map((l) => l.earnedAt),
      lots.map((l) => l.expiresAt),
      lots.map((l) => l.amount),
      lots.map((l) => l.remaining),
    ],
  );
}

/** Sets the remaining points of the customer's lots (locked by the customer's row). */
export async function setRemaining(
  tx: Tx,
  workspaceId: string,
  customerId: string,
  changes: readonly { readonly lotId: string; readonly remaining: number }[],
): Promise<void> {
  if (changes.length === 0) return;
  await tx.query(
    `update points_lots p set remaining = c.remaining
       from unnest($3::text[], $4::bigint[]) as c (id, remaining)
      where p.workspace_id = $1 and p.customer_id = $2 and p.id = c.id`,
    [workspaceId, customerId, changes.map((c) => c.lotId), changes.map((c) => c.remaining)],
  );
}

/** Appends entries in the given order (their seq follows it). */
export async function appendLedger(
  tx: Tx,
  workspaceId: string,
  entries: readonly NewLedgerEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  await tx.query(
    `insert into points_ledger (workspace_id, customer_id, id, kind, amount, lot_id, reference, occurred_at)
     select $1, e.customer_id, e.id, e.kind, e.amount, e.lot_id, e.reference, e.occurred_at
       from unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::timestamptz[])
         with ordinality as e (customer_id, id, kind, amount, lot_id, reference, occurred_at, n)
      order by e.n`,
    [
      workspaceId,
      entries.map((e) => e.customerId),
      entries.map((e) => e.id),
      entries.map((e) => e.kind),
      entries.map((e) => e.amount),
      entries.map((e) => e.lotId),
      entries.map((e) => e.reference),
      entries.map((e) => e.occurredAt),
    ],
  );
}

/** A page of the ledger, newest first, after the entry `after` (an id of the previous page). */
export async function ledgerPage(
  q: Queryable,
  workspaceId: string,
  customerId: string,
  page: { readonly after?: string; readonly limit: number },
): Promise<LedgerRow[]> {
  const { rows } = await q.query<LedgerRow>(
    `select id, kind, amount, lot_id as "lotId", reference, occurred_at as "occurredAt"
       from points_ledger
      where workspace_id = $1 and customer_id = $2
        and ($3::text is null or seq < (select seq from points_ledger
                                          where workspace_id = $1 and customer_id = $2 and id = $3))
      order by seq desc limit $4`,
    [workspaceId, customerId, page.after ?? null, page.limit],
  );
  return rows;
}

/** The sum of the customer's ledger: the invariant's left-hand side. */
export async function ledgerSum(q: Queryable, workspaceId: string, customerId: string): Promise<number> {
  const { rows } = await q.query<{ sum: number }>(
    `select coalesce(sum(amount), 0)::bigint as sum from points_ledger where workspace_id = $1 and customer_id = $2`,
    [workspaceId, customerId],
  );
  return rows[0]!.sum;
}

/**
 * Claims an operation's reference in the workspace. Answers null when this transaction claimed it;
 * otherwise the first claim's hash and result (a concurrent claim waits on the key until that
 * transaction ends, then sees what it committed).
 */
export async function claimReference(
  tx: Tx,
  workspaceId: string,
  reference: string,
  requestHash: Buffer,
  at: Date,
): Promise<{ requestHash: Buffer; result: unknown } | null> {
  const claimed = await tx.query(
    `insert into points_requests (workspace_id, reference, request_hash, created_at)
     values ($1, $2, $3, $4) on conflict do nothing returning 1`,
    [workspaceId, reference, requestHash, at],
  );
  if (claimed.rows.length > 0) return null;
  const { rows } = await tx.query<{ requestHash: Buffer; result: unknown }>(
    `select request_hash as "requestHash", result from points_requests where workspace_id = $1 and reference = $2`,
    [workspaceId, reference],
  );
  const row = rows[0];
  if (row === undefined) throw new Error(`points reference ${reference} vanished after its conflict`);
  return row;
}

export async function storeResult(
  tx: Tx,
  workspaceId: string,
  reference: string,
  result: unknown,
): Promise<void> {
  await tx.query(`update points_requests set result = $3 where workspace_id = $1 and reference = $2`, [
    workspaceId,
    reference,
    JSON.stringify(result),
  ]);
}
