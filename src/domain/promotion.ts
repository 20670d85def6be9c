// A promotion is typed data. These TypeBox schemas are the single source of the wire format, the
// TypeScript types (Static<…>) and, later, the OpenAPI document. Structural rules (types, ranges,
// lengths of lists) live here; rules that relate fields to each other live in validate.ts.
// Every union is tagged by a snake_case `kind`, which is also the wire and CSV vocabulary.
import Type, { type Static } from "typebox";
import { MINOR_MAX } from "./money.js";

const closed = { additionalProperties: false } as const;
const Id = Type.String({ minLength: 1, maxLength: 100 });
const Amount = Type.Integer({ minimum: 0, maximum: MINOR_MAX, description: "integer minor units" });
const PositiveAmount = Type.Integer({ minimum: 1, maximum: MINOR_MAX, description: "integer minor units" });
const Units = Type.Integer({ minimum: 1, maximum: 1_000_000 });
const Instant = Type.String({ format: "date-time", description: "ISO 8601 instant with offset" });
const Skus = Type.Array(Id, { minItems: 1, maxItems: 100_000 });
const Names = Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 1_000 });

export const PromotionTypeSchema = Type.Union([
  Type.Literal("pos"),
  Type.Literal("loyalty"),
  Type.Literal("loyalty_earning"),
  Type.Literal("rewards"),
  Type.Literal("code"),
]);
export type PromotionType = Static<typeof PromotionTypeSchema>;

export const ChannelSchema = Type.Union([
  Type.Literal("pos"),
  Type.Literal("online"),
  Type.Literal("mobile"),
]);
export type Channel = Static<typeof ChannelSchema>;

// ---- Product scope: which catalog items a condition counts or a benefit targets.
export const SelectorSchema = Type.Union([
  Type.Object({ kind: Type.Literal("skus"), skus: Skus }, closed),
  Type.Object({ kind: Type.Literal("categories"), categories: Names }, closed),
  Type.Object({ kind: Type.Literal("brands"), brands: Names }, closed),
  Type.Object(
    { kind: Type.Literal("attribute"), name: Type.String({ minLength: 1, maxLength: 100 }), values: Names },
    closed,
  ),
]);
export type Selector = Static<typeof SelectorSchema>;

export const ProductScopeSchema = Type.Object(
  {
    /** An item is in scope when it matches any include selector (no selector: every item)… */
    include: Type.Array(SelectorSchema, { maxItems: 20 }),
    /** …and matches no exclude selector. */
    exclude: Type.Optional(Type.Array(SelectorSchema, { maxItems: 20 })),
  },
  closed,
);
export type ProductScope = Static<typeof ProductScopeSchema>;

// ---- Cart conditions (seed 004 step 3), joined by AND.
export const ComparatorSchema = Type.Union([
  Type.Literal("gte"),
  Type.Literal("gt"),
  Type.Literal("eq"),
  Type.Literal("lte"),
  Type.Literal("lt"),
]);
export type Comparator = Static<typeof ComparatorSchema>;

export const TextMatchSchema = Type.Object(
  {
    op: Type.Union([Type.Literal("is"), Type.Literal("starts_with"), Type.Literal("contains")]),
    value: Type.String({ minLength: 1, maxLength: 200 }),
  },
  closed,
);
export type TextMatch = Static<typeof TextMatchSchema>;

export const ConditionSchema = Type.Union([
  /** Gross value of the cart, before any discount. Stands alone. */
  Type.Object({ kind: Type.Literal("cart_amount"), op: ComparatorSchema, amountMinor: Amount }, closed),
  /** Items in the cart: distinct SKUs (the manual's definition) or units. Stands alone. */
  Type.Object(
    {
      kind: Type.Literal("item_count"),
      op: ComparatorSchema,
      count: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
      counting: Type.Optional(Type.Union([Type.Literal("distinct_skus"), Type.Literal("units")])),
    },
    closed,
  ),
  /** Gross value of the lines in scope. */
  Type.Object(
    {
      kind: Type.Literal("line_amount"),
      scope: ProductScopeSchema,
      op: ComparatorSchema,
      amountMinor: Amount,
    },
    closed,
  ),
  /** Units of the lines in scope. */
  Type.Object(
    {
      kind: Type.Literal("line_quantity"),
      scope: ProductScopeSchema,
      op: ComparatorSchema,
      quantity: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    },
    closed,
  ),
  /** A tender of this mode (card, cash, points, …) whose identifier matches. */
  Type.Object(
    {
      kind: Type.Literal("payment_mode"),
      mode: Type.String({ minLength: 1, maxLength: 50 }),
      identifier: Type.Optional(TextMatchSchema),
    },
    closed,
  ),
  /** A gift voucher with this code is applied to the cart. Stands alone. */
  Type.Object(
    { kind: Type.Literal("gift_voucher"), code: Type.String({ minLength: 1, maxLength: 100 }) },
    closed,
  ),
]);
export type Condition = Static<typeof ConditionSchema>;
export type ConditionKind = Condition["kind"];

