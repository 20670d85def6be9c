// The customer wallet (issue 5): staff issue a loyalty, loyalty earning or rewards promotion to a
// customer and revoke it; the app lists the wallet and activates what needs activation. Pricing reads
// the live entries through walletContext.
//
// Expiry is computed, never stored: from the promotion's *current* expiry rule and the entry's issue
// or earning instant, so changing the days of a live promotion moves every holder's expiry at once
// (seed 004 step 5.5). "N days" are N calendar days in the workspace's time zone: the same local wall
// time N dates later, DST included (a wall time that does not exist that day moves forward by the
// gap). Only an explicit per-entry expiresAt given at issue overrides the rule. The state an entry is
// read in is derived the same way: an issued or active entry whose expiry has passed reads as expired.
//
// The lifecycle writes its own events into the customer's loyalty profile, in the transaction of what
// they record and with ids derived from it, so a retry cannot write one twice: `handbill.assign` when
// an entry is issued, earned or bought (`<entryId>.assign`), `client.activatePromotion` when the
// customer activates one (`<entryId>.activate`).
import { DateTime } from "luxon";
import Type, { type Static } from "typebox";
import type { WalletEntry } from "../domain/basket.js";
import { limitRuleKey, type Expiry, type LimitRule, type Promotion } from "../domain/promotion.js";
import { transaction, type Db, type Tx } from "../store/db.js";
import type { EventRecord } from "../store/loyalty.js";
import {
  findEntry,
  insertEntryWithin,
  listEntries,
  lockForIssue,
  setEntryState,
  walletOwner,
  type WalletFact,
  type WalletRow,
} from "../store/wallet.js";
import { closed, Id, Instant, pageOf, pageQuery, type Paged } from "./catalog.js";
import { newId } from "./ids.js";
import { loyaltyModel, recordOwnEvents } from "./loyalty.js";
import { derivedStatus } from "./promotions.js";
import { conflict, invalidField, notFound, Problem } from "./problem.js";

/** The promotion types a wallet holds (seed 004: issued, earned or bought). */
const WALLET_TYPES: ReadonlySet<string> = new Set(["loyalty", "loyalty_earning", "rewards"]);

export type WalletState = "issued" | "active" | "redeemed" | "expired" | "revoked";

// ---- Expiry: pure.

/** What an entry's expiry depends on: the promotion's current rule and end, the entry's own instants. */
export interface ExpiryTerms {
  readonly expiry: Expiry | null | undefined;
  /** The promotion's schedule end (exclusive). */
  readonly endsAt: string | null | undefined;
}

export interface EntryInstants {
  readonly issuedAtMs: number;
  /** null for a staff issue: its "from earning" clock starts at the issue. */
  readonly earnedAtMs: number | null;
  /** The per-entry override. */
  readonly expiresAtMs: number | null;
}

/** The instant the entry stops applying (exclusive), or null when nothing ends it but the promotion. */
export function expiresAtMs(terms: ExpiryTerms, entry: EntryInstants, timeZone: string): number | null {
  if (entry.expiresAtMs !== null) return entry.expiresAtMs;
  const expiry = terms.expiry;
  if (expiry === null || expiry === undefined) return null;
  switch (expiry.kind) {
    case "with_promotion":
      return terms.endsAt === null || terms.endsAt === undefined ? null : Date.parse(terms.endsAt);
    case "days_from_issuance":
      return plusLocalDays(entry.issuedAtMs, expiry.days, timeZone);
    case "days_from_earning":
      return plusLocalDays(entry.earnedAtMs ?? entry.issuedAtMs, expiry.days, timeZone);
    default:
      throw new Error(`unknown expiry ${String((expiry satisfies never as { kind: string }).kind)}`);
  }
}

export function plusLocalDays(ms: number, days: number, timeZone: string): number {
  return DateTime.fromMillis(ms, { zone: timeZone }).plus({ days }).toMillis();
}

/** The state as of nowMs: issued or active past the expiry reads as expired. */
export function stateAt(stored: WalletRow["state"], expiresMs: number | null, nowMs: number): WalletState {
  if ((stored === "issued" || stored === "active") && expiresMs !== null && expiresMs <= nowMs)
    return "expired";
  return stored;
}

/**
 * The engine's wallet for one customer: the entries of published promotions, with their expiry as the
 * promotion defines it now. The engine itself drops an entry at its expiry instant.
 */
export function walletContext(
  facts: readonly WalletFact[],
  promotions: ReadonlyMap<string, Promotion>,
  timeZone: string,
): WalletEntry[] {
  const wallet: WalletEntry[] = [];
  for (const fact of facts) {
    const p = promotions.get(fact.promotionId);
    if (p === undefined) continue;
    const expires = expiresAtMs(
      { expiry: p.expiry, endsAt: p.schedule.endsAt },
      {
        issuedAtMs: Date.parse(fact.issuedAt),
        earnedAtMs: fact.earnedAt === null ? null : Date.parse(fact.earnedAt),
        expiresAtMs: fact.expiresAt === null ? null : Date.parse(fact.expiresAt),
      },
      timeZone,
    );
    wallet.push({
      promotionId: fact.promotionId,
      state: fact.state,
      ...(expires !== null ? { expiresAt: new Date(expires).toISOString() } : {}),
    });
  }
  return wallet;
}

