// Quote and commit. A quote prices with the capacity as it stands and changes nothing. A commit is one
// transaction: claim the caller's transaction id, price again with the limit counters locked, write
// the sale, its redemptions and what it consumed, and keep the receipt so a retry answers the same
// bytes. A crash before COMMIT leaves nothing; after it, the retry finds the receipt.
import type { Evaluation, Rejection } from "../engine/index.js";
import { isMoved, transaction, type Db, type Tx } from "../store/db.js";
import { consume } from "../store/limits.js";
import { findByIdentifier } from "../store/customers.js";
import { existingSale, writeSale, type SaleRecord } from "../store/sales.js";
import { resolveCardHash } from "./customers.js";
import { earnFromSale, lockForLockedSale, redeemEntries, type Earned } from "./earning.js";
import { canonicalJson, newId, sha256 } from "./ids.js";
import {
  CapacityMoved,
  consumeChecked,
  price,
  pricingFacts,
  publishedPromotions,
  type Priced,
} from "./pricing.js";
import { conflict } from "./problem.js";
import { pointsOnSale, type SalePoints } from "./points-rules.js";
import { removePointsEvent } from "./points.js";
import { assignEvent } from "./wallet.js";
import { finishOwnEvents, planOwnEvents } from "./loyalty.js";
import type { EventRecord } from "../store/loyalty.js";
import { listsToLock, lockAppliedProductLists } from "./product-lists.js";
import type { BasketRequest, SaleRequest } from "./requests.js";

export interface Caller {
  readonly workspaceId: string;
  readonly maySetPrices: boolean;
  /**
   * A customer-facing key (a mobile app): its quotes must not tell an exhausted code from an unknown
   * one, or a guesser would learn which codes exist. Staff keys (tills, admins) see the truth.
   */
  readonly outsider?: boolean;
}

export interface Quote extends Evaluation {
  readonly customerId?: string;
  readonly unusedCodes: readonly string[];
}

/**
 * Seed 001: a shopper known only by a payment card hash is the card's profile: found (a quote), or
 * found or created (a sale). A customerId, when given, wins.
 */
async function withCardHolder<T extends BasketRequest>(
  db: Db,
  workspaceId: string,
  request: T,
  nowMs: number,
  create: boolean,
): Promise<T> {
  if (request.customerId !== undefined || request.cardHash === undefined) return request;
  const holder = create
    ? await resolveCardHash(db, workspaceId, request.cardHash, nowMs)
    : await findByIdentifier(db, workspaceId, { kind: "cardHash", value: request.cardHash.toLowerCase() });
  return holder === null ? request : { ...request, customerId: holder };
}

export async function quote(db: Db, caller: Caller, request: BasketRequest, nowMs: number): Promise<Quote> {
  request = await withCardHolder(db, caller.workspaceId, request, nowMs, false);
  const facts = await pricingFacts(db, caller.workspaceId, request, nowMs);
  const priced = await price(db, facts, request, { nowMs, maySetPrices: caller.maySetPrices });
  const { evaluation } = priced;
  return {
    ...(request.customerId !== undefined ? { customerId: request.customerId } : {}),
    ...evaluation,
    rejected: caller.outsider ? evaluation.rejected.map(hideCodeLimit) : evaluation.rejected,
    unusedCodes: priced.unusedCodes,
  };
}

/** An exhausted code, told to an outsider, reads exactly like a code that does not exist. */
function hideCodeLimit(rejection: Rejection): Rejection {
  if (rejection.code !== "limit_reached" || !rejection.rule?.startsWith("code:")) return rejection;
  return {
    promotionId: rejection.promotionId,
    name: rejection.name,
    code: "code_required",
    message: "The promotion needs its code.",
  };
}

export interface Committed {
  /** The receipt as JSON text: a replay answers exactly these bytes. */
  readonly receipt: string;
  readonly replayed: boolean;
  /** The optimistic attempt rolled back and the sale was priced again with everything locked. */
  readonly repriced?: boolean;
  readonly summary?: { readonly discountMinor: number; readonly redemptions: number };
}

/**
 * Commits a sale. First optimistically: price with the limits as they stand and lock the counters
 * only in the last statement before COMMIT, checking that what the sale consumes still fits, so a
 * hot counter (a global limit) is held from that statement to COMMIT, not for the whole sale. If a concurrent
 * sale took the capacity meanwhile, the attempt rolls back and the sale is priced again with the
 * counters locked first: that path uses exactly what is left.
 */
