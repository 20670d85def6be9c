// Points on sales (issue 4): the workspace's earn and burn rules, the points a sale earns and burns,
// and what a return claws back and gives back. Everything runs inside the sale's or the return's
// transaction, with the customer's row locked (lockPointsOwners) before any lot is read, and before
// the limit counters (which stay last).
//
// Earning: per line, points = net × (net − paid by points) / net ÷ 10^digits × pointsPerUnit
//   × the best tier multiplier of the customer's memberships × the best category bonus of the line,
// multipliers in basis points (10000 = ×1) and multiplying each other. The sale earns the floor of the
// sum over lines, computed exactly (bigint).
// Burning: a tender {mode: "points", amountMinor: N} burns ceil(N / burnValueMinorPerPoint).
// Returns: with R the sale's cumulative refund and N its net, the returns together claw back
// floor(earned × R / N) (exactly `earned` once R = N) and give back floor(burned × R / N).
import Type, { type Static } from "typebox";
import type { Issue } from "../domain/check.js";
import { minorDigits } from "../domain/money.js";
import type { Basket, Membership, Tender } from "../domain/basket.js";
import type { Evaluation } from "../engine/index.js";
import type { Db, Queryable, Tx } from "../store/db.js";
import { workspaceTimeZone } from "../store/points.js";
import { closed, Id } from "./catalog.js";
import { invalid, invalidField, Problem } from "./problem.js";
import { burnUpToWithin, burnWithin, earnWithin, lockPointsOwners } from "./points.js";
import { plusLocalDays } from "./wallet.js";

const BPS_FULL = 10_000n;
const Bps = Type.Integer({ minimum: 0, maximum: 1_000_000 });
const Label = Type.String({ minLength: 1, maxLength: 100 });

export const PointsRulesSchema = Type.Object(
  {
    /** Off: sales neither earn nor burn points, and receipts carry no `points`. */
    enabled: Type.Boolean(),
    /** Points per one major currency unit of net spend (1 EUR, not 1 cent). */
    pointsPerUnit: Type.Integer({ minimum: 0, maximum: 10_000 }),
    /** The best multiplier among the customer's tiers applies; none: ×1. */
    tierMultipliers: Type.Optional(
      Type.Array(Type.Object({ tierId: Id, multiplierBps: Bps }, closed), { maxItems: 100 }),
    ),
    /** A line in one of these categories earns × the best matching bonus; none: ×1. */
    categoryBonuses: Type.Optional(
      Type.Array(Type.Object({ category: Label, multiplierBps: Bps }, closed), { maxItems: 100 }),
    ),
    /** Calendar days (workspace time zone) an earned lot lives; absent: never expires. */
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_650 })),
    /** What one point pays at the till, in minor units. */
    burnValueMinorPerPoint: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  },
  closed,
);
export type PointsRules = Static<typeof PointsRulesSchema>;

const DEFAULT_RULES: PointsRules = { enabled: false, pointsPerUnit: 0, burnValueMinorPerPoint: 1 };

/** Duplicates are refused with their path (all at once). */
export function checkRules(rules: PointsRules): void {
  const issues: Issue[] = [];
  const dup = (list: readonly string[], path: (i: number) => string, what: string) => {
    const seen = new Set<string>();
    list.forEach((v, i) => {
      if (seen.has(v))
        issues.push({ code: "duplicate", path: path(i), message: `${what} "${v}" is listed twice` });
      seen.add(v);
    });
  };
  dup(
    (rules.tierMultipliers ?? []).map((t) => t.tierId),
    (i) => `/tierMultipliers/${i}/tierId`,
    "tier",
  );
  dup(
    (rules.categoryBonuses ?? []).map((c) => c.category),
    (i) => `/categoryBonuses/${i}/category`,
    "category",
  );
  if (issues.length > 0) throw invalid(issues, 422);
}

export async function readRules(q: Queryable, workspaceId: string): Promise<PointsRules> {
  const { rows } = await q.query<{ rules: PointsRules }>(
    `select rules from points_rules where workspace_id = $1`,
    [workspaceId],
  );
  return rows[0]?.rules ?? DEFAULT_RULES;
}

export async function writeRules(
  db: Db,
  workspaceId: string,
  rules: PointsRules,
  nowMs: number,
): Promise<PointsRules> {
  checkRules(rules);
  await db.query(
    `insert into points_rules (workspace_id, rules, updated_at) values ($1, $2, $3)
     on conflict (workspace_id) do update set rules = excluded.rules, updated_at = excluded.updated_at`,
    [workspaceId, JSON.stringify(rules), new Date(nowMs)],
  );
  return rules;
}

// ---- Pure rules.

