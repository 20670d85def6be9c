// Concepts, zones and stores: the places promotions are scoped to. A store may name a concept and
// zones only if they exist in the workspace; a concept or zone that a store names cannot be deleted.
// Both rules hold under concurrency: the store write locks what it names (FOR KEY SHARE), the delete
// locks the row it removes (FOR UPDATE) before it counts the stores using it.
import Type, { type Static } from "typebox";
import type { Issue } from "../domain/check.js";
import { transaction, type Db, type Tx } from "../store/db.js";
import {
  deleteNamed,
  deleteStore,
  getNamed,
  getStore,
  listNamed,
  listStores,
  lockExisting,
  storesUsing,
  upsertNamed,
  upsertStore,
  type Grouping,
  type StoreRow,
} from "../store/stores.js";
import { closed, Id, Label, pageOf, pageQuery, textIssues, type Paged } from "./catalog.js";
import { conflict, invalid, notFound } from "./problem.js";

export type { Grouping } from "../store/stores.js";

export const NamedBodySchema = Type.Object({ name: Label }, closed);
export type NamedBody = Static<typeof NamedBodySchema>;
export const NamedJsonSchema = Type.Object({ id: Type.String(), name: Type.String() });
export type NamedJson = Static<typeof NamedJsonSchema>;

export const PageQuerySchema = Type.Object(pageQuery, closed);
export type PageQuery = Static<typeof PageQuerySchema>;

export const StoreBodySchema = Type.Object(
  {
    name: Label,
    conceptId: Type.Optional(Id),
    zoneIds: Type.Optional(Type.Array(Id, { maxItems: 50 })),
  },
  closed,
);
export type StoreBody = Static<typeof StoreBodySchema>;

export const StoreJsonSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  conceptId: Type.Optional(Type.String()),
  zoneIds: Type.Array(Type.String()),
});
export type StoreJson = Static<typeof StoreJsonSchema>;

export const StoreQuerySchema = Type.Object(
  { conceptId: Type.Optional(Id), zoneId: Type.Optional(Id), ...pageQuery },
  closed,
);
export type StoreQuery = Static<typeof StoreQuerySchema>;

/** "concept" or "zone", for messages. */
const NOUN: Record<Grouping, string> = { concepts: "concept", zones: "zone" };

export async function putNamed(
  db: Db,
  grouping: Grouping,
  workspaceId: string,
  id: string,
  body: NamedBody,
): Promise<{ json: NamedJson; created: boolean }> {
  const issues = textIssues(body);
  if (issues.length > 0) throw invalid(issues);
  const { row, created } = await upsertNamed(db, grouping, workspaceId, { id, name: body.name });
  return { json: row, created };
}

export async function readNamed(
  db: Db,
  grouping: Grouping,
  workspaceId: string,
  id: string,
): Promise<NamedJson> {
  const row = await getNamed(db, grouping, workspaceId, id);
  if (row === null) throw notFound(`${NOUN[grouping]} ${id}`);
  return row;
}

export async function readNamedPage(
  db: Db,
  grouping: Grouping,
  workspaceId: string,
  query: PageQuery,
): Promise<Paged<NamedJson>> {
  const rows = await listNamed(db, grouping, workspaceId, { ...query, limit: query.limit + 1 });
  return pageOf(
    rows,
    query.limit,
    (r) => r.id,
    (r): NamedJson => ({ id: r.id, name: r.name }),
  );
}

export async function removeNamed(
  db: Db,
  grouping: Grouping,
  workspaceId: string,
  id: string,
): Promise<void> {
  await transaction(db, async (tx) => {
    if ((await getNamed(tx, grouping, workspaceId, id, { forUpdate: true })) === null) {
      throw notFound(`${NOUN[grouping]} ${id}`);
    }
    const using = await storesUsing(tx, grouping, workspaceId, id);
    if (using.count > 0) {
      throw conflict(
        `${NOUN[grouping]}_in_use`,
        `${NOUN[grouping]} ${id} is used by ${using.count} store(s), e.g. ${using.exampleId}: change them first`,
      );
    }
    await deleteNamed(tx, grouping, workspaceId, id);
  });
}

function storeJson(row: StoreRow): StoreJson {
  return {
    id: row.id,
    name: row.name,
    ...(row.conceptId !== null ? { conceptId: row.conceptId } : {}),
    zoneIds: [...row.zoneIds],
  };
}

/** Creates or replaces a store; what it names must exist (422 at the field otherwise). */
export async function putStore(
  db: Db,
  workspaceId: string,
  id: string,
  body: StoreBody,
): Promise<{ json: StoreJson; created: boolean }> {
  const shape = textIssues(body);
  if (shape.length > 0) throw invalid(shape);
  const zoneIds = body.zoneIds ?? [];
  const repeats: Issue[] = [];
  zoneIds.forEach((zoneId, i) => {
    const first = zoneIds.indexOf(zoneId);
    if (first !== i)
      repeats.push({ code: "duplicate", path: `/zoneIds/${i}`, message: `repeats /zoneIds/${first}` });
  });
  if (repeats.length > 0) throw invalid(repeats, 422);
  return transaction(db, async (tx) => {
    const unknown = await unknownReferences(tx, workspaceId, body.conceptId, zoneIds);
    if (unknown.length > 0) throw invalid(unknown, 422);
    const { row, created } = await upsertStore(tx, workspaceId, {
      id,
      name: body.name,
      conceptId: body.conceptId ?? null,
      zoneIds,
    });
    return { json: storeJson(row), created };
  });
}

/** The concept and zones a store names that do not exist; those that do stay locked until commit. */
async function unknownReferences(
  tx: Tx,
  workspaceId: string,
  conceptId: string | undefined,
  zoneIds: readonly string[],
): Promise<Issue[]> {
  const issues: Issue[] = [];
  if (
    conceptId !== undefined &&
    !(await lockExisting(tx, "concepts", workspaceId, [conceptId])).has(conceptId)
  ) {
    issues.push({
      code: "unknown_concept",
      path: "/conceptId",
      message: `concept ${conceptId} does not exist`,
    });
  }
  const zones = await lockExisting(tx, "zones", workspaceId, zoneIds);
  zoneIds.forEach((zoneId, i) => {
    if (!zones.has(zoneId)) {
      issues.push({ code: "unknown_zone", path: `/zoneIds/${i}`, message: `zone ${zoneId} does not exist` });
    }
  });
  return issues;
}

export async function readStore(db: Db, workspaceId: string, id: string): Promise<StoreJson> {
  const row = await getStore(db, workspaceId, id);
  if (row === null) throw notFound(`store ${id}`);
  return storeJson(row);
}

export async function readStores(db: Db, workspaceId: string, query: StoreQuery): Promise<Paged<StoreJson>> {
  const rows = await listStores(db, workspaceId, { ...query, limit: query.limit + 1 });
  return pageOf(rows, query.limit, (r) => r.id, storeJson);
}

export async function removeStore(db: Db, workspaceId: string, id: string): Promise<void> {
  if (!(await deleteStore(db, workspaceId, id))) throw notFound(`store ${id}`);
}