export async function commitSale(
  db: Db,
  caller: Caller,
  request: SaleRequest,
  nowMs: number,
): Promise<Committed> {
  const requestHash = sha256(canonicalJson(request));
  request = await withCardHolder(db, caller.workspaceId, request, nowMs, true);
  try {
    return await transaction(db, (tx) => commitOnce(tx, caller, request, requestHash, nowMs, "optimistic"));
  } catch (error) {
    if (!(error instanceof CapacityMoved)) throw error;
    const committed = await transaction(db, (tx) =>
      commitOnce(tx, caller, request, requestHash, nowMs, "locked"),
    );
    return { ...committed, repriced: true };
  }
}

async function commitOnce(
  tx: Tx,
  caller: Caller,
  request: SaleRequest,
  requestHash: Buffer,
  nowMs: number,
  mode: "optimistic" | "locked",
): Promise<Committed> {
  const saleId = newId("sale");
  // The locked path prices with the customer's wallet as it is under lock (see services/earning.ts).
  if (mode === "locked" && request.customerId !== undefined)
    await lockForLockedSale(tx, caller.workspaceId, request.customerId);
  const facts = await pricingFacts(tx, caller.workspaceId, request, nowMs, {
    saleId,
    transactionId: request.transactionId,
    requestHash,
    occurredAtMs: nowMs,
  });
  if (!facts.claimed) {
    const claim = await existingSale(tx, caller.workspaceId, request.transactionId);
    if (!claim.requestHash.equals(requestHash)) {
      throw conflict(
        "transaction_id_reused",
        `transaction ${request.transactionId} was committed with a different body; use a new transaction id`,
      );
    }
    return { receipt: claim.receipt, replayed: true };
  }
  const { workspace } = facts;
  const priced = await price(tx, facts, request, {
    nowMs,
    maySetPrices: caller.maySetPrices,
    ...(mode === "locked" ? { lock: tx } : {}),
  });
  const { evaluation } = priced;
  // Wallet entries used and earned, before the counters: those stay locked for the last statements.
  const { byId } = await publishedPromotions(tx, workspace);
  await redeemEntries(tx, workspace, request.customerId, evaluation, byId, nowMs, mode);
  // Points (the customer's row, after the wallet entries and before earning progress and counters).
  const points = await pointsOnSale(
    tx,
    {
      workspaceId: workspace.id,
      currency: evaluation.currency,
      saleId,
      customerId: request.customerId,
      memberships: facts.customer?.memberships ?? [],
      tenders: request.tenders,
      basket: priced.basket,
      evaluation,
      rules: facts.pointsRules,
    },
    nowMs,
  );
  const earned = await earnFromSale(
    tx,
    workspace,
    request.customerId,
    priced.basket,
    evaluation,
    byId,
    nowMs,
  );
  const receipt = JSON.stringify(receiptOf(saleId, request, nowMs, priced, earned, points));
  // Issue 4: the sale's events, folded into the customer's loyalty state and written with the sale
  // (the next basket is priced with the tier this sale reached).
  const own =
    request.customerId === undefined
      ? null
      : planOwnEvents(
          facts.loyalty,
          facts.evaluated,
          request.customerId,
          saleEvents(saleId, request, evaluation, earned, points, nowMs),
          nowMs,
        );
  const applied = evaluation.applied.map((a) => a.promotionId);
  // The optimistic sale with nothing to do after writing it (no counters, no list to lock, no fold
  // under lock) sends COMMIT right behind the write: two round trips for the whole sale.
  const writeIsLast =
    mode === "optimistic" &&
    priced.consumption.length === 0 &&
    listsToLock(workspace.id, request.customerId, applied).length === 0 &&
    own?.foldUnderLock !== true;
  const record: SaleRecord = {
    workspaceId: workspace.id,
    id: saleId,
    customerId: request.customerId ?? null,
    occurredAtMs: nowMs,
    totals: evaluation.totals,
    receipt,
    lines: evaluation.lines.map((l) => ({
      lineId: l.lineId,
      sku: l.sku,
      quantity: l.quantity,
      unitPriceMinor: l.unitPriceMinor,
      grossMinor: l.grossMinor,
      discountMinor: l.discountMinor,
      netMinor: l.netMinor,
      discounts: l.discounts
        .map((d) => ({ promotionId: d.promotionId, amountMinor: d.amountMinor, units: d.units }))
        .sort((a, b) => (a.promotionId < b.promotionId ? -1 : a.promotionId > b.promotionId ? 1 : 0)),
    })),
    redemptions: evaluation.applied.map((a) => ({
      promotionId: a.promotionId,
      code: priced.codeByPromotion.get(a.promotionId) ?? null,
      discountMinor: a.discountMinor,
      instances: a.instances,
      units: a.units,
    })),
    events: own?.events ?? [],
    profile: own?.profile ?? null,
  };
  let written: boolean;
  try {
    written = await writeSale(tx, record, { commit: writeIsLast });
  } catch (error) {
    // Another sale of this customer wrote their loyalty state meanwhile: price again under lock.
    if (isMoved(error)) throw new CapacityMoved((error as Error).message);
    throw error;
  }
  if (!writeIsLast) {
    if (own !== null) await finishOwnEvents(tx, workspace.id, facts.loyalty, own, written, nowMs);
    // Seed 002: a list that locks after its first apply locks with this sale (before the counters,
    // so the hot counter locks stay last).
    await lockAppliedProductLists(tx, workspace.id, request.customerId, applied, nowMs);
    // Last, always: the optimistic path sends COMMIT right behind its counters statement.
    if (mode === "locked") await consume(tx, workspace.id, saleId, null, nowMs, priced.consumption);
    else await consumeChecked(tx, workspace, saleId, nowMs, priced.consumption);
  }
  return {
    receipt,
    replayed: false,
    summary: { discountMinor: evaluation.totals.discountMinor, redemptions: evaluation.applied.length },
  };
}

