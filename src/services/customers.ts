// Customer profiles: attributes (e.g. loyaltyCard, birthYear, newsletter), identifiers (email, phone,
// payment card hashes), consent flags, loyalty memberships and segment ids; and erasure of a
// profile's personal data. Programs, tiers and segments are not entities of their own yet, so their
// ids are taken as given; only their shape is checked. Declared attributes must have their declared
// type (services/attributes.ts); undeclared ones are stored as given. See docs/profiles.md.
import Type, { type Static } from "typebox";
import { MembershipSchema } from "../domain/basket.js";
import type { Issue } from "../domain/check.js";
import { shareDeclarations } from "../store/attributes.js";
import { transaction, type Db, type Queryable } from "../store/db.js";
import {
  claimBareProfile,
  eraseCustomerData,
  findByIdentifier,
  getCustomer,
  listCustomers,
  replaceIdentifiers,
  updateCustomer,
  upsertCustomer,
  type CustomerRecord,
  type CustomerRow,
  type Identifier,
} from "../store/customers.js";
import { nonPersonalAttributes, typeIssues } from "./attributes.js";
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
import { invalid, notFound, Problem } from "./problem.js";

const ATTRIBUTES_MAX = 100;
const CARD_HASHES_MAX = 20;
const AttributeKey = Type.String({ minLength: 1, maxLength: 100 });
/** Numbers stay where a double counts exactly: an attribute is a fact, not a measurement. */
const AttributeValueSchema = Type.Union([
  Type.String({ maxLength: 1_000 }),
  Type.Number({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }),
  Type.Boolean(),
]);
/** In a PATCH, null removes the attribute (as in JSON Merge Patch). */
const Null = Type.Unsafe<null>({ const: null, description: "removes the field" });
const AttributePatchSchema = Type.Union([...AttributeValueSchema.anyOf, Null]);

/** One @, something on both sides, a dot in the domain, no spaces or control characters. */
const EMAIL_PATTERN =
  "^[^\\s@\\u0000-\\u001f\\u007f]+@[^\\s@\\u0000-\\u001f\\u007f]+\\.[^\\s@\\u0000-\\u001f\\u007f]+$";
const PHONE_PATTERN = "^\\+[1-9][0-9]{6,14}$";
const CARD_HASH_PATTERN = "^[0-9A-Fa-f]{32,128}$";
const cardHashRe = new RegExp(CARD_HASH_PATTERN);

const Email = Type.String({ format: "email", maxLength: 254, pattern: EMAIL_PATTERN });
/** E.164: + and up to 15 digits, no spaces. */
const Phone = Type.String({ pattern: PHONE_PATTERN });
/** A hash of the payment card (the PAN never reaches Till), hex, any case. */
const CardHash = Type.String({ pattern: CARD_HASH_PATTERN });
const CardHashes = Type.Array(CardHash, { maxItems: CARD_HASHES_MAX });

const IdentifiersSchema = Type.Object(
  { email: Type.Optional(Email), phone: Type.Optional(Phone), cardHashes: Type.Optional(CardHashes) },
  closed,
);
/** email or phone null removes it; cardHashes, when sent, replaces the stored ones. */
const IdentifiersPatchSchema = Type.Object(
  {
    email: Type.Optional(Type.Union([Email, Null])),
    phone: Type.Optional(Type.Union([Phone, Null])),
    cardHashes: Type.Optional(CardHashes),
  },
  closed,
);

const ConsentsSchema = Type.Object(
  {
    email: Type.Optional(Type.Boolean()),
    sms: Type.Optional(Type.Boolean()),
    push: Type.Optional(Type.Boolean()),
    /** The customer asked for no contact at all, whatever the channel flags say. */
    doNotDisturb: Type.Optional(Type.Boolean()),
  },
  closed,
);
/** null removes a flag: unknown again. */
const ConsentPatch = Type.Optional(Type.Union([Type.Boolean(), Null]));
const ConsentsPatchSchema = Type.Object(
  { email: ConsentPatch, sms: ConsentPatch, push: ConsentPatch, doNotDisturb: ConsentPatch },
  closed,
);

