// Limit counters: one row per (promotion, rule, subject), locked by the sale that consumes it. The
// lock is taken by an upsert, so a customer's first use (no row yet) is locked exactly like the
// hundredth; rows are always locked in key order, so two sales never wait on each other in a cycle.
import { queryAndCommit, type Queryable, type Tx } from "./db.js";

export interface CounterKey {
  readonly promotionId: string;
  readonly rule: string;
  readonly subject: string;
}

export interface CounterRow extends CounterKey {
  readonly cycleStart: Date;
  readonly used: number;
}

export function counterId(k: CounterKey): string {
  return `${k.promotionId}\u0000${k.rule}\u0000${k.subject}`;
}

function sortedColumns(keys: readonly CounterKey[]): [string[], string[], string[]] {
  const unique = [...new Map(keys.map((k) => [counterId(k), k])).values()].sort((a, b) =>
    counterId(a) < counterId(b) ? -1 : counterId(a) > counterId(b) ? 1 : 0,
  );
  return [unique.map((k) => k.promotionId), unique.map((k) => k.rule), unique.map((k) => k.subject)];
}

/** Locks the counters (creating missing ones) in key order and returns them. */
export async function lockCounters(
  tx: Tx,
  workspaceId: string,
  keys: readonly CounterKey[],
): Promise<CounterRow[]> {
  if (keys.length === 0) return [];
  const [promotionIds, rules, subjects] = sortedColumns(keys);
  const { rows } = await tx.query<CounterRow>({
    name: "till_lock_counters",
    text: `insert into limit_counters (workspace_id, promotion_id, rule, subject, cycle_start, used)
     select $1, k.p, k.r, k.s, 'epoch', 0
       from unnest($2::text[], $3::text[], $4::text[]) with ordinality as k(p, r, s, n)
      order by k.n
     on conflict (workspace_id, promotion_id, rule, subject) do update set used = limit_counters.used
     returning promotion_id as "promotionId", rule, subject, cycle_start as "cycleStart", used`,
    values: [workspaceId, promotionIds, rules, subjects],
  });
  return rows;
}

/** Reads counters without locking (for quotes); missing rows are simply absent. */
export async function readCounters(
  q: Queryable,
  workspaceId: string,
  keys: readonly CounterKey[],
): Promise<CounterRow[]> {
  if (keys.length === 0) return [];
  const [promotionIds, rules, subjects] = sortedColumns(keys);
  const { rows } = await q.query<CounterRow>({
    name: "till_read_counters",
    text: `select c.promotion_id as "promotionId", c.rule, c.subject, c.cycle_start as "cycleStart", c.used
       from unnest($2::text[], $3::text[], $4::text[]) as k(p, r, s)
       join limit_counters c on c.workspace_id = $1 and c.promotion_id = k.p and c.rule = k.r and c.subject = k.s`,
    values: [workspaceId, promotionIds, rules, subjects],
  });
  return rows;
}

/** What the ledger holds for each key since the given instant (rolling windows). */
export async function sumLedgerSince(
  q: Queryable,
  workspaceId: string,
  keys: readonly (CounterKey & { readonly sinceMs: number })[],
): Promise<Map<string, number>> {
  if (keys.length === 0) return new Map();
  const { rows } = await q.query<CounterKey & { total: number }>(
    `select k.p as "promotionId", k.r as rule, k.s as subject,
            coalesce((select sum(l.amount) from limit_ledger l
                       where l.workspace_id = $1 and l.promotion_id = k.p and l.rule = k.r
                         and l.subject = k.s and l.occurred_at > k.since), 0)::bigint as total
       from unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[]) as k(p, r, s, since)`,
    [
      workspaceId,
      keys.map((k) => k.promotionId),
      keys.map((k) => k.rule),
      keys.map((k) => k.subject),
      keys.map((k) => new Date(k.sinceMs)),
    ],
  );
  return new Map(rows.map((r) => [counterId(r), r.total]));
}

export interface LedgerEntry extends CounterKey {
  readonly cycleStartMs: number;
  readonly amount: number;
}

