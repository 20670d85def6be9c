// Seed 003 as one call: a tier program over the balance of the last 365 days since joining
// (transactions minus returns), with its aggregates, expressions and the four-segment segmentation,
// and, unless declined, the tier benefits as published loyalty promotions (5/8/10 % off the basket for
// Green/Silver/Golden). Re-running it replaces the definitions with the same ids and leaves existing
// benefit promotions alone, so it is safe to call again with other thresholds.
import Type, { type Static } from "typebox";
import type {
  AggregateBody,
  DefinitionKind,
  ExpressionBody,
  Expr,
  SegmentationBody,
  TierProgramBody,
} from "../domain/loyalty/definitions.js";
import { minorDigits } from "../domain/money.js";
import type { Promotion } from "../domain/promotion.js";
import type { Db } from "../store/db.js";
import { getWorkspace } from "../store/workspaces.js";
import { closed } from "./catalog.js";
import { putDefinition, type DefinitionBody, type DefinitionJson } from "./loyalty-definitions.js";
import { Problem, notFound } from "./problem.js";
import { changeStatus, createPromotion, readPromotion, type PromotionInput } from "./promotions.js";

const Minor = Type.Integer({ minimum: 0, maximum: 100_000_000_000 });
const Bps = Type.Integer({ minimum: 1, maximum: 10_000 });

export const TierTemplateSchema = Type.Object(
  {
    /** The tier program's id; the other definitions' ids start with it. Default "loyalty". */
    programId: Type.Optional(Type.String({ minLength: 1, maxLength: 40, pattern: "^[A-Za-z0-9_-]+$" })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 150 })),
    /** Where each tier starts, in minor units; default 300, 1000 and 2000 in the workspace currency. */
    thresholdsMinor: Type.Optional(Type.Object({ green: Minor, silver: Minor, golden: Minor }, closed)),
    /** The balance's window; default 365. */
    windowDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_650 })),
    /** The tier discounts on the whole basket, in basis points; false: no promotions. Default 500/800/1000. */
    benefits: Type.Optional(
      Type.Union([Type.Literal(false), Type.Object({ green: Bps, silver: Bps, golden: Bps }, closed)]),
    ),
  },
  closed,
);
export type TierTemplate = Static<typeof TierTemplateSchema>;

export const TierTemplateResultSchema = Type.Object({
  programId: Type.String(),
  definitions: Type.Array(Type.Object({ kind: Type.String(), id: Type.String(), created: Type.Boolean() })),
  promotions: Type.Array(Type.Object({ id: Type.String(), created: Type.Boolean() })),
});
export type TierTemplateResult = Static<typeof TierTemplateResultSchema>;

const TIERS = ["white", "green", "silver", "golden"] as const;
const TITLES = { white: "White", green: "Green", silver: "Silver", golden: "Golden" } as const;

const fn = (name: string, ...args: Expr[]): Expr => ({ fn: name, args }) as Expr;

