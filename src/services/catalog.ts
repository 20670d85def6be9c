// The catalog: one item at a time or up to 10,000 in one request, in one statement. Also the wire
// vocabulary the directory services share (ids, labels, attribute records, keyset pages).
import Type, { type Static } from "typebox";
import type { Issue } from "../domain/check.js";
import { MINOR_MAX } from "../domain/money.js";
import { transaction, type Db } from "../store/db.js";
import {
  deleteItem,
  getItem,
  listItems,
  upsertItem,
  upsertItems,
  type CatalogItemRecord,
  type CatalogItemRow,
} from "../store/catalog.js";
import { invalid, notFound } from "./problem.js";

export const closed = { additionalProperties: false } as const;

/** No control characters: a tab or newline in an id or a name is a mistake, and NUL cannot be stored. */
export const PLAIN_TEXT = "^[^\\u0000-\\u001f\\u007f]*$";
const plainText = new RegExp(PLAIN_TEXT);

/** Ids and SKUs: the same bounds as the basket's, so whatever is stored can be sent in a basket. */
export const Id = Type.String({ minLength: 1, maxLength: 100, pattern: PLAIN_TEXT });
/** Names, categories, brands, attribute values: as the basket's labels. */
export const Label = Type.String({ minLength: 1, maxLength: 200, pattern: PLAIN_TEXT });
export const Instant = Type.String({ format: "date-time" });

export const PAGE_LIMIT_MAX = 500;
export const pageQuery = {
  limit: Type.Integer({ minimum: 1, maximum: PAGE_LIMIT_MAX, default: 100 }),
  /** The last id (or SKU) of the previous page: the answer's `next`. */
  after: Type.Optional(Id),
};

export interface Paged<T> {
  readonly items: T[];
  /** Present when there may be more: pass it as `after`. */
  readonly next?: string;
}

/** `rows` were fetched with limit + 1: the extra row only says that another page exists. */
export function pageOf<R, T>(
  rows: readonly R[],
  limit: number,
  keyOf: (row: R) => string,
  json: (row: R) => T,
): Paged<T> {
  const items = rows.slice(0, limit);
  return { items: items.map(json), ...(rows.length > limit ? { next: keyOf(items.at(-1)!) } : {}) };
}

const ISSUES_MAX = 200;

/** What a record schema cannot say: how many keys, and what a key may look like. */
export function checkAttributeKeys(
  attributes: Readonly<Record<string, unknown>> | undefined,
  path: string,
  keysMax: number,
  issues: Issue[],
): void {
  if (attributes === undefined) return;
  const keys = Object.keys(attributes);
  if (keys.length > keysMax)
    issues.push({ code: "too_many", path, message: `must hold at most ${keysMax} attributes` });
  for (const key of keys) {
    if (issues.length >= ISSUES_MAX) return;
    if (key.length === 0 || key.length > 100 || !plainText.test(key)) {
      issues.push({
        code: "invalid_key",
        path: `${path}/${key}`,
        message: "an attribute name has 1 to 100 characters, none of them control characters",
      });
    }
  }
}

const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Strings anywhere in a body (keys included) that PostgreSQL cannot store: NUL, and unpaired UTF-16
 * surrogates, which are not Unicode (jsonb refuses them; text would silently store U+FFFD). Bodies
 * have passed their schema, so the nesting is bounded.
 */
export function textIssues(value: unknown, path = ""): Issue[] {
  const issues: Issue[] = [];
  const visit = (v: unknown, at: string): void => {
    if (issues.length >= ISSUES_MAX) return;
    if (typeof v === "string") {
      if (v.includes("\u0000") || UNPAIRED_SURROGATE.test(v)) {
        issues.push({
          code: "invalid_text",
          path: at || "/",
          message: "must not hold NUL or an unpaired UTF-16 surrogate",
        });
      }
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => visit(item, `${at}/${i}`));
    } else if (typeof v === "object" && v !== null) {
      for (const [key, child] of Object.entries(v)) {
        visit(key, `${at}/${key}`);
        visit(child, `${at}/${key}`);
      }
    }
  };
  visit(value, path);
  return issues;
}

const itemFields = {
  name: Label,
  priceMinor: Type.Integer({ minimum: 0, maximum: MINOR_MAX }),
  categories: Type.Optional(Type.Array(Label, { maxItems: 50 })),
  brand: Type.Optional(Label),
  attributes: Type.Optional(
    Type.Record(Type.String({ minLength: 1, maxLength: 100 }), Label, { maxProperties: 50 }),
  ),
};
const ATTRIBUTES_MAX = 50;
export const BULK_ITEMS_MAX = 10_000;

