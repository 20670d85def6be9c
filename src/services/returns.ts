// Returns: give back units of a committed sale, reverse the discount they carried, and restore the
// limits the sale consumed. One transaction: find the sale, claim the return id, lock the sale's
// lines, compute, write, restore.
//
// Rules:
// - The sale is found by the caller's transactionId in the key's workspace; none there is a 404.
// - `lines` absent: every unit not yet returned, line by line. `lines` present: each lineId must be a
//   line of the sale (else 422 at /lines/N/lineId, code unknown_line), may appear once (else 422 at
//   /lines/N/lineId, code duplicate_line_id), and its quantity may not exceed the quantity sold minus
//   what earlier returns took back (else 422 at /lines/N/quantity, code quantity_exceeds_returnable,
//   saying how many are left). Every issue is listed at once. When `lines` is absent and nothing is
//   left to return: 422 at /lines, code nothing_to_return. A refused return changes nothing.
// - Idempotent on returnId, which is unique per workspace: the same id with the same body (sha256 of
//   its canonical JSON: keys sorted) answers the first return's receipt again, byte for byte, with
//   header idempotent-replayed: true; the same id with another body is a 409 return_id_reused. The
//   returns row is inserted first (on conflict do nothing), so two concurrent requests with one id
//   cannot both process: the second waits for the first to commit and then reads its receipt.
// - Concurrency: every line of the sale is locked (select … for update, in line_id order) before
//   anything is computed, so returns of one sale run one after another and together can never take
//   back more units than were sold.
// - Discount reversed: once R of a line's Q units have been returned in all, the total reversed on the
//   line is floor(D × R / Q), D being the line's whole discount, and exactly D when R = Q. A return
//   reverses the difference between that total after it and before it, so returning units one at a
//   time reverses what returning them together does, and the line's refund, unitPriceMinor × q − this
//   return's reversal, is never negative (D ≤ price × Q). Per promotion that discounted the line
//   (sale_lines.discounts) the same rule applies to its own amount: that is what redemptions and limits
//   see; those totals may trail the line's by a minor unit per promotion while the line is partly
//   returned, and meet it exactly at R = Q. Integer minor units throughout.
// - The return adds q to sale_lines.returned_quantity and, per promotion, what it reversed over all
//   lines to redemptions.reversed_minor.
// - Limits: by default a return gives back what the sale consumed, in proportion to the discount
//   reversed; a promotion whose definition says returns.restoreLimits: false keeps them. For each
//   counter the sale consumed from (its positive limit_ledger entries for a (promotion, rule, subject,
//   cycle)), with D the redemption's discount and V its reversed total after this return:
//     measure discount:      cumulative target = min(V, consumed);
//     measure times:         cumulative target = floor(consumed × V / D), so all units back = all times back;
//     measure transactions:  cumulative target = consumed (1) only when V = D, else 0.
//   This return restores target − what the sale's earlier returns restored (its negative ledger
//   entries). Restorations are written as negative entries at the SALE's instant and in the cycle the
//   sale consumed in, with the counters locked in key order first: a rolling window gets back only what
//   still lies inside it, and an old fixed cycle is credited in the ledger, never to the current cycle.
// - The answer (201) is the receipt: returnId, saleId, transactionId, occurredAt (the return's instant),
//   lines [{lineId, quantity, refundMinor, discountReversedMinor}], refundMinor, discountReversedMinor,
//   restored [{promotionId, rule, amount}] (amounts given back by this return, positive), and
//   points {clawedBack, shortfall, refunded, balance} only when the sale earned or burned points.
// - Points (services/points-rules.ts): with R the sale's refunds so far (this one included) and N its
//   net, its returns together give back floor(burned × R / N) burned points (a new lot, reference
//   return:<returnId>:refund) and claw back floor(earned × R / N) earned ones (burned from the
//   customer's lots, oldest expiry first, reference return:<returnId>:clawback), both exactly the
//   whole once R = N; so one at a time equals together. Give-back runs first. A customer with fewer
//   points than the clawback loses what they have; the rest is the receipt's `shortfall`.
import type { Issue } from "../domain/check.js";
import type { LimitMeasure } from "../domain/promotion.js";
import type { EventRecord } from "../store/loyalty.js";
import { loyaltyModel, recordOwnEvents } from "./loyalty.js";
import { removePointsEvent } from "./points.js";
import { transaction, type Db, type Tx } from "../store/db.js";
import { consume, lockCounters, type LedgerEntry } from "../store/limits.js";
import {
  claimReturn,
  findReturnReceipt,
  lockSaleLines,
  restoreLimitsPolicy,
  saleConsumption,
  saleLineDiscounts,
  writeReturn,
  type LineDiscountRow,
  type LockedLine,
  type ReturnedLine,
  type ReturnReceipt,
} from "../store/returns.js";
import { findSale, saleRedemptions, type SaleSummary } from "../store/sales.js";
import { canonicalJson, sha256 } from "./ids.js";
import { pointsOnReturn, type ReturnPoints } from "./points-rules.js";
import { conflict, invalid, invalidField, notFound } from "./problem.js";
import type { ReturnRequest } from "./requests.js";

