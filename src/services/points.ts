// Points (issue 4): a customer earns points in lots, each with its own expiry; a burn takes from the
// oldest-expiring lot first (then the earliest earned); a transfer burns from one customer and gives
// the other lots with the same expiries. Every change to a lot is a ledger entry naming it.
//
// Expiry needs no job: a lot stops counting at its expires_at (exclusive), computed at read time.
// The next write to the customer's points (earn, burn, transfer, either side) first writes expired
// remainders off: an `expire` entry dated at the lot's expiry, remaining set to 0. Reads never
// write. So the invariant, true after every commit and at every instant:
//
//   for each lot:       remaining = sum of the ledger entries naming it
//   for each customer:  balance(now) = sum(ledger) − sum(remaining of lots with expires_at <= now)
//
// the subtracted term being the points expired by now and not yet written off.
//
// The *Within functions run inside the caller's transaction with the customer(s) locked
// (lockPointsOwners), so a sale can earn, burn or claw back in its own transaction later.
//
// A burn and a transfer write `client.removePoints` for the customer whose points leave, in their own
// transaction, with the id `<reference>.removePoints`: a replayed reference answers the first result
// and writes nothing.
import Type, { type Static } from "typebox";
import { transaction, type Db, type Tx } from "../store/db.js";
import type { EventRecord } from "../store/loyalty.js";
import {
  appendLedger,
  claimReference,
  customerExists,
  insertLots,
  ledgerPage,
  lockCustomers,
  lotsWithPoints,
  setRemaining,
  storeResult,
  workspaceTimeZone,
  type LedgerRow,
  type LotRow,
  type NewLedgerEntry,
} from "../store/points.js";
import { closed, Id, Instant, pageOf, pageQuery, type Paged } from "./catalog.js";
import { canonicalJson, newId, sha256 } from "./ids.js";
import { conflict, invalidField, notFound, Problem } from "./problem.js";
import { plusLocalDays, recordLifecycleEvents } from "./wallet.js";

export const POINTS_MAX = 1_000_000_000;
const EXPIRY_DAYS_MAX = 3_650;
/** The lots a read lists, in burn order; the balance counts them all. */
const LOTS_LISTED_MAX = 500;

// ---- Pure rules.

/** Whether a lot counts at nowMs: expiry is exclusive. */
export function isLive(lot: Pick<LotRow, "expiresAt">, nowMs: number): boolean {
  return lot.expiresAt === null || lot.expiresAt.getTime() > nowMs;
}

/** The points of the live lots. */
export function balanceOf(lots: readonly LotRow[], nowMs: number): number {
  return lots.reduce((sum, lot) => (isLive(lot, nowMs) ? sum + lot.remaining : sum), 0);
}

/**
 * What a burn of `amount` takes from `live` (already in burn order): the first lots first. Null when
 * they hold fewer points than asked.
 */
export function takeInOrder(
  live: readonly LotRow[],
  amount: number,
): { readonly lot: LotRow; readonly taken: number }[] | null {
  const takes: { lot: LotRow; taken: number }[] = [];
  let left = amount;
  for (const lot of live) {
    if (left === 0) break;
    const taken = Math.min(left, lot.remaining);
    if (taken > 0) takes.push({ lot, taken });
    left -= taken;
  }
  return left === 0 ? takes : null;
}

// ---- The API's shapes.

export const Reference = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: "^[^\\u0000-\\u001f\\u007f]*$",
});
const Amount = Type.Integer({ minimum: 1, maximum: POINTS_MAX });

export const EarnBodySchema = Type.Object(
  {
    amount: Amount,
    /** N calendar days in the workspace's time zone from now; or expiresAt; neither: never expires. */
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: EXPIRY_DAYS_MAX })),
    /** Exclusive; must lie ahead. */
    expiresAt: Type.Optional(Instant),
    /** The caller's idempotency key: a retry with the same body answers the first result. */
    reference: Reference,
  },
  closed,
);
export type EarnBody = Static<typeof EarnBodySchema>;

export const BurnBodySchema = Type.Object({ amount: Amount, reference: Reference }, closed);
export type BurnBody = Static<typeof BurnBodySchema>;

export const TransferBodySchema = Type.Object(
  { toCustomerId: Id, amount: Amount, reference: Reference },
  closed,
);
export type TransferBody = Static<typeof TransferBodySchema>;

