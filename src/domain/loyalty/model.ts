// The loyalty model as a whole (seed 003): what the TypeBox schemas cannot say about one definition
// (references, cycles, parameter types), which definitions use which, events against their declared
// types, and the compiled form that state.ts folds events with. Pure: no I/O, no clock.
import { isInstant, type Issue } from "../check.js";
import {
  BUILTIN_EVENT_TYPES,
  TIMESTAMP,
  type AggregateBody,
  type AggregateFn,
  type DefinitionKind,
  type Expr,
  type ExpressionBody,
  type Filter,
  type FilterOp,
  type LoyaltyModel,
  type ParamType,
  type ProfileEvent,
  type ScalarValue,
  type SegmentationBody,
  type TierProgramBody,
  type Value,
} from "./definitions.js";
import { checkExpression, type ExprScope, type ExprType } from "./expression.js";

const ISSUES_MAX = 200;
const HOUR_MS = 3_600_000;

function add(issues: Issue[], code: string, path: string, message: string): void {
  if (issues.length < ISSUES_MAX) issues.push({ code, path: path || "/", message });
}

/** The parameters of an event type: a built-in's (plus any declared extras) or a declared one's. */
export function eventParamsOf(
  model: LoyaltyModel,
  type: string,
): Readonly<Record<string, ParamType>> | undefined {
  const builtin = Object.hasOwn(BUILTIN_EVENT_TYPES, type) ? BUILTIN_EVENT_TYPES[type] : undefined;
  const declared = Object.hasOwn(model.eventTypes, type) ? model.eventTypes[type] : undefined;
  if (builtin && declared) return { ...declared, ...builtin };
  return builtin ?? declared;
}

/** A parameter's type within an event type's parameters; `$timestamp` is always a date. */
function paramTypeOf(
  params: Readonly<Record<string, ParamType>> | undefined,
  param: string,
): ParamType | undefined {
  if (param === TIMESTAMP) return "date";
  return params !== undefined && Object.hasOwn(params, param) ? params[param] : undefined;
}

/** What an aggregate yields: count, sum and avg a number; the others the analysed parameter's type. */
export function aggregateType(model: LoyaltyModel, body: AggregateBody): ExprType {
  if (body.fn === "count" || body.fn === "sum" || body.fn === "avg") return "number";
  if (body.param === undefined) return "any";
  return paramTypeOf(eventParamsOf(model, body.event), body.param) ?? "any";
}

// ---- checkDefinition --------------------------------------------------------------------------

type DefinitionBody = AggregateBody | ExpressionBody | SegmentationBody | TierProgramBody;

/**
 * The problems of one definition in the model as if it were stored under `id` (replacing the one
 * with that id), with paths relative to the body. The body has passed its schema already.
 */
export function checkDefinition(
  model: LoyaltyModel,
  kind: DefinitionKind,
  id: string,
  body: DefinitionBody,
): Issue[] {
  const issues: Issue[] = [];
  const next = withDefinition(model, kind, id, body);
  switch (kind) {
    case "aggregate":
      checkAggregate(next, id, body as AggregateBody, issues);
      break;
    case "expression":
      checkExpressionBody(next, id, body as ExpressionBody, issues);
      break;
    case "segmentation":
      checkSegmentation(next, id, body as SegmentationBody, issues);
      break;
    case "tierProgram":
      checkTierProgram(next, body as TierProgramBody, issues);
      break;
    default:
      return assertNever(kind);
  }
  return issues;
}

const RECORD_OF: Record<DefinitionKind, "aggregates" | "expressions" | "segmentations" | "tierPrograms"> = {
  aggregate: "aggregates",
  expression: "expressions",
  segmentation: "segmentations",
  tierProgram: "tierPrograms",
};

function withDefinition(
  model: LoyaltyModel,
  kind: DefinitionKind,
  id: string,
  body: DefinitionBody,
): LoyaltyModel {
  const key = RECORD_OF[kind];
  return { ...model, [key]: { ...model[key], [id]: body } };
}