/** The definitions of seed 003, in the order they must be written (references first). */
export function tierTemplateDefinitions(
  template: TierTemplate,
  digits: number,
): { kind: DefinitionKind; id: string; body: DefinitionBody }[] {
  const p = template.programId ?? "loyalty";
  const unit = 10 ** digits;
  const t = template.thresholdsMinor ?? { green: 300 * unit, silver: 1_000 * unit, golden: 2_000 * unit };
  const days = template.windowDays ?? 365;
  const joined: AggregateBody = {
    name: `${p}: time of joining`,
    fn: "first",
    event: "loyaltyStatus",
    param: "$timestamp",
    filters: [{ param: "status", op: "eq", value: "active" }],
    period: { kind: "lifetime" },
  };
  const sinceJoining = (event: string, what: string): AggregateBody => ({
    name: `${p}: ${what} since joining, last ${days} days`,
    fn: "sum",
    event,
    param: "$totalAmount",
    filters: [{ param: "$timestamp", op: "gte", value: { agg: `${p}.joinedAt` } }],
    period: { kind: "last", amount: days, unit: "days" },
  });
  const balance: ExpressionBody = {
    name: `${p}: balance`,
    formula: fn("sub", { agg: `${p}.charges` }, { agg: `${p}.returns` }),
  };
  const member = fn("exists", { agg: `${p}.joinedAt` });
  const b = { expr: `${p}.balance` };
  const tierNumber: ExpressionBody = {
    name: `${p}: tier number`,
    formula: fn(
      "if",
      fn("not", member),
      fn("error", "not a member"),
      fn("gte", b, t.golden),
      4,
      fn("gte", b, t.silver),
      3,
      fn("gte", b, t.green),
      2,
      1,
    ),
  };
  const segmentation: SegmentationBody = {
    name: `${p}: tiers`,
    segments: TIERS.map((tier, i) => ({
      id: `${p}.${tier}`,
      name: TITLES[tier],
      condition: fn("eq", { expr: `${p}.tierNumber` }, i + 1),
    })),
  };
  const program: TierProgramBody = {
    name: template.name ?? `${p}: tiers`,
    value: fn("if", member, b, fn("error", "not a member")),
    tiers: [
      { id: "white", name: "White" },
      { id: "green", name: "Green", from: t.green },
      { id: "silver", name: "Silver", from: t.silver },
      { id: "golden", name: "Golden", from: t.golden },
    ],
  };
  return [
    { kind: "aggregate", id: `${p}.joinedAt`, body: joined },
    { kind: "aggregate", id: `${p}.charges`, body: sinceJoining("transaction.charge", "transactions") },
    { kind: "aggregate", id: `${p}.returns`, body: sinceJoining("product.return", "returns") },
    { kind: "expression", id: `${p}.balance`, body: balance },
    { kind: "expression", id: `${p}.tierNumber`, body: tierNumber },
    { kind: "segmentation", id: `${p}.tiers`, body: segmentation },
    { kind: "tierProgram", id: p, body: program },
  ];
}

export async function applyTierTemplate(
  db: Db,
  workspaceId: string,
  template: TierTemplate,
  nowMs: number,
): Promise<TierTemplateResult> {
  const workspace = await getWorkspace(db, workspaceId);
  if (workspace === null) throw notFound(`workspace ${workspaceId}`);
  const programId = template.programId ?? "loyalty";
  const definitions: TierTemplateResult["definitions"] = [];
  for (const d of tierTemplateDefinitions(template, minorDigits(workspace.currency))) {
    const { json, created }: { json: DefinitionJson; created: boolean } = await putDefinition(
      db,
      workspaceId,
      d.kind,
      d.id,
      d.body,
      nowMs,
    );
    definitions.push({ kind: json.kind, id: json.id, created });
  }
  const promotions: TierTemplateResult["promotions"] = [];
  if (template.benefits !== false) {
    const bps = template.benefits ?? { green: 500, silver: 800, golden: 1_000 };
    for (const tier of ["green", "silver", "golden"] as const) {
      const id = `${programId}-${tier}`;
      const status = await statusOf(db, workspaceId, id, nowMs);
      if (status !== null) {
        // Created by an earlier call that stopped before publishing it: publish it now. A promotion
        // a marketer paused or ended since stays as it is.
        if (status === "draft") await changeStatus(db, workspaceId, id, "publish", {}, nowMs);
        promotions.push({ id, created: false });
        continue;
      }
      const input: PromotionInput = {
        id,
        name: `${TITLES[tier]} tier: ${bps[tier] / 100} % off`,
        type: "loyalty",
        schedule: { startsAt: new Date(nowMs).toISOString() },
        eligibility: { kind: "tiers", programId, tierIds: [tier] },
        conditions: [],
        benefit: { kind: "cart", value: { kind: "percentage", bps: bps[tier] } },
      } as PromotionInput;
      await createPromotion(db, workspaceId, input, nowMs);
      await changeStatus(db, workspaceId, id, "publish", {}, nowMs);
      promotions.push({ id, created: true });
    }
  }
  return { programId, definitions, promotions };
}

async function statusOf(db: Db, workspaceId: string, id: string, nowMs: number): Promise<string | null> {
  try {
    return (await readPromotion(db, workspaceId, id, nowMs)).status;
  } catch (error) {
    if (error instanceof Problem && error.status === 404) return null;
    throw error;
  }
}

export type { Promotion };