export const PointsQuerySchema = Type.Object({ ...pageQuery }, closed);
export type PointsQuery = Static<typeof PointsQuerySchema>;

const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Kind = Type.Union([
  Type.Literal("earn"),
  Type.Literal("burn"),
  Type.Literal("expire"),
  Type.Literal("transfer_in"),
  Type.Literal("transfer_out"),
  Type.Literal("adjust"),
]);

export const LedgerEntryJsonSchema = Type.Object({
  id: Type.String(),
  customerId: Type.String(),
  kind: Kind,
  /** Signed: earn and transfer_in add, the others take. */
  amount: Type.Integer(),
  lotId: Type.String(),
  reference: Nullable(Type.String()),
  /** For an expire entry, the lot's expiry instant (written off later). */
  occurredAt: Instant,
});
export type LedgerEntryJson = Static<typeof LedgerEntryJsonSchema>;

export const LotJsonSchema = Type.Object({
  id: Type.String(),
  earnedAt: Instant,
  expiresAt: Nullable(Instant),
  amount: Type.Integer(),
  remaining: Type.Integer(),
});
export type LotJson = Static<typeof LotJsonSchema>;

export const PointsJsonSchema = Type.Object({
  customerId: Type.String(),
  /** The points of the lots not expired at the instant of the request. */
  balance: Type.Integer(),
  /** The earliest expiry ahead and the points that expire then. */
  nextExpiry: Nullable(Type.Object({ at: Instant, amount: Type.Integer() })),
  /** Lots that count, in burn order (the first 500). */
  lots: Type.Array(LotJsonSchema),
  /** The ledger, newest first, paginated (`limit`, `after`). */
  entries: Type.Object({ items: Type.Array(LedgerEntryJsonSchema), next: Type.Optional(Type.String()) }),
});
export type PointsJson = Static<typeof PointsJsonSchema>;

export const OperationJsonSchema = Type.Object({
  operation: Type.Union([Type.Literal("earn"), Type.Literal("burn"), Type.Literal("transfer")]),
  reference: Type.String(),
  customerId: Type.String(),
  amount: Type.Integer(),
  /** The customer's balance right after the operation. */
  balance: Type.Integer(),
  toCustomerId: Type.Optional(Type.String()),
  toBalance: Type.Optional(Type.Integer()),
  /** What the operation wrote, expired lots it wrote off included. */
  entries: Type.Array(LedgerEntryJsonSchema),
});
export type OperationJson = Static<typeof OperationJsonSchema>;

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

export function ledgerEntryJson(e: NewLedgerEntry): LedgerEntryJson {
  return entryJson(e);
}

function entryJson(e: NewLedgerEntry): LedgerEntryJson {
  return {
    id: e.id,
    customerId: e.customerId,
    kind: e.kind,
    amount: e.amount,
    lotId: e.lotId,
    reference: e.reference,
    occurredAt: e.occurredAt.toISOString(),
  };
}

const lotJson = (l: LotRow): LotJson => ({
  id: l.id,
  earnedAt: l.earnedAt.toISOString(),
  expiresAt: iso(l.expiresAt),
  amount: l.amount,
  remaining: l.remaining,
});

// ---- Inside a transaction, the customers locked.

/** Locks the customers' rows in id order; answers those that exist. */
export async function lockPointsOwners(
  tx: Tx,
  workspaceId: string,
  customerIds: readonly string[],
): Promise<Set<string>> {
  return lockCustomers(tx, workspaceId, customerIds);
}

/**
 * Writes off the customer's lots expired by now and answers the live ones, in burn order, with the
 * entries written.
 */
async function touch(
  tx: Tx,
  workspaceId: string,
  customerId: string,
  nowMs: number,
): Promise<{ live: LotRow[]; written: NewLedgerEntry[] }> {
  const lots = await lotsWithPoints(tx, workspaceId, customerId);
  const expired = lots.filter((l) => !isLive(l, nowMs));
  const written = expired.map((l): NewLedgerEntry => ({
    id: newId("pte"),
    customerId,
    kind: "expire",
    amount: -l.remaining,
    lotId: l.id,
    reference: null,
    occurredAt: l.expiresAt!,
  }));
  await setRemaining(
    tx,
    workspaceId,
    customerId,
    expired.map((l) => ({ lotId: l.id, remaining: 0 })),
  );
  await appendLedger(tx, workspaceId, written);
  return { live: lots.filter((l) => isLive(l, nowMs)), written };
}

