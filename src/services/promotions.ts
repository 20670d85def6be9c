// Promotions as a marketer manages them: create and edit definitions (validated with every problem
// at once), move them through their lifecycle, and attach codes. Each write is one transaction that
// first locks the workspace row and bumps promotions_version, so writers queue in one order, the
// active cap is counted race-free, and every process recompiles the engine's promotions after commit.
//
// Lifecycle (stored → as read): draft; published → scheduled before startsAt, active inside
// [startsAt, endsAt), ended from endsAt; paused; ended (final). Once published, limits are frozen.
import Type, { type Static } from "typebox";
import type { Issue } from "../domain/check.js";
import { PromotionSchema, type Promotion } from "../domain/promotion.js";
import { validatePromotion } from "../domain/validate.js";
import { isUniqueViolation, transaction, type Db, type Tx } from "../store/db.js";
import {
  countLivePublished,
  deletePromotion as deleteRow,
  findCodeHolders,
  findPromotion,
  insertCodes,
  insertPromotion,
  listCodes,
  listPromotions,
  lockWorkspaceForPromotions,
  updateDefinition,
  updateStatus,
  type DerivedStatus,
  type PromotionFilter,
  type PromotionRow,
  type StoredStatus,
} from "../store/promotions.js";
import { canonicalJson, newId } from "./ids.js";
import { normalizeCode } from "./pricing.js";
import { Problem, invalid, invalidField, notFound } from "./problem.js";

/** A definition as clients send it: the id is optional on create (one is generated) and on replace. */
export const PromotionInputSchema = Type.Object(
  { ...PromotionSchema.properties, id: Type.Optional(PromotionSchema.properties.id) },
  { additionalProperties: false },
);
export type PromotionInput = Static<typeof PromotionInputSchema>;

export const DERIVED_STATUSES = ["draft", "scheduled", "active", "paused", "ended"] as const;

export interface PromotionResource {
  readonly id: string;
  readonly status: DerivedStatus;
  /** Bumped by every change; the ETag, and what If-Match compares. */
  readonly revision: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The first publication; from then on the limits are frozen (seed 004 step 5.4). */
  readonly publishedAt: string | null;
  readonly definition: Promotion;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass as `after` for the next page; absent on the last page. */
  readonly next?: string;
}

/** Conditions on the current state of the resource, from request headers. */
export interface Preconditions {
  /** If-Match: the revision the client last read, as `"3"`. */
  readonly ifMatch?: string;
}

const CODE_ISSUES_MAX = 200;

/** A refused lifecycle move: the problem names where the promotion is and where it was sent. */
export class TransitionProblem extends Problem {
  constructor(
    readonly from: DerivedStatus,
    readonly to: string,
    detail: string,
  ) {
    super(409, "invalid_transition", "Conflict", detail);
  }

  override toJSON(instance?: string): Record<string, unknown> {
    return { ...super.toJSON(instance), from: this.from, to: this.to };
  }
}

export function derivedStatus(
  row: Pick<PromotionRow, "status" | "definition">,
  nowMs: number,
): DerivedStatus {
  switch (row.status) {
    case "draft":
    case "paused":
    case "ended":
      return row.status;
    case "published": {
      const { startsAt, endsAt } = row.definition.schedule;
      if (endsAt !== undefined && nowMs >= Date.parse(endsAt)) return "ended";
      return nowMs < Date.parse(startsAt) ? "scheduled" : "active";
    }
    default:
      throw new Error(`unexpected stored status: ${String(row.status satisfies never)}`);
  }
}

export function toResource(row: PromotionRow, nowMs: number): PromotionResource {
  return {
    id: row.id,
    status: derivedStatus(row, nowMs),
    revision: row.revision,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    publishedAt: row.publishedAt?.toISOString() ?? null,
    definition: row.definition,
  };
}

// ---- Reads.

export async function readPromotion(
  db: Db,
  workspaceId: string,
  id: string,
  nowMs: number,
): Promise<PromotionResource> {
  return toResource(await mustFind(db, workspaceId, id), nowMs);
}

export async function readPromotions(
  db: Db,
  workspaceId: string,
  filter: PromotionFilter,
  nowMs: number,
): Promise<Page<PromotionResource>> {
  const rows = await listPromotions(db, workspaceId, filter, nowMs);
  return page(
    rows.map((r) => toResource(r, nowMs)),
    filter.limit,
    (r) => r.id,
  );
}

// ---- Definitions.

export async function createPromotion(
  db: Db,
  workspaceId: string,
  input: PromotionInput,
  nowMs: number,
): Promise<PromotionResource> {
  const definition = checkDefinition({ id: input.id ?? newId("promo"), ...input });
  return translateUniqueViolations(() =>
    transaction(db, async (tx) => {
      await lockWorkspace(tx, workspaceId);
      return toResource(await insertPromotion(tx, workspaceId, definition, nowMs), nowMs);
    }),
  );
}

