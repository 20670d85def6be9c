// Earning and redeeming wallet entries inside a sale's own transaction (issue 5, seed 004 steps 2 and
// 5.4.1), and earning them on registration and profile.update events inside the transaction that
// stores the events. On a sale both run in commitOnce after pricing and before the limit counters are
// consumed, so a hot counter is still held only for the last statements of the sale.
//
// Lock order, the same on every path: the customer's wallet entries (by id), the customer's row, the
// customer's earning progress rows (by promotion id), the customer's loyalty profile state, then the
// limit counters. The locked path takes the first two before pricing (lockForLockedSale); the
// optimistic path takes them here. Several customers (a batch of events) are locked customer by
// customer in id order at each step.
//
// Earning: a published loyalty_earning promotion whose schedule is running earns the identified
// customer an entry when this sale satisfies its rule:
// - single_activity "transaction": every sale in the earning scope, during the earning window;
// - activity_milestone transaction_count N: every N-th sale of the customer since the promotion started;
// - activity_milestone transaction_value T: each time the cumulative net spend crosses a multiple of T.
// - single_activity "registration" / "profile_update": a new registration / profile.update event
//   (POST /v1/events), see earnFromActivities.
// maxEarningsPerCustomer caps the entries earned; the issual limit caps entries held, as for staff.
// Every entry earned writes `handbill.assign` in the same transaction (id `<entryId>.assign`).
//
// Redemption: each applied wallet-gated promotion uses one live entry of the customer, the one that
// expires first. An entry allows as many sales as the promotion's earn "transactions" rule says (any
// other earn rule alone: one sale); without earn rules it stays usable and only the customer and
// global limits cap it.
import type { Basket } from "../domain/basket.js";
import type { Promotion, Scope } from "../domain/promotion.js";
import type { Evaluation } from "../engine/index.js";
import type { Tx } from "../store/db.js";
import {
  addEarned,
  bumpProgress,
  lockCustomer,
  lockEarnedCounts,
  progressKey,
  storePlaces,
  type StorePlace,
} from "../store/earning.js";
import { insertEvents, type EventRecord } from "../store/loyalty.js";
import { lockCustomers } from "../store/points.js";
import { insertEntryWithin, lockLiveEntries, useEntry, type WalletRow } from "../store/wallet.js";
import { getWorkspace, type WorkspaceRow } from "../store/workspaces.js";
import { newId } from "./ids.js";
import { CapacityMoved, publishedPromotions } from "./pricing.js";
import { conflict } from "./problem.js";
import { assignEvent, expiresAtMs, expiryOfRow, plusLocalDays, stateAt } from "./wallet.js";

export interface Earned {
  readonly promotionId: string;
  readonly entryId: string;
}

/** The engine's wallet gate (src/engine/compile.ts, needsWallet), restated for the sale. */
export function needsWallet(p: Promotion): boolean {
  const hasIssual = (p.limits ?? []).some((r) => r.level === "issual");
  return (
    p.type === "loyalty_earning" ||
    p.type === "rewards" ||
    (p.type === "loyalty" && (p.activationRequired === true || hasIssual))
  );
}

/**
 * How many sales one entry serves: the earn "transactions" rule's max; 1 when the promotion has earn
 * rules but none on transactions (an earn is then one use, capped in it by the times and discount
 * rules the engine enforces); null (unlimited) without earn rules.
 */
export function redemptionsPerEntry(p: Promotion): number | null {
  const earn = (p.limits ?? []).filter((r) => r.level === "earn");
  if (earn.length === 0) return null;
  const transactions = earn.filter((r) => r.measure === "transactions").map((r) => r.max);
  return transactions.length > 0 ? Math.min(...transactions) : 1;
}

/**
 * Locked path, before pricing: lock the customer's live entries and row, so the wallet the sale is
 * priced with is the one it redeems from.
 */
export async function lockForLockedSale(tx: Tx, workspaceId: string, customerId: string): Promise<void> {
  await lockLiveEntries(tx, workspaceId, customerId, null);
  await lockCustomer(tx, workspaceId, customerId);
}

/**
 * Uses one live entry per applied wallet-gated promotion. On the optimistic path an entry that a
 * concurrent sale used meanwhile throws CapacityMoved, and the sale is priced again under lock.
 */
