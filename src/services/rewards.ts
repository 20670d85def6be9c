// Rewards bought with points (issue 5): the customer (through the app or the till) buys a published,
// running `rewards` promotion whose earning is a `direct_trigger` with a `pointsCost`, or claims one
// without a cost. One transaction does it all, in the lock order of every points write:
//
//   1. lock the customer's row (lockPointsOwners, as burns do), 404 if not in the key's workspace;
//   2. claim the reference in points_requests (shared with earn, burn and transfer): the same body
//      answers the stored first result, another body is a 409 reference_reused;
//   3. check the promotion (422 unknown / not purchasable, 409 unless running), then
//      maxEarningsPerCustomer (entries the customer ever bought or claimed of it);
//   4. insert the wallet entry under the issual limit (409 limit_reached);
//   5. burn pointsCost with the reference (409 insufficient_points naming /promotionId);
//   6. write `handbill.assign` (`<entryId>.assign`) and, when points left, `client.removePoints`
//      (`<reference>.removePoints`, reason `reward`) into the customer's loyalty profile;
//   7. store the answer under the reference.
//
// Any refusal rolls all of it back, the reference claim included; a replay answers the stored result
// and writes no event again.
import Type, { type Static } from "typebox";
import type { Promotion } from "../domain/promotion.js";
import { transaction, type Db } from "../store/db.js";
import { claimReference, lotsWithPoints, storeResult } from "../store/points.js";
import { countEntriesFrom, insertEntryWithin, lockForIssue } from "../store/wallet.js";
import { closed, Id } from "./catalog.js";
import { canonicalJson, newId, sha256 } from "./ids.js";
import {
  balanceOf,
  burnWithin,
  LedgerEntryJsonSchema,
  ledgerEntryJson,
  lockPointsOwners,
  Reference,
  removePointsEvent,
} from "./points.js";
import { conflict, invalidField, notFound, Problem } from "./problem.js";
import { derivedStatus } from "./promotions.js";
import {
  assignEvent,
  entryJson,
  issualLimitReached,
  recordLifecycleEvents,
  WalletEntryJsonSchema,
} from "./wallet.js";

export const PurchaseBodySchema = Type.Object(
  {
    promotionId: Id,
    /** The caller's idempotency key, unique per workspace with the points operations' references. */
    reference: Reference,
  },
  closed,
);
export type PurchaseBody = Static<typeof PurchaseBodySchema>;

export const PurchaseJsonSchema = Type.Object({
  reference: Type.String(),
  customerId: Type.String(),
  promotionId: Type.String(),
  /** The points the purchase took; 0 for a free claim. */
  pointsCost: Type.Integer(),
  /** The customer's points balance right after the purchase. */
  balance: Type.Integer(),
  /** The wallet entry: source `bought` (`earned` for a free claim). */
  entry: WalletEntryJsonSchema,
  /** The points ledger entries written (the burn: client.removePoints; expired lots written off). */
  pointsEntries: Type.Array(LedgerEntryJsonSchema),
});
export type PurchaseJson = Static<typeof PurchaseJsonSchema>;

export interface Purchased {
  readonly result: PurchaseJson;
  readonly replayed: boolean;
}

/** The direct trigger of a rewards promotion, or null when it cannot be bought nor claimed. */
function directTrigger(
  p: Promotion,
): { readonly pointsCost: number | null; readonly maxEarnings: number | null } | null {
  if (p.type !== "rewards" || p.earning?.kind !== "direct_trigger") return null;
  return {
    pointsCost: p.earning.pointsCost ?? null,
    maxEarnings: p.earning.maxEarningsPerCustomer ?? null,
  };
}