/**
 * transaction.charge and sale.processed, as the sale produces them (their ids derive from the sale),
 * then handbill.assign for each entry it earned and client.removePoints for the points it burned.
 */
function saleEvents(
  saleId: string,
  request: SaleRequest,
  evaluation: Evaluation,
  earned: readonly Earned[],
  points: SalePoints | null,
  nowMs: number,
): EventRecord[] {
  const customerId = request.customerId!;
  const { totals } = evaluation;
  return [
    {
      id: `${saleId}.charge`,
      customerId,
      type: "transaction.charge",
      atMs: nowMs,
      source: "sale",
      params: {
        $totalAmount: totals.netMinor,
        $discountAmount: totals.discountMinor,
        $units: evaluation.lines.reduce((n, l) => n + l.quantity, 0),
        $saleId: saleId,
        $transactionId: request.transactionId,
        $currency: evaluation.currency,
        ...(request.storeId !== undefined ? { $storeId: request.storeId } : {}),
      },
    },
    {
      id: `${saleId}.processed`,
      customerId,
      type: "sale.processed",
      atMs: nowMs,
      source: "sale",
      params: {
        $saleId: saleId,
        $redemptions: evaluation.applied.length,
        $discountAmount: totals.discountMinor,
      },
    },
    ...earned.map((e) => assignEvent(e, customerId, "sale", nowMs)),
    ...(points !== null && points.burned > 0
      ? [removePointsEvent(saleId, customerId, points.burned, "sale", "sale", nowMs)]
      : []),
  ];
}

function receiptOf(
  saleId: string,
  request: SaleRequest,
  nowMs: number,
  priced: Priced,
  earned: readonly Earned[],
  points: SalePoints | null,
) {
  const { evaluation } = priced;
  return {
    saleId,
    transactionId: request.transactionId,
    occurredAt: new Date(nowMs).toISOString(),
    ...(request.customerId !== undefined ? { customerId: request.customerId } : {}),
    currency: evaluation.currency,
    lines: evaluation.lines,
    totals: evaluation.totals,
    applied: evaluation.applied.map((a) => {
      const code = priced.codeByPromotion.get(a.promotionId);
      return code === undefined ? a : { ...a, code };
    }),
    rejected: evaluation.rejected,
    unusedCodes: priced.unusedCodes,
    /** Wallet entries this sale earned the customer. */
    earned,
    /** Only when the workspace's points rules are enabled and the sale names a customer. */
    ...(points !== null ? { points } : {}),
  };
}