/** How a formula sees the model; expression types are inferred once each, cycles reading as "any". */
export function scopeOf(model: LoyaltyModel): ExprScope {
  const types = new Map<string, ExprType>();
  const visiting = new Set<string>();
  const scope: ExprScope = {
    attributes: model.attributes,
    aggregateType: (id) =>
      Object.hasOwn(model.aggregates, id) ? aggregateType(model, model.aggregates[id]!) : undefined,
    expressionType(id) {
      if (!Object.hasOwn(model.expressions, id)) return undefined;
      const known = types.get(id);
      if (known !== undefined) return known;
      if (visiting.has(id)) return "any";
      visiting.add(id);
      const type = checkExpression(model.expressions[id]!.formula, scope, "", []);
      visiting.delete(id);
      types.set(id, type);
      return type;
    },
  };
  return scope;
}

const OPS: Record<ParamType, readonly FilterOp[]> = {
  string: ["eq", "ne", "contains", "startsWith", "endsWith"],
  number: ["eq", "ne", "gt", "gte", "lt", "lte"],
  date: ["eq", "ne", "gt", "gte", "lt", "lte"],
  boolean: ["eq", "ne"],
};

function checkAggregate(model: LoyaltyModel, id: string, body: AggregateBody, issues: Issue[]): void {
  const params = eventParamsOf(model, body.event);
  if (params === undefined) {
    add(issues, "unknown_event", "/event", `"${body.event}" is neither a built-in nor a declared event type`);
  }
  const paramType = (param: string, path: string): ParamType | undefined => {
    const type = paramTypeOf(params, param);
    if (type === undefined && params !== undefined) {
      add(issues, "unknown_param", path, `"${body.event}" has no parameter "${param}"`);
    }
    return type;
  };
  if (body.param === undefined) {
    if (body.fn !== "count")
      add(issues, "param_required", "/param", `"${body.fn}" needs the parameter it analyses`);
  } else {
    const type = paramType(body.param, "/param");
    const refused =
      type !== undefined &&
      (((body.fn === "sum" || body.fn === "avg") && type !== "number") ||
        ((body.fn === "min" || body.fn === "max") && (type === "string" || type === "boolean")));
    if (refused) add(issues, "type_mismatch", "/param", `"${body.fn}" does not apply to a ${type} parameter`);
  }
  (body.filters ?? []).forEach((filter, i) => {
    const base = `/filters/${i}`;
    const type = paramType(filter.param, `${base}/param`);
    if (type !== undefined && !OPS[type].includes(filter.op)) {
      add(issues, "type_mismatch", `${base}/op`, `"${filter.op}" does not apply to a ${type} parameter`);
    }
    if (typeof filter.value === "object")
      checkFilterReference(model, id, filter.value.agg, type, base, issues);
    else if (type !== undefined && !literalFits(filter.value, type)) {
      const what = type === "date" ? "an ISO 8601 instant, e.g. 2026-05-01T09:00:00Z" : `a ${type}`;
      add(issues, "type_mismatch", `${base}/value`, `must be ${what} like the parameter`);
    }
  });
  checkAsReferenced(model, id, body, issues);
}

/**
 * What the aggregates whose filters read this one need from it: to stay over the lifetime (so the
 * incremental state stays exact) and to yield the type of the parameter they compare it with.
 */
function checkAsReferenced(model: LoyaltyModel, id: string, body: AggregateBody, issues: Issue[]): void {
  const type = aggregateType(model, body);
  for (const [userId, user] of Object.entries(model.aggregates)) {
    if (userId === id) continue;
    const params = eventParamsOf(model, user.event);
    for (const filter of user.filters ?? []) {
      if (typeof filter.value !== "object" || filter.value.agg !== id) continue;
      if (body.period.kind !== "lifetime") {
        add(
          issues,
          "not_lifetime",
          "/period",
          `"${userId}" filters on this aggregate's value: it must stay over the lifetime`,
        );
      }
      const expected = paramTypeOf(params, filter.param);
      if (expected !== undefined && type !== "any" && type !== expected) {
        const path = body.fn === "count" || body.fn === "sum" || body.fn === "avg" ? "/fn" : "/param";
        add(
          issues,
          "type_mismatch",
          path,
          `"${userId}" compares its ${filter.param} (a ${expected}) with this aggregate's ${type}`,
        );
      }
    }
  }
}

function literalFits(value: ScalarValue, type: ParamType): boolean {
  if (type === "date") return typeof value === "string" && isInstant(value);
  return typeof value === type;
}

