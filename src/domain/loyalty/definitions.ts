// The loyalty model's vocabulary (issue 4, seed 003): event types, typed attributes, aggregates over a
// profile's events, expressions over attributes and aggregates, segmentations and tier programs. These
// TypeBox schemas are the wire format and the TypeScript types; what a schema cannot say (references,
// cycles, types of parameters, division by a literal zero) is checked by `checkDefinition` in
// model.ts. Pure: no I/O, no clock.
import Type, { type Static } from "typebox";

const closed = { additionalProperties: false } as const;
const PLAIN_TEXT = "^[^\\u0000-\\u001f\\u007f]*$";
export const DefinitionId = Type.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9_.:-]+$" });
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: PLAIN_TEXT });
/** An event parameter's name: `$totalAmount`, `status`; `$timestamp` is the event's own instant. */
export const ParamName = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: "^[$A-Za-z_][A-Za-z0-9_.$-]*$",
});
export const TIMESTAMP = "$timestamp";

export const ParamTypeSchema = Type.Union([
  Type.Literal("string"),
  Type.Literal("number"),
  Type.Literal("boolean"),
  /** An ISO 8601 instant in events and attributes; epoch milliseconds inside expressions. */
  Type.Literal("date"),
]);
export type ParamType = Static<typeof ParamTypeSchema>;

/** The value of an event parameter or an attribute as stored (dates as ISO strings). */
export type ScalarValue = string | number | boolean;

/** A custom event type: its parameters and their types. Undeclared parameters are kept but not usable. */
export const EventTypeBodySchema = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 1_000 })),
    params: Type.Record(ParamName, ParamTypeSchema, { maxProperties: 100 }),
  },
  closed,
);
export type EventTypeBody = Static<typeof EventTypeBodySchema>;

/** The events Till knows without a declaration; sales and returns produce the first three. */
export const BUILTIN_EVENT_TYPES: Readonly<Record<string, Readonly<Record<string, ParamType>>>> = {
  "transaction.charge": {
    $totalAmount: "number",
    $discountAmount: "number",
    $units: "number",
    $saleId: "string",
    $transactionId: "string",
    $storeId: "string",
    $currency: "string",
  },
  "sale.processed": { $saleId: "string", $redemptions: "number", $discountAmount: "number" },
  "product.return": {
    $totalAmount: "number",
    $units: "number",
    $saleId: "string",
    $returnId: "string",
    $currency: "string",
  },
  loyaltyStatus: { status: "string", programId: "string" },
  registration: { channel: "string" },
  "profile.update": { fields: "string" },
  "handbill.assign": { promotionId: "string" },
  "client.activatePromotion": { promotionId: "string" },
  "client.removePoints": { points: "number", reason: "string" },
};

// ---- Expressions ------------------------------------------------------------------------------

/**
 * An expression in its JSON syntax:
 * - a literal: number, string, boolean or null;
 * - `{"attr": "loyaltyCard"}`: a declared profile attribute;
 * - `{"agg": "charges365"}`: an aggregate's value;
 * - `{"expr": "balance"}`: another expression's value;
 * - `{"fn": "sub", "args": [ … ]}`: a function of its arguments (FUNCTIONS lists them).
 */
export type Expr =
  | number
  | string
  | boolean
  | null
  | { readonly attr: string }
  | { readonly agg: string }
  | { readonly expr: string }
  | { readonly fn: FunctionName; readonly args: readonly Expr[] };

/**
 * The functions, with their arity [min, max] (max -1: any). `if` takes cond, then, [cond, then]…,
 * else (odd count, at least 3). `error` takes an optional literal message. `now` is the evaluation
 * instant, `daysSince`/`hoursSince` the whole days/hours from a date to now.
 */
export const FUNCTIONS = {
  add: [2, -1],
  sub: [2, 2],
  mul: [2, -1],
  div: [2, 2],
  mod: [2, 2],
  neg: [1, 1],
  abs: [1, 1],
  round: [1, 1],
  floor: [1, 1],
  ceil: [1, 1],
  min: [2, -1],
  max: [2, -1],
  eq: [2, 2],
  ne: [2, 2],
  gt: [2, 2],
  gte: [2, 2],
  lt: [2, 2],
  lte: [2, 2],
  and: [2, -1],
  or: [2, -1],
  not: [1, 1],
  if: [3, -1],
  exists: [1, 1],
  isError: [1, 1],
  coalesce: [2, -1],
  error: [0, 1],
  now: [0, 0],
  daysSince: [1, 1],
  hoursSince: [1, 1],
} as const satisfies Record<string, readonly [number, number]>;
export type FunctionName = keyof typeof FUNCTIONS;

/** The schema only says "an expression"; model.ts checks its structure with a path per problem. */
export const ExprSchema = Type.Unsafe<Expr>({
  description:
    'An expression: a literal, {"attr": name}, {"agg": id}, {"expr": id} or {"fn": name, "args": [expression, …]}. See docs/loyalty.md.',
});