export interface Returned {
  /** The receipt as JSON text: a replay answers exactly these bytes. */
  readonly receipt: string;
  readonly replayed: boolean;
}

export async function processReturn(
  db: Db,
  workspaceId: string,
  request: ReturnRequest,
  nowMs: number,
): Promise<Returned> {
  const requestHash = sha256(canonicalJson(request));
  return transaction(db, async (tx) => {
    const sale = await findSale(tx, workspaceId, { transactionId: request.transactionId });
    if (sale === null) throw notFound(`a sale with transaction id ${request.transactionId}`);
    const claim = await claimReturn(tx, {
      workspaceId,
      id: request.returnId,
      saleId: sale.id,
      requestHash,
      occurredAtMs: nowMs,
    });
    if (!claim.claimed) {
      if (!claim.requestHash.equals(requestHash)) {
        throw conflict(
          "return_id_reused",
          `return ${request.returnId} was processed with a different body; use a new return id`,
        );
      }
      return { receipt: claim.receipt, replayed: true };
    }
    const locked = await lockSaleLines(tx, workspaceId, sale.id);
    const wanted = linesToReturn(request.lines, locked);
    const reversal = reverseDiscounts(wanted, await saleLineDiscounts(tx, workspaceId, sale.id));
    const refundMinor = sum(reversal.lines.map((l) => l.refundMinor));
    // Points before the counters (the customer's row, then the counters last).
    const points = await pointsOnReturn(tx, workspaceId, sale.id, request.returnId, refundMinor, nowMs);
    const restored = await restoreLimits(tx, workspaceId, sale, request.returnId, reversal.byPromotion);
    const receipt: ReturnReceipt & { points?: ReturnPoints } = {
      returnId: request.returnId,
      saleId: sale.id,
      transactionId: sale.transactionId,
      occurredAt: new Date(nowMs).toISOString(),
      lines: reversal.lines,
      refundMinor,
      discountReversedMinor: sum(reversal.lines.map((l) => l.discountReversedMinor)),
      restored,
      ...(points !== null ? { points } : {}),
    };
    const text = JSON.stringify(receipt);
    await writeReturn(tx, {
      workspaceId,
      id: request.returnId,
      saleId: sale.id,
      refundMinor: receipt.refundMinor,
      receipt: text,
      lines: reversal.lines,
      reversals: [...reversal.byPromotion].map(([promotionId, amountMinor]) => ({
        promotionId,
        amountMinor,
      })),
    });
    // Issue 4: product.return, folded into the customer's loyalty state in this transaction.
    if (sale.customerId !== null) {
      const customerId = sale.customerId;
      const returnEvent: EventRecord = {
        id: `${sale.id}.return.${request.returnId}`,
        customerId,
        type: "product.return",
        atMs: nowMs,
        source: "return",
        params: {
          $totalAmount: refundMinor,
          $units: sum(reversal.lines.map((l) => l.quantity)),
          $saleId: sale.id,
          $returnId: request.returnId,
        },
      };
      // The points the return clawed back leave as client.removePoints, as every other removal does.
      const clawback =
        points !== null && points.clawedBack > 0
          ? [removePointsEvent(returnEvent.id, customerId, points.clawedBack, "return", "return", nowMs)]
          : [];
      const loyalty = await loyaltyModel(tx, workspaceId);
      await recordOwnEvents(tx, workspaceId, loyalty, null, customerId, [returnEvent, ...clawback], nowMs);
    }
    return { receipt: text, replayed: false };
  });
}