function checkFilterReference(
  model: LoyaltyModel,
  id: string,
  ref: string,
  type: ParamType | undefined,
  base: string,
  issues: Issue[],
): void {
  const path = `${base}/value/agg`;
  const target = Object.hasOwn(model.aggregates, ref) ? model.aggregates[ref] : undefined;
  if (target === undefined) return add(issues, "unknown_aggregate", path, `there is no aggregate "${ref}"`);
  if (target.period.kind !== "lifetime") {
    add(issues, "not_lifetime", path, `"${ref}" must be over the lifetime to be a filter's value`);
  }
  const chain = findPath(ref, id, (a) => filterReferences(model.aggregates[a]));
  if (chain !== undefined)
    add(issues, "cycle", path, `aggregates refer to each other: ${[id, ...chain].join(" → ")}`);
  const refType = aggregateType(model, target);
  if (type !== undefined && refType !== "any" && refType !== type) {
    add(issues, "type_mismatch", `${base}/value`, `"${ref}" yields a ${refType}, the parameter is a ${type}`);
  }
}

function filterReferences(body: AggregateBody | undefined): string[] {
  const refs: string[] = [];
  for (const filter of body?.filters ?? []) if (typeof filter.value === "object") refs.push(filter.value.agg);
  return refs;
}

/** A path of references from `from` to `to` ([from, …, to]), or undefined when there is none. */
function findPath(from: string, to: string, next: (id: string) => readonly string[]): string[] | undefined {
  const seen = new Set<string>();
  const walk = (id: string): string[] | undefined => {
    if (id === to) return [id];
    if (seen.has(id)) return undefined;
    seen.add(id);
    for (const n of next(id)) {
      const rest = walk(n);
      if (rest !== undefined) return [id, ...rest];
    }
    return undefined;
  };
  return walk(from);
}

function checkExpressionBody(model: LoyaltyModel, id: string, body: ExpressionBody, issues: Issue[]): void {
  checkExpression(body.formula, scopeOf(model), "/formula", issues);
  for (const ref of referencesIn(body.formula, "expr", "/formula")) {
    const chain = findPath(ref.id, id, (e) =>
      Object.hasOwn(model.expressions, e)
        ? referencesIn(model.expressions[e]!.formula, "expr", "").map((r) => r.id)
        : [],
    );
    if (chain !== undefined) {
      add(issues, "cycle", ref.path, `expressions refer to each other: ${[id, ...chain].join(" → ")}`);
    }
  }
}

/** Condition types: null reads as false. */
const CONDITION_TYPES: ReadonlySet<ExprType> = new Set(["boolean", "null", "any"]);
/** Tier values: null and errors mean "not a member". */
const TIER_VALUE_TYPES: ReadonlySet<ExprType> = new Set(["number", "any", "error", "null"]);

function checkSegmentation(model: LoyaltyModel, id: string, body: SegmentationBody, issues: Issue[]): void {
  const scope = scopeOf(model);
  const seen = new Map<string, number>();
  body.segments.forEach((segment, i) => {
    const base = `/segments/${i}`;
    const type = checkExpression(segment.condition, scope, `${base}/condition`, issues);
    if (!CONDITION_TYPES.has(type)) {
      add(issues, "type_mismatch", `${base}/condition`, `must be a condition (true or false), not a ${type}`);
    }
    const first = seen.get(segment.id);
    if (first !== undefined) {
      add(issues, "duplicate", `${base}/id`, `segment "${segment.id}" is already segment ${first}`);
    } else seen.set(segment.id, i);
    for (const [otherId, other] of Object.entries(model.segmentations)) {
      if (otherId !== id && other.segments.some((s) => s.id === segment.id)) {
        add(
          issues,
          "duplicate",
          `${base}/id`,
          `segment "${segment.id}" is already in segmentation "${otherId}"`,
        );
      }
    }
  });
}

function checkTierProgram(model: LoyaltyModel, body: TierProgramBody, issues: Issue[]): void {
  const type = checkExpression(body.value, scopeOf(model), "/value", issues);
  if (!TIER_VALUE_TYPES.has(type)) add(issues, "type_mismatch", "/value", `must be a number, not a ${type}`);
  const seen = new Set<string>();
  let previous: number | undefined;
  body.tiers.forEach((tier, i) => {
    const base = `/tiers/${i}`;
    if (seen.has(tier.id)) add(issues, "duplicate", `${base}/id`, `tier "${tier.id}" appears twice`);
    seen.add(tier.id);
    if (i === 0) {
      if (tier.from !== undefined) {
        add(
          issues,
          "invalid_value",
          `${base}/from`,
          "the first tier takes everything below the second: no from",
        );
      }
      return;
    }
    if (tier.from === undefined)
      return add(issues, "required", `${base}/from`, "is required after the first tier");
    if (previous !== undefined && tier.from <= previous) {
      add(issues, "not_ascending", `${base}/from`, `must be above the previous tier's ${previous}`);
    }
    previous = tier.from;
  });
}

