// The sale ledger: a sale row claimed first (its unique transaction id is the idempotency lock), then
// its lines, the discount each promotion gave each line, and one redemption per applied promotion.
import type pg from "pg";
import { queryAndCommit, type Queryable, type Tx } from "./db.js";
import type { EventRecord, StateWrite, TierMove } from "./loyalty.js";

/**
 * The sale that holds a transaction id this request could not claim (loadPricingFacts claims it).
 * The claiming statement waited until that sale committed, so its receipt is there.
 */
export async function existingSale(
  tx: Tx,
  workspaceId: string,
  transactionId: string,
): Promise<{ requestHash: Buffer; receipt: string }> {
  const { rows } = await tx.query<{ requestHash: Buffer; receipt: string }>(
    `select request_hash as "requestHash", receipt::text as receipt from sales where workspace_id = $1 and transaction_id = $2`,
    [workspaceId, transactionId],
  );
  const row = rows[0];
  if (row === undefined || row.receipt === null) throw new Error("a conflicting sale row vanished");
  return row;
}

export interface SaleLineRecord {
  readonly lineId: string;
  readonly sku: string;
  readonly quantity: number;
  readonly unitPriceMinor: number;
  readonly grossMinor: number;
  readonly discountMinor: number;
  readonly netMinor: number;
  /** What each promotion gave the line, in promotion id order: what a return reverses. */
  readonly discounts: readonly LineDiscountRecord[];
}

export interface LineDiscountRecord {
  readonly promotionId: string;
  readonly amountMinor: number;
  readonly units: number;
}

export interface RedemptionRecord {
  readonly promotionId: string;
  readonly code: string | null;
  readonly discountMinor: number;
  readonly instances: number;
  readonly units: number;
}

export interface SaleRecord {
  readonly workspaceId: string;
  readonly id: string;
  readonly customerId: string | null;
  readonly occurredAtMs: number;
  readonly totals: { readonly grossMinor: number; readonly discountMinor: number; readonly netMinor: number };
  readonly receipt: string;
  readonly lines: readonly SaleLineRecord[];
  readonly redemptions: readonly RedemptionRecord[];
  /** The customer's events this sale produces (issue 4), inserted with it. */
  readonly events: readonly EventRecord[];
  /**
   * The customer's new loyalty state, written only if it is still at `readVersion` (0: no row yet),
   * with the tier moves it makes.
   */
  readonly profile: { write: StateWrite; readVersion: number; moves: readonly TierMove[] } | null;
}

/**
 * Writes the whole sale in one statement (one round trip): the sale, its lines, discounts and
 * redemptions, the customer's events and their loyalty state. Answers whether the state was written
 * (false: none was given, or another writer moved it since it was read).
 *
 * `commit`: the sale's last statement, with COMMIT sent right behind it (store/db.ts queryAndCommit);
 * a loyalty state another writer moved fails it with till_moved instead (`isMoved`), rolling the
 * sale back, so a state that could not be written is never committed without its fold.
 */
