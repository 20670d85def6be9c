// What a marketer defines (issue 4, seed 003's editors as an API): custom event types, aggregates,
// expressions, segmentations and tier programs. Every write runs under the workspace's row lock, is
// checked against the whole model as it would be after the write (the definition itself with a path
// per problem; a change that would break another definition is refused naming it), and moves the
// workspace's loyalty_version so every process recompiles before its next basket.
import Type, { type Static } from "typebox";
import type { Issue } from "../domain/check.js";
import {
  AggregateBodySchema,
  BUILTIN_EVENT_TYPES,
  ExpressionBodySchema,
  SegmentationBodySchema,
  TierProgramBodySchema,
  type AggregateBody,
  type DefinitionKind,
  type EventTypeBody,
  type ExpressionBody,
  type LoyaltyModel,
  type SegmentationBody,
  type TierProgramBody,
} from "../domain/loyalty/definitions.js";
import { formatExpression } from "../domain/loyalty/expression.js";
import { checkDefinition, dependentsOf, describeAggregate } from "../domain/loyalty/model.js";
import { isUniqueViolation, transaction, type Db, type Tx } from "../store/db.js";
import {
  bumpLoyaltyVersion,
  deleteDefinition,
  deleteEventType,
  getDefinition,
  getEventType,
  listDefinitions,
  listEventTypes,
  loadModelRows,
  lockModel,
  upsertDefinition,
  upsertEventType,
  type DefinitionRow,
  type EventTypeRow,
} from "../store/loyalty.js";
import { Instant } from "./catalog.js";
import { modelOf } from "./loyalty.js";
import { conflict, invalid, notFound, Problem } from "./problem.js";

export type DefinitionBody = AggregateBody | ExpressionBody | SegmentationBody | TierProgramBody;

export const BODY_SCHEMAS = {
  aggregate: AggregateBodySchema,
  expression: ExpressionBodySchema,
  segmentation: SegmentationBodySchema,
  tierProgram: TierProgramBodySchema,
} as const;

const NOUNS: Record<DefinitionKind, string> = {
  aggregate: "aggregate",
  expression: "expression",
  segmentation: "segmentation",
  tierProgram: "tier program",
};

const MODEL_KEYS = {
  aggregate: "aggregates",
  expression: "expressions",
  segmentation: "segmentations",
  tierProgram: "tierPrograms",
} as const;

export const DefinitionJsonSchema = Type.Object({
  kind: Type.String(),
  id: Type.String(),
  name: Type.String(),
  definition: Type.Unsafe<Record<string, unknown>>({ type: "object" }),
  /** A readable form: the aggregate in words, the expression (or each condition) as a formula. */
  text: Type.Union([Type.String(), Type.Record(Type.String(), Type.String())]),
  revision: Type.Integer(),
  createdAt: Instant,
  updatedAt: Instant,
});
export type DefinitionJson = Static<typeof DefinitionJsonSchema>;

function textOf(kind: DefinitionKind, body: DefinitionBody): string | Record<string, string> {
  switch (kind) {
    case "aggregate":
      return describeAggregate(body as AggregateBody);
    case "expression":
      return formatExpression((body as ExpressionBody).formula);
    case "segmentation":
      return Object.fromEntries(
        (body as SegmentationBody).segments.map((s) => [s.id, formatExpression(s.condition)]),
      );
    case "tierProgram":
      return formatExpression((body as TierProgramBody).value);
  }
}