const fields = {
  memberships: Type.Optional(Type.Array(MembershipSchema, { maxItems: 20 })),
  segmentIds: Type.Optional(Type.Array(Id, { maxItems: 1_000 })),
};

export const CustomerBodySchema = Type.Object(
  {
    attributes: Type.Optional(
      Type.Record(AttributeKey, AttributeValueSchema, { maxProperties: ATTRIBUTES_MAX }),
    ),
    identifiers: Type.Optional(IdentifiersSchema),
    consents: Type.Optional(ConsentsSchema),
    ...fields,
  },
  closed,
);
export type CustomerBody = Static<typeof CustomerBodySchema>;

export const CustomerPatchSchema = Type.Object(
  {
    /** Merged into the stored attributes; a null value removes that attribute. */
    attributes: Type.Optional(Type.Record(AttributeKey, AttributePatchSchema)),
    /** Merged per kind: email and phone as sent (null removes), cardHashes replaced when sent. */
    identifiers: Type.Optional(IdentifiersPatchSchema),
    /** Merged into the stored flags; null removes one. */
    consents: Type.Optional(ConsentsPatchSchema),
    /** Replace the stored list when present. */
    ...fields,
  },
  closed,
);
export type CustomerPatch = Static<typeof CustomerPatchSchema>;

export const CustomerJsonSchema = Type.Object({
  id: Type.String(),
  attributes: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
  identifiers: Type.Object({
    email: Type.Optional(Type.String()),
    phone: Type.Optional(Type.String()),
    cardHashes: Type.Array(Type.String()),
  }),
  consents: ConsentsSchema,
  memberships: Type.Array(MembershipSchema),
  segmentIds: Type.Array(Type.String()),
  createdAt: Instant,
  updatedAt: Instant,
  /** When the profile's personal data was last erased; what updatedAt shows later was given since. */
  erasedAt: Type.Optional(Instant),
});
export type CustomerJson = Static<typeof CustomerJsonSchema>;

export const CustomerQuerySchema = Type.Object(
  {
    segmentId: Type.Optional(Id),
    /** Any case: emails and card hashes are compared lower-cased. */
    email: Type.Optional(Email),
    phone: Type.Optional(Phone),
    cardHash: Type.Optional(CardHash),
    ...pageQuery,
  },
  closed,
);
export type CustomerQuery = Static<typeof CustomerQuerySchema>;

interface IdentifierSet {
  readonly email?: string;
  readonly phone?: string;
  readonly cardHashes: readonly string[];
}

function customerJson(row: CustomerRow): CustomerJson {
  const email = row.identifiers.find((i) => i.kind === "email")?.value;
  const phone = row.identifiers.find((i) => i.kind === "phone")?.value;
  return {
    id: row.id,
    attributes: { ...row.attributes },
    identifiers: {
      ...(email !== undefined ? { email } : {}),
      ...(phone !== undefined ? { phone } : {}),
      cardHashes: row.identifiers.filter((i) => i.kind === "cardHash").map((i) => i.value),
    },
    consents: { ...row.consents },
    memberships: [...row.memberships],
    segmentIds: [...row.segmentIds],
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    ...(row.erasedAt !== null ? { erasedAt: row.erasedAt.toISOString() } : {}),
  };
}

/** As stored: emails and card hashes lower-cased (the schema has checked their shape). */
function identifierSet(ids: {
  email?: string;
  phone?: string;
  cardHashes?: readonly string[];
}): IdentifierSet {
  return {
    ...(ids.email !== undefined ? { email: ids.email.toLowerCase() } : {}),
    ...(ids.phone !== undefined ? { phone: ids.phone } : {}),
    cardHashes: (ids.cardHashes ?? []).map((h) => h.toLowerCase()),
  };
}

function identifierRows(set: IdentifierSet): Identifier[] {
  return [
    ...(set.email !== undefined ? [{ kind: "email" as const, value: set.email }] : []),
    ...(set.phone !== undefined ? [{ kind: "phone" as const, value: set.phone }] : []),
    ...set.cardHashes.map((value) => ({ kind: "cardHash" as const, value })),
  ];
}