export async function redeemEntries(
  tx: Tx,
  workspace: WorkspaceRow,
  customerId: string | undefined,
  evaluation: Evaluation,
  promotions: ReadonlyMap<string, Promotion>,
  nowMs: number,
  mode: "optimistic" | "locked",
): Promise<void> {
  if (customerId === undefined) return;
  const gated = evaluation.applied
    .map((a) => promotions.get(a.promotionId))
    .filter((p): p is Promotion => p !== undefined && needsWallet(p));
  if (gated.length === 0) return;
  const rows = await lockLiveEntries(
    tx,
    workspace.id,
    customerId,
    gated.map((p) => p.id),
  );
  for (const p of gated) {
    const entry = firstToExpire(
      rows.filter((r) => r.promotionId === p.id),
      p,
      nowMs,
    );
    if (entry === null) {
      if (mode === "optimistic") throw new CapacityMoved(`wallet entry of ${p.id} for ${customerId}`);
      throw conflict(
        "wallet_entry_used",
        `customer ${customerId} has no usable entry of promotion ${p.id} left; price the sale again`,
      );
    }
    const left = entry.redemptionsLeft ?? redemptionsPerEntry(p);
    if (left !== null) await useEntry(tx, workspace.id, customerId, entry.id, left - 1);
  }
}

function firstToExpire(rows: readonly WalletRow[], p: Promotion, nowMs: number): WalletRow | null {
  const usable = rows
    .map((row) => ({ row, expires: expiryOfRow(row) }))
    .filter(({ row, expires }) => {
      const state = stateAt(row.state, expires, nowMs);
      return state === "active" || (state === "issued" && p.activationRequired !== true);
    })
    .sort(
      (a, b) =>
        (a.expires ?? Infinity) - (b.expires ?? Infinity) ||
        a.row.issuedAt.getTime() - b.row.issuedAt.getTime() ||
        (a.row.id < b.row.id ? -1 : 1),
    );
  return usable[0]?.row ?? null;
}

/** Earns what this sale completes for the customer; answers the entries, in promotion order. */
export async function earnFromSale(
  tx: Tx,
  workspace: WorkspaceRow,
  customerId: string | undefined,
  basket: Basket,
  evaluation: Evaluation,
  promotions: ReadonlyMap<string, Promotion>,
  nowMs: number,
): Promise<Earned[]> {
  if (customerId === undefined) return [];
  const candidates = [...promotions.values()]
    .filter((p) => earnsOnSale(p, basket, nowMs, workspace.timeZone))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  if (candidates.length === 0) return [];
  if (!(await lockCustomer(tx, workspace.id, customerId))) return [];
  const spend = Math.max(0, evaluation.totals.netMinor);
  const progress = await bumpProgress(
    tx,
    workspace.id,
    customerId,
    candidates.map((p) => p.id),
    spend,
    new Date(nowMs),
  );
  const earned: Earned[] = [];
  for (const p of candidates) {
    const now = progress.get(p.id);
    if (now === undefined) throw new Error(`earning progress of ${p.id} was not written`);
    let due = dueEarnings(p, now.transactions, now.spendMinor, spend);
    const max = p.earning?.maxEarningsPerCustomer;
    if (max !== undefined) due = Math.min(due, Math.max(0, max - now.earned));
    const issual = (p.limits ?? []).find((r) => r.level === "issual");
    let count = 0;
    for (let i = 0; i < due; i++) {
      const row = await insertEntryWithin(
        tx,
        workspace.id,
        {
          id: newId("wal"),
          customerId,
          promotionId: p.id,
          state: p.activationRequired === true ? "issued" : "active",
          source: "earned",
          issuedAt: new Date(nowMs),
          earnedAt: new Date(nowMs),
          expiresAt: null,
          redemptionsLeft: redemptionsPerEntry(p),
        },
        issual?.max ?? null,
      );
      if (row === null) break;
      earned.push({ promotionId: p.id, entryId: row.id });
      count++;
    }
    if (count > 0) await addEarned(tx, workspace.id, customerId, p.id, count);
  }
  return earned;
}

/** Entries this sale earns by the rule, before the caps: progress is as of after the sale. */
function dueEarnings(p: Promotion, transactions: number, spendMinor: number, saleSpend: number): number {
  const earning = p.earning!;
  switch (earning.kind) {
    case "single_activity":
      return 1;
    case "activity_milestone":
      return earning.metric === "transaction_count"
        ? Math.floor(transactions / earning.target) - Math.floor((transactions - 1) / earning.target)
        : Math.floor(spendMinor / earning.target) - Math.floor((spendMinor - saleSpend) / earning.target);
    default:
      return 0;
  }
}

/** A running loyalty_earning promotion whose rule a sale can satisfy (scope and window included). */
function earnsOnSale(p: Promotion, basket: Basket, nowMs: number, timeZone: string): boolean {
  if (p.type !== "loyalty_earning" || p.earning === undefined) return false;
  const startsMs = Date.parse(p.schedule.startsAt);
  if (nowMs < startsMs) return false;
  if (p.schedule.endsAt !== undefined && nowMs >= Date.parse(p.schedule.endsAt)) return false;
  const earning = p.earning;
  switch (earning.kind) {
    case "single_activity":
      if (earning.activity !== "transaction") return false;
      if (earning.earningWindowDays !== undefined) {
        if (nowMs >= plusLocalDays(startsMs, earning.earningWindowDays, timeZone)) return false;
      }
      return earning.scope === undefined || inScope(earning.scope, basket);
    case "activity_milestone":
      return true;
    default:
      return false;
  }
}