// ---- References -------------------------------------------------------------------------------

type RefKey = "attr" | "agg" | "expr";

/** The references of one kind inside an expression, with their paths (`…/args/1/agg`). */
export function referencesIn(expr: unknown, key: RefKey, path: string): { id: string; path: string }[] {
  const out: { id: string; path: string }[] = [];
  const walk = (node: unknown, at: string, depth: number): void => {
    if (typeof node !== "object" || node === null || Array.isArray(node) || depth > 64) return;
    const record = node as Record<string, unknown>;
    const ref = record[key];
    if (Object.hasOwn(record, key) && typeof ref === "string") out.push({ id: ref, path: `${at}/${key}` });
    if (Array.isArray(record.args)) record.args.forEach((arg, i) => walk(arg, `${at}/args/${i}`, depth + 1));
  };
  walk(expr, path, 0);
  return out;
}

function formulasOf(kind: "expression" | "segmentation" | "tierProgram", body: DefinitionBody): Expr[] {
  if (kind === "expression") return [(body as ExpressionBody).formula];
  if (kind === "tierProgram") return [(body as TierProgramBody).value];
  return (body as SegmentationBody).segments.map((s) => s.condition);
}

const KIND_ORDER: readonly DefinitionKind[] = ["aggregate", "expression", "segmentation", "tierProgram"];

