// Customer profiles: attributes (e.g. loyaltyCard, birthYear, newsletter), loyalty memberships and
// segment ids. Programs, tiers and segments are not entities of their own yet, so their ids are
// taken as given; only their shape is checked.
import Type, { type Static } from "typebox";
import { MembershipSchema } from "../domain/basket.js";
import type { Issue } from "../domain/check.js";
import { transaction, type Db } from "../store/db.js";
import {
  getCustomer,
  listCustomers,
  updateCustomer,
  upsertCustomer,
  type AttributeValue,
  type CustomerRecord,
  type CustomerRow,
} from "../store/customers.js";
import {
  checkAttributeKeys,
  closed,
  Id,
  Instant,
  pageOf,
  pageQuery,
  textIssues,
  type Paged,
} from "./catalog.js";
import { invalid, notFound } from "./problem.js";

const ATTRIBUTES_MAX = 100;
const AttributeKey = Type.String({ minLength: 1, maxLength: 100 });
/** Numbers stay where a double counts exactly: an attribute is a fact, not a measurement. */
const AttributeValueSchema = Type.Union([
  Type.String({ maxLength: 1_000 }),
  Type.Number({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }),
  Type.Boolean(),
]);
/** In a PATCH, null removes the attribute (as in JSON Merge Patch). */
const AttributePatchSchema = Type.Union([
  ...AttributeValueSchema.anyOf,
  Type.Unsafe<null>({ const: null, description: "removes the attribute" }),
]);

const fields = {
  memberships: Type.Optional(Type.Array(MembershipSchema, { maxItems: 20 })),
  segmentIds: Type.Optional(Type.Array(Id, { maxItems: 1_000 })),
};

export const CustomerBodySchema = Type.Object(
  {
    attributes: Type.Optional(
      Type.Record(AttributeKey, AttributeValueSchema, { maxProperties: ATTRIBUTES_MAX }),
    ),
    ...fields,
  },
  closed,
);
export type CustomerBody = Static<typeof CustomerBodySchema>;

export const CustomerPatchSchema = Type.Object(
  {
    /** Merged into the stored attributes; a null value removes that attribute. */
    attributes: Type.Optional(Type.Record(AttributeKey, AttributePatchSchema)),
    /** Replace the stored list when present. */
    ...fields,
  },
  closed,
);
export type CustomerPatch = Static<typeof CustomerPatchSchema>;

export const CustomerJsonSchema = Type.Object({
  id: Type.String(),
  attributes: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
  memberships: Type.Array(MembershipSchema),
  segmentIds: Type.Array(Type.String()),
  createdAt: Instant,
  updatedAt: Instant,
});
export type CustomerJson = Static<typeof CustomerJsonSchema>;

export const CustomerQuerySchema = Type.Object({ segmentId: Type.Optional(Id), ...pageQuery }, closed);
export type CustomerQuery = Static<typeof CustomerQuerySchema>;

function customerJson(row: CustomerRow): CustomerJson {
  return {
    id: row.id,
    attributes: { ...row.attributes },
    memberships: [...row.memberships],
    segmentIds: [...row.segmentIds],
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** What the schema cannot say: attribute names, duplicates, text that jsonb would refuse. */
function check(customer: Omit<CustomerRecord, "id">): void {
  const shape = textIssues(customer);
  checkAttributeKeys(customer.attributes, "/attributes", ATTRIBUTES_MAX, shape);
  if (shape.length > 0) throw invalid(shape);
  const repeats: Issue[] = [];
  const programs = customer.memberships.map((m) => m.programId);
  programs.forEach((programId, i) => {
    const first = programs.indexOf(programId);
    if (first !== i) {
      repeats.push({
        code: "duplicate",
        path: `/memberships/${i}/programId`,
        message: `repeats /memberships/${first}: a customer is a member of a program once`,
      });
    }
  });
  const seen = new Map<string, number>();
  customer.segmentIds.forEach((segmentId, i) => {
    const first = seen.get(segmentId);
    if (first === undefined) seen.set(segmentId, i);
    else
      repeats.push({ code: "duplicate", path: `/segmentIds/${i}`, message: `repeats /segmentIds/${first}` });
  });
  if (repeats.length > 0) throw invalid(repeats.slice(0, 200), 422);
}

/** PUT: creates the profile or replaces every field (what the body leaves out is cleared). */
export async function putCustomer(
  db: Db,
  workspaceId: string,
  id: string,
  body: CustomerBody,
  nowMs: number,
): Promise<{ json: CustomerJson; created: boolean }> {
  const record: CustomerRecord = {
    id,
    attributes: body.attributes ?? {},
    memberships: body.memberships ?? [],
    segmentIds: body.segmentIds ?? [],
  };
  check(record);
  const { row, created } = await upsertCustomer(db, workspaceId, record, new Date(nowMs));
  return { json: customerJson(row), created };
}

/** PATCH: merges attributes (null removes one) and replaces memberships and segments when given. */
export async function patchCustomer(
  db: Db,
  workspaceId: string,
  id: string,
  patch: CustomerPatch,
  nowMs: number,
): Promise<CustomerJson> {
  return transaction(db, async (tx) => {
    const current = await getCustomer(tx, workspaceId, id, { forUpdate: true });
    if (current === null) throw notFound(`customer ${id}`);
    const record: CustomerRecord = {
      id,
      attributes: mergeAttributes(current.attributes, patch.attributes),
      memberships: patch.memberships ?? current.memberships,
      segmentIds: patch.segmentIds ?? current.segmentIds,
    };
    check(record);
    const row = await updateCustomer(tx, workspaceId, record, new Date(nowMs));
    return customerJson(row!);
  });
}

function mergeAttributes(
  current: Readonly<Record<string, AttributeValue>>,
  patch: Readonly<Record<string, AttributeValue | null>> | undefined,
): Record<string, AttributeValue> {
  const merged: Record<string, AttributeValue> = { ...current };
  for (const [key, value] of Object.entries(patch ?? {})) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

export async function readCustomer(db: Db, workspaceId: string, id: string): Promise<CustomerJson> {
  const row = await getCustomer(db, workspaceId, id);
  if (row === null) throw notFound(`customer ${id}`);
  return customerJson(row);
}

export async function readCustomers(
  db: Db,
  workspaceId: string,
  query: CustomerQuery,
): Promise<Paged<CustomerJson>> {
  const rows = await listCustomers(db, workspaceId, { ...query, limit: query.limit + 1 });
  return pageOf(rows, query.limit, (r) => r.id, customerJson);
}