/** The engine's store and channel scope (src/engine/gates.ts): any of stores, concepts, zones. */
function inScope(scope: Scope, basket: Basket): boolean {
  if (scope.channels !== undefined && !scope.channels.some((c) => c === (basket.channel ?? "pos")))
    return false;
  return placeInScope(scope, basket);
}

/** Stores, concepts, zones: the place is in scope when any of those the scope names holds it. */
function placeInScope(
  scope: Scope,
  place: { readonly storeId?: string; readonly conceptId?: string; readonly zoneIds?: readonly string[] },
): boolean {
  const { storeIds, conceptIds, zoneIds } = scope;
  if (storeIds === undefined && conceptIds === undefined && zoneIds === undefined) return true;
  if (storeIds !== undefined && place.storeId !== undefined && storeIds.includes(place.storeId)) return true;
  if (conceptIds !== undefined && place.conceptId !== undefined && conceptIds.includes(place.conceptId))
    return true;
  return zoneIds !== undefined && (place.zoneIds ?? []).some((z) => zoneIds.includes(z));
}

// ---- Activities other than a sale (registration, profile update).

/** The events that are activities, and the activity each is in a single_activity earning. */
const ACTIVITY_OF_EVENT: Readonly<Record<string, "registration" | "profile_update">> = {
  registration: "registration",
  "profile.update": "profile_update",
};

export interface ActivityEarnings {
  /** The entries each event earned, by event id (events that earned nothing are absent). */
  readonly earned: ReadonlyMap<string, readonly Earned[]>;
  /** handbill.assign for each entry, already inserted: the caller folds them with its events. */
  readonly assigned: readonly EventRecord[];
}

/**
 * Earns what newly stored registration and profile.update events complete: for each, one entry of
 * every published loyalty_earning promotion with that single activity whose schedule (and earning
 * window) holds the event's instant, that has not ended now, and whose earning scope holds the
 * event's `$storeId` (and `channel`); maxEarningsPerCustomer and the issual limit cap as on a sale.
 *
 * Runs in the ingesting transaction after the events are inserted and before they are folded, so the
 * locks follow the sale path's order: the earning customers' rows (in id order), their progress rows,
 * then (when the caller folds) their profile states. Pass only events that were new: a resent event
 * earns nothing again.
 */
export async function earnFromActivities(
  tx: Tx,
  workspaceId: string,
  events: readonly EventRecord[],
  nowMs: number,
): Promise<ActivityEarnings> {
  const none: ActivityEarnings = { earned: new Map(), assigned: [] };
  const activities = events.filter((e) => ACTIVITY_OF_EVENT[e.type] !== undefined);
  if (activities.length === 0) return none;
  const workspace = await getWorkspace(tx, workspaceId);
  if (workspace === null) throw new Error(`workspace ${workspaceId} vanished`);
  const { byId } = await publishedPromotions(tx, workspace);
  const candidates = [...byId.values()]
    .filter((p) => earnsOnActivities(p, nowMs))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  if (candidates.length === 0) return none;
  const places = await placesOf(tx, workspace.id, activities, candidates);
  const due = [...activities]
    .sort(byCustomerThenTime)
    .map((event) => ({
      event,
      promotions: candidates.filter((p) =>
        earnsOnActivity(p, event, places.get(storeOf(event) ?? "") ?? null, nowMs, workspace.timeZone),
      ),
    }))
    .filter((d) => d.promotions.length > 0);
  if (due.length === 0) return none;

  await lockCustomers(
    tx,
    workspace.id,
    due.map((d) => d.event.customerId),
  );
  const counts = await lockEarnedCounts(
    tx,
    workspace.id,
    due.flatMap((d) => d.promotions.map((p) => ({ customerId: d.event.customerId, promotionId: p.id }))),
    new Date(nowMs),
  );
  const earned = new Map<string, Earned[]>();
  const gained = new Map<string, { customerId: string; promotionId: string; count: number }>();
  const assigned: EventRecord[] = [];
  for (const { event, promotions } of due) {
    for (const p of promotions) {
      const key = progressKey(event.customerId, p.id);
      const gain = gained.get(key) ?? { customerId: event.customerId, promotionId: p.id, count: 0 };
      const max = p.earning?.maxEarningsPerCustomer;
      if (max !== undefined && (counts.get(key) ?? 0) + gain.count >= max) continue;
      const entryId = await earnOne(tx, workspace, event, p, nowMs);
      if (entryId === null) continue;
      const one = { promotionId: p.id, entryId };
      earned.set(event.id, [...(earned.get(event.id) ?? []), one]);
      gained.set(key, { ...gain, count: gain.count + 1 });
      assigned.push(assignEvent(one, event.customerId, "api", nowMs));
    }
  }
  for (const { customerId, promotionId, count } of gained.values())
    await addEarned(tx, workspace.id, customerId, promotionId, count);
  await insertEvents(tx, workspace.id, assigned, nowMs);
  return { earned, assigned };
}

