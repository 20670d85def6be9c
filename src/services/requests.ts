// The wire format of what tills, web shops and apps send to price and commit a basket. The server
// fills in catalog facts and prices; a client sends only what it knows: SKUs, quantities, who, where.
import Type, { type Static } from "typebox";
import { TenderSchema } from "../domain/basket.js";
import { MINOR_MAX } from "../domain/money.js";
import { ChannelSchema } from "../domain/promotion.js";

const closed = { additionalProperties: false } as const;
const Id = Type.String({ minLength: 1, maxLength: 100 });

export const RequestLineSchema = Type.Object(
  {
    /** Unique in the basket; discounts and returns refer to it. */
    id: Id,
    sku: Id,
    quantity: Type.Integer({ minimum: 1, maximum: 100_000 }),
    /** Only a key that may set prices (a till's shelf price) may send a price other than the catalog's. */
    unitPriceMinor: Type.Optional(Type.Integer({ minimum: 0, maximum: MINOR_MAX })),
  },
  closed,
);

const basketProperties = {
  customerId: Type.Optional(Id),
  /**
   * Seed 001: a shopper known only by the hash of their payment card. Without customerId, the sale is
   * credited to the card's profile (created on the first sale) and priced with it; a quote uses the
   * profile only if it exists.
   */
  cardHash: Type.Optional(Type.String({ pattern: "^[0-9a-fA-F]{32,128}$" })),
  lines: Type.Array(RequestLineSchema, { minItems: 1, maxItems: 1_000 }),
  tenders: Type.Optional(Type.Array(TenderSchema, { maxItems: 20 })),
  giftVouchers: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 20 })),
  /** Promotion codes presented at the till or typed in the web checkout. */
  codes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 20 })),
  storeId: Type.Optional(Id),
  channel: Type.Optional(ChannelSchema),
};

export const BasketRequestSchema = Type.Object(basketProperties, closed);
export type BasketRequest = Static<typeof BasketRequestSchema>;

export const SaleRequestSchema = Type.Object(
  {
    /** The caller's id for this sale: a retry with the same id answers the first receipt. */
    transactionId: Type.String({ minLength: 1, maxLength: 200 }),
    ...basketProperties,
  },
  closed,
);
export type SaleRequest = Static<typeof SaleRequestSchema>;

export const ReturnRequestSchema = Type.Object(
  {
    /** The caller's id for this return: a retry with the same id answers the first result. */
    returnId: Type.String({ minLength: 1, maxLength: 200 }),
    /** The sale, by the caller's transaction id. */
    transactionId: Type.String({ minLength: 1, maxLength: 200 }),
    /** Absent: the whole sale (what is left of it). */
    lines: Type.Optional(
      Type.Array(
        Type.Object({ lineId: Id, quantity: Type.Integer({ minimum: 1, maximum: 100_000 }) }, closed),
        { minItems: 1, maxItems: 1_000 },
      ),
    ),
  },
  closed,
);
export type ReturnRequest = Static<typeof ReturnRequestSchema>;