function definitionJson(row: DefinitionRow): DefinitionJson {
  const body = row.definition as unknown as DefinitionBody;
  return {
    kind: row.kind,
    id: row.id,
    name: row.name,
    definition: row.definition,
    text: textOf(row.kind, body),
    revision: row.revision,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

async function currentModel(tx: Tx, workspaceId: string): Promise<LoyaltyModel> {
  const rows = await loadModelRows(tx, workspaceId);
  if (rows === null) throw notFound(`workspace ${workspaceId}`);
  return modelOf(rows);
}

function withDefinition(
  model: LoyaltyModel,
  kind: DefinitionKind,
  id: string,
  body: DefinitionBody | null,
): LoyaltyModel {
  const key = MODEL_KEYS[kind];
  const next = { ...model[key] } as Record<string, DefinitionBody>;
  if (body === null) delete next[id];
  else next[id] = body;
  return { ...model, [key]: next };
}

/** Every other definition checked against the changed model: the ones it would break, with why. */
function brokenOthers(model: LoyaltyModel, except?: { kind: DefinitionKind; id: string }): string[] {
  const broken: string[] = [];
  for (const kind of Object.keys(MODEL_KEYS) as DefinitionKind[]) {
    for (const [id, body] of Object.entries(model[MODEL_KEYS[kind]])) {
      if (except !== undefined && except.kind === kind && except.id === id) continue;
      const issues = checkDefinition(model, kind, id, body as DefinitionBody);
      if (issues.length > 0) broken.push(`${NOUNS[kind]} ${id} (${issues[0]!.path}: ${issues[0]!.message})`);
    }
  }
  return broken;
}

function refuseBreaking(broken: string[], what: string): void {
  if (broken.length === 0) return;
  throw conflict(
    "definition_in_use",
    `${what} would break ${broken.slice(0, 10).join("; ")}${broken.length > 10 ? ` and ${broken.length - 10} more` : ""}`,
  );
}

export async function putDefinition(
  db: Db,
  workspaceId: string,
  kind: DefinitionKind,
  id: string,
  body: DefinitionBody,
  nowMs: number,
): Promise<{ json: DefinitionJson; created: boolean }> {
  return transaction(db, async (tx) => {
    await lockModel(tx, workspaceId);
    const model = withDefinition(await currentModel(tx, workspaceId), kind, id, body);
    const issues: Issue[] = checkDefinition(model, kind, id, body);
    if (issues.length > 0) throw invalid(issues, 422);
    refuseBreaking(brokenOthers(model, { kind, id }), `changing ${NOUNS[kind]} ${id}`);
    try {
      const { row, created } = await upsertDefinition(tx, workspaceId, kind, id, body, new Date(nowMs));
      await bumpLoyaltyVersion(tx, workspaceId);
      return { json: definitionJson(row), created };
    } catch (error) {
      if (isUniqueViolation(error, "loyalty_definitions_name"))
        throw conflict("name_taken", `another ${NOUNS[kind]} is named "${body.name}" (names ignore case)`);
      throw error;
    }
  });
}

export async function readDefinition(
  db: Db,
  workspaceId: string,
  kind: DefinitionKind,
  id: string,
): Promise<DefinitionJson> {
  const row = await getDefinition(db, workspaceId, kind, id);
  if (row === null) throw notFound(`${NOUNS[kind]} ${id}`);
  return definitionJson(row);
}

export async function readDefinitions(
  db: Db,
  workspaceId: string,
  kind: DefinitionKind,
): Promise<{ items: DefinitionJson[] }> {
  return { items: (await listDefinitions(db, workspaceId, kind)).map(definitionJson) };
}

export async function removeDefinition(
  db: Db,
  workspaceId: string,
  kind: DefinitionKind,
  id: string,
): Promise<void> {
  await transaction(db, async (tx) => {
    await lockModel(tx, workspaceId);
    const model = await currentModel(tx, workspaceId);
    const users = dependentsOf(model, kind, id);
    if (users.length > 0) {
      throw conflict(
        "definition_in_use",
        `${NOUNS[kind]} ${id} is used by ${users.map((u) => `${NOUNS[u.kind]} ${u.id}`).join(", ")}`,
      );
    }
    if (!(await deleteDefinition(tx, workspaceId, kind, id))) throw notFound(`${NOUNS[kind]} ${id}`);
    await bumpLoyaltyVersion(tx, workspaceId);
  });
}

// ---- Event types ------------------------------------------------------------------------------

export const EventTypeJsonSchema = Type.Object({
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  params: Type.Record(Type.String(), Type.String()),
  /** Built-in types are known without a declaration and cannot be changed. */
  builtIn: Type.Boolean(),
  createdAt: Type.Union([Instant, Type.Null()]),
  updatedAt: Type.Union([Instant, Type.Null()]),
});
export type EventTypeJson = Static<typeof EventTypeJsonSchema>;

function eventTypeJson(row: EventTypeRow): EventTypeJson {
  return {
    name: row.name,
    description: row.description,
    params: row.params,
    builtIn: false,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function builtInJson(name: string): EventTypeJson {
  return {
    name,
    description: "built in",
    params: { ...BUILTIN_EVENT_TYPES[name]! },
    builtIn: true,
    createdAt: null,
    updatedAt: null,
  };
}

export const EVENT_TYPE_NAME = "^[A-Za-z][A-Za-z0-9_.:-]*$";

export async function readEventTypes(db: Db, workspaceId: string): Promise<{ items: EventTypeJson[] }> {
  const declared = (await listEventTypes(db, workspaceId)).map(eventTypeJson);
  return { items: [...Object.keys(BUILTIN_EVENT_TYPES).sort().map(builtInJson), ...declared] };
}

export async function readEventType(db: Db, workspaceId: string, name: string): Promise<EventTypeJson> {
  if (BUILTIN_EVENT_TYPES[name] !== undefined) return builtInJson(name);
  const row = await getEventType(db, workspaceId, name);
  if (row === null) throw notFound(`event type ${name}`);
  return eventTypeJson(row);
}

function refuseBuiltIn(name: string): void {
  if (BUILTIN_EVENT_TYPES[name] !== undefined)
    throw new Problem(409, "built_in", "Conflict", `${name} is a built-in event type and cannot be changed`);
}

export async function putEventType(
  db: Db,
  workspaceId: string,
  name: string,
  body: EventTypeBody,
  nowMs: number,
): Promise<{ json: EventTypeJson; created: boolean }> {
  refuseBuiltIn(name);
  return transaction(db, async (tx) => {
    await lockModel(tx, workspaceId);
    const model = await currentModel(tx, workspaceId);
    const next = { ...model, eventTypes: { ...model.eventTypes, [name]: body.params } };
    refuseBreaking(brokenOthers(next), `changing event type ${name}`);
    const { row, created } = await upsertEventType(tx, workspaceId, name, body, new Date(nowMs));
    await bumpLoyaltyVersion(tx, workspaceId);
    return { json: eventTypeJson(row), created };
  });
}

export async function removeEventType(db: Db, workspaceId: string, name: string): Promise<void> {
  refuseBuiltIn(name);
  await transaction(db, async (tx) => {
    await lockModel(tx, workspaceId);
    const users = dependentsOf(await currentModel(tx, workspaceId), "eventType", name);
    if (users.length > 0) {
      throw conflict(
        "definition_in_use",
        `event type ${name} is used by ${users.map((u) => `${NOUNS[u.kind]} ${u.id}`).join(", ")}`,
      );
    }
    if (!(await deleteEventType(tx, workspaceId, name))) throw notFound(`event type ${name}`);
    await bumpLoyaltyVersion(tx, workspaceId);
  });
}