// ---- Benefits (seed 004 step 4, seed 000 exact price, seed 002 product sets).
const Percentage = Type.Object(
  {
    kind: Type.Literal("percentage"),
    bps: Type.Integer({ minimum: 1, maximum: 10_000, description: "basis points: 1000 = 10 %" }),
  },
  closed,
);
const FixedAmount = Type.Object({ kind: Type.Literal("fixed_amount"), amountMinor: PositiveAmount }, closed);
/** The units of one benefit instance together cost this much (bundle price). */
const FixedTarget = Type.Object({ kind: Type.Literal("fixed_target_amount"), amountMinor: Amount }, closed);
/** Each unit costs this much (seed 000's free coffee is exact price 0). */
const ExactPrice = Type.Object({ kind: Type.Literal("exact_price"), amountMinor: Amount }, closed);
const FreeProduct = Type.Object({ kind: Type.Literal("free_product") }, closed);

export const CartValueSchema = Type.Union([Percentage, FixedAmount]);
export type CartValue = Static<typeof CartValueSchema>;
export const ProductValueSchema = Type.Union([Percentage, FixedAmount, FixedTarget, ExactPrice, FreeProduct]);
export type ProductValue = Static<typeof ProductValueSchema>;

/** How many target units one benefit instance takes ("quantity type" in seed 004). */
export const QuantityModeSchema = Type.Union([
  /** every eligible unit */
  Type.Object({ kind: Type.Literal("all") }, closed),
  Type.Object({ kind: Type.Literal("custom"), units: Units }, closed),
  /** the quantity of the promotion's line_quantity condition */
  Type.Object({ kind: Type.Literal("as_in_condition") }, closed),
]);
export type QuantityMode = Static<typeof QuantityModeSchema>;

export const ComboBlockSchema = Type.Object(
  { skus: Type.Array(Id, { minItems: 1, maxItems: 10_000 }), quantity: Units },
  closed,
);
export type ComboBlock = Static<typeof ComboBlockSchema>;

/** Where a product set's products come from (seed 002). */
export const ProductSourceSchema = Type.Union([
  Type.Object({ kind: Type.Literal("scope"), scope: ProductScopeSchema }, closed),
  /** The customer's own chosen products for this promotion, given in the customer context. */
  Type.Object(
    {
      kind: Type.Literal("personal_list"),
      maxDistinct: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
      lockAfterFirstApply: Type.Boolean(),
      /** Applies when the customer has chosen nothing. */
      defaultSku: Type.Optional(Id),
    },
    closed,
  ),
]);
export type ProductSource = Static<typeof ProductSourceSchema>;

export const ProductSetSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 50 }),
    products: ProductSourceSchema,
    /** Units of this set the cart must hold. */
    requiredQuantity: Units,
    /** Present when this set gets the discount: how many of its units do (cheapest first). */
    discountedUnits: Type.Optional(Units),
  },
  closed,
);
export type ProductSet = Static<typeof ProductSetSchema>;

export const ProductTargetSchema = Type.Union([
  /** "Selected in condition": the units counted by the line conditions. */
  Type.Object({ kind: Type.Literal("selected_in_condition") }, closed),
  /** "Over and above", single SKU. Units that triggered a condition are never the benefit's units. */
  Type.Object({ kind: Type.Literal("sku"), sku: Id, quantity: QuantityModeSchema }, closed),
  /** "Over and above", brand / category / attribute selector. */
  Type.Object(
    { kind: Type.Literal("selector"), scope: ProductScopeSchema, quantity: QuantityModeSchema },
    closed,
  ),
  /** "Over and above", multiple SKUs: all blocks must be present, each with its quantity. */
  Type.Object(
    { kind: Type.Literal("combo"), blocks: Type.Array(ComboBlockSchema, { minItems: 2, maxItems: 10 }) },
    closed,
  ),
  /** Seed 002 product sets, one of which may be the customer's personal list. */
  Type.Object(
    { kind: Type.Literal("product_sets"), sets: Type.Array(ProductSetSchema, { minItems: 1, maxItems: 10 }) },
    closed,
  ),
]);
export type ProductTarget = Static<typeof ProductTargetSchema>;