// ---- Lifecycle events.

/** handbill.assign: the entry was issued, earned or bought. */
export function assignEvent(
  entry: { readonly entryId: string; readonly promotionId: string },
  customerId: string,
  source: EventRecord["source"],
  atMs: number,
): EventRecord {
  return {
    id: `${entry.entryId}.assign`,
    customerId,
    type: "handbill.assign",
    atMs,
    source,
    params: { promotionId: entry.promotionId },
  };
}

/**
 * Writes lifecycle events of one customer in the caller's transaction and folds them into the
 * customer's loyalty state. Call after the customer's row (or wallet entry) is locked: the profile
 * state is locked last, as on the sale path.
 */
export async function recordLifecycleEvents(
  tx: Tx,
  workspaceId: string,
  customerId: string,
  events: readonly EventRecord[],
  nowMs: number,
): Promise<void> {
  if (events.length === 0) return;
  const loaded = await loyaltyModel(tx, workspaceId);
  await recordOwnEvents(tx, workspaceId, loaded, null, customerId, events, nowMs);
}

// ---- The API's shapes.

export const IssueBodySchema = Type.Object(
  {
    promotionId: Id,
    /** Overrides the promotion's expiry for this entry only (exclusive); must lie ahead. */
    expiresAt: Type.Optional(Instant),
  },
  closed,
);
export type IssueBody = Static<typeof IssueBodySchema>;

export const WalletQuerySchema = Type.Object({ ...pageQuery }, closed);
export type WalletQuery = Static<typeof WalletQuerySchema>;

const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const WalletEntryJsonSchema = Type.Object({
  id: Type.String(),
  customerId: Type.String(),
  promotionId: Type.String(),
  promotion: Type.Object({
    name: Type.String(),
    type: Type.String(),
    headline: Nullable(Type.String()),
    activationRequired: Type.Boolean(),
  }),
  /** As of the request: an issued or active entry past its expiry is expired. */
  state: Type.Union([
    Type.Literal("issued"),
    Type.Literal("active"),
    Type.Literal("redeemed"),
    Type.Literal("expired"),
    Type.Literal("revoked"),
  ]),
  source: Type.Union([Type.Literal("issued"), Type.Literal("earned"), Type.Literal("bought")]),
  issuedAt: Instant,
  earnedAt: Nullable(Instant),
  activatedAt: Nullable(Instant),
  /** Computed from the promotion's current expiry (or this entry's override); exclusive. */
  expiresAt: Nullable(Instant),
  redemptionsLeft: Nullable(Type.Integer()),
  revokedAt: Nullable(Instant),
});
export type WalletEntryJson = Static<typeof WalletEntryJsonSchema>;

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

export function entryJson(row: WalletRow, nowMs: number): WalletEntryJson {
  const expires = expiryOfRow(row);
  return {
    id: row.id,
    customerId: row.customerId,
    promotionId: row.promotionId,
    promotion: {
      name: row.promotion.name,
      type: row.promotion.type,
      headline: row.promotion.headline,
      activationRequired: row.promotion.activationRequired,
    },
    state: stateAt(row.state, expires, nowMs),
    source: row.source,
    issuedAt: row.issuedAt.toISOString(),
    earnedAt: iso(row.earnedAt),
    activatedAt: iso(row.activatedAt),
    expiresAt: expires === null ? null : new Date(expires).toISOString(),
    redemptionsLeft: row.redemptionsLeft,
    revokedAt: iso(row.revokedAt),
  };
}

export function expiryOfRow(row: WalletRow): number | null {
  return expiresAtMs(
    row.promotion,
    {
      issuedAtMs: row.issuedAt.getTime(),
      earnedAtMs: row.earnedAt?.getTime() ?? null,
      expiresAtMs: row.expiresAt?.getTime() ?? null,
    },
    row.timeZone,
  );
}

// ---- Use cases, each one transaction.

/**
 * Staff issue: the promotion must be a wallet type, published (scheduled or active) or paused, and
 * not ended; the issual limit counts every entry the customer was ever issued of it, under the
 * customer's row lock, so concurrent issues never exceed it.
 */
