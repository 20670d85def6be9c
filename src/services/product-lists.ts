// Personalized product lists (seed 002). A promotion whose product set is a `personal_list` discounts
// the products each customer chose for it: staff assign a list (admin, marketer) or the customer
// chooses it (app, pos). The promotion's personal-list set says how many distinct products count
// (`maxDistinct`), whether the choice locks after the first sale that applied it
// (`lockAfterFirstApply`), and the product that applies while nothing is chosen (`defaultSku`).
//
// Pricing reads the lists in its one statement and hands them to the engine as
// `customer.productChoices`. The lock is set by the sale, in its transaction, through
// lockAppliedProductLists.
import Type, { type Static } from "typebox";
import type { Issue } from "../domain/check.js";
import type { ProductSource, Promotion } from "../domain/promotion.js";
import type { Role } from "../store/workspaces.js";
import type { Db, Tx } from "../store/db.js";
import {
  listFacts,
  lockLists,
  readLists,
  upsertList,
  type ListSource,
  type ProductListRow,
} from "../store/product-lists.js";
import { closed, Id, Instant } from "./catalog.js";
import { conflict, invalid, invalidField, notFound } from "./problem.js";
import { compiledPromotion } from "./pricing.js";

/** The domain's bound on a customer's choices for one promotion (CustomerContextSchema). */
const SKUS_MAX = 1_000;

type PersonalList = Extract<ProductSource, { kind: "personal_list" }>;

/** What a promotion's personal-list sets ask of a customer's list; null: the promotion has none. */
export interface ListTerms {
  /** The fewest distinct products any of its personal-list sets counts; null: no bound. */
  readonly maxDistinct: number | null;
  readonly lockAfterFirstApply: boolean;
  readonly defaultSku: string | null;
}

export function listTerms(p: Promotion): ListTerms | null {
  const benefit = p.benefit;
  if (benefit.kind !== "products" || benefit.target.kind !== "product_sets") return null;
  const lists = benefit.target.sets
    .map((s) => s.products)
    .filter((s): s is PersonalList => s.kind === "personal_list");
  if (lists.length === 0) return null;
  const bounds = lists.flatMap((l) => (l.maxDistinct === undefined ? [] : [l.maxDistinct]));
  return {
    maxDistinct: bounds.length === 0 ? null : Math.min(...bounds),
    lockAfterFirstApply: lists.some((l) => l.lockAfterFirstApply),
    defaultSku: lists.find((l) => l.defaultSku !== undefined)?.defaultSku ?? null,
  };
}

// ---- The API's shapes.

export const ProductListBodySchema = Type.Object(
  {
    /** The chosen SKUs, distinct, in the customer's order; empty: nothing chosen (the default applies). */
    skus: Type.Array(Id, { maxItems: SKUS_MAX }),
  },
  closed,
);
export type ProductListBody = Static<typeof ProductListBodySchema>;

const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const ProductListJsonSchema = Type.Object({
  customerId: Type.String(),
  promotionId: Type.String(),
  skus: Type.Array(Type.String()),
  /** assigned: by staff (admin, marketer key); chosen: by the customer (app, pos key). */
  source: Type.Union([Type.Literal("assigned"), Type.Literal("chosen")]),
  createdAt: Instant,
  /** When the current list was set. */
  chosenAt: Instant,
  /** True while the list cannot change: a sale applied it and the promotion locks after first apply. */
  locked: Type.Boolean(),
  lockedAt: Nullable(Instant),
  /** The promotion's terms, as defined now. */
  maxDistinct: Nullable(Type.Integer()),
  lockAfterFirstApply: Type.Boolean(),
  defaultSku: Nullable(Type.String()),
});
export type ProductListJson = Static<typeof ProductListJsonSchema>;

function listJson(row: ProductListRow): ProductListJson {
  const terms = listTerms(row.definition);
  const lockAfterFirstApply = terms?.lockAfterFirstApply ?? false;
  return {
    customerId: row.customerId,
    promotionId: row.promotionId,
    skus: row.skus,
    source: row.source,
    createdAt: row.createdAt.toISOString(),
    chosenAt: row.chosenAt.toISOString(),
    locked: lockAfterFirstApply && row.lockedAt !== null,
    lockedAt: row.lockedAt?.toISOString() ?? null,
    maxDistinct: terms?.maxDistinct ?? null,
    lockAfterFirstApply,
    defaultSku: terms?.defaultSku ?? null,
  };
}

const sourceOf = (role: Role): ListSource =>
  role === "admin" || role === "marketer" ? "assigned" : "chosen";

// ---- Use cases.

/**
 * Sets the customer's list for a promotion. 404 for a customer this workspace does not have; 422 for
 * a promotion that is unknown or has no personal-list set (at /promotionId), unknown or repeated SKUs
 * (at /skus/N) and more distinct products than the promotion counts (at /skus); 409 list_locked when
 * a sale has locked the list. Setting a locked list to exactly what it holds answers it unchanged.
 */