/** A value while evaluating: dates are epoch milliseconds; an error value carries its reason. */
export type Value = number | string | boolean | null | ErrorValue;
export interface ErrorValue {
  readonly error: string;
}

// ---- Aggregates -------------------------------------------------------------------------------

export const AggregateFnSchema = Type.Union([
  Type.Literal("first"),
  Type.Literal("last"),
  Type.Literal("count"),
  Type.Literal("sum"),
  Type.Literal("min"),
  Type.Literal("max"),
  Type.Literal("avg"),
]);
export type AggregateFn = Static<typeof AggregateFnSchema>;

/**
 * String operators: eq ne contains startsWith endsWith; number and date operators: eq ne gt gte lt lte;
 * boolean: eq ne. model.ts refuses an operator that does not fit the parameter's type.
 */
export const FilterOpSchema = Type.Union([
  Type.Literal("eq"),
  Type.Literal("ne"),
  Type.Literal("gt"),
  Type.Literal("gte"),
  Type.Literal("lt"),
  Type.Literal("lte"),
  Type.Literal("contains"),
  Type.Literal("startsWith"),
  Type.Literal("endsWith"),
]);
export type FilterOp = Static<typeof FilterOpSchema>;

export const FilterSchema = Type.Object(
  {
    /** A declared parameter of the event, or `$timestamp`. */
    param: ParamName,
    op: FilterOpSchema,
    /**
     * A literal (dates as ISO 8601 instants), or another aggregate's current value: seed 003's
     * "$timestamp after the time of joining". A referenced aggregate must be over the lifetime, so
     * its value changes only when an event arrives.
     */
    value: Type.Union([
      Type.String({ maxLength: 1_000 }),
      Type.Number(),
      Type.Boolean(),
      Type.Object({ agg: DefinitionId }, closed),
    ]),
  },
  closed,
);
export type Filter = Static<typeof FilterSchema>;

export const PeriodSchema = Type.Union([
  Type.Object({ kind: Type.Literal("lifetime") }, closed),
  /** The last `amount` days or hours before the evaluation instant (to the hour). */
  Type.Object(
    {
      kind: Type.Literal("last"),
      amount: Type.Integer({ minimum: 1, maximum: 3_650 }),
      unit: Type.Union([Type.Literal("days"), Type.Literal("hours")]),
    },
    closed,
  ),
]);
export type Period = Static<typeof PeriodSchema>;

export const AggregateBodySchema = Type.Object(
  {
    name: Name,
    fn: AggregateFnSchema,
    event: Type.String({ minLength: 1, maxLength: 100 }),
    /** The parameter analysed, or `$timestamp`; required except for count. */
    param: Type.Optional(ParamName),
    filters: Type.Optional(Type.Array(FilterSchema, { maxItems: 20 })),
    period: PeriodSchema,
  },
  closed,
);
export type AggregateBody = Static<typeof AggregateBodySchema>;

export const ExpressionBodySchema = Type.Object({ name: Name, formula: ExprSchema }, closed);
export type ExpressionBody = Static<typeof ExpressionBodySchema>;

export const SegmentationBodySchema = Type.Object(
  {
    name: Name,
    /** Each segment is independent: a customer is in every segment whose condition is true. */
    segments: Type.Array(Type.Object({ id: DefinitionId, name: Name, condition: ExprSchema }, closed), {
      minItems: 1,
      maxItems: 50,
    }),
  },
  closed,
);
export type SegmentationBody = Static<typeof SegmentationBodySchema>;

export const TierProgramBodySchema = Type.Object(
  {
    name: Name,
    /** A number; null or an error value means "not a member of the program". */
    value: ExprSchema,
    /** Ascending: the first has no `from`, each next one starts at `from` (inclusive). */
    tiers: Type.Array(
      Type.Object({ id: DefinitionId, name: Name, from: Type.Optional(Type.Number()) }, closed),
      { minItems: 1, maxItems: 20 },
    ),
  },
  closed,
);
export type TierProgramBody = Static<typeof TierProgramBodySchema>;

/** Everything the workspace defined, as the store holds it: what `checkDefinition` checks against. */
export interface LoyaltyModel {
  /** Declared profile attributes and their types. */
  readonly attributes: Readonly<Record<string, ParamType>>;
  /** Declared custom event types (the built-ins are added by the model). */
  readonly eventTypes: Readonly<Record<string, Readonly<Record<string, ParamType>>>>;
  readonly aggregates: Readonly<Record<string, AggregateBody>>;
  readonly expressions: Readonly<Record<string, ExpressionBody>>;
  readonly segmentations: Readonly<Record<string, SegmentationBody>>;
  readonly tierPrograms: Readonly<Record<string, TierProgramBody>>;
}

export type DefinitionKind = "aggregate" | "expression" | "segmentation" | "tierProgram";

/** One event of a profile, as folded into the aggregates (dates in params as ISO strings). */
export interface ProfileEvent {
  readonly id: string;
  readonly type: string;
  readonly atMs: number;
  readonly params: Readonly<Record<string, ScalarValue>>;
}