interface Moved {
  readonly entries: NewLedgerEntry[];
  /** The customer's balance after. */
  readonly balance: number;
}

/** Adds a lot of `amount` points expiring at expiresAt (null: never). */
export async function earnWithin(
  tx: Tx,
  workspaceId: string,
  customerId: string,
  earn: { readonly amount: number; readonly expiresAt: Date | null; readonly reference: string | null },
  nowMs: number,
): Promise<Moved> {
  const { live, written } = await touch(tx, workspaceId, customerId, nowMs);
  const lot: LotRow = {
    id: newId("plot"),
    earnedAt: new Date(nowMs),
    expiresAt: earn.expiresAt,
    amount: earn.amount,
    remaining: earn.amount,
  };
  await insertLots(tx, workspaceId, customerId, [lot]);
  const entry: NewLedgerEntry = {
    id: newId("pte"),
    customerId,
    kind: "earn",
    amount: earn.amount,
    lotId: lot.id,
    reference: earn.reference,
    occurredAt: new Date(nowMs),
  };
  await appendLedger(tx, workspaceId, [entry]);
  return { entries: [...written, entry], balance: balanceOf(live, nowMs) + earn.amount };
}

/** Takes `amount` points in burn order, as `kind` entries; 409 insufficient_points when short. */
async function takeWithin(
  tx: Tx,
  workspaceId: string,
  customerId: string,
  take: {
    readonly amount: number;
    readonly reference: string | null;
    readonly kind: "burn" | "transfer_out";
  },
  nowMs: number,
): Promise<Moved & { takes: { lot: LotRow; taken: number }[] }> {
  const { live, written } = await touch(tx, workspaceId, customerId, nowMs);
  const balance = balanceOf(live, nowMs);
  const takes = takeInOrder(live, take.amount);
  if (takes === null) {
    throw new Problem(
      409,
      "insufficient_points",
      "Conflict",
      `customer ${customerId} has ${balance} points; ${take.amount} were asked`,
      [{ code: "insufficient_points", path: "/amount", message: `the balance is ${balance}` }],
    );
  }
  await setRemaining(
    tx,
    workspaceId,
    customerId,
    takes.map((t) => ({ lotId: t.lot.id, remaining: t.lot.remaining - t.taken })),
  );
  const entries = takes.map((t): NewLedgerEntry => ({
    id: newId("pte"),
    customerId,
    kind: take.kind,
    amount: -t.taken,
    lotId: t.lot.id,
    reference: take.reference,
    occurredAt: new Date(nowMs),
  }));
  await appendLedger(tx, workspaceId, entries);
  return { entries: [...written, ...entries], balance: balance - take.amount, takes };
}

export async function burnWithin(
  tx: Tx,
  workspaceId: string,
  customerId: string,
  burn: { readonly amount: number; readonly reference: string | null },
  nowMs: number,
): Promise<Moved> {
  const { entries, balance } = await takeWithin(
    tx,
    workspaceId,
    customerId,
    { ...burn, kind: "burn" },
    nowMs,
  );
  return { entries, balance };
}

/**
 * Burns up to `amount` points: what the customer has, when that is less (a return's clawback). Answers
 * what was taken.
 */
export async function burnUpToWithin(
  tx: Tx,
  workspaceId: string,
  customerId: string,
  burn: { readonly amount: number; readonly reference: string | null },
  nowMs: number,
): Promise<Moved & { taken: number }> {
  const lots = await lotsWithPoints(tx, workspaceId, customerId);
  const taken = Math.min(burn.amount, balanceOf(lots, nowMs));
  if (taken === 0) {
    const { written, live } = await touch(tx, workspaceId, customerId, nowMs);
    return { entries: written, balance: balanceOf(live, nowMs), taken };
  }
  const moved = await takeWithin(
    tx,
    workspaceId,
    customerId,
    { amount: taken, reference: burn.reference, kind: "burn" },
    nowMs,
  );
  return { entries: moved.entries, balance: moved.balance, taken };
}

/**
 * Moves points from one customer to another, both locked. The receiver gets one lot per distinct
 * expiry of the lots taken, with that expiry, earned now: transferred points expire when they would
 * have, so a transfer cannot extend nor shorten their life.
 */
