// Quote and commit. A quote prices with the capacity as it stands and changes nothing. A commit is one
// transaction: claim the caller's transaction id, price again with the limit counters locked, write
// the sale, its redemptions and what it consumed, and keep the receipt so a retry answers the same
// bytes. A crash before COMMIT leaves nothing; after it, the retry finds the receipt.
import type { Evaluation } from "../engine/index.js";
import { transaction, type Db } from "../store/db.js";
import { consume } from "../store/limits.js";
import { ensureCustomer } from "../store/pricing.js";
import { claimSale, writeSale } from "../store/sales.js";
import { getWorkspace, type WorkspaceRow } from "../store/workspaces.js";
import { canonicalJson, newId, sha256 } from "./ids.js";
import { price, type Priced } from "./pricing.js";
import { conflict, notFound } from "./problem.js";
import type { BasketRequest, SaleRequest } from "./requests.js";

export interface Caller {
  readonly workspaceId: string;
  readonly maySetPrices: boolean;
}

export interface Quote extends Evaluation {
  readonly customerId?: string;
  readonly unusedCodes: readonly string[];
}

async function workspaceOf(db: Db | Parameters<typeof getWorkspace>[0], id: string): Promise<WorkspaceRow> {
  const workspace = await getWorkspace(db, id);
  if (workspace === null) throw notFound(`workspace ${id}`);
  return workspace;
}

export async function quote(db: Db, caller: Caller, request: BasketRequest, nowMs: number): Promise<Quote> {
  const workspace = await workspaceOf(db, caller.workspaceId);
  const priced = await price(db, workspace, request, { nowMs, maySetPrices: caller.maySetPrices });
  return {
    ...(request.customerId !== undefined ? { customerId: request.customerId } : {}),
    ...priced.evaluation,
    unusedCodes: priced.unusedCodes,
  };
}

export interface Committed {
  /** The receipt as JSON text: a replay answers exactly these bytes. */
  readonly receipt: string;
  readonly replayed: boolean;
  readonly summary?: { readonly discountMinor: number; readonly redemptions: number };
}

export async function commitSale(
  db: Db,
  caller: Caller,
  request: SaleRequest,
  nowMs: number,
): Promise<Committed> {
  const requestHash = sha256(canonicalJson(request));
  return transaction(db, async (tx) => {
    const saleId = newId("sale");
    const claim = await claimSale(tx, {
      workspaceId: caller.workspaceId,
      id: saleId,
      transactionId: request.transactionId,
      requestHash,
      occurredAtMs: nowMs,
    });
    if (!claim.claimed) {
      if (!claim.requestHash.equals(requestHash)) {
        throw conflict(
          "transaction_id_reused",
          `transaction ${request.transactionId} was committed with a different body; use a new transaction id`,
        );
      }
      return { receipt: claim.receipt, replayed: true };
    }
    const workspace = await workspaceOf(tx, caller.workspaceId);
    if (request.customerId !== undefined) await ensureCustomer(tx, workspace.id, request.customerId);
    const priced = await price(tx, workspace, request, {
      nowMs,
      maySetPrices: caller.maySetPrices,
      lock: tx,
    });
    const receipt = JSON.stringify(receiptOf(saleId, request, nowMs, priced));
    const { evaluation } = priced;
    await writeSale(tx, {
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
      })),
      discounts: evaluation.lines.flatMap((l) =>
        l.discounts.map((d) => ({
          lineId: l.lineId,
          promotionId: d.promotionId,
          amountMinor: d.amountMinor,
          units: d.units,
        })),
      ),
      redemptions: evaluation.applied.map((a) => ({
        promotionId: a.promotionId,
        code: priced.codeByPromotion.get(a.promotionId) ?? null,
        discountMinor: a.discountMinor,
        instances: a.instances,
        units: a.units,
      })),
    });
    await consume(tx, workspace.id, saleId, null, nowMs, priced.consumption);
    return {
      receipt,
      replayed: false,
      summary: { discountMinor: evaluation.totals.discountMinor, redemptions: evaluation.applied.length },
    };
  });
}

function receiptOf(saleId: string, request: SaleRequest, nowMs: number, priced: Priced) {
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
  };
}