/**
 * Adds each entry to its (locked) counter and to the ledger. A counter whose cycle is older than the
 * entry's starts the new cycle at the entry's amount.
 */
export async function consume(
  tx: Tx,
  workspaceId: string,
  saleId: string,
  returnId: string | null,
  occurredAtMs: number,
  entries: readonly LedgerEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  const columns = [
    entries.map((e) => e.promotionId),
    entries.map((e) => e.rule),
    entries.map((e) => e.subject),
    entries.map((e) => new Date(e.cycleStartMs)),
    entries.map((e) => e.amount),
  ];
  await tx.query({
    name: "till_consume",
    text: `with e as (
       select * from unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::bigint[]) as e(p, r, s, cycle, amount)
     ), counters as (
       update limit_counters c
          set used = case when c.cycle_start = e.cycle then c.used + e.amount else greatest(e.amount, 0) end,
              cycle_start = greatest(c.cycle_start, e.cycle)
         from e
        where c.workspace_id = $1 and c.promotion_id = e.p and c.rule = e.r and c.subject = e.s
          and c.cycle_start <= e.cycle
     )
     insert into limit_ledger (workspace_id, promotion_id, rule, subject, sale_id, return_id, cycle_start, occurred_at, amount)
     select $1, e.p, e.r, e.s, $7, $8, e.cycle, $9, e.amount from e`,
    values: [workspaceId, ...columns, saleId, returnId, new Date(occurredAtMs)],
  });
}

/** An entry of the optimistic commit, with the most its counter may hold once it is added. */
export interface CheckedEntry extends LedgerEntry {
  readonly max: number;
}

/**
 * The optimistic commit's last statement, with COMMIT right behind it: adds each entry to its counter
 * (creating it at first use) and to the ledger, taking the counters' locks in key order, and fails
 * with `isMoved` (till_moved, migration 0013) when a counter ends over the entry's `max`, which turns the
 * COMMIT into a rollback. So the locks are held from this statement to COMMIT with no round trip to
 * the server in between. A counter already in a newer cycle than the entry keeps its count: the entry
 * is ledgered in its own cycle (and checked against the count it finds).
 */
export async function addToCountersAndCommit(
  tx: Tx,
  workspaceId: string,
  saleId: string,
  occurredAtMs: number,
  entries: readonly CheckedEntry[],
): Promise<void> {
  const sorted = [...entries].sort((a, b) =>
    counterId(a) < counterId(b) ? -1 : counterId(a) > counterId(b) ? 1 : 0,
  );
  await queryAndCommit(tx, {
    name: "till_add_to_counters",
    text: `with e as (
       select * from unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::bigint[], $9::bigint[])
         with ordinality as e(p, r, s, cycle, amount, max, n)
     ), ledger as (
       insert into limit_ledger (workspace_id, promotion_id, rule, subject, sale_id, return_id, cycle_start, occurred_at, amount)
       select $1, e.p, e.r, e.s, $7, null, e.cycle, $8, e.amount from e
     ), added as (
       insert into limit_counters as c (workspace_id, promotion_id, rule, subject, cycle_start, used)
       select $1, e.p, e.r, e.s, e.cycle, e.amount from e order by e.n
       on conflict (workspace_id, promotion_id, rule, subject) do update
          set used = case when c.cycle_start = excluded.cycle_start then c.used + excluded.used
                          when c.cycle_start < excluded.cycle_start then excluded.used
                          else c.used end,
              cycle_start = greatest(c.cycle_start, excluded.cycle_start)
       returning c.promotion_id, c.rule, c.subject, c.used
     )
     select count(*) from added a join e on e.p = a.promotion_id and e.r = a.rule and e.s = a.subject
      where case when a.used > e.max then till_moved(concat_ws(' ', 'limit', a.promotion_id, a.rule, a.subject))
                 else true end`,
    values: [
      workspaceId,
      sorted.map((e) => e.promotionId),
      sorted.map((e) => e.rule),
      sorted.map((e) => e.subject),
      sorted.map((e) => new Date(e.cycleStartMs)),
      sorted.map((e) => e.amount),
      saleId,
      new Date(occurredAtMs),
      sorted.map((e) => e.max),
    ],
  });
}
