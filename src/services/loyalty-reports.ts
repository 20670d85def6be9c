// Reading the loyalty model's results: one customer's values now (what the next basket sees), and a
// tier program's report (customers per tier, moves per day).
import { DateTime } from "luxon";
import Type, { type Static } from "typebox";
import type { Value } from "../domain/loyalty/definitions.js";
import type { Db } from "../store/db.js";
import {
  customersPerTier,
  customerTierMoves,
  getDefinition,
  movesPerDay,
  readState,
} from "../store/loyalty.js";
import { getWorkspace } from "../store/workspaces.js";
import { Instant } from "./catalog.js";
import { evaluateForPricing, loyaltyModel } from "./loyalty.js";
import { invalid, notFound } from "./problem.js";

const ValueJson = Type.Unsafe<Value>({
  description: 'A number, string, boolean, null, or an error value {"error": reason}; dates are epoch ms',
});

export const CustomerLoyaltySchema = Type.Object({
  customerId: Type.String(),
  evaluatedAt: Instant,
  aggregates: Type.Record(Type.String(), ValueJson),
  expressions: Type.Record(Type.String(), ValueJson),
  /** Segments computed by the workspace's segmentations (assigned segments are on the profile). */
  segmentIds: Type.Array(Type.String()),
  /** The tier now per tier program; a program the customer is not a member of is absent. */
  tiers: Type.Array(
    Type.Object({ programId: Type.String(), tierId: Type.String(), tierName: Type.String() }),
  ),
  /** The latest tier moves, newest first. */
  moves: Type.Array(
    Type.Object({
      programId: Type.String(),
      fromTier: Type.Union([Type.String(), Type.Null()]),
      toTier: Type.Union([Type.String(), Type.Null()]),
      movedAt: Instant,
      cause: Type.String(),
    }),
  ),
});
export type CustomerLoyalty = Static<typeof CustomerLoyaltySchema>;

export async function readCustomerLoyalty(
  db: Db,
  workspaceId: string,
  customerId: string,
  nowMs: number,
): Promise<CustomerLoyalty> {
  const stored = await readState(db, workspaceId, customerId);
  if (stored === null) throw notFound(`customer ${customerId}`);
  const loaded = await loyaltyModel(db, workspaceId);
  const { evaluation } = await evaluateForPricing(db, workspaceId, loaded, stored, nowMs);
  const moves = await customerTierMoves(db, workspaceId, customerId, 20);
  return {
    customerId,
    evaluatedAt: new Date(nowMs).toISOString(),
    aggregates: evaluation.aggregates,
    expressions: evaluation.expressions,
    segmentIds: evaluation.segmentIds,
    tiers: Object.entries(evaluation.tiers)
      .filter((e): e is [string, string] => e[1] !== null)
      .map(([programId, tierId]) => ({
        programId,
        tierId,
        tierName: loaded.model.tierPrograms[programId]?.tiers.find((t) => t.id === tierId)?.name ?? tierId,
      })),
    moves: moves.map((m) => ({
      programId: m.programId,
      fromTier: m.fromTier,
      toTier: m.toTier,
      movedAt: m.movedAt.toISOString(),
      cause: m.cause,
    })),
  };
}

export const TierReportQuerySchema = Type.Object(
  {
    /** First day (workspace time zone), default 30 days before today. */
    from: Type.Optional(Type.String({ format: "date" })),
    /** Last day, inclusive; default today. */
    to: Type.Optional(Type.String({ format: "date" })),
  },
  { additionalProperties: false },
);
export type TierReportQuery = Static<typeof TierReportQuerySchema>;

export const TierReportSchema = Type.Object({
  programId: Type.String(),
  /**
   * Customers per tier as last evaluated: a sale, a return or an event re-evaluates its customer at
   * once; time passing (a purchase leaving the window) shows after the next event or recompute.
   */
  tiers: Type.Array(Type.Object({ tierId: Type.String(), name: Type.String(), customers: Type.Integer() })),
  nonMembers: Type.Integer(),
  from: Type.String(),
  to: Type.String(),
  /** Per day, the moves between two tiers (null: joining or leaving the program). */
  movesPerDay: Type.Array(
    Type.Object({
      day: Type.String(),
      fromTier: Type.Union([Type.String(), Type.Null()]),
      toTier: Type.Union([Type.String(), Type.Null()]),
      moves: Type.Integer(),
    }),
  ),
});
export type TierReport = Static<typeof TierReportSchema>;

export async function readTierReport(
  db: Db,
  workspaceId: string,
  programId: string,
  query: TierReportQuery,
  nowMs: number,
): Promise<TierReport> {
  const row = await getDefinition(db, workspaceId, "tierProgram", programId);
  if (row === null) throw notFound(`tier program ${programId}`);
  const workspace = (await getWorkspace(db, workspaceId))!;
  const zone = workspace.timeZone;
  const today = DateTime.fromMillis(nowMs, { zone }).startOf("day");
  const to = query.to !== undefined ? DateTime.fromISO(query.to, { zone }) : today;
  const from = query.from !== undefined ? DateTime.fromISO(query.from, { zone }) : to.minus({ days: 30 });
  if (to < from) throw invalid([{ code: "invalid_range", path: "/query/to", message: "is before from" }]);
  if (to.diff(from, "days").days > 3_660)
    throw invalid([{ code: "invalid_range", path: "/query/from", message: "more than 10 years before to" }]);
  const tiers = (row.definition as { tiers: { id: string; name: string }[] }).tiers;
  const counts = await customersPerTier(db, workspaceId, programId);
  const countOf = (tierId: string | null) => counts.find((c) => c.tierId === tierId)?.customers ?? 0;
  const moves = await movesPerDay(db, workspaceId, programId, {
    fromMs: from.toMillis(),
    toMs: to.plus({ days: 1 }).toMillis(),
    timeZone: zone,
  });
  return {
    programId,
    tiers: tiers.map((t) => ({ tierId: t.id, name: t.name, customers: countOf(t.id) })),
    nonMembers: countOf(null),
    from: from.toISODate()!,
    to: to.toISODate()!,
    movesPerDay: moves,
  };
}