export const CatalogItemBodySchema = Type.Object(itemFields, closed);
export type CatalogItemBody = Static<typeof CatalogItemBodySchema>;

export const CatalogBulkItemSchema = Type.Object({ sku: Id, ...itemFields }, closed);

export const CatalogBulkSchema = Type.Object(
  { items: Type.Array(CatalogBulkItemSchema, { minItems: 1, maxItems: BULK_ITEMS_MAX }) },
  closed,
);
export type CatalogBulk = Static<typeof CatalogBulkSchema>;

export const CatalogQuerySchema = Type.Object(
  {
    category: Type.Optional(Label),
    brand: Type.Optional(Label),
    /** Part of the name or the SKU, any case. */
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: PLAIN_TEXT })),
    ...pageQuery,
  },
  closed,
);
export type CatalogQuery = Static<typeof CatalogQuerySchema>;

export const CatalogItemJsonSchema = Type.Object({
  sku: Type.String(),
  name: Type.String(),
  priceMinor: Type.Integer(),
  categories: Type.Array(Type.String()),
  brand: Type.Optional(Type.String()),
  attributes: Type.Record(Type.String(), Type.String()),
  updatedAt: Instant,
});
export type CatalogItemJson = Static<typeof CatalogItemJsonSchema>;

function itemJson(row: CatalogItemRow): CatalogItemJson {
  return {
    sku: row.sku,
    name: row.name,
    priceMinor: row.priceMinor,
    categories: [...row.categories],
    ...(row.brand !== null ? { brand: row.brand } : {}),
    attributes: { ...row.attributes },
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** PUT semantics: what the body leaves out is cleared. */
function recordOf(sku: string, body: CatalogItemBody): CatalogItemRecord {
  return {
    sku,
    name: body.name,
    priceMinor: body.priceMinor,
    categories: body.categories ?? [],
    brand: body.brand ?? null,
    attributes: body.attributes ?? {},
  };
}

export async function putItem(
  db: Db,
  workspaceId: string,
  sku: string,
  body: CatalogItemBody,
  nowMs: number,
): Promise<{ item: CatalogItemJson; created: boolean }> {
  const issues = textIssues(body);
  checkAttributeKeys(body.attributes, "/attributes", ATTRIBUTES_MAX, issues);
  if (issues.length > 0) throw invalid(issues);
  const { row, created } = await upsertItem(db, workspaceId, recordOf(sku, body), new Date(nowMs));
  return { item: itemJson(row), created };
}

/**
 * All or nothing: every bad item is reported and nothing is written; otherwise one statement in one
 * transaction upserts them all.
 */
export async function upsertCatalog(
  db: Db,
  workspaceId: string,
  body: CatalogBulk,
  nowMs: number,
): Promise<{ created: number; updated: number }> {
  const shape = textIssues(body);
  body.items.forEach((item, i) =>
    checkAttributeKeys(item.attributes, `/items/${i}/attributes`, ATTRIBUTES_MAX, shape),
  );
  if (shape.length > 0) throw invalid(shape.slice(0, ISSUES_MAX));
  const duplicates: Issue[] = [];
  const firstIndex = new Map<string, number>();
  body.items.forEach((item, i) => {
    const first = firstIndex.get(item.sku);
    if (first === undefined) firstIndex.set(item.sku, i);
    else if (duplicates.length < ISSUES_MAX) {
      duplicates.push({
        code: "duplicate_sku",
        path: `/items/${i}/sku`,
        message: `${item.sku} is also /items/${first}/sku: send each SKU once`,
      });
    }
  });
  if (duplicates.length > 0) throw invalid(duplicates, 422);
  // In SKU order, so that concurrent bulk requests lock shared rows in the same order (no deadlock);
  // the transaction retries the statement if one happens anyway.
  const records = body.items.map((item) => recordOf(item.sku, item)).sort((a, b) => (a.sku < b.sku ? -1 : 1));
  return transaction(db, (tx) => upsertItems(tx, workspaceId, records, new Date(nowMs)));
}

export async function readItem(db: Db, workspaceId: string, sku: string): Promise<CatalogItemJson> {
  const row = await getItem(db, workspaceId, sku);
  if (row === null) throw notFound(`catalog item ${sku}`);
  return itemJson(row);
}

export async function readItems(
  db: Db,
  workspaceId: string,
  query: CatalogQuery,
): Promise<Paged<CatalogItemJson>> {
  const rows = await listItems(db, workspaceId, { ...query, limit: query.limit + 1 });
  return pageOf(rows, query.limit, (r) => r.sku, itemJson);
}

export async function removeItem(db: Db, workspaceId: string, sku: string): Promise<void> {
  if (!(await deleteItem(db, workspaceId, sku))) throw notFound(`catalog item ${sku}`);
}
