// The customer wallet: one row per promotion a customer holds (issued by staff, earned, bought). Rows
// are keyed by (workspace, customer, id); every read names the workspace and the customer, so an entry
// id of another workspace or another customer is simply not found. The expiry is computed by the
// service from the promotion's current definition (see services/wallet.ts); expires_at holds only an
// explicit per-entry override.
import type { Expiry, Promotion, PromotionType } from "../domain/promotion.js";
import type { Queryable, Tx } from "./db.js";
import type { StoredStatus } from "./promotions.js";

export type StoredWalletState = "issued" | "active" | "redeemed" | "expired" | "revoked";
export type WalletSource = "issued" | "earned" | "bought";

/** What the wallet needs of the entry's promotion: its name, and the terms its expiry follows. */
export interface WalletPromotion {
  readonly name: string;
  readonly type: PromotionType;
  readonly headline: string | null;
  readonly activationRequired: boolean;
  readonly expiry: Expiry | null;
  /** The promotion's schedule end (exclusive), for expiry "with the promotion". */
  readonly endsAt: string | null;
}

export interface WalletRow {
  readonly id: string;
  readonly customerId: string;
  readonly promotionId: string;
  readonly state: StoredWalletState;
  readonly source: WalletSource;
  readonly issuedAt: Date;
  readonly earnedAt: Date | null;
  readonly activatedAt: Date | null;
  /** The per-entry override only; null when the promotion's expiry rule decides. */
  readonly expiresAt: Date | null;
  readonly redemptionsLeft: number | null;
  readonly revokedAt: Date | null;
  readonly promotion: WalletPromotion;
  /** The workspace's time zone, in which "N days" of the expiry are counted. */
  readonly timeZone: string;
}

const COLUMNS = `w.id, w.customer_id as "customerId", w.promotion_id as "promotionId", w.state, w.source,
  w.issued_at as "issuedAt", w.earned_at as "earnedAt", w.activated_at as "activatedAt",
  w.expires_at as "expiresAt", w.redemptions_left as "redemptionsLeft", w.revoked_at as "revokedAt",
  json_build_object(
    'name', p.name,
    'type', p.definition->>'type',
    'headline', p.definition->>'headline',
    'activationRequired', coalesce((p.definition->>'activationRequired')::boolean, false),
    'expiry', p.definition->'expiry',
    'endsAt', p.definition->'schedule'->>'endsAt') as promotion,
  (select time_zone from workspaces where id = w.workspace_id) as "timeZone"`;
const FROM = `wallet_entries w join promotions p on p.workspace_id = w.workspace_id and p.id = w.promotion_id`;

/** What issuing reads, with the customer's row locked so that issues to one customer queue. */
export interface IssueFacts {
  readonly timeZone: string | null;
  readonly customerExists: boolean;
  readonly promotion: { readonly definition: Promotion; readonly status: StoredStatus } | null;
}

/**
 * Reads the workspace's time zone and the promotion, and locks the customer's row (FOR NO KEY UPDATE:
 * sales and key-share checks pass). Counting the customer's entries must come in a later statement,
 * which sees what the issue that held the lock before committed.
 */
export async function lockForIssue(
  tx: Tx,
  workspaceId: string,
  customerId: string,
  promotionId: string,
): Promise<IssueFacts> {
  const { rows } = await tx.query<{
    timeZone: string | null;
    customerExists: boolean | null;
    promotion: IssueFacts["promotion"];
  }>(
    `select (select time_zone from workspaces where id = $1) as "timeZone",
            (select true from customers where workspace_id = $1 and id = $2 for no key update) as "customerExists",
            (select json_build_object('definition', definition, 'status', status) from promotions
              where workspace_id = $1 and id = $3) as promotion`,
    [workspaceId, customerId, promotionId],
  );
  const row = rows[0]!;
  return { timeZone: row.timeZone, customerExists: row.customerExists === true, promotion: row.promotion };
}

export interface NewEntry {
  readonly id: string;
  readonly customerId: string;
  readonly promotionId: string;
  readonly state: "issued" | "active";
  readonly source: WalletSource;
  readonly issuedAt: Date;
  readonly earnedAt: Date | null;
  readonly expiresAt: Date | null;
  /** Redemptions the entry allows; null or absent: as many as the promotion's limits allow. */
  readonly redemptionsLeft?: number | null;
}

/**
 * Inserts the entry unless the customer already holds `issuedMax` entries of the promotion (every
 * entry ever issued counts, revoked ones too). Call with the customer locked (lockForIssue).
 * Answers null when the limit leaves nothing.
 */
export async function insertEntryWithin(
  tx: Tx,
  workspaceId: string,
  entry: NewEntry,
  issuedMax: number | null,
): Promise<WalletRow | null> {
  const { rows } = await tx.query<WalletRow>(
    `with issued as (
       select count(*)::int as n from wallet_entries
        where workspace_id = $1 and customer_id = $2 and promotion_id = $4
     ), w as (
       insert into wallet_entries (workspace_id, customer_id, id, promotion_id, state, source, issued_at, earned_at, expires_at, redemptions_left)
       select $1, $2, $3, $4, $5, $6, $7, $8, $9, $11 from issued where $10::int is null or issued.n < $10::int
       returning *
     )
     select ${COLUMNS} from w join promotions p on p.workspace_id = w.workspace_id and p.id = w.promotion_id`,
    [
      workspaceId,
      entry.customerId,
      entry.id,
      entry.promotionId,
      entry.state,
      entry.source,
      entry.issuedAt,
      entry.earnedAt,
      entry.expiresAt,
      issuedMax,
      entry.redemptionsLeft ?? null,
    ],
  );
  return rows[0] ?? null;
}

