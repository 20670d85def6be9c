// The return ledger: a returns row claimed first (its key, the caller's return id, is the idempotency
// lock), the sale's lines locked so returns of one sale run one after another, then the return's
// lines, the returned quantities and the reversed discounts written in one statement.
import type { Queryable, Tx } from "./db.js";

export type ReturnClaim =
  | { readonly claimed: true }
  | { readonly claimed: false; readonly requestHash: Buffer; readonly receipt: string };

/**
 * Claims the return id. A concurrent claim of the same id waits here until the first commits (then it
 * reads the first's receipt) or rolls back (then it claims).
 */
export async function claimReturn(
  tx: Tx,
  claim: { workspaceId: string; id: string; saleId: string; requestHash: Buffer; occurredAtMs: number },
): Promise<ReturnClaim> {
  const inserted = await tx.query(
    `insert into returns (workspace_id, id, sale_id, request_hash, occurred_at)
     values ($1, $2, $3, $4, $5) on conflict (workspace_id, id) do nothing returning id`,
    [claim.workspaceId, claim.id, claim.saleId, claim.requestHash, new Date(claim.occurredAtMs)],
  );
  if (inserted.rowCount === 1) return { claimed: true };
  const { rows } = await tx.query<{ requestHash: Buffer; receipt: string }>(
    `select request_hash as "requestHash", receipt::text as receipt from returns where workspace_id = $1 and id = $2`,
    [claim.workspaceId, claim.id],
  );
  const row = rows[0];
  if (row === undefined) throw new Error("a conflicting return row vanished");
  return { claimed: false, requestHash: row.requestHash, receipt: row.receipt };
}

export interface LockedLine {
  readonly lineId: string;
  readonly quantity: number;
  readonly unitPriceMinor: number;
  readonly returnedQuantity: number;
}

/**
 * Locks every line of the sale, in line id order, and reads them as they stand after any return that
 * held the lock before: two returns of one sale never both see the same units as returnable.
 */
export async function lockSaleLines(tx: Tx, workspaceId: string, saleId: string): Promise<LockedLine[]> {
  const { rows } = await tx.query<LockedLine>(
    `select line_id as "lineId", quantity, unit_price_minor as "unitPriceMinor", returned_quantity as "returnedQuantity"
       from sale_lines where workspace_id = $1 and sale_id = $2
      order by line_id for update`,
    [workspaceId, saleId],
  );
  return rows;
}

export interface LineDiscountRow {
  readonly lineId: string;
  readonly promotionId: string;
  readonly amountMinor: number;
}

export async function saleLineDiscounts(
  q: Queryable,
  workspaceId: string,
  saleId: string,
): Promise<LineDiscountRow[]> {
  const { rows } = await q.query<LineDiscountRow>(
    `select l.line_id as "lineId", d."promotionId", d."amountMinor"
       from sale_lines l, jsonb_to_recordset(l.discounts) as d("promotionId" text, "amountMinor" bigint)
      where l.workspace_id = $1 and l.sale_id = $2
      order by l.line_id, d."promotionId"`,
    [workspaceId, saleId],
  );
  return rows;
}

/** One counter a sale consumed from, in the cycle it consumed in, with what its returns gave back. */
export interface SaleConsumption {
  readonly promotionId: string;
  readonly rule: string;
  readonly subject: string;
  readonly cycleStart: Date;
  /** Sum of the sale's positive ledger entries. */
  readonly consumedAmount: number;
  /** Sum of the sale's negative ledger entries (its returns' restorations), as a positive number. */
  readonly restoredAmount: number;
}

export async function saleConsumption(
  q: Queryable,
  workspaceId: string,
  saleId: string,
): Promise<SaleConsumption[]> {
  const { rows } = await q.query<SaleConsumption>(
    `select promotion_id as "promotionId", rule, subject, cycle_start as "cycleStart",
            coalesce(sum(amount) filter (where amount > 0), 0)::bigint as "consumedAmount",
            coalesce(-sum(amount) filter (where amount < 0), 0)::bigint as "restoredAmount"
       from limit_ledger where workspace_id = $1 and sale_id = $2
      group by promotion_id, rule, subject, cycle_start
     having coalesce(sum(amount) filter (where amount > 0), 0) > 0
      order by promotion_id, rule, subject, cycle_start`,
    [workspaceId, saleId],
  );
  return rows;
}

