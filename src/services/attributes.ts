// Attribute declarations (issue 4): a workspace declares the profile attributes its loyalty
// expressions may use, each with a type. From then on profile writes must give the attribute that
// type (typeIssues), and a declaration changes type only when every stored value fits the new one.
// Undeclared attributes are still stored, but expressions cannot use them.
import Type, { type Static } from "typebox";
import { isInstant, type Issue } from "../domain/check.js";
import { transaction, type Db, type Queryable } from "../store/db.js";
import {
  attributeReferences,
  bumpLoyaltyVersion,
  countAttributes,
  countMisfits,
  deleteAttribute,
  getAttribute,
  listAttributes,
  lockDeclarations,
  upsertAttribute,
  type AttributeRow,
  type AttributeType,
} from "../store/attributes.js";
import type { AttributeValue } from "../store/customers.js";
import { closed, Instant, textIssues } from "./catalog.js";
import { conflict, invalid, notFound, Problem } from "./problem.js";

/** A workspace declares at most this many attributes (a profile holds at most 100). */
export const ATTRIBUTE_DECLARATIONS_MAX = 200;

/**
 * A date attribute: an ISO 8601 instant with an explicit offset, every field in its range. One
 * pattern for the API (JavaScript) and for the type-change check (PostgreSQL), so both agree.
 */
export const DATE_PATTERN =
  "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]" +
  "(:[0-5][0-9](\\.[0-9]{1,9})?)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$";
const dateRe = new RegExp(DATE_PATTERN);

export const AttributeTypeSchema = Type.Union([
  Type.Literal("string"),
  Type.Literal("number"),
  Type.Literal("boolean"),
  /** An ISO 8601 instant string, e.g. 2026-05-01T09:00:00Z. */
  Type.Literal("date"),
]);

export const AttributeBodySchema = Type.Object(
  {
    type: AttributeTypeSchema,
    description: Type.Optional(Type.String({ maxLength: 1_000 })),
    /** Default true: erasure removes the attribute's values. False keeps them (e.g. a store region). */
    personal: Type.Optional(Type.Boolean()),
  },
  closed,
);
export type AttributeBody = Static<typeof AttributeBodySchema>;

export const AttributeJsonSchema = Type.Object({
  name: Type.String(),
  type: AttributeTypeSchema,
  description: Type.Optional(Type.String()),
  personal: Type.Boolean(),
  createdAt: Instant,
  updatedAt: Instant,
});
export type AttributeJson = Static<typeof AttributeJsonSchema>;

function attributeJson(row: AttributeRow): AttributeJson {
  return {
    name: row.name,
    type: row.type,
    ...(row.description !== null ? { description: row.description } : {}),
    personal: row.personal,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function fitsType(value: AttributeValue, type: AttributeType): boolean {
  switch (type) {
    case "string":
    case "number":
    case "boolean":
      return typeof value === type;
    case "date":
      return typeof value === "string" && dateRe.test(value) && isInstant(value);
    default:
      return unreachable(type);
  }
}

function unreachable(type: never): never {
  throw new Error(`unknown attribute type ${String(type)}`);
}

/** Every attribute among `names` whose value does not have its declared type, at /attributes/<name>. */
export async function typeIssues(
  q: Queryable,
  workspaceId: string,
  attributes: Readonly<Record<string, AttributeValue>>,
  names: readonly string[],
): Promise<Issue[]> {
  if (names.length === 0) return [];
  const declared = await listAttributes(q, workspaceId, names);
  return declared.flatMap((d) => {
    const value = attributes[d.name];
    if (value === undefined || fitsType(value, d.type)) return [];
    const expected = d.type === "date" ? "a date (an ISO 8601 instant, e.g. 2026-05-01T09:00:00Z)" : d.type;
    return [{ code: "type_mismatch", path: `/attributes/${d.name}`, message: `is declared ${expected}` }];
  });
}

/** The names of declared attributes that erasure keeps. */
export async function nonPersonalAttributes(q: Queryable, workspaceId: string): Promise<string[]> {
  return (await listAttributes(q, workspaceId)).filter((d) => !d.personal).map((d) => d.name);
}

export async function readAttributes(db: Db, workspaceId: string): Promise<{ items: AttributeJson[] }> {
  return { items: (await listAttributes(db, workspaceId)).map(attributeJson) };
}

export async function readAttribute(db: Db, workspaceId: string, name: string): Promise<AttributeJson> {
  const row = await getAttribute(db, workspaceId, name);
  if (row === null) throw notFound(`attribute ${name}`);
  return attributeJson(row);
}

/**
 * PUT: declares the attribute or replaces its declaration. Creating it or changing its type is
 * refused (409) while profiles hold values that do not fit. Answers 200 unchanged, without moving
 * the loyalty version, when the declaration is already exactly this.
 */
export async function putAttribute(
  db: Db,
  workspaceId: string,
  name: string,
  body: AttributeBody,
  nowMs: number,
): Promise<{ json: AttributeJson; created: boolean }> {
  const issues = textIssues(body);
  if (issues.length > 0) throw invalid(issues);
  const wanted = {
    name,
    type: body.type,
    description: body.description ?? null,
    personal: body.personal ?? true,
  };
  return transaction(db, async (tx) => {
    await lockDeclarations(tx, workspaceId);
    const current = await getAttribute(tx, workspaceId, name);
    if (
      current !== null &&
      current.type === wanted.type &&
      current.description === wanted.description &&
      current.personal === wanted.personal
    ) {
      return { json: attributeJson(current), created: false };
    }
    if (current === null && (await countAttributes(tx, workspaceId)) >= ATTRIBUTE_DECLARATIONS_MAX) {
      throw conflict(
        "too_many_attributes",
        `a workspace declares at most ${ATTRIBUTE_DECLARATIONS_MAX} attributes; delete one first`,
      );
    }
    if (current?.type !== wanted.type) {
      const misfits = await countMisfits(tx, workspaceId, name, wanted.type, DATE_PATTERN);
      if (misfits > 0) throw misfitProblem(name, wanted.type, misfits);
    }
    const row = await upsertAttribute(tx, workspaceId, wanted, new Date(nowMs));
    await bumpLoyaltyVersion(tx, workspaceId);
    return { json: attributeJson(row), created: current === null };
  });
}

function misfitProblem(name: string, type: AttributeType, misfits: number): Problem {
  const profiles = misfits === 1 ? "1 profile holds" : `${misfits} profiles hold`;
  return new Problem(
    409,
    "attribute_values_do_not_fit",
    "Conflict",
    `${profiles} a value of ${name} that is not a ${type}; change or remove those values first`,
    [
      {
        code: "attribute_values_do_not_fit",
        path: "/type",
        message: `${profiles} a value that is not a ${type}`,
      },
    ],
  );
}

/** DELETE: refused (409) while loyalty definitions use the attribute. Profiles keep their values. */
export async function removeAttribute(db: Db, workspaceId: string, name: string): Promise<void> {
  await transaction(db, async (tx) => {
    await lockDeclarations(tx, workspaceId);
    if ((await getAttribute(tx, workspaceId, name)) === null) throw notFound(`attribute ${name}`);
    const references = await attributeReferences(tx, workspaceId, name);
    if (references.length > 0) {
      const listed = references.slice(0, 20).join(", ") + (references.length > 20 ? ", …" : "");
      throw conflict("attribute_in_use", `attribute ${name} is used by ${listed}; change those first`);
    }
    await deleteAttribute(tx, workspaceId, name);
    await bumpLoyaltyVersion(tx, workspaceId);
  });
}