/** "Apply benefit on each unit": one benefit instance for every `per` units (or minor units of spend). */
export const RepeatSchema = Type.Object(
  {
    per: Type.Integer({ minimum: 1, maximum: MINOR_MAX }),
    kpi: Type.Union([Type.Literal("quantity"), Type.Literal("amount")]),
  },
  closed,
);
export type Repeat = Static<typeof RepeatSchema>;

export const UnitOrderSchema = Type.Union([
  Type.Literal("cheapest_first"),
  Type.Literal("most_expensive_first"),
]);
export type UnitOrder = Static<typeof UnitOrderSchema>;

export const BenefitSchema = Type.Union([
  Type.Object(
    { kind: Type.Literal("cart"), value: CartValueSchema, repeat: Type.Optional(RepeatSchema) },
    closed,
  ),
  /** Like cart, for customers paying with the mode of the payment_mode condition; capped at what that tender pays. */
  Type.Object(
    { kind: Type.Literal("payment_mode"), value: CartValueSchema, repeat: Type.Optional(RepeatSchema) },
    closed,
  ),
  Type.Object(
    {
      kind: Type.Literal("products"),
      target: ProductTargetSchema,
      value: ProductValueSchema,
      repeat: Type.Optional(RepeatSchema),
      /** Which units a benefit takes when fewer than all qualify. Default cheapest_first. */
      unitOrder: Type.Optional(UnitOrderSchema),
    },
    closed,
  ),
]);
export type Benefit = Static<typeof BenefitSchema>;
export type ProductBenefit = Extract<Benefit, { kind: "products" }>;

// ---- Schedule (seed 004 steps 1 and 5.1), evaluated in the workspace time zone.
export const RecurrenceSchema = Type.Union([
  Type.Object(
    {
      kind: Type.Literal("days_of_week"),
      /** ISO weekdays: 1 Monday … 7 Sunday */
      days: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), { minItems: 1, maxItems: 7 }),
    },
    closed,
  ),
  Type.Object(
    {
      kind: Type.Literal("dates_of_month"),
      dates: Type.Array(Type.Integer({ minimum: 1, maximum: 31 }), { minItems: 1, maxItems: 31 }),
    },
    closed,
  ),
]);
export type Recurrence = Static<typeof RecurrenceSchema>;

export const DailyWindowSchema = Type.Object(
  {
    /** Local wall-clock time, HH:mm */
    startTime: Type.String({ pattern: "^([01][0-9]|2[0-3]):[0-5][0-9]$" }),
    /** Elapsed hours from the start (a DST night does not stretch or shrink them). */
    durationHours: Type.Integer({ minimum: 1, maximum: 24 }),
  },
  closed,
);
export type DailyWindow = Static<typeof DailyWindowSchema>;

export const ScheduleSchema = Type.Object(
  {
    /** The promotion is live in [startsAt, endsAt). */
    startsAt: Instant,
    endsAt: Type.Optional(Instant),
    recurrence: Type.Optional(RecurrenceSchema),
    dailyWindow: Type.Optional(DailyWindowSchema),
  },
  closed,
);
export type Schedule = Static<typeof ScheduleSchema>;

export const ScopeSchema = Type.Object(
  {
    conceptIds: Type.Optional(Type.Array(Id, { maxItems: 10_000 })),
    storeIds: Type.Optional(Type.Array(Id, { maxItems: 10_000 })),
    zoneIds: Type.Optional(Type.Array(Id, { maxItems: 10_000 })),
    channels: Type.Optional(Type.Array(ChannelSchema, { maxItems: 3 })),
  },
  closed,
);
export type Scope = Static<typeof ScopeSchema>;