export async function issueEntry(
  db: Db,
  workspaceId: string,
  customerId: string,
  body: IssueBody,
  nowMs: number,
): Promise<WalletEntryJson> {
  const overrideMs = body.expiresAt === undefined ? null : Date.parse(body.expiresAt);
  if (overrideMs !== null && overrideMs <= nowMs)
    throw invalidField("/expiresAt", "expires_in_past", "must lie after the issue instant");
  return transaction(db, async (tx) => {
    const facts = await lockForIssue(tx, workspaceId, customerId, body.promotionId);
    if (facts.timeZone === null) throw notFound(`workspace ${workspaceId}`);
    if (!facts.customerExists) throw notFound(`customer ${customerId}`);
    const found = facts.promotion;
    if (found === null)
      throw invalidField(
        "/promotionId",
        "unknown_promotion",
        `promotion "${body.promotionId}" does not exist`,
      );
    const p = found.definition;
    if (!WALLET_TYPES.has(p.type))
      throw invalidField(
        "/promotionId",
        "not_issuable",
        `a ${p.type} promotion is not held in a wallet; only loyalty, loyalty_earning and rewards are`,
      );
    const status = derivedStatus(found, nowMs);
    if (status === "draft" || status === "ended")
      throw conflict(`promotion_${status}`, `promotion ${p.id} is ${status}; it cannot be issued`);
    const rule = (p.limits ?? []).find((r) => r.level === "issual");
    const row = await insertEntryWithin(
      tx,
      workspaceId,
      {
        id: newId("wal"),
        customerId,
        promotionId: p.id,
        state: p.activationRequired === true ? "issued" : "active",
        source: "issued",
        issuedAt: new Date(nowMs),
        earnedAt: null,
        expiresAt: overrideMs === null ? null : new Date(overrideMs),
      },
      rule?.max ?? null,
    );
    if (row === null) throw issualLimitReached(customerId, p.id, rule!);
    await recordLifecycleEvents(
      tx,
      workspaceId,
      customerId,
      [assignEvent({ entryId: row.id, promotionId: p.id }, customerId, "api", nowMs)],
      nowMs,
    );
    return entryJson(row, nowMs);
  });
}

export async function readWallet(
  db: Db,
  workspaceId: string,
  customerId: string,
  query: WalletQuery,
  nowMs: number,
): Promise<Paged<WalletEntryJson>> {
  const owner = await walletOwner(db, workspaceId, customerId);
  if (owner.timeZone === null) throw notFound(`workspace ${workspaceId}`);
  if (!owner.customerExists) throw notFound(`customer ${customerId}`);
  const rows = await listEntries(db, workspaceId, customerId, {
    ...(query.after !== undefined ? { after: query.after } : {}),
    limit: query.limit + 1,
  });
  return pageOf(
    rows,
    query.limit,
    (r) => r.id,
    (r) => entryJson(r, nowMs),
  );
}

/**
 * The customer activates an entry (client.activatePromotion): issued → active, stamped activated_at,
 * and the event written. Activating an active entry answers it unchanged and writes nothing; an
 * expired, revoked or redeemed one is a 409.
 */
export async function activateEntry(
  db: Db,
  workspaceId: string,
  customerId: string,
  entryId: string,
  nowMs: number,
): Promise<WalletEntryJson> {
  return transaction(db, async (tx) => {
    const row = await findEntry(tx, workspaceId, customerId, entryId, { forUpdate: true });
    if (row === null) throw notFound(`wallet entry ${entryId} of customer ${customerId}`);
    const state = stateAt(row.state, expiryOfRow(row), nowMs);
    switch (state) {
      case "active":
        return entryJson(row, nowMs);
      case "issued": {
        const active = await setEntryState(tx, workspaceId, customerId, entryId, "active", new Date(nowMs));
        await recordLifecycleEvents(
          tx,
          workspaceId,
          customerId,
          [
            {
              id: `${entryId}.activate`,
              customerId,
              type: "client.activatePromotion",
              atMs: nowMs,
              source: "api",
              params: { promotionId: row.promotionId },
            },
          ],
          nowMs,
        );
        return entryJson(active, nowMs);
      }
      case "expired":
      case "revoked":
      case "redeemed":
        throw conflict(
          `wallet_entry_${state}`,
          `wallet entry ${entryId} is ${state}; it cannot be activated`,
        );
      default:
        throw new Error(`unexpected wallet state ${String(state satisfies never)}`);
    }
  });
}

/** Staff revoke an entry: it stops applying at once. Revoking a revoked entry answers it unchanged. */
export async function revokeEntry(
  db: Db,
  workspaceId: string,
  customerId: string,
  entryId: string,
  nowMs: number,
): Promise<WalletEntryJson> {
  return transaction(db, async (tx) => {
    const row = await findEntry(tx, workspaceId, customerId, entryId, { forUpdate: true });
    if (row === null) throw notFound(`wallet entry ${entryId} of customer ${customerId}`);
    if (row.state === "revoked") return entryJson(row, nowMs);
    if (row.state === "redeemed")
      throw conflict("wallet_entry_redeemed", `wallet entry ${entryId} was redeemed; it cannot be revoked`);
    return entryJson(
      await setEntryState(tx, workspaceId, customerId, entryId, "revoked", new Date(nowMs)),
      nowMs,
    );
  });
}

/** The 409 for an issue (or purchase) that the promotion's issual limit refuses. */
export function issualLimitReached(customerId: string, promotionId: string, rule: LimitRule): Problem {
  const key = limitRuleKey(rule);
  return new Problem(
    409,
    "limit_reached",
    "Conflict",
    `customer ${customerId} was issued promotion ${promotionId} ${rule.max} times, all that rule ${key} allows`,
    [{ code: "limit_reached", path: "/promotionId", message: `rule ${key} allows ${rule.max}` }],
  );
}