/** The workspace's time zone (null: no such workspace) and whether the customer exists. */
export async function walletOwner(
  q: Queryable,
  workspaceId: string,
  customerId: string,
): Promise<{ timeZone: string | null; customerExists: boolean }> {
  const { rows } = await q.query<{ timeZone: string | null; customerExists: boolean }>(
    `select (select time_zone from workspaces where id = $1) as "timeZone",
            exists (select 1 from customers where workspace_id = $1 and id = $2) as "customerExists"`,
    [workspaceId, customerId],
  );
  return rows[0]!;
}

/** A page of the customer's entries in id order, after `after`; fetch limit + 1 to know of a next page. */
export async function listEntries(
  q: Queryable,
  workspaceId: string,
  customerId: string,
  page: { readonly after?: string; readonly limit: number },
): Promise<WalletRow[]> {
  const { rows } = await q.query<WalletRow>(
    `select ${COLUMNS} from ${FROM}
      where w.workspace_id = $1 and w.customer_id = $2 and ($3::text is null or w.id > $3)
      order by w.id limit $4`,
    [workspaceId, customerId, page.after ?? null, page.limit],
  );
  return rows;
}

/** One entry of one customer; with forUpdate, its row is locked for the transaction. */
export async function findEntry(
  q: Queryable,
  workspaceId: string,
  customerId: string,
  entryId: string,
  options: { forUpdate?: boolean } = {},
): Promise<WalletRow | null> {
  const { rows } = await q.query<WalletRow>(
    `select ${COLUMNS} from ${FROM}
      where w.workspace_id = $1 and w.customer_id = $2 and w.id = $3
      ${options.forUpdate ? "for update of w" : ""}`,
    [workspaceId, customerId, entryId],
  );
  return rows[0] ?? null;
}

/** Moves a locked entry to `active` (activation) or `revoked`, stamping the instant. */
export async function setEntryState(
  tx: Tx,
  workspaceId: string,
  customerId: string,
  entryId: string,
  state: "active" | "revoked",
  at: Date,
): Promise<WalletRow> {
  const stamp = state === "active" ? "activated_at" : "revoked_at";
  const { rows } = await tx.query<WalletRow>(
    `with w as (
       update wallet_entries set state = $4, ${stamp} = $5
        where workspace_id = $1 and customer_id = $2 and id = $3
       returning *
     )
     select ${COLUMNS} from w join promotions p on p.workspace_id = w.workspace_id and p.id = w.promotion_id`,
    [workspaceId, customerId, entryId, state, at],
  );
  const row = rows[0];
  if (row === undefined) throw new Error(`wallet entry ${entryId} vanished under its lock`);
  return row;
}

/** What pricing reads of the wallet: the customer's entries that may still apply. */
export interface WalletFact {
  readonly promotionId: string;
  readonly state: "issued" | "active";
  readonly issuedAt: string;
  readonly earnedAt: string | null;
  readonly expiresAt: string | null;
}

/**
 * Locks the customer's issued and active entries, in id order (of these promotions only, when given),
 * and reads them as they are now: a sale that redeems an entry holds it until COMMIT, so a concurrent
 * sale sees it used or waits.
 */
export async function lockLiveEntries(
  tx: Tx,
  workspaceId: string,
  customerId: string,
  promotionIds: readonly string[] | null,
): Promise<WalletRow[]> {
  const { rows } = await tx.query<WalletRow>(
    `select ${COLUMNS} from ${FROM}
      where w.workspace_id = $1 and w.customer_id = $2 and w.state in ('issued', 'active')
        and ($3::text[] is null or w.promotion_id = any($3::text[]))
      order by w.id
      for update of w`,
    [workspaceId, customerId, promotionIds],
  );
  return rows;
}

/** A sale used a locked entry: sets its redemptions left, and moves it to redeemed when none are. */
export async function useEntry(
  tx: Tx,
  workspaceId: string,
  customerId: string,
  entryId: string,
  redemptionsLeft: number,
): Promise<void> {
  await tx.query(
    `update wallet_entries
        set redemptions_left = $4, state = case when $4::int <= 0 then 'redeemed' else state end
      where workspace_id = $1 and customer_id = $2 and id = $3`,
    [workspaceId, customerId, entryId, Math.max(0, redemptionsLeft)],
  );
}

/**
 * How many entries of the promotion the customer was ever given from these sources (revoked ones
 * too). Call with the customer locked, so concurrent gains count each other.
 */
export async function countEntriesFrom(
  q: Queryable,
  workspaceId: string,
  customerId: string,
  promotionId: string,
  sources: readonly WalletSource[],
): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `select count(*)::int as n from wallet_entries
      where workspace_id = $1 and customer_id = $2 and promotion_id = $3 and source = any($4::text[])`,
    [workspaceId, customerId, promotionId, [...sources]],
  );
  return rows[0]!.n;
}
