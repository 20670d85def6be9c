// Earning progress: one row per (customer, loyalty_earning promotion) with what the customer's sales
// add up to since the promotion started. A sale bumps its row with an upsert, which also locks it
// until COMMIT, so concurrent sales of one customer queue on it and each stamp counts once.
import type { Tx } from "./db.js";

export interface Progress {
  /** After this sale. */
  readonly transactions: number;
  /** After this sale, in minor units. */
  readonly spendMinor: number;
  /** Entries earned before this sale. */
  readonly earned: number;
}

/**
 * Locks the customer's row (FOR NO KEY UPDATE, as a staff issue does), so that counting a customer's
 * entries for the issual limit sees every earlier issue or earning. Answers false when there is no
 * such customer.
 */
export async function lockCustomer(tx: Tx, workspaceId: string, customerId: string): Promise<boolean> {
  const { rowCount } = await tx.query(
    `select 1 from customers where workspace_id = $1 and id = $2 for no key update`,
    [workspaceId, customerId],
  );
  return rowCount === 1;
}

/** Adds one sale (and its spend) to each promotion's progress, locking the rows in promotion order. */
export async function bumpProgress(
  tx: Tx,
  workspaceId: string,
  customerId: string,
  promotionIds: readonly string[],
  spendMinor: number,
  at: Date,
): Promise<Map<string, Progress>> {
  const sorted = [...promotionIds].sort();
  const { rows } = await tx.query<{ promotionId: string } & Progress>(
    `insert into earning_progress as e (workspace_id, customer_id, promotion_id, transactions, spend_minor, earned, updated_at)
     select $1, $2, x, 1, $4, 0, $5 from unnest($3::text[]) with ordinality as u(x, n) order by n
     on conflict (workspace_id, customer_id, promotion_id) do update
       set transactions = e.transactions + 1, spend_minor = e.spend_minor + $4, updated_at = $5
     returning promotion_id as "promotionId", transactions, spend_minor as "spendMinor", earned`,
    [workspaceId, customerId, sorted, spendMinor, at],
  );
  return new Map(rows.map((r) => [r.promotionId, r]));
}

/** Records entries earned by this sale; call with the row locked by bumpProgress. */
export async function addEarned(
  tx: Tx,
  workspaceId: string,
  customerId: string,
  promotionId: string,
  count: number,
): Promise<void> {
  await tx.query(
    `update earning_progress set earned = earned + $4
      where workspace_id = $1 and customer_id = $2 and promotion_id = $3`,
    [workspaceId, customerId, promotionId, count],
  );
}