/**
 * One entry of `p` earned by the activity, under the issual limit; null when the limit leaves none or
 * the entry would already have expired (an old activity and an expiry counted from earning).
 */
async function earnOne(
  tx: Tx,
  workspace: WorkspaceRow,
  event: EventRecord,
  p: Promotion,
  nowMs: number,
): Promise<string | null> {
  // Earned when the activity happened (an event may arrive late), issued now.
  const earnedAtMs = Math.min(event.atMs, nowMs);
  const expires = expiresAtMs(
    { expiry: p.expiry, endsAt: p.schedule.endsAt },
    { issuedAtMs: nowMs, earnedAtMs, expiresAtMs: null },
    workspace.timeZone,
  );
  if (expires !== null && expires <= nowMs) return null;
  const issual = (p.limits ?? []).find((r) => r.level === "issual");
  const row = await insertEntryWithin(
    tx,
    workspace.id,
    {
      id: newId("wal"),
      customerId: event.customerId,
      promotionId: p.id,
      state: p.activationRequired === true ? "issued" : "active",
      source: "earned",
      issuedAt: new Date(nowMs),
      earnedAt: new Date(earnedAtMs),
      expiresAt: null,
      redemptionsLeft: redemptionsPerEntry(p),
    },
    issual?.max ?? null,
  );
  return row?.id ?? null;
}

/** A loyalty_earning promotion on a non-sale activity that has not ended at nowMs. */
function earnsOnActivities(p: Promotion, nowMs: number): boolean {
  if (p.type !== "loyalty_earning" || p.earning?.kind !== "single_activity") return false;
  if (p.earning.activity === "transaction") return false;
  return p.schedule.endsAt === undefined || nowMs < Date.parse(p.schedule.endsAt);
}

/** The promotion's activity, schedule, earning window and scope hold this event. */
function earnsOnActivity(
  p: Promotion,
  event: EventRecord,
  place: StorePlace | null,
  nowMs: number,
  timeZone: string,
): boolean {
  const earning = p.earning;
  if (earning?.kind !== "single_activity" || earning.activity !== ACTIVITY_OF_EVENT[event.type]) return false;
  const startsMs = Date.parse(p.schedule.startsAt);
  if (event.atMs < startsMs || nowMs < startsMs) return false;
  if (p.schedule.endsAt !== undefined && event.atMs >= Date.parse(p.schedule.endsAt)) return false;
  if (earning.earningWindowDays !== undefined) {
    if (event.atMs >= plusLocalDays(startsMs, earning.earningWindowDays, timeZone)) return false;
  }
  const scope = earning.scope;
  if (scope === undefined) return true;
  // An event has no sales channel of its own; a registration may say where it happened.
  if (scope.channels !== undefined && !scope.channels.some((c) => c === event.params["channel"]))
    return false;
  const storeId = storeOf(event);
  return placeInScope(scope, {
    ...(storeId !== undefined ? { storeId } : {}),
    ...(place !== null && place.conceptId !== null ? { conceptId: place.conceptId } : {}),
    ...(place !== null ? { zoneIds: place.zoneIds } : {}),
  });
}

function storeOf(event: EventRecord): string | undefined {
  const storeId = event.params["$storeId"];
  return typeof storeId === "string" ? storeId : undefined;
}

/** The concept and zones of the events' stores, read only when a candidate's scope names some. */
async function placesOf(
  tx: Tx,
  workspaceId: string,
  events: readonly EventRecord[],
  candidates: readonly Promotion[],
): Promise<Map<string, StorePlace>> {
  const needed = candidates.some((p) => {
    const scope = p.earning?.kind === "single_activity" ? p.earning.scope : undefined;
    return scope?.conceptIds !== undefined || scope?.zoneIds !== undefined;
  });
  if (!needed) return new Map();
  const storeIds = [...new Set(events.map(storeOf).filter((s): s is string => s !== undefined))];
  return storePlaces(tx, workspaceId, storeIds);
}

function byCustomerThenTime(a: EventRecord, b: EventRecord): number {
  if (a.customerId !== b.customerId) return a.customerId < b.customerId ? -1 : 1;
  if (a.atMs !== b.atMs) return a.atMs - b.atMs;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