/**
 * Whether a return gives back the limits each promotion consumed: the promotion definition's
 * returns.restoreLimits, true when absent (and for a promotion that no longer exists).
 */
export async function restoreLimitsPolicy(
  q: Queryable,
  workspaceId: string,
  promotionIds: readonly string[],
): Promise<Map<string, boolean>> {
  if (promotionIds.length === 0) return new Map();
  const { rows } = await q.query<{ id: string; restore: boolean }>(
    `select id, coalesce(definition->'returns'->>'restoreLimits', 'true') <> 'false' as restore
       from promotions where workspace_id = $1 and id = any($2::text[])`,
    [workspaceId, promotionIds],
  );
  const policy = new Map(promotionIds.map((id) => [id, true]));
  for (const row of rows) policy.set(row.id, row.restore);
  return policy;
}

export interface ReturnedLine {
  readonly lineId: string;
  readonly quantity: number;
  readonly refundMinor: number;
  readonly discountReversedMinor: number;
}

/** What POST /v1/returns answers, stored as json text so a replay answers the same bytes. */
export interface ReturnReceipt {
  readonly returnId: string;
  readonly saleId: string;
  readonly transactionId: string;
  readonly occurredAt: string;
  readonly lines: readonly ReturnedLine[];
  readonly refundMinor: number;
  readonly discountReversedMinor: number;
  readonly restored: readonly {
    readonly promotionId: string;
    readonly rule: string;
    readonly amount: number;
  }[];
}

export interface ReturnRecord {
  readonly workspaceId: string;
  readonly id: string;
  readonly saleId: string;
  readonly refundMinor: number;
  /** The receipt as JSON text. */
  readonly receipt: string;
  readonly lines: readonly ReturnedLine[];
  /** What this return reversed of each promotion's redemption, summed over the lines. */
  readonly reversals: readonly { readonly promotionId: string; readonly amountMinor: number }[];
}

/**
 * Writes the return (its row's totals and receipt, its lines) and applies it to the sale (returned
 * quantities, reversed redemptions) in one statement. The sale's lines must be locked.
 */
export async function writeReturn(tx: Tx, r: ReturnRecord): Promise<void> {
  await tx.query(
    `with r as (
       update returns set refund_minor = $4, receipt = $5::json where workspace_id = $1 and id = $2
     ), rl as (
       insert into return_lines (workspace_id, return_id, line_id, quantity, refund_minor, discount_reversed_minor)
       select $1, $2, x."lineId", x.quantity, x."refundMinor", x."discountReversedMinor"
         from json_to_recordset($6::json) as x("lineId" text, quantity int, "refundMinor" bigint, "discountReversedMinor" bigint)
     ), sl as (
       update sale_lines s set returned_quantity = s.returned_quantity + x.quantity
         from json_to_recordset($6::json) as x("lineId" text, quantity int)
        where s.workspace_id = $1 and s.sale_id = $3 and s.line_id = x."lineId"
     )
     update redemptions d set reversed_minor = d.reversed_minor + x."amountMinor"
       from json_to_recordset($7::json) as x("promotionId" text, "amountMinor" bigint)
      where d.workspace_id = $1 and d.sale_id = $3 and d.promotion_id = x."promotionId"`,
    [
      r.workspaceId,
      r.id,
      r.saleId,
      r.refundMinor,
      r.receipt,
      JSON.stringify(r.lines),
      JSON.stringify(r.reversals),
    ],
  );
}

/** The receipt of a processed return as JSON text, or null. */
export async function findReturnReceipt(
  q: Queryable,
  workspaceId: string,
  returnId: string,
): Promise<string | null> {
  const { rows } = await q.query<{ receipt: string }>(
    `select receipt::text as receipt from returns where workspace_id = $1 and id = $2 and receipt is not null`,
    [workspaceId, returnId],
  );
  return rows[0]?.receipt ?? null;
}

/** The returns of a sale, oldest first, each as its receipt: what GET /v1/sales/:id lists. */
export async function saleReturns(
  q: Queryable,
  workspaceId: string,
  saleId: string,
): Promise<ReturnReceipt[]> {
  const { rows } = await q.query<{ receipt: ReturnReceipt }>(
    `select receipt from returns where workspace_id = $1 and sale_id = $2 and receipt is not null
      order by occurred_at, id`,
    [workspaceId, saleId],
  );
  return rows.map((r) => r.receipt);
}