export async function purchaseReward(
  db: Db,
  workspaceId: string,
  customerId: string,
  body: PurchaseBody,
  nowMs: number,
): Promise<Purchased> {
  const requestHash = sha256(canonicalJson({ operation: "purchase", customerId, body }));
  return transaction(db, async (tx) => {
    const owners = await lockPointsOwners(tx, workspaceId, [customerId]);
    if (!owners.has(customerId)) throw notFound(`customer ${customerId}`);
    const claim = await claimReference(tx, workspaceId, body.reference, requestHash, new Date(nowMs));
    if (claim !== null) {
      if (!claim.requestHash.equals(requestHash) || claim.result === null)
        throw conflict(
          "reference_reused",
          `points reference ${body.reference} was used for another request; use a new reference`,
        );
      return { result: claim.result as PurchaseJson, replayed: true };
    }

    // The customer's row is already locked; this reads the zone and the promotion.
    const facts = await lockForIssue(tx, workspaceId, customerId, body.promotionId);
    if (facts.timeZone === null) throw notFound(`workspace ${workspaceId}`);
    if (facts.promotion === null)
      throw invalidField(
        "/promotionId",
        "unknown_promotion",
        `promotion "${body.promotionId}" does not exist`,
      );
    const p = facts.promotion.definition;
    const trigger = directTrigger(p);
    if (trigger === null)
      throw invalidField(
        "/promotionId",
        "not_purchasable",
        `promotion ${p.id} is not a rewards promotion with a direct trigger; only those can be bought or claimed`,
      );
    const status = derivedStatus(facts.promotion, nowMs);
    if (status !== "active")
      throw conflict(`promotion_${status}`, `promotion ${p.id} is ${status}; it cannot be bought now`);

    const source = trigger.pointsCost === null ? "earned" : "bought";
    if (trigger.maxEarnings !== null) {
      const held = await countEntriesFrom(tx, workspaceId, customerId, p.id, ["bought", "earned"]);
      if (held >= trigger.maxEarnings)
        throw new Problem(
          409,
          "max_earnings_reached",
          "Conflict",
          `customer ${customerId} already got promotion ${p.id} ${held} times, its maxEarningsPerCustomer`,
          [
            {
              code: "max_earnings_reached",
              path: "/promotionId",
              message: `maxEarningsPerCustomer is ${trigger.maxEarnings}`,
            },
          ],
        );
    }

    const rule = (p.limits ?? []).find((r) => r.level === "issual");
    const row = await insertEntryWithin(
      tx,
      workspaceId,
      {
        id: newId("wal"),
        customerId,
        promotionId: p.id,
        state: p.activationRequired === true ? "issued" : "active",
        source,
        issuedAt: new Date(nowMs),
        earnedAt: new Date(nowMs),
        expiresAt: null,
      },
      rule?.max ?? null,
    );
    if (row === null) throw issualLimitReached(customerId, p.id, rule!);

    let balance: number;
    let pointsEntries: PurchaseJson["pointsEntries"] = [];
    if (trigger.pointsCost === null) {
      balance = balanceOf(await lotsWithPoints(tx, workspaceId, customerId), nowMs);
    } else {
      try {
        const moved = await burnWithin(
          tx,
          workspaceId,
          customerId,
          { amount: trigger.pointsCost, reference: body.reference },
          nowMs,
        );
        balance = moved.balance;
        pointsEntries = moved.entries.map(ledgerEntryJson);
      } catch (error) {
        if (error instanceof Problem && error.code === "insufficient_points")
          throw new Problem(409, "insufficient_points", "Conflict", error.detail, [
            {
              code: "insufficient_points",
              path: "/promotionId",
              message: `promotion ${p.id} costs ${trigger.pointsCost} points; ${error.errors?.[0]?.message ?? ""}`,
            },
          ]);
        throw error;
      }
    }

    await recordLifecycleEvents(
      tx,
      workspaceId,
      customerId,
      [
        assignEvent({ entryId: row.id, promotionId: p.id }, customerId, "api", nowMs),
        ...(trigger.pointsCost === null
          ? []
          : [removePointsEvent(body.reference, customerId, trigger.pointsCost, "reward", "api", nowMs)]),
      ],
      nowMs,
    );
    const result: PurchaseJson = {
      reference: body.reference,
      customerId,
      promotionId: p.id,
      pointsCost: trigger.pointsCost ?? 0,
      balance,
      entry: entryJson(row, nowMs),
      pointsEntries,
    };
    await storeResult(tx, workspaceId, body.reference, result);
    return { result, replayed: false };
  });
}