/** The receipt of a processed return, as JSON text. */
export async function readReturn(db: Db, workspaceId: string, returnId: string): Promise<string> {
  const receipt = await findReturnReceipt(db, workspaceId, returnId);
  if (receipt === null) throw notFound(`return ${returnId}`);
  return receipt;
}

interface LineToReturn {
  readonly line: LockedLine;
  /** Units this return takes back. */
  readonly quantity: number;
}

/** The lines and quantities the request asks for, checked against what is left (all issues at once). */
function linesToReturn(requested: ReturnRequest["lines"], locked: readonly LockedLine[]): LineToReturn[] {
  if (requested === undefined) {
    const rest = locked
      .filter((l) => l.returnedQuantity < l.quantity)
      .map((line) => ({ line, quantity: line.quantity - line.returnedQuantity }));
    if (rest.length === 0)
      throw invalidField("/lines", "nothing_to_return", "every unit of this sale has been returned already");
    return rest;
  }
  const byId = new Map(locked.map((l) => [l.lineId, l]));
  const seen = new Set<string>();
  const issues: Issue[] = [];
  const wanted: LineToReturn[] = [];
  requested.forEach(({ lineId, quantity }, i) => {
    const line = byId.get(lineId);
    if (seen.has(lineId)) {
      issues.push({
        code: "duplicate_line_id",
        path: `/lines/${i}/lineId`,
        message: `line "${lineId}" is named twice`,
      });
    } else if (line === undefined) {
      issues.push({
        code: "unknown_line",
        path: `/lines/${i}/lineId`,
        message: `the sale has no line "${lineId}"`,
      });
    } else if (quantity > line.quantity - line.returnedQuantity) {
      const left = line.quantity - line.returnedQuantity;
      issues.push({
        code: "quantity_exceeds_returnable",
        path: `/lines/${i}/quantity`,
        message: `${left} of the ${line.quantity} units sold on line "${lineId}" ${left === 1 ? "is" : "are"} left to return`,
      });
    } else wanted.push({ line, quantity });
    seen.add(lineId);
  });
  if (issues.length > 0) throw invalid(issues, 422);
  return wanted;
}

/** What is reversed of a (line, promotion) discount once `returned` of the line's `sold` units are back. */
export function reversedTotal(amountMinor: number, returned: number, sold: number): number {
  if (returned === sold) return amountMinor;
  // amount × returned may pass 2^53 (1e11 minor units × 1e5 units): divide exactly in bigint.
  return Number((BigInt(amountMinor) * BigInt(returned)) / BigInt(sold));
}

function reverseDiscounts(
  wanted: readonly LineToReturn[],
  discounts: readonly LineDiscountRow[],
): { lines: ReturnedLine[]; byPromotion: Map<string, number> } {
  const byPromotion = new Map<string, number>();
  const lines = wanted.map(({ line, quantity }): ReturnedLine => {
    const before = line.returnedQuantity;
    let lineDiscountMinor = 0;
    for (const d of discounts) {
      if (d.lineId !== line.lineId) continue;
      lineDiscountMinor += d.amountMinor;
      const part =
        reversedTotal(d.amountMinor, before + quantity, line.quantity) -
        reversedTotal(d.amountMinor, before, line.quantity);
      byPromotion.set(d.promotionId, (byPromotion.get(d.promotionId) ?? 0) + part);
    }
    // The refund follows the line's whole discount, floored once: flooring each promotion's share
    // separately could reverse more than a unit's price on the last unit (a line discounted to 0 by
    // two promotions). Per promotion the reversals may trail the line's by a minor unit or two while
    // the line is partly returned; they meet exactly when it is all returned.
    const reversedMinor =
      reversedTotal(lineDiscountMinor, before + quantity, line.quantity) -
      reversedTotal(lineDiscountMinor, before, line.quantity);
    const refundMinor = line.unitPriceMinor * quantity - reversedMinor;
    if (refundMinor < 0)
      throw new Error(
        `line ${line.lineId}: returning ${quantity} would refund ${refundMinor} (reversing ${reversedMinor})`,
      );
    return { lineId: line.lineId, quantity, refundMinor, discountReversedMinor: reversedMinor };
  });
  return { lines, byPromotion };
}