export async function writeSale(tx: Tx, sale: SaleRecord, options: { commit: boolean }): Promise<boolean> {
  const profile = sale.profile;
  const query: pg.QueryConfig = {
    name: "till_write_sale",
    text: `with s as (
       update sales set customer_id = $3, gross_minor = $4, discount_minor = $5, net_minor = $6, receipt = $7::json
        where workspace_id = $1 and id = $2
     ), l as (
       insert into sale_lines (workspace_id, sale_id, line_id, sku, quantity, unit_price_minor, gross_minor, discount_minor, net_minor, discounts)
       select $1, $2, x."lineId", x.sku, x.quantity, x."unitPriceMinor", x."grossMinor", x."discountMinor", x."netMinor", x.discounts
         from jsonb_to_recordset($8::jsonb) as x("lineId" text, sku text, quantity int, "unitPriceMinor" bigint,
                                                 "grossMinor" bigint, "discountMinor" bigint, "netMinor" bigint, discounts jsonb)
     ), r as (
       insert into redemptions (workspace_id, sale_id, promotion_id, customer_id, code, discount_minor, instances, units, occurred_at)
       select $1, $2, x."promotionId", $3, x.code, x."discountMinor", x.instances, x.units, $9
         from json_to_recordset($10::json) as x("promotionId" text, code text, "discountMinor" bigint, instances int, units int)
     ), ev as (
       insert into events (workspace_id, id, customer_id, type, occurred_at, params, source, received_at)
       select $1, e.id, $3, e.type, e.occurred_at, e.params, e.source, $9
         from jsonb_to_recordset($11::jsonb) as e(id text, type text, occurred_at timestamptz, params jsonb, source text)
       on conflict (workspace_id, id) do nothing
     ), st as (
       insert into profile_states (workspace_id, customer_id, state, tiers, segment_ids, version, evaluated_at)
       select $1, $3, $12::jsonb, $13::jsonb, $14::text[], 1, $9 where $12::jsonb is not null
       on conflict (workspace_id, customer_id) do update
         set state = excluded.state, tiers = excluded.tiers, segment_ids = excluded.segment_ids,
             version = profile_states.version + 1, evaluated_at = excluded.evaluated_at
       where profile_states.version = $15
       returning 1
     ), mv as (
       insert into tier_moves (workspace_id, customer_id, program_id, from_tier, to_tier, moved_at, cause)
       select $1, $3, m.program_id, m.from_tier, m.to_tier, $9, m.cause
         from jsonb_to_recordset($16::jsonb) as m(program_id text, from_tier text, to_tier text, cause text)
        where exists (select 1 from st)
     )
     select (select count(*)::int from st) as written,
            case when $17 and $12::jsonb is not null and not exists (select 1 from st)
                 then till_moved('the loyalty state of customer ' || $3) end as checked`,
    values: [
      sale.workspaceId,
      sale.id,
      sale.customerId,
      sale.totals.grossMinor,
      sale.totals.discountMinor,
      sale.totals.netMinor,
      sale.receipt,
      JSON.stringify(sale.lines),
      new Date(sale.occurredAtMs),
      JSON.stringify(sale.redemptions),
      JSON.stringify(
        sale.events.map((e) => ({
          id: e.id,
          type: e.type,
          occurred_at: new Date(e.atMs).toISOString(),
          params: e.params,
          source: e.source,
        })),
      ),
      profile ? JSON.stringify(profile.write.state) : null,
      profile ? JSON.stringify(profile.write.tiers) : null,
      profile ? profile.write.segmentIds : null,
      profile ? profile.readVersion : 0,
      JSON.stringify(
        (profile?.moves ?? []).map((m) => ({
          program_id: m.programId,
          from_tier: m.fromTier,
          to_tier: m.toTier,
          cause: m.cause,
        })),
      ),
      options.commit,
    ],
  };
  const { rows } = options.commit
    ? await queryAndCommit<{ written: number }>(tx, query)
    : await tx.query<{ written: number }>(query);
  return rows[0]!.written === 1;
}

export interface SaleSummary {
  readonly id: string;
  readonly transactionId: string;
  readonly customerId: string | null;
  readonly occurredAt: Date;
  readonly grossMinor: number;
  readonly discountMinor: number;
  readonly netMinor: number;
}

const SUMMARY_COLUMNS = `id, transaction_id as "transactionId", customer_id as "customerId", occurred_at as "occurredAt",
  gross_minor as "grossMinor", discount_minor as "discountMinor", net_minor as "netMinor"`;

export async function findSale(
  q: Queryable,
  workspaceId: string,
  by: { id: string } | { transactionId: string },
): Promise<SaleSummary | null> {
  const [column, value] = "id" in by ? ["id", by.id] : ["transaction_id", by.transactionId];
  const { rows } = await q.query<SaleSummary>(
    `select ${SUMMARY_COLUMNS} from sales where workspace_id = $1 and ${column} = $2 and receipt is not null`,
    [workspaceId, value],
  );
  return rows[0] ?? null;
}

export async function listSales(
  q: Queryable,
  workspaceId: string,
  filter: { customerId?: string; limit: number; before?: string },
): Promise<SaleSummary[]> {
  const { rows } = await q.query<SaleSummary>(
    `select ${SUMMARY_COLUMNS} from sales
      where workspace_id = $1 and receipt is not null
        and ($2::text is null or customer_id = $2) and ($3::text is null or (occurred_at, id) < (select occurred_at, id from sales where workspace_id = $1 and id = $3))
      order by occurred_at desc, id desc limit $4`,
    [workspaceId, filter.customerId ?? null, filter.before ?? null, filter.limit],
  );
  return rows;
}

export interface RedemptionRow {
  readonly promotionId: string;
  readonly code: string | null;
  readonly discountMinor: number;
  readonly reversedMinor: number;
  readonly instances: number;
  readonly units: number;
}

export async function saleRedemptions(
  q: Queryable,
  workspaceId: string,
  saleId: string,
): Promise<RedemptionRow[]> {
  const { rows } = await q.query<RedemptionRow>(
    `select promotion_id as "promotionId", code, discount_minor as "discountMinor", reversed_minor as "reversedMinor",
            instances, units
       from redemptions where workspace_id = $1 and sale_id = $2 order by promotion_id`,
    [workspaceId, saleId],
  );
  return rows;
}

export async function saleLines(
  q: Queryable,
  workspaceId: string,
  saleId: string,
): Promise<(SaleLineRecord & { returnedQuantity: number })[]> {
  const { rows } = await q.query<SaleLineRecord & { returnedQuantity: number }>(
    `select line_id as "lineId", sku, quantity, unit_price_minor as "unitPriceMinor", gross_minor as "grossMinor",
            discount_minor as "discountMinor", net_minor as "netMinor", returned_quantity as "returnedQuantity"
       from sale_lines where workspace_id = $1 and sale_id = $2 order by line_id`,
    [workspaceId, saleId],
  );
  return rows;
}