export async function replacePromotion(
  db: Db,
  workspaceId: string,
  id: string,
  input: PromotionInput,
  preconditions: Preconditions,
  nowMs: number,
): Promise<PromotionResource> {
  if (input.id !== undefined && input.id !== id) {
    throw invalidField("/id", "id_mismatch", `must be "${id}", the id in the path, or left out`);
  }
  const definition = checkDefinition({ ...input, id });
  return translateUniqueViolations(() =>
    transaction(db, async (tx) => {
      await lockWorkspace(tx, workspaceId);
      const row = await lockPromotion(tx, workspaceId, id, preconditions);
      if (derivedStatus(row, nowMs) === "ended") {
        throw new Problem(409, "promotion_ended", "Conflict", `promotion ${id} has ended; it cannot change`);
      }
      if (row.publishedAt !== null && !sameLimits(row.definition, definition)) {
        throw new Problem(
          409,
          "limits_frozen",
          "Conflict",
          "the limits cannot change once the promotion has been published",
          [{ code: "limits_frozen", path: "/limits", message: "must stay as published" }],
        );
      }
      return toResource(await updateDefinition(tx, workspaceId, definition, nowMs), nowMs);
    }),
  );
}

export async function removeDraft(
  db: Db,
  workspaceId: string,
  id: string,
  preconditions: Preconditions,
  nowMs: number,
): Promise<void> {
  await transaction(db, async (tx) => {
    await lockWorkspace(tx, workspaceId);
    const row = await lockPromotion(tx, workspaceId, id, preconditions);
    const from = derivedStatus(row, nowMs);
    if (from !== "draft") {
      throw new TransitionProblem(
        from,
        "deleted",
        `only a draft can be deleted; this one is ${from} (end it instead)`,
      );
    }
    await deleteRow(tx, workspaceId, id);
  });
}

function checkDefinition(candidate: unknown): Promotion {
  const checked = validatePromotion(candidate);
  if (!checked.ok) throw invalid(checked.issues, 422);
  return checked.value;
}

/** Rules compared as a set: reordering them is not a change. */
function sameLimits(a: Promotion, b: Promotion): boolean {
  const key = (p: Promotion) => (p.limits ?? []).map(canonicalJson).sort().join("\n");
  return key(a) === key(b);
}

async function translateUniqueViolations<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error, "promotions_name_key")) {
      const message = "another promotion of this workspace has this name (names ignore case)";
      throw new Problem(409, "name_taken", "Conflict", message, [
        { code: "name_taken", path: "/name", message },
      ]);
    }
    if (isUniqueViolation(error, "promotions_pkey")) {
      const message = "a promotion with this id exists";
      throw new Problem(409, "id_taken", "Conflict", message, [{ code: "id_taken", path: "/id", message }]);
    }
    throw error;
  }
}

// ---- Lifecycle.

export type LifecycleAction = "publish" | "pause" | "resume" | "end";

/** Where each action may start (as read at now) and the stored status it leads to. */
const TRANSITIONS: Readonly<Record<LifecycleAction, { from: readonly DerivedStatus[]; to: StoredStatus }>> = {
  publish: { from: ["draft", "paused"], to: "published" },
  resume: { from: ["paused"], to: "published" },
  pause: { from: ["scheduled", "active"], to: "paused" },
  end: { from: ["scheduled", "active", "paused"], to: "ended" },
};

export async function changeStatus(
  db: Db,
  workspaceId: string,
  id: string,
  action: LifecycleAction,
  preconditions: Preconditions,
  nowMs: number,
): Promise<PromotionResource> {
  const { from: allowed, to } = TRANSITIONS[action];
  return transaction(db, async (tx) => {
    const { activePromotionsMax } = await lockWorkspace(tx, workspaceId);
    const row = await lockPromotion(tx, workspaceId, id, preconditions);
    const from = derivedStatus(row, nowMs);
    if (!allowed.includes(from)) {
      throw new TransitionProblem(from, to, `cannot ${action} a promotion that is ${from}`);
    }
    if (to === "published") await checkPublishable(tx, workspaceId, row, activePromotionsMax, nowMs);
    return toResource(await updateStatus(tx, workspaceId, id, to, nowMs), nowMs);
  });
}

/** Runs with the workspace row locked, so concurrent publishes count one after the other. */
async function checkPublishable(
  tx: Tx,
  workspaceId: string,
  row: PromotionRow,
  activePromotionsMax: number,
  nowMs: number,
): Promise<void> {
  const { endsAt } = row.definition.schedule;
  if (endsAt !== undefined && Date.parse(endsAt) <= nowMs) {
    const message = "the schedule ended before now; move the end to publish it";
    throw new Problem(409, "schedule_ended", "Conflict", message, [
      { code: "schedule_ended", path: "/schedule/endsAt", message },
    ]);
  }
  const live = await countLivePublished(tx, workspaceId, nowMs);
  if (live >= activePromotionsMax) {
    throw new Problem(
      409,
      "active_cap_reached",
      "Conflict",
      `the workspace has ${live} published promotions that have not ended, at most ${activePromotionsMax}; pause or end one first`,
    );
  }
}