/** Gives back, per counter the sale consumed from, what this return's reversal adds to the target. */
async function restoreLimits(
  tx: Tx,
  workspaceId: string,
  sale: SaleSummary,
  returnId: string,
  reversedNow: ReadonlyMap<string, number>,
): Promise<ReturnReceipt["restored"]> {
  const consumed = await saleConsumption(tx, workspaceId, sale.id);
  if (consumed.length === 0) return [];
  const policy = await restoreLimitsPolicy(tx, workspaceId, [...new Set(consumed.map((c) => c.promotionId))]);
  // Read after the sale's lines were locked: no other return of this sale can move these totals.
  const redemptions = new Map(
    (await saleRedemptions(tx, workspaceId, sale.id)).map((r) => [r.promotionId, r]),
  );
  const entries: LedgerEntry[] = [];
  for (const c of consumed) {
    if (policy.get(c.promotionId) !== true) continue;
    const redemption = redemptions.get(c.promotionId);
    if (redemption === undefined)
      throw new Error(`sale ${sale.id} consumed limits of ${c.promotionId} but has no redemption`);
    const reversedMinor = redemption.reversedMinor + (reversedNow.get(c.promotionId) ?? 0);
    const target = restorationTarget(
      measureOf(c.rule),
      c.consumedAmount,
      reversedMinor,
      redemption.discountMinor,
    );
    const amount = target - c.restoredAmount;
    if (amount < 0)
      throw new Error(
        `sale ${sale.id}: ${c.rule} of ${c.promotionId} restored ${c.restoredAmount} > ${target}`,
      );
    if (amount > 0) {
      const key = { promotionId: c.promotionId, rule: c.rule, subject: c.subject };
      entries.push({ ...key, cycleStartMs: c.cycleStart.getTime(), amount: -amount });
    }
  }
  await lockCounters(tx, workspaceId, entries);
  await consume(tx, workspaceId, sale.id, returnId, sale.occurredAt.getTime(), entries);
  return entries.map((e) => ({ promotionId: e.promotionId, rule: e.rule, amount: -e.amount }));
}

/** The cumulative amount a counter gets back once `reversedMinor` of the redemption's discount is reversed. */
function restorationTarget(
  measure: LimitMeasure,
  consumedAmount: number,
  reversedMinor: number,
  discountMinor: number,
): number {
  // The engine records only redemptions that gave a discount.
  if (discountMinor <= 0) throw new Error(`a redemption with discount ${discountMinor} consumed limits`);
  switch (measure) {
    case "discount":
      return Math.min(reversedMinor, consumedAmount);
    case "times":
      return Number((BigInt(consumedAmount) * BigInt(reversedMinor)) / BigInt(discountMinor));
    case "transactions":
      return reversedMinor === discountMinor ? consumedAmount : 0;
    default:
      return unreachable(measure);
  }
}

/** The measure of a limit rule key (limitRuleKey: level:measure:window). */
function measureOf(ruleKey: string): LimitMeasure {
  const measure = ruleKey.split(":")[1];
  if (measure === "discount" || measure === "times" || measure === "transactions") return measure;
  throw new Error(`limit rule key "${ruleKey}" names no known measure`);
}

function unreachable(value: never): never {
  throw new Error(`unhandled: ${String(value)}`);
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