/** The points tender's index and amount; 422 when it cannot be paid with points. */
export function pointsTender(
  tenders: readonly Tender[] | undefined,
  customerId: string | undefined,
  netMinor: number,
): { index: number; amountMinor: number } | null {
  const indices = (tenders ?? []).flatMap((t, i) => (t.mode === "points" ? [i] : []));
  if (indices.length === 0) return null;
  const index = indices[0]!;
  if (indices.length > 1)
    throw invalidField(
      `/tenders/${indices[1]!}/mode`,
      "points_tender_twice",
      "a sale takes one points tender",
    );
  if (customerId === undefined)
    throw invalidField(
      `/tenders/${index}/mode`,
      "points_without_customer",
      "points pay only for a named customer",
    );
  const amountMinor = tenders![index]!.amountMinor;
  if (amountMinor === undefined)
    throw invalidField(`/tenders/${index}/amountMinor`, "required", "a points tender says what it pays");
  if (amountMinor > netMinor)
    throw invalidField(
      `/tenders/${index}/amountMinor`,
      "exceeds_net",
      `points may pay at most the sale's net, ${netMinor}`,
    );
  return { index, amountMinor };
}

/** The points a sale earns: the floor of the exact sum over lines (see the header). */
export function pointsEarned(
  rules: PointsRules,
  currency: string,
  memberships: readonly Membership[],
  basket: Basket,
  evaluation: Evaluation,
  paidByPointsMinor: number,
): number {
  const net = BigInt(Math.max(0, evaluation.totals.netMinor));
  if (net === 0n || rules.pointsPerUnit === 0) return 0;
  const tiers = new Set(memberships.flatMap((m) => (m.tierId !== undefined ? [m.tierId] : [])));
  const tierBps = (rules.tierMultipliers ?? [])
    .filter((t) => tiers.has(t.tierId))
    .reduce(
      (best, t) => (best === null || t.multiplierBps > best ? t.multiplierBps : best),
      null as number | null,
    );
  const categoriesOf = new Map(basket.lines.map((l) => [l.id, new Set(l.categories ?? [])]));
  let numerator = 0n;
  for (const line of evaluation.lines) {
    const categories = categoriesOf.get(line.lineId) ?? new Set<string>();
    const categoryBps = (rules.categoryBonuses ?? [])
      .filter((c) => categories.has(c.category))
      .reduce(
        (best, c) => (best === null || c.multiplierBps > best ? c.multiplierBps : best),
        null as number | null,
      );
    numerator +=
      BigInt(Math.max(0, line.netMinor)) * BigInt(categoryBps ?? 10_000) * BigInt(tierBps ?? 10_000);
  }
  const earnable = net - BigInt(paidByPointsMinor);
  const denominator = net * 10n ** BigInt(minorDigits(currency)) * BPS_FULL * BPS_FULL;
  return Number((numerator * BigInt(rules.pointsPerUnit) * earnable) / denominator);
}

/** floor(total × part / whole), exactly `total` once part reaches whole. */
export function proportion(total: number, part: number, whole: number): number {
  if (whole <= 0 || part >= whole) return total;
  return Number((BigInt(total) * BigInt(Math.max(0, part))) / BigInt(whole));
}

// ---- In the sale's transaction.

export interface SalePoints {
  readonly earned: number;
  readonly burned: number;
  readonly balance: number;
}

/**
 * Burns the points tender and earns the sale's points, with the customer's row locked. Null when the
 * rules are off (the receipt then has no `points`); 422 on a bad points tender or too few points.
 * Call after the wallet entries are locked and before earning progress and the limit counters.
 */
export async function pointsOnSale(
  tx: Tx,
  sale: {
    readonly workspaceId: string;
    readonly currency: string;
    readonly saleId: string;
    readonly customerId: string | undefined;
    readonly memberships: readonly Membership[];
    readonly tenders: readonly Tender[] | undefined;
    readonly basket: Basket;
    readonly evaluation: Evaluation;
    /** The rules as the sale's first statement read them (null: none set); read again when absent. */
    readonly rules?: unknown;
  },
  nowMs: number,
): Promise<SalePoints | null> {
  const rules =
    sale.rules === undefined
      ? await readRules(tx, sale.workspaceId)
      : ((sale.rules as PointsRules | null) ?? DEFAULT_RULES);
  if (!rules.enabled) return null;
  const netMinor = Math.max(0, sale.evaluation.totals.netMinor);
  const tender = pointsTender(sale.tenders, sale.customerId, netMinor);
  const customerId = sale.customerId;
  if (customerId === undefined) return null;
  await lockPointsOwners(tx, sale.workspaceId, [customerId]);
  let burned = 0;
  let balance: number | null = null;
  if (tender !== null && tender.amountMinor > 0) {
    burned = Math.ceil(tender.amountMinor / rules.burnValueMinorPerPoint);
    try {
      balance = (
        await burnWithin(
          tx,
          sale.workspaceId,
          customerId,
          { amount: burned, reference: `sale:${sale.saleId}:burn` },
          nowMs,
        )
      ).balance;
    } catch (error) {
      if (!(error instanceof Problem) || error.code !== "insufficient_points") throw error;
      throw invalidField(
        `/tenders/${tender.index}/amountMinor`,
        "insufficient_points",
        `${tender.amountMinor} needs ${burned} points; ${error.detail ?? "the customer has fewer"}`,
      );
    }
  }
  const paidMinor = tender?.amountMinor ?? 0;
  const earned = pointsEarned(
    rules,
    sale.currency,
    sale.memberships,
    sale.basket,
    sale.evaluation,
    paidMinor,
  );
  if (earned > 0) {
    const expiresAt = await expiryOf(tx, sale.workspaceId, rules, nowMs);
    balance = (
      await earnWithin(
        tx,
        sale.workspaceId,
        customerId,
        { amount: earned, expiresAt, reference: `sale:${sale.saleId}` },
        nowMs,
      )
    ).balance;
  }
  if (balance === null) balance = await balanceNow(tx, sale.workspaceId, customerId, nowMs);
  if (earned > 0 || burned > 0) {
    await tx.query(
      `insert into sale_points (workspace_id, sale_id, customer_id, net_minor, earned, burned, paid_minor)
       values ($1, $2, $3, $4, $5, $6, $7)`,
      [sale.workspaceId, sale.saleId, customerId, netMinor, earned, burned, paidMinor],
    );
  }
  return { earned, burned, balance };
}

