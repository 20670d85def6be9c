// Earning progress: one row per (customer, loyalty_earning promotion) with what the customer's sales
// add up to since the promotion started. A sale bumps its row with an upsert, which also locks it
// until COMMIT, so concurrent sales of one customer queue on it and each stamp counts once. An
// activity (registration, profile update) locks its rows the same way, counting entries only.
import type { Queryable, Tx } from "./db.js";

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

/** The key of lockEarnedCounts' answer; customer ids hold no control characters, so it sorts by customer. */
export function progressKey(customerId: string, promotionId: string): string {
  return `${customerId}\u0000${promotionId}`;
}

/**
 * Activity earning (registration, profile update): upserts the progress rows of these (customer,
 * promotion) pairs without counting a sale, locking them in (customer, promotion) order, and answers
 * the entries earned so far by progressKey. Call with the customers locked.
 */
export async function lockEarnedCounts(
  tx: Tx,
  workspaceId: string,
  pairs: readonly { readonly customerId: string; readonly promotionId: string }[],
  at: Date,
): Promise<Map<string, number>> {
  const keyOf = (p: { customerId: string; promotionId: string }) => progressKey(p.customerId, p.promotionId);
  const sorted = [...new Map(pairs.map((p) => [keyOf(p), p])).values()].sort((a, b) =>
    keyOf(a) < keyOf(b) ? -1 : 1,
  );
  if (sorted.length === 0) return new Map();
  const { rows } = await tx.query<{ customerId: string; promotionId: string; earned: number }>(
    `insert into earning_progress as e (workspace_id, customer_id, promotion_id, transactions, spend_minor, earned, updated_at)
     select $1, c, p, 0, 0, 0, $4 from unnest($2::text[], $3::text[]) with ordinality as u(c, p, n) order by n
     on conflict (workspace_id, customer_id, promotion_id) do update set updated_at = $4
     returning customer_id as "customerId", promotion_id as "promotionId", earned`,
    [workspaceId, sorted.map((p) => p.customerId), sorted.map((p) => p.promotionId), at],
  );
  return new Map(rows.map((r) => [keyOf(r), r.earned]));
}

export interface StorePlace {
  readonly conceptId: string | null;
  readonly zoneIds: string[];
}

/** The concept and zones of these stores, by store id (unknown stores are absent). */
export async function storePlaces(
  q: Queryable,
  workspaceId: string,
  storeIds: readonly string[],
): Promise<Map<string, StorePlace>> {
  if (storeIds.length === 0) return new Map();
  const { rows } = await q.query<StorePlace & { id: string }>(
    `select id, concept_id as "conceptId", zone_ids as "zoneIds" from stores
      where workspace_id = $1 and id = any($2::text[])`,
    [workspaceId, [...storeIds]],
  );
  return new Map(rows.map(({ id, ...place }) => [id, place]));
}