export async function setProductList(
  db: Db,
  workspaceId: string,
  customerId: string,
  promotionId: string,
  body: ProductListBody,
  role: Role,
  nowMs: number,
): Promise<ProductListJson> {
  const facts = await listFacts(db, workspaceId, customerId, promotionId, body.skus);
  if (!facts.workspaceExists) throw notFound(`workspace ${workspaceId}`);
  if (!facts.customerExists) throw notFound(`customer ${customerId}`);
  if (facts.promotion === null)
    throw invalidField("/promotionId", "unknown_promotion", `promotion "${promotionId}" does not exist`);
  const terms = listTerms(facts.promotion);
  if (terms === null)
    throw invalidField(
      "/promotionId",
      "not_personalized",
      `promotion "${promotionId}" has no personal-list product set: it does not use the customer's chosen products`,
    );
  const known = new Set(facts.knownSkus);
  const seen = new Set<string>();
  const issues: Issue[] = [];
  body.skus.forEach((sku, i) => {
    if (seen.has(sku))
      issues.push({ code: "duplicate_sku", path: `/skus/${i}`, message: `SKU "${sku}" is chosen twice` });
    else if (!known.has(sku))
      issues.push({ code: "unknown_sku", path: `/skus/${i}`, message: `SKU "${sku}" is not in the catalog` });
    seen.add(sku);
  });
  if (terms.maxDistinct !== null && seen.size > terms.maxDistinct)
    issues.push({
      code: "max_distinct_exceeded",
      path: "/skus",
      message: `promotion "${promotionId}" counts at most ${terms.maxDistinct} distinct products; ${seen.size} were chosen`,
    });
  if (issues.length > 0) throw invalid(issues, 422);

  const current = facts.list;
  const lockedNow = terms.lockAfterFirstApply && current !== null && current.lockedAt !== null;
  if (lockedNow && sameSkus(current.skus, body.skus)) return listJson(current);
  if (lockedNow) throw locked(customerId, promotionId);
  const row = await upsertList(
    db,
    workspaceId,
    { customerId, promotionId, skus: body.skus, source: sourceOf(role), at: new Date(nowMs) },
    terms.lockAfterFirstApply,
  );
  // A sale locked it between the read and the write.
  if (row === null) throw locked(customerId, promotionId);
  return listJson(row);
}

function locked(customerId: string, promotionId: string) {
  return conflict(
    "list_locked",
    `the product list of customer ${customerId} for promotion ${promotionId} was locked by its first sale; it cannot change`,
  );
}

function sameSkus(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

export async function readProductLists(
  db: Db,
  workspaceId: string,
  customerId: string,
): Promise<{ items: ProductListJson[] }> {
  const { customerExists, lists } = await readLists(db, workspaceId, customerId);
  if (!customerExists) throw notFound(`customer ${customerId}`);
  return { items: lists.map(listJson) };
}

export async function readProductList(
  db: Db,
  workspaceId: string,
  customerId: string,
  promotionId: string,
): Promise<ProductListJson> {
  const { customerExists, lists } = await readLists(db, workspaceId, customerId, promotionId);
  if (!customerExists) throw notFound(`customer ${customerId}`);
  const row = lists[0];
  if (row === undefined)
    throw notFound(`product list of customer ${customerId} for promotion ${promotionId}`);
  return listJson(row);
}

/**
 * The lock after first apply, for the sale's transaction (call it after writeSale): locks the
 * customer's non-empty lists of the applied promotions whose personal-list set locks after first
 * apply. The definitions the sale was just priced with (pricing's compiled cache) spare the round
 * trip when none of the applied promotions locks; otherwise one UPDATE, which checks the stored
 * definition itself.
 */
export async function lockAppliedProductLists(
  tx: Tx,
  workspaceId: string,
  customerId: string | null | undefined,
  appliedPromotionIds: readonly string[],
  nowMs?: number,
): Promise<void> {
  const candidates = listsToLock(workspaceId, customerId, appliedPromotionIds);
  if (candidates.length === 0) return;
  await lockLists(tx, workspaceId, customerId!, candidates, nowMs === undefined ? null : new Date(nowMs));
}

/** The applied promotions whose customer's list locks after its first apply (none: no statement). */
export function listsToLock(
  workspaceId: string,
  customerId: string | null | undefined,
  appliedPromotionIds: readonly string[],
): string[] {
  if (customerId === null || customerId === undefined) return [];
  return appliedPromotionIds.filter((id) => {
    const p = compiledPromotion(workspaceId, id);
    return p === undefined || listTerms(p)?.lockAfterFirstApply === true;
  });
}