// ---- Codes of code promotions.

export async function addCodes(
  db: Db,
  workspaceId: string,
  id: string,
  codes: readonly string[],
  nowMs: number,
): Promise<{ promotionId: string; added: number }> {
  const normalized = normalizeCodes(codes);
  return transaction(db, async (tx) => {
    await lockWorkspace(tx, workspaceId);
    const row = await lockPromotion(tx, workspaceId, id);
    if (row.definition.type !== "code") {
      throw invalidField(
        "/codes",
        "not_a_code_promotion",
        `promotion ${id} is of type ${row.definition.type}, not code`,
      );
    }
    if (derivedStatus(row, nowMs) === "ended") {
      throw new Problem(
        409,
        "promotion_ended",
        "Conflict",
        `promotion ${id} has ended; it takes no new codes`,
      );
    }
    const holders = await findCodeHolders(tx, workspaceId, normalized);
    if (holders.length > 0) throw codesTaken(normalized, holders, id);
    await insertCodes(tx, workspaceId, id, normalized, nowMs);
    return { promotionId: id, added: normalized.length };
  });
}

export async function readCodes(
  db: Db,
  workspaceId: string,
  id: string,
  query: { limit: number; after?: string },
): Promise<Page<{ code: string; createdAt: string }>> {
  await mustFind(db, workspaceId, id);
  const rows = await listCodes(db, workspaceId, id, query);
  return page(
    rows.map((r) => ({ code: r.code, createdAt: r.createdAt.toISOString() })),
    query.limit,
    (r) => r.code,
  );
}

/** Trimmed and upper case, as pricing matches them; blank and repeated codes are refused. */
function normalizeCodes(codes: readonly string[]): string[] {
  const normalized = codes.map(normalizeCode);
  const seen = new Set<string>();
  const issues: Issue[] = [];
  normalized.forEach((code, i) => {
    if (code === "") issues.push({ code: "code_blank", path: `/codes/${i}`, message: "must not be blank" });
    else if (seen.has(code))
      issues.push({ code: "duplicate_code", path: `/codes/${i}`, message: `${code} is listed twice` });
    seen.add(code);
  });
  if (issues.length > 0) throw invalid(issues.slice(0, CODE_ISSUES_MAX), 422);
  return normalized;
}

function codesTaken(
  codes: readonly string[],
  holders: readonly { code: string; promotionId: string }[],
  promotionId: string,
): Problem {
  const holderOf = new Map(holders.map((h) => [h.code, h.promotionId]));
  const issues: Issue[] = [];
  codes.forEach((code, i) => {
    const holder = holderOf.get(code);
    if (holder === undefined || issues.length >= CODE_ISSUES_MAX) return;
    const owner = holder === promotionId ? "this promotion" : `promotion ${holder}`;
    issues.push({
      code: "code_taken",
      path: `/codes/${i}`,
      message: `${code} is already a code of ${owner}`,
    });
  });
  const detail = `${holders.length} of the codes are already used in this workspace; nothing was added`;
  return new Problem(409, "code_taken", "Conflict", detail, issues);
}

// ---- Shared steps.

async function lockWorkspace(tx: Tx, workspaceId: string): Promise<{ activePromotionsMax: number }> {
  const locked = await lockWorkspaceForPromotions(tx, workspaceId);
  if (locked === null) throw notFound(`workspace ${workspaceId}`);
  return locked;
}

async function mustFind(q: Db, workspaceId: string, id: string): Promise<PromotionRow> {
  const row = await findPromotion(q, workspaceId, id);
  if (row === null) throw notFound(`promotion ${id}`);
  return row;
}

/** The promotion locked for a change, or 404; then If-Match is checked against it. */
async function lockPromotion(
  tx: Tx,
  workspaceId: string,
  id: string,
  preconditions: Preconditions = {},
): Promise<PromotionRow> {
  const row = await findPromotion(tx, workspaceId, id, { forUpdate: true });
  if (row === null) throw notFound(`promotion ${id}`);
  checkIfMatch(preconditions.ifMatch, row.revision);
  return row;
}

/** If-Match holds entity tags (`"3"`), a list of them, or `*`; none matching the revision is a 412. */
function checkIfMatch(ifMatch: string | undefined, revision: number): void {
  if (ifMatch === undefined) return;
  const tags = ifMatch.split(",").map((t) => t.trim());
  if (tags.some((t) => t === "*" || t === `"${revision}"`)) return;
  throw new Problem(
    412,
    "precondition_failed",
    "Precondition failed",
    `the promotion is at revision ${revision}, not ${ifMatch}; read it again and reapply the change`,
  );
}

/** Stores fetch one row more than the limit: its presence says there is a next page. */
function page<T>(rows: readonly T[], limit: number, keyOf: (row: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, next: keyOf(items.at(-1)!) };
}