/** Where a taken identifier sits in the body. */
function identifierPath(set: IdentifierSet, taken: Identifier): string {
  if (taken.kind !== "cardHash") return `/identifiers/${taken.kind}`;
  return `/identifiers/cardHashes/${set.cardHashes.indexOf(taken.value)}`;
}

/** What the schema cannot say: attribute names, duplicates, text that jsonb would refuse. */
function check(customer: Omit<CustomerRecord, "id">, identifiers: IdentifierSet): void {
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
  const repeated = (list: readonly string[], path: string, what: string) => {
    const seen = new Map<string, number>();
    list.forEach((value, i) => {
      const first = seen.get(value);
      if (first === undefined) seen.set(value, i);
      else
        repeats.push({ code: "duplicate", path: `${path}/${i}`, message: `repeats ${path}/${first}${what}` });
    });
  };
  repeated(customer.segmentIds, "/segmentIds", "");
  repeated(identifiers.cardHashes, "/identifiers/cardHashes", " (card hashes compare in any case)");
  if (repeats.length > 0) throw invalid(repeats.slice(0, 200), 422);
}

/** Declared attributes among `names` must have their type (422 at /attributes/<name>). */
async function checkTypes(
  tx: Queryable,
  workspaceId: string,
  attributes: CustomerRecord["attributes"],
  names: readonly string[],
): Promise<void> {
  const issues = await typeIssues(tx, workspaceId, attributes, names);
  if (issues.length > 0) throw invalid(issues, 422);
}

/** Makes `identifiers` the profile's set; 409 naming the field of each one another profile holds. */
async function claimIdentifiers(
  tx: Queryable,
  workspaceId: string,
  customerId: string,
  identifiers: IdentifierSet,
  at: Date,
): Promise<void> {
  const taken = await replaceIdentifiers(tx, workspaceId, customerId, identifierRows(identifiers), at);
  if (taken.length === 0) return;
  // The holder stays unnamed: a till or an app may show this answer to the person typing.
  const errors = taken.map((t) => ({
    code: "identifier_taken",
    path: identifierPath(identifiers, t),
    message: `another profile holds this ${t.kind}`,
  }));
  throw new Problem(409, "identifier_taken", "Conflict", `${errors[0]!.path}: ${errors[0]!.message}`, errors);
}

/**
 * PUT: creates the profile or replaces every field (what the body leaves out is cleared). A profile
 * write that carries attributes holds the declarations' share lock, taken before the profile's row,
 * so no declaration changes type between the check and the commit.
 */
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
    consents: body.consents ?? {},
  };
  const identifiers = identifierSet(body.identifiers ?? {});
  check(record, identifiers);
  const at = new Date(nowMs);
  const names = Object.keys(record.attributes);
  return transaction(db, async (tx) => {
    if (names.length > 0) {
      await shareDeclarations(tx, workspaceId);
      await checkTypes(tx, workspaceId, record.attributes, names);
    }
    const { created } = await upsertCustomer(tx, workspaceId, record, at);
    await claimIdentifiers(tx, workspaceId, id, identifiers, at);
    return { json: customerJson((await getCustomer(tx, workspaceId, id))!), created };
  });
}

/** PATCH: merges attributes, consents and identifiers (null removes); replaces lists when sent. */
export async function patchCustomer(
  db: Db,
  workspaceId: string,
  id: string,
  patch: CustomerPatch,
  nowMs: number,
): Promise<CustomerJson> {
  const at = new Date(nowMs);
  // Only the attributes the patch sets are checked: the stored ones fitted when they were written.
  const names = Object.entries(patch.attributes ?? {}).flatMap(([name, v]) => (v !== null ? [name] : []));
  return transaction(db, async (tx) => {
    if (names.length > 0) await shareDeclarations(tx, workspaceId);
    const current = await getCustomer(tx, workspaceId, id, { forUpdate: true });
    if (current === null) throw notFound(`customer ${id}`);
    const record: CustomerRecord = {
      id,
      attributes: merge(current.attributes, patch.attributes),
      memberships: patch.memberships ?? current.memberships,
      segmentIds: patch.segmentIds ?? current.segmentIds,
      consents: merge(current.consents, patch.consents),
    };
    const stored = customerJson(current).identifiers;
    const sent = patch.identifiers;
    const identifiers = identifierSet({
      ...merge({ email: stored.email, phone: stored.phone }, { email: sent?.email, phone: sent?.phone }),
      cardHashes: sent?.cardHashes ?? stored.cardHashes,
    });
    check(record, identifiers);
    await checkTypes(tx, workspaceId, record.attributes, names);
    await updateCustomer(tx, workspaceId, record, at);
    await claimIdentifiers(tx, workspaceId, id, identifiers, at);
    return customerJson((await getCustomer(tx, workspaceId, id))!);
  });
}