export const EligibilitySchema = Type.Union([
  Type.Object({ kind: Type.Literal("all") }, closed),
  /** Members of a loyalty program (any program when programId is absent). */
  Type.Object({ kind: Type.Literal("members"), programId: Type.Optional(Id) }, closed),
  Type.Object(
    { kind: Type.Literal("tiers"), programId: Id, tierIds: Type.Array(Id, { minItems: 1, maxItems: 50 }) },
    closed,
  ),
  Type.Object({ kind: Type.Literal("supplementary"), programId: Id, supplementaryId: Id }, closed),
  /** Customers in any of these segments (seed 000: the loyaltyCard segment). */
  Type.Object(
    { kind: Type.Literal("segments"), segmentIds: Type.Array(Id, { minItems: 1, maxItems: 50 }) },
    closed,
  ),
]);
export type Eligibility = Static<typeof EligibilitySchema>;

// ---- Limits (seed 004 steps 5.2 to 5.4).
export const LimitLevelSchema = Type.Union([
  Type.Literal("issual"),
  Type.Literal("code"),
  Type.Literal("earn"),
  Type.Literal("cart"),
  Type.Literal("customer"),
  Type.Literal("global"),
]);
export type LimitLevel = Static<typeof LimitLevelSchema>;

export const LimitMeasureSchema = Type.Union([
  /** benefit instances ("times the promotion is availed") */
  Type.Literal("times"),
  /** sales in which the promotion applied */
  Type.Literal("transactions"),
  /** discount given, in minor units */
  Type.Literal("discount"),
]);
export type LimitMeasure = Static<typeof LimitMeasureSchema>;

export const LimitWindowSchema = Type.Union([
  Type.Object({ kind: Type.Literal("lifetime") }, closed),
  /** Fixed cycles: resets at the start of each cycle in the workspace time zone. */
  Type.Object(
    {
      kind: Type.Literal("fixed"),
      unit: Type.Union([Type.Literal("days"), Type.Literal("weeks"), Type.Literal("calendar_months")]),
      every: Type.Integer({ minimum: 1, maximum: 366 }),
    },
    closed,
  ),
  /** Rolling: what was consumed in the last N days or weeks. */
  Type.Object(
    {
      kind: Type.Literal("rolling"),
      unit: Type.Union([Type.Literal("days"), Type.Literal("weeks")]),
      last: Type.Integer({ minimum: 1, maximum: 366 }),
    },
    closed,
  ),
]);
export type LimitWindow = Static<typeof LimitWindowSchema>;

export const LimitRuleSchema = Type.Object(
  {
    level: LimitLevelSchema,
    measure: LimitMeasureSchema,
    max: Type.Integer({ minimum: 1, maximum: MINOR_MAX }),
    window: LimitWindowSchema,
  },
  closed,
);
export type LimitRule = Static<typeof LimitRuleSchema>;

// ---- Stacking (seed 004 step 8).
export const StackingSchema = Type.Object(
  {
    /** Cart benefits only: when this promotion applies, nothing else applies to the cart. */
    exclusiveAtCartLevel: Type.Optional(Type.Boolean()),
    /** Product benefits only: each unit this promotion discounts takes no other discount. */
    exclusiveForProducts: Type.Optional(Type.Boolean()),
  },
  closed,
);
export type Stacking = Static<typeof StackingSchema>;

// ---- Earning, expiry and communication (seed 004 steps 2, 5.5, 7). The engine does not read them;
// they are validated here so a promotion is whole, and the lifecycle services act on them.
export const EarningSchema = Type.Union([
  Type.Object(
    {
      kind: Type.Literal("single_activity"),
      activity: Type.Union([
        Type.Literal("transaction"),
        Type.Literal("registration"),
        Type.Literal("profile_update"),
      ]),
      scope: Type.Optional(ScopeSchema),
      maxEarningsPerCustomer: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
      earningWindowDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3_660 })),
    },
    closed,
  ),
  Type.Object(
    {
      kind: Type.Literal("activity_milestone"),
      metric: Type.Union([Type.Literal("transaction_count"), Type.Literal("transaction_value")]),
      target: Type.Integer({ minimum: 1, maximum: MINOR_MAX }),
      maxEarningsPerCustomer: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    },
    closed,
  ),
  Type.Object(
    {
      kind: Type.Literal("direct_trigger"),
      pointsCost: Type.Optional(Type.Integer({ minimum: 1, maximum: MINOR_MAX })),
      maxEarningsPerCustomer: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    },
    closed,
  ),
]);
export type Earning = Static<typeof EarningSchema>;