/** The definitions that refer to this one directly: what deleting it would break. */
export function dependentsOf(
  model: LoyaltyModel,
  kind: DefinitionKind | "attribute" | "eventType",
  id: string,
): { kind: DefinitionKind; id: string }[] {
  const out: { kind: DefinitionKind; id: string }[] = [];
  for (const [aggregateId, body] of Object.entries(model.aggregates)) {
    const uses =
      (kind === "eventType" && body.event === id) ||
      (kind === "aggregate" && aggregateId !== id && filterReferences(body).includes(id));
    if (uses) out.push({ kind: "aggregate", id: aggregateId });
  }
  const key: RefKey | undefined =
    kind === "attribute" ? "attr" : kind === "aggregate" ? "agg" : kind === "expression" ? "expr" : undefined;
  if (key !== undefined) {
    for (const user of ["expression", "segmentation", "tierProgram"] as const) {
      for (const [userId, body] of Object.entries(model[RECORD_OF[user]])) {
        if (user === kind && userId === id) continue;
        const formulas = formulasOf(user, body as DefinitionBody);
        if (formulas.some((f) => referencesIn(f, key, "").some((r) => r.id === id)))
          out.push({ kind: user, id: userId });
      }
    }
  }
  return out.sort(
    (a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || compareText(a.id, b.id),
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- checkEvent -------------------------------------------------------------------------------

/**
 * An incoming event against the model: its type must be built in or declared; declared parameters
 * must have their type (dates as ISO 8601 instants); undeclared ones are kept but no aggregate can use
 * them; every value must be a string, a finite number or a boolean.
 */
export function checkEvent(
  model: LoyaltyModel,
  event: { type: string; params: Record<string, unknown> },
  path: string,
): Issue[] {
  const issues: Issue[] = [];
  const params = eventParamsOf(model, event.type);
  if (params === undefined) {
    add(
      issues,
      "unknown_event",
      `${path}/type`,
      `"${event.type}" is neither a built-in nor a declared event type`,
    );
  }
  for (const [name, value] of Object.entries(event.params)) {
    const at = `${path}/params/${name.replaceAll("~", "~0").replaceAll("/", "~1")}`;
    const scalar =
      typeof value === "string" ||
      typeof value === "boolean" ||
      (typeof value === "number" && Number.isFinite(value));
    if (!scalar) {
      add(issues, "invalid_value", at, "must be a string, a number or a boolean");
      continue;
    }
    const type = params !== undefined && Object.hasOwn(params, name) ? params[name]! : undefined;
    if (type !== undefined && !literalFits(value, type)) {
      const what = type === "date" ? "an ISO 8601 instant, e.g. 2026-05-01T09:00:00Z" : `a ${type}`;
      add(issues, "type_mismatch", at, `must be ${what}`);
    }
  }
  return issues;
}

// ---- describeAggregate ------------------------------------------------------------------------

const OP_TEXT: Record<FilterOp, string> = {
  eq: "==",
  ne: "!=",
  gt: ">",
  gte: ">=",
  lt: "<",
  lte: "<=",
  contains: "contains",
  startsWith: "starts with",
  endsWith: "ends with",
};

/** One line for people: `sum of transaction.charge $totalAmount where $timestamp > agg.joinedAt, over the last 365 days`. */
export function describeAggregate(body: AggregateBody): string {
  const param = body.param !== undefined ? ` ${body.param}` : "";
  const filters = (body.filters ?? []).map(
    (f) =>
      `${f.param} ${OP_TEXT[f.op]} ${typeof f.value === "object" ? `agg.${f.value.agg}` : JSON.stringify(f.value)}`,
  );
  const where = filters.length > 0 ? ` where ${filters.join(" and ")}` : "";
  const period =
    body.period.kind === "lifetime"
      ? "over the lifetime"
      : `over the last ${body.period.amount} ${body.period.amount === 1 ? body.period.unit.slice(0, -1) : body.period.unit}`;
  return `${body.fn} of ${body.event}${param}${where}, ${period}`;
}

// ---- compileModel -----------------------------------------------------------------------------

/** A filter against another (lifetime) aggregate's value. */
export interface CompiledReference {
  /** The referenced aggregate's topological index. */
  readonly index: number;
  /** Whether the event passes, given the referenced aggregate's value. */
  readonly test: (event: ProfileEvent, value: Value) => boolean;
}

export interface CompiledAggregate {
  readonly id: string;
  /** Position in `CompiledModel.aggregates`: every aggregate a filter references comes earlier. */
  readonly index: number;
  readonly body: AggregateBody;
  readonly fn: AggregateFn;
  /** Changes whenever what the state holds would differ: the definition, the parameter types, references. */
  readonly fingerprint: string;
  /** The window's length; 0 for lifetime. */
  readonly windowMs: number;
  /** The analysed value of an event; undefined when absent or of the wrong type (the event is skipped). */
  readonly read: (event: ProfileEvent) => ScalarValue | undefined;
  /** The filters with literal values (true when there are none). */
  readonly matches: (event: ProfileEvent) => boolean;
  readonly references: readonly CompiledReference[];
  /** Whether another aggregate's filter reads this one's value. */
  readonly referenced: boolean;
}

export interface CompiledExpression {
  readonly id: string;
  readonly formula: Expr;
}

/** The model precomputed for folding events and evaluating profiles. */
export interface CompiledModel {
  /** A hash of the whole model. */
  readonly version: string;
  readonly model: LoyaltyModel;
  /** In topological order of filter references. */
  readonly aggregates: readonly CompiledAggregate[];
  readonly aggregateById: ReadonlyMap<string, CompiledAggregate>;
  /** Per event type, the aggregates it feeds, in topological order. */
  readonly byEventType: ReadonlyMap<string, readonly CompiledAggregate[]>;
  /**
   * The aggregates in levels: level 0 references nothing, level k only lower levels; per level, the
   * aggregates each event type feeds. A rebuild folds level by level, so references are final.
   */
  readonly levels: readonly ReadonlyMap<string, readonly CompiledAggregate[]>[];
  /** Event types that feed at least one aggregate. */
  readonly eventTypes: ReadonlySet<string>;
  /** In topological order of references: each one's references come earlier. */
  readonly expressions: readonly CompiledExpression[];
  readonly attributes: Readonly<Record<string, ParamType>>;
  readonly segmentations: readonly { readonly id: string; readonly body: SegmentationBody }[];
  readonly tierPrograms: readonly { readonly id: string; readonly body: TierProgramBody }[];
}

/** Compiles a model whose definitions all passed `checkDefinition`. */
export function compileModel(model: LoyaltyModel): CompiledModel {
  const aggregateOrder = topologicalOrder(Object.keys(model.aggregates), (id) =>
    filterReferences(model.aggregates[id]),
  );
  const aggregates: CompiledAggregate[] = [];
  const byId = new Map<string, CompiledAggregate>();
  const referenced = new Set(Object.values(model.aggregates).flatMap(filterReferences));
  const levelOf = new Map<string, number>();
  for (const id of aggregateOrder) {
    const compiled = compileAggregate(model, id, aggregates.length, byId, referenced.has(id));
    aggregates.push(compiled);
    byId.set(id, compiled);
    levelOf.set(id, Math.max(-1, ...filterReferences(compiled.body).map((r) => levelOf.get(r) ?? 0)) + 1);
  }
  const byEventType = new Map<string, CompiledAggregate[]>();
  const levels: Map<string, CompiledAggregate[]>[] = [];
  for (const compiled of aggregates) {
    const event = compiled.body.event;
    byEventType.set(event, [...(byEventType.get(event) ?? []), compiled]);
    const level = levelOf.get(compiled.id)!;
    while (levels.length <= level) levels.push(new Map());
    const map = levels[level]!;
    map.set(event, [...(map.get(event) ?? []), compiled]);
  }
  const expressionOrder = topologicalOrder(Object.keys(model.expressions), (id) =>
    referencesIn(model.expressions[id]!.formula, "expr", "").map((r) => r.id),
  );
  const sortedEntries = <T>(record: Readonly<Record<string, T>>) =>
    Object.keys(record)
      .sort(compareText)
      .map((id) => ({ id, body: record[id]! }));
  return {
    version: hash53(canonicalJson(model)),
    model,
    aggregates,
    aggregateById: byId,
    byEventType,
    levels,
    eventTypes: new Set(byEventType.keys()),
    expressions: expressionOrder.map((id) => ({ id, formula: model.expressions[id]!.formula })),
    attributes: model.attributes,
    segmentations: sortedEntries(model.segmentations),
    tierPrograms: sortedEntries(model.tierPrograms),
  };
}

/**
 * Ids ordered so that each comes after what it refers to (references to unknown ids are ignored),
 * ties by id; ids on a cycle (a model that did not pass the checks) come last, by id.
 */
function topologicalOrder(ids: readonly string[], refs: (id: string) => readonly string[]): string[] {
  const known = new Set(ids);
  const order: string[] = [];
  const placed = new Set<string>();
  let pending = [...ids].sort(compareText);
  while (pending.length > 0) {
    const ready = pending.filter((id) => refs(id).every((r) => !known.has(r) || placed.has(r) || r === id));
    const next = ready.length > 0 ? ready : pending;
    for (const id of next) {
      order.push(id);
      placed.add(id);
    }
    pending = pending.filter((id) => !placed.has(id));
  }
  return order;
}

function compileAggregate(
  model: LoyaltyModel,
  id: string,
  index: number,
  earlier: ReadonlyMap<string, CompiledAggregate>,
  referenced: boolean,
): CompiledAggregate {
  const body = model.aggregates[id]!;
  const params = eventParamsOf(model, body.event);
  const typeOf = (param: string): ParamType | undefined => paramTypeOf(params, param);
  const filters = body.filters ?? [];
  const literal = filters
    .filter((f) => typeof f.value !== "object")
    .map((f) => compileLiteralFilter(f, typeOf(f.param)));
  const references: CompiledReference[] = [];
  const referencePrints: Record<string, string> = {};
  for (const filter of filters) {
    if (typeof filter.value !== "object") continue;
    const target = earlier.get(filter.value.agg);
    if (target === undefined) continue; // a cycle or a dangling reference: the checks refuse both
    references.push({ index: target.index, test: compileReferenceFilter(filter, typeOf(filter.param)) });
    referencePrints[target.id] = target.fingerprint;
  }
  const period = body.period;
  const windowMs =
    period.kind === "lifetime" ? 0 : period.amount * (period.unit === "days" ? 24 : 1) * HOUR_MS;
  const fingerprint = hash53(
    canonicalJson({
      fn: body.fn,
      event: body.event,
      param: body.param ?? null,
      paramType: body.param === undefined ? null : (typeOf(body.param) ?? null),
      filters: filters.map((f) => ({ ...f, type: typeOf(f.param) ?? null })),
      period,
      references: referencePrints,
    }),
  );
  return {
    id,
    index,
    body,
    fn: body.fn,
    fingerprint,
    windowMs,
    read: body.param === undefined ? readNothing : reader(body.param, typeOf(body.param)),
    matches: allOf(literal),
    references,
    referenced,
  };
}

const readNothing = (): undefined => undefined;
const always = (): boolean => true;

function allOf(tests: readonly ((event: ProfileEvent) => boolean)[]): (event: ProfileEvent) => boolean {
  if (tests.length === 0) return always;
  if (tests.length === 1) return tests[0]!;
  return (event) => {
    for (const test of tests) if (!test(event)) return false;
    return true;
  };
}

/** Reads a parameter as its declared type: dates as epoch ms; undefined when absent or mistyped. */
function reader(
  param: string,
  type: ParamType | undefined,
): (event: ProfileEvent) => ScalarValue | undefined {
  if (param === TIMESTAMP) return (event) => event.atMs;
  switch (type) {
    case "date":
      return (event) => {
        const value = event.params[param];
        if (typeof value !== "string") return undefined;
        const ms = Date.parse(value);
        return Number.isNaN(ms) ? undefined : ms;
      };
    case "number":
      return (event) => {
        const value = event.params[param];
        return typeof value === "number" ? value : undefined;
      };
    case "string":
      return (event) => {
        const value = event.params[param];
        return typeof value === "string" ? value : undefined;
      };
    case "boolean":
      return (event) => {
        const value = event.params[param];
        return typeof value === "boolean" ? value : undefined;
      };
    default:
      return readNothing;
  }
}

type Compare = (a: ScalarValue, b: ScalarValue) => boolean;

const COMPARE: Record<FilterOp, Compare> = {
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  gt: (a, b) => (a as number) > (b as number),
  gte: (a, b) => (a as number) >= (b as number),
  lt: (a, b) => (a as number) < (b as number),
  lte: (a, b) => (a as number) <= (b as number),
  contains: (a, b) => typeof a === "string" && typeof b === "string" && a.includes(b),
  startsWith: (a, b) => typeof a === "string" && typeof b === "string" && a.startsWith(b),
  endsWith: (a, b) => typeof a === "string" && typeof b === "string" && a.endsWith(b),
};

/** An event without the parameter (or with a mistyped one) never passes a filter on it. */
function compileLiteralFilter(filter: Filter, type: ParamType | undefined): (event: ProfileEvent) => boolean {
  const read = reader(filter.param, type);
  const compare = COMPARE[filter.op];
  const value = filter.value as ScalarValue;
  const literal = type === "date" && typeof value === "string" ? Date.parse(value) : value;
  return (event) => {
    const actual = read(event);
    return actual !== undefined && compare(actual, literal);
  };
}

/** Against a null value only `ne` passes (like `ne` in expressions); against an error nothing does. */
function compileReferenceFilter(
  filter: Filter,
  type: ParamType | undefined,
): (event: ProfileEvent, value: Value) => boolean {
  const read = reader(filter.param, type);
  const compare = COMPARE[filter.op];
  const whenNull = filter.op === "ne";
  return (event, value) => {
    const actual = read(event);
    if (actual === undefined) return false;
    if (value === null) return whenNull;
    if (typeof value === "object") return false;
    return compare(actual, value);
  };
}

// ---- Hashing ----------------------------------------------------------------------------------

/** JSON with object keys sorted, so equal values hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort(compareText);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(",")}}`;
}

/**
 * FNV-1a 64 over the UTF-16 code units, in four 16-bit limbs (no BigInt, no node:crypto: the domain
 * stays portable), answered as its low 53 bits in base 36. Not cryptographic: it tells versions apart.
 */
export function hash53(text: string): string {
  // offset basis 0xcbf29ce484222325; prime 0x100000001b3 = 2^40 + 0x1b3
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (let i = 0; i < text.length; i++) {
    h0 ^= text.charCodeAt(i);
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + h0 * 0x100 + (t1 >>> 16);
    const t3 = h3 * 0x1b3 + h1 * 0x100 + (t2 >>> 16);
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  return ((h3 & 0x1f) * 2 ** 48 + h2 * 2 ** 32 + h1 * 2 ** 16 + h0).toString(36);
}

function assertNever(value: never): never {
  throw new Error(`unexpected ${String(value)}`);
}