export async function transferWithin(
  tx: Tx,
  workspaceId: string,
  from: string,
  to: string,
  transfer: { readonly amount: number; readonly reference: string | null },
  nowMs: number,
): Promise<{ from: Moved; to: Moved }> {
  const out = await takeWithin(tx, workspaceId, from, { ...transfer, kind: "transfer_out" }, nowMs);
  const target = await touch(tx, workspaceId, to, nowMs);
  const byExpiry = new Map<number | null, number>();
  for (const { lot, taken } of out.takes) {
    const key = lot.expiresAt?.getTime() ?? null;
    byExpiry.set(key, (byExpiry.get(key) ?? 0) + taken);
  }
  const lots = [...byExpiry].map(([expiresMs, amount]): LotRow => ({
    id: newId("plot"),
    earnedAt: new Date(nowMs),
    expiresAt: expiresMs === null ? null : new Date(expiresMs),
    amount,
    remaining: amount,
  }));
  await insertLots(tx, workspaceId, to, lots);
  const incoming = lots.map((l): NewLedgerEntry => ({
    id: newId("pte"),
    customerId: to,
    kind: "transfer_in",
    amount: l.amount,
    lotId: l.id,
    reference: transfer.reference,
    occurredAt: new Date(nowMs),
  }));
  await appendLedger(tx, workspaceId, incoming);
  return {
    from: { entries: out.entries, balance: out.balance },
    to: {
      entries: [...target.written, ...incoming],
      balance: balanceOf(target.live, nowMs) + transfer.amount,
    },
  };
}

/**
 * client.removePoints: `points` left the customer's balance for `reason` (sale, burn, transfer,
 * reward); its id derives from `causeId`, the reference or the sale that burned them.
 */
export function removePointsEvent(
  causeId: string,
  customerId: string,
  points: number,
  reason: string,
  source: EventRecord["source"],
  atMs: number,
): EventRecord {
  return {
    id: `${causeId}.removePoints`,
    customerId,
    type: "client.removePoints",
    atMs,
    source,
    params: { points, reason },
  };
}

// ---- Use cases, each one transaction.

export interface Answered {
  readonly result: OperationJson;
  readonly replayed: boolean;
}

/**
 * Locks the customers, then claims the reference: a retry with the same body answers the first
 * result, another body is a 409 reference_reused. `work` runs only for a new reference.
 */
async function once(
  db: Db,
  workspaceId: string,
  customerIds: readonly string[],
  request: {
    readonly operation: OperationJson["operation"];
    readonly customerId: string;
    readonly body: unknown;
  },
  reference: string,
  nowMs: number,
  work: (tx: Tx, existing: Set<string>) => Promise<OperationJson>,
): Promise<Answered> {
  const requestHash = sha256(canonicalJson(request));
  return transaction(db, async (tx) => {
    const existing = await lockPointsOwners(tx, workspaceId, customerIds);
    if (!existing.has(request.customerId)) throw notFound(`customer ${request.customerId}`);
    const claim = await claimReference(tx, workspaceId, reference, requestHash, new Date(nowMs));
    if (claim !== null) {
      if (!claim.requestHash.equals(requestHash) || claim.result === null)
        throw conflict(
          "reference_reused",
          `points reference ${reference} was used for another request; use a new reference`,
        );
      return { result: claim.result as OperationJson, replayed: true };
    }
    const result = await work(tx, existing);
    await storeResult(tx, workspaceId, reference, result);
    return { result, replayed: false };
  });
}

export async function earnPoints(
  db: Db,
  workspaceId: string,
  customerId: string,
  body: EarnBody,
  nowMs: number,
): Promise<Answered> {
  if (body.expiresAt !== undefined && body.expiresInDays !== undefined)
    throw invalidField("/expiresAt", "expiry_twice", "give expiresAt or expiresInDays, not both");
  return once(
    db,
    workspaceId,
    [customerId],
    { operation: "earn", customerId, body },
    body.reference,
    nowMs,
    async (tx) => {
      let expiresMs: number | null = null;
      if (body.expiresAt !== undefined) {
        expiresMs = Date.parse(body.expiresAt);
        if (expiresMs <= nowMs)
          throw invalidField("/expiresAt", "expires_in_past", "must lie after the earning instant");
      } else if (body.expiresInDays !== undefined) {
        const timeZone = await workspaceTimeZone(tx, workspaceId);
        if (timeZone === null) throw notFound(`workspace ${workspaceId}`);
        expiresMs = plusLocalDays(nowMs, body.expiresInDays, timeZone);
      }
      const moved = await earnWithin(
        tx,
        workspaceId,
        customerId,
        {
          amount: body.amount,
          expiresAt: expiresMs === null ? null : new Date(expiresMs),
          reference: body.reference,
        },
        nowMs,
      );
      return {
        operation: "earn",
        reference: body.reference,
        customerId,
        amount: body.amount,
        balance: moved.balance,
        entries: moved.entries.map(entryJson),
      };
    },
  );
}