async function expiryOf(
  tx: Tx,
  workspaceId: string,
  rules: PointsRules,
  nowMs: number,
): Promise<Date | null> {
  if (rules.expiresInDays === undefined) return null;
  const timeZone = (await workspaceTimeZone(tx, workspaceId)) ?? "UTC";
  return new Date(plusLocalDays(nowMs, rules.expiresInDays, timeZone));
}

async function balanceNow(
  q: Queryable,
  workspaceId: string,
  customerId: string,
  nowMs: number,
): Promise<number> {
  const { rows } = await q.query<{ balance: string }>(
    `select coalesce(sum(remaining), 0)::bigint as balance from points_lots
      where workspace_id = $1 and customer_id = $2 and remaining > 0
        and (expires_at is null or expires_at > $3)`,
    [workspaceId, customerId, new Date(nowMs)],
  );
  return Number(rows[0]?.balance ?? 0);
}

// ---- In the return's transaction (the sale's lines locked).

export interface ReturnPoints {
  /** Points this return took back of what the sale earned. */
  readonly clawedBack: number;
  /** What it should have taken but the customer no longer had. */
  readonly shortfall: number;
  /** Burned points this return gave back, as a new lot. */
  readonly refunded: number;
  readonly balance: number;
}

/**
 * Gives back burned points and claws back earned ones, in proportion to the refund over the sale's
 * net (cumulatively: see the header). Null when the sale involved no points. Gives back first, so a
 * customer who spent the earned points pays the clawback from the refunded ones.
 */
export async function pointsOnReturn(
  tx: Tx,
  workspaceId: string,
  saleId: string,
  returnId: string,
  refundMinor: number,
  nowMs: number,
): Promise<ReturnPoints | null> {
  const { rows } = await tx.query<{
    customerId: string;
    netMinor: string;
    earned: string;
    burned: string;
    returnedMinor: string;
    clawbackTarget: string;
    refunded: string;
  }>(
    `select customer_id as "customerId", net_minor as "netMinor", earned, burned, returned_minor as "returnedMinor",
            clawback_target as "clawbackTarget", refunded
       from sale_points where workspace_id = $1 and sale_id = $2 for update`,
    [workspaceId, saleId],
  );
  const row = rows[0];
  if (row === undefined) return null;
  const net = Number(row.netMinor);
  const earned = Number(row.earned);
  const burned = Number(row.burned);
  const returned = Number(row.returnedMinor) + refundMinor;
  const clawTarget = proportion(earned, returned, net);
  const refundTarget = proportion(burned, returned, net);
  const claw = clawTarget - Number(row.clawbackTarget);
  const refunded = refundTarget - Number(row.refunded);
  await lockPointsOwners(tx, workspaceId, [row.customerId]);
  let balance: number | null = null;
  if (refunded > 0) {
    const rules = await readRules(tx, workspaceId);
    const expiresAt = await expiryOf(tx, workspaceId, rules, nowMs);
    balance = (
      await earnWithin(
        tx,
        workspaceId,
        row.customerId,
        { amount: refunded, expiresAt, reference: `return:${returnId}:refund` },
        nowMs,
      )
    ).balance;
  }
  let clawedBack = 0;
  if (claw > 0) {
    const taken = await burnUpToWithin(
      tx,
      workspaceId,
      row.customerId,
      { amount: claw, reference: `return:${returnId}:clawback` },
      nowMs,
    );
    clawedBack = taken.taken;
    balance = taken.balance;
  }
  if (balance === null) balance = await balanceNow(tx, workspaceId, row.customerId, nowMs);
  await tx.query(
    `update sale_points set returned_minor = $3, clawback_target = $4, clawed_back = clawed_back + $5,
            refunded = $6
      where workspace_id = $1 and sale_id = $2`,
    [workspaceId, saleId, returned, clawTarget, clawedBack, refundTarget],
  );
  return { clawedBack, shortfall: Math.max(0, claw) - clawedBack, refunded: Math.max(0, refunded), balance };
}