export const ExpirySchema = Type.Union([
  Type.Object({ kind: Type.Literal("with_promotion") }, closed),
  Type.Object(
    { kind: Type.Literal("days_from_earning"), days: Type.Integer({ minimum: 1, maximum: 3_660 }) },
    closed,
  ),
  Type.Object(
    { kind: Type.Literal("days_from_issuance"), days: Type.Integer({ minimum: 1, maximum: 3_660 }) },
    closed,
  ),
]);
export type Expiry = Static<typeof ExpirySchema>;

const MessageChannels = Type.Array(
  Type.Union([Type.Literal("sms"), Type.Literal("email"), Type.Literal("wechat"), Type.Literal("push")]),
  { minItems: 1, maxItems: 4 },
);
const Creative = Type.Object(
  {
    channels: MessageChannels,
    strategy: Type.Union([
      Type.Literal("broadcast"),
      Type.Literal("channel_priority"),
      Type.Literal("personalisation"),
    ]),
    maxMessagesPerDay: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    sendToDoNotDisturb: Type.Optional(Type.Boolean()),
  },
  closed,
);
export const CommunicationSchema = Type.Object(
  {
    onEarning: Type.Optional(Creative),
    expiryReminder: Type.Optional(
      Type.Object(
        {
          daysBefore: Type.Integer({ minimum: 1, maximum: 365 }),
          channels: MessageChannels,
          strategy: Creative.properties.strategy,
          maxMessagesPerDay: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
          sendToDoNotDisturb: Type.Optional(Type.Boolean()),
        },
        closed,
      ),
    ),
  },
  closed,
);
export type Communication = Static<typeof CommunicationSchema>;

// ---- Returns.
export const ReturnPolicySchema = Type.Object(
  {
    /** false: a return reverses the discount but the limits stay consumed (default true). */
    restoreLimits: Type.Optional(Type.Boolean()),
  },
  closed,
);
export type ReturnPolicy = Static<typeof ReturnPolicySchema>;

// ---- The promotion.
export const PromotionSchema = Type.Object(
  {
    id: Id,
    /** Unique in the workspace (the store checks); at most 50 user-perceived characters. */
    name: Type.String({ minLength: 1, maxLength: 400 }),
    description: Type.Optional(Type.String({ maxLength: 2_000 })),
    externalId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    headline: Type.Optional(Type.String({ maxLength: 200 })),
    imageUrl: Type.Optional(Type.String({ maxLength: 2_000 })),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 50 }), { maxItems: 50 })),
    /** Higher applies first; ties are broken by id so load order never matters. */
    priority: Type.Optional(Type.Integer({ minimum: -1_000_000, maximum: 1_000_000 })),
    customFields: Type.Optional(
      Type.Record(
        Type.String({ maxLength: 100 }),
        Type.Union([Type.String({ maxLength: 1_000 }), Type.Number()]),
      ),
    ),
    type: PromotionTypeSchema,
    /** Issued deactivated; applies only once the customer activates it (loyalty, loyalty_earning, rewards). */
    activationRequired: Type.Optional(Type.Boolean()),
    schedule: ScheduleSchema,
    scope: Type.Optional(ScopeSchema),
    eligibility: Type.Optional(EligibilitySchema),
    earning: Type.Optional(EarningSchema),
    conditions: Type.Array(ConditionSchema, { maxItems: 50 }),
    benefit: BenefitSchema,
    limits: Type.Optional(Type.Array(LimitRuleSchema, { maxItems: 50 })),
    expiry: Type.Optional(ExpirySchema),
    communication: Type.Optional(CommunicationSchema),
    stacking: Type.Optional(StackingSchema),
    /** What a return does to this promotion's limits; by default it gives back what the sale consumed. */
    returns: Type.Optional(ReturnPolicySchema),
  },
  closed,
);
export type Promotion = Static<typeof PromotionSchema>;

/** The stable key of a limit rule; unique within a promotion because duplicates are refused. */
export function limitRuleKey(rule: LimitRule): string {
  const w = rule.window;
  const window =
    w.kind === "lifetime"
      ? "lifetime"
      : w.kind === "fixed"
        ? `fixed_${w.every}_${w.unit}`
        : `rolling_${w.last}_${w.unit}`;
  return `${rule.level}:${rule.measure}:${window}`;
}