export async function burnPoints(
  db: Db,
  workspaceId: string,
  customerId: string,
  body: BurnBody,
  nowMs: number,
): Promise<Answered> {
  return once(
    db,
    workspaceId,
    [customerId],
    { operation: "burn", customerId, body },
    body.reference,
    nowMs,
    async (tx) => {
      const moved = await burnWithin(tx, workspaceId, customerId, body, nowMs);
      await recordLifecycleEvents(
        tx,
        workspaceId,
        customerId,
        [removePointsEvent(body.reference, customerId, body.amount, "burn", "api", nowMs)],
        nowMs,
      );
      return {
        operation: "burn",
        reference: body.reference,
        customerId,
        amount: body.amount,
        balance: moved.balance,
        entries: moved.entries.map(entryJson),
      };
    },
  );
}

export async function transferPoints(
  db: Db,
  workspaceId: string,
  customerId: string,
  body: TransferBody,
  nowMs: number,
): Promise<Answered> {
  if (body.toCustomerId === customerId)
    throw invalidField("/toCustomerId", "same_customer", "points cannot be transferred to their owner");
  return once(
    db,
    workspaceId,
    [customerId, body.toCustomerId],
    { operation: "transfer", customerId, body },
    body.reference,
    nowMs,
    async (tx, existing) => {
      if (!existing.has(body.toCustomerId))
        throw invalidField(
          "/toCustomerId",
          "unknown_customer",
          `customer "${body.toCustomerId}" does not exist`,
        );
      const moved = await transferWithin(tx, workspaceId, customerId, body.toCustomerId, body, nowMs);
      await recordLifecycleEvents(
        tx,
        workspaceId,
        customerId,
        [removePointsEvent(body.reference, customerId, body.amount, "transfer", "api", nowMs)],
        nowMs,
      );
      return {
        operation: "transfer",
        reference: body.reference,
        customerId,
        amount: body.amount,
        balance: moved.from.balance,
        toCustomerId: body.toCustomerId,
        toBalance: moved.to.balance,
        entries: [...moved.from.entries, ...moved.to.entries].map(entryJson),
      };
    },
  );
}

/** The balance at nowMs, the lots that count, the next expiry and a page of the ledger. Never writes. */
export async function readPoints(
  db: Db,
  workspaceId: string,
  customerId: string,
  query: PointsQuery,
  nowMs: number,
): Promise<PointsJson> {
  if (!(await customerExists(db, workspaceId, customerId))) throw notFound(`customer ${customerId}`);
  const [lots, rows] = await Promise.all([
    lotsWithPoints(db, workspaceId, customerId),
    ledgerPage(db, workspaceId, customerId, {
      ...(query.after !== undefined ? { after: query.after } : {}),
      limit: query.limit + 1,
    }),
  ]);
  const live = lots.filter((l) => isLive(l, nowMs));
  const firstExpiry = live.find((l) => l.expiresAt !== null)?.expiresAt ?? null;
  const nextExpiry =
    firstExpiry === null
      ? null
      : {
          at: firstExpiry.toISOString(),
          amount: live
            .filter((l) => l.expiresAt?.getTime() === firstExpiry.getTime())
            .reduce((sum, l) => sum + l.remaining, 0),
        };
  const entries: Paged<LedgerEntryJson> = pageOf(
    rows,
    query.limit,
    (r) => r.id,
    (r: LedgerRow) => entryJson({ ...r, customerId }),
  );
  return {
    customerId,
    balance: balanceOf(live, nowMs),
    nextExpiry,
    lots: live.slice(0, LOTS_LISTED_MAX).map(lotJson),
    entries,
  };
}
