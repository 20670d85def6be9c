// What the engine prices: a basket of lines with their catalog facts, where and how it is paid, and
// who the customer is. The server fills these from its catalog and ledger; the engine trusts them.
import Type, { type Static } from "typebox";
import { MINOR_MAX } from "./money.js";
import { ChannelSchema } from "./promotion.js";

const closed = { additionalProperties: false } as const;
const Id = Type.String({ minLength: 1, maxLength: 100 });
const Label = Type.String({ minLength: 1, maxLength: 200 });

export const BasketLineSchema = Type.Object(
  {
    /** Unique in the basket; discounts are reported per line id. */
    id: Id,
    sku: Id,
    quantity: Type.Integer({ minimum: 1, maximum: 100_000 }),
    unitPriceMinor: Type.Integer({ minimum: 0, maximum: MINOR_MAX }),
    categories: Type.Optional(Type.Array(Label, { maxItems: 50 })),
    brand: Type.Optional(Label),
    attributes: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 100 }), Label)),
  },
  closed,
);
export type BasketLine = Static<typeof BasketLineSchema>;

export const TenderSchema = Type.Object(
  {
    /** cash, card, points, wallet, … */
    mode: Type.String({ minLength: 1, maxLength: 50 }),
    /** The card product, wallet or program: "Capital One Card", "Loyalty Points". */
    identifier: Type.Optional(Type.String({ maxLength: 200 })),
    /** What this tender pays; absent means it may pay the whole basket. */
    amountMinor: Type.Optional(Type.Integer({ minimum: 0, maximum: MINOR_MAX })),
  },
  closed,
);
export type Tender = Static<typeof TenderSchema>;

export const BasketSchema = Type.Object(
  {
    lines: Type.Array(BasketLineSchema, { minItems: 1, maxItems: 1_000 }),
    tenders: Type.Optional(Type.Array(TenderSchema, { maxItems: 20 })),
    giftVouchers: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 20 })),
    storeId: Type.Optional(Id),
    conceptId: Type.Optional(Id),
    zoneIds: Type.Optional(Type.Array(Id, { maxItems: 50 })),
    channel: Type.Optional(ChannelSchema),
  },
  closed,
);
export type Basket = Static<typeof BasketSchema>;

export const WalletEntrySchema = Type.Object(
  {
    promotionId: Id,
    /** issued: held but not activated; active: usable. Redeemed, expired and revoked entries are not sent. */
    state: Type.Union([Type.Literal("issued"), Type.Literal("active")]),
    /** The instant the entry stops applying (exclusive). */
    expiresAt: Type.Optional(Type.String({ format: "date-time" })),
  },
  closed,
);
export type WalletEntry = Static<typeof WalletEntrySchema>;

export const MembershipSchema = Type.Object(
  {
    programId: Id,
    tierId: Type.Optional(Id),
    supplementaryIds: Type.Optional(Type.Array(Id, { maxItems: 50 })),
  },
  closed,
);
export type Membership = Static<typeof MembershipSchema>;

/** Capacity left under one limit rule, as the ledger computed it for this customer, code and instant. */
export const CapacitySchema = Type.Object(
  {
    promotionId: Id,
    /** limitRuleKey(rule), e.g. "customer:times:lifetime" */
    rule: Type.String({ minLength: 1, maxLength: 200 }),
    remaining: Type.Integer({ minimum: 0, maximum: MINOR_MAX }),
  },
  closed,
);
export type Capacity = Static<typeof CapacitySchema>;

export const CustomerContextSchema = Type.Object(
  {
    customerId: Type.Optional(Id),
    memberships: Type.Optional(Type.Array(MembershipSchema, { maxItems: 20 })),
    segmentIds: Type.Optional(Type.Array(Id, { maxItems: 1_000 })),
    wallet: Type.Optional(Type.Array(WalletEntrySchema, { maxItems: 10_000 })),
    /** Codes presented at the till, already resolved to their promotion by the server. */
    codes: Type.Optional(Type.Array(Type.Object({ promotionId: Id, code: Id }, closed), { maxItems: 20 })),
    /** Seed 002: the products the customer chose per personalized promotion. */
    productChoices: Type.Optional(
      Type.Array(Type.Object({ promotionId: Id, skus: Type.Array(Id, { maxItems: 1_000 }) }, closed), {
        maxItems: 1_000,
      }),
    ),
    /** Remaining capacity per promotion and rule; a rule with no entry here is unused (full). */
    capacity: Type.Optional(Type.Array(CapacitySchema, { maxItems: 100_000 })),
  },
  closed,
);
export type CustomerContext = Static<typeof CustomerContextSchema>;

/** Workspace settings the engine needs. */
export const WorkspaceSettingsSchema = Type.Object(
  {
    currency: Type.String({ pattern: "^[A-Z]{3}$" }),
    timeZone: Type.String({ minLength: 1, maxLength: 100 }),
    /** Organisation switches (seed 004 step 8). Off: at most one cart benefit per basket. */
    cartStacking: Type.Optional(Type.Boolean()),
    /** Off: each unit takes at most one product discount, as if every product promotion were exclusive. */
    productStacking: Type.Optional(Type.Boolean()),
  },
  closed,
);
export type WorkspaceSettings = Static<typeof WorkspaceSettingsSchema>;