/** JSON Merge Patch of a flat record: a null value removes the key. */
function merge<V>(
  current: Readonly<Record<string, V | undefined>>,
  patch: Readonly<Record<string, V | null | undefined>> | undefined,
): Record<string, V> {
  const merged: Record<string, V> = {};
  for (const [key, value] of Object.entries(current)) if (value !== undefined) merged[key] = value;
  for (const [key, value] of Object.entries(patch ?? {})) {
    if (value === null) delete merged[key];
    else if (value !== undefined) merged[key] = value;
  }
  return merged;
}

/**
 * Erases the profile's personal data in one transaction (see docs/profiles.md): attributes (but
 * declared non-personal ones), identifiers, consents, and event params (but the money figures of the
 * built-in sale and return events). Ledgers keep their rows: they refer to the id, not to a person.
 * Idempotent: erasing an erased profile answers it unchanged.
 */
export async function eraseCustomer(
  db: Db,
  workspaceId: string,
  id: string,
  nowMs: number,
): Promise<CustomerJson> {
  return transaction(db, async (tx) => {
    await shareDeclarations(tx, workspaceId);
    const current = await getCustomer(tx, workspaceId, id, { forUpdate: true });
    if (current === null) throw notFound(`customer ${id}`);
    const keeps = {
      attributes: await nonPersonalAttributes(tx, workspaceId),
      moneyEventTypes: MONEY_EVENT_TYPES,
      moneyParams: MONEY_PARAMS,
    };
    await eraseCustomerData(tx, workspaceId, current, keeps, new Date(nowMs));
    return customerJson((await getCustomer(tx, workspaceId, id))!);
  });
}

/** The built-in events whose money figures survive erasure, so revenue reports still add up. */
const MONEY_EVENT_TYPES = ["transaction.charge", "product.return", "sale.processed"];
const MONEY_PARAMS = ["$totalAmount", "$discountAmount", "$units", "$currency"];

/**
 * The profile that holds a payment card hash, created bare (id `card-` + the hash's first 32 hex
 * digits) for a card Till has not seen. For the sale path, in its transaction: concurrent calls for
 * one new card agree on one profile.
 */
export async function resolveCardHash(
  tx: Queryable,
  workspaceId: string,
  cardHash: string,
  nowMs: number,
): Promise<string> {
  if (!cardHashRe.test(cardHash))
    throw new Error("resolveCardHash: the card hash is not 32 to 128 hex digits");
  const identifier: Identifier = { kind: "cardHash", value: cardHash.toLowerCase() };
  const id = `card-${identifier.value.slice(0, 32)}`;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const holder =
      (await findByIdentifier(tx, workspaceId, identifier)) ??
      (await claimBareProfile(tx, workspaceId, id, identifier, new Date(nowMs)));
    if (holder !== null) return holder;
  }
  throw new Error("resolveCardHash: the card hash changed hands three times in a row");
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
  const { email, phone, cardHash, ...rest } = query;
  const identifiers = identifierRows(
    identifierSet({ email, phone, cardHashes: cardHash !== undefined ? [cardHash] : [] }),
  );
  const rows = await listCustomers(db, workspaceId, { ...rest, identifiers, limit: query.limit + 1 });
  return pageOf(rows, query.limit, (r) => r.id, customerJson);
}
