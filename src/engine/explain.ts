// Sentences for rejections. The code is the contract; the message is for a person at a till or in the
// admin app, and names how far the basket is from qualifying when that is known.
import { formatMinor } from "../domain/money.js";
import type { Condition } from "../domain/promotion.js";
import type { Refusal } from "./gates.js";
import type { RejectionCode, Shortfall } from "./types.js";

const FIXED: Record<RejectionCode, string> = {
  not_started: "The promotion has not started yet.",
  ended: "The promotion has ended.",
  outside_recurrence: "The promotion does not run on this day.",
  outside_daily_window: "The promotion does not run at this time of day.",
  store_not_in_scope: "The promotion does not run in this store.",
  channel_not_in_scope: "The promotion does not run on this channel.",
  not_eligible: "The customer is not in the promotion's audience.",
  not_in_wallet: "The customer has not been issued or has not earned this promotion.",
  not_activated: "The customer has not activated this promotion yet.",
  wallet_entry_expired: "The customer's copy of this promotion has expired.",
  code_required: "The promotion needs its code.",
  condition_not_met: "The basket does not meet the promotion's conditions.",
  no_matching_items: "The basket holds none of the products the promotion discounts.",
  combo_incomplete: "The basket does not hold the whole combo.",
  product_set_incomplete: "The basket does not hold every product set the promotion needs.",
  limit_reached: "The promotion's limit is used up.",
  no_discount: "The promotion would take nothing off this basket.",
  units_taken: "Its products already carry an exclusive or better discount.",
  excluded_by_exclusive: "A better combination of exclusive promotions applied instead.",
};

/**
 * A refusal, always in one object shape (every field present, those unused undefined): a basket
 * explains a hundred promotions or more, and reading refusals of many shapes was slow.
 */
export function refusal(code: RejectionCode, fields: Omit<Refusal, "code"> = {}): Refusal {
  const { conditionIndex, shortfall, rule, detail, message } = fields;
  return { code, conditionIndex, shortfall, rule, detail, message };
}

/**
 * One shared refusal per code for the refusals that carry nothing else (most of them), with the
 * message already written.
 */
export const REFUSED = Object.fromEntries(
  Object.entries(FIXED).map(([code, message]) => [
    code,
    Object.freeze(refusal(code as RejectionCode, { message })),
  ]),
) as { readonly [C in RejectionCode]: Refusal & { readonly code: C } };

export function rejectionMessage(
  refusal: Refusal,
  currency: string,
  conditions: readonly Condition[],
): string {
  const { code, shortfall, detail } = refusal;
  if (code === "condition_not_met" && shortfall) {
    const condition = refusal.conditionIndex === undefined ? undefined : conditions[refusal.conditionIndex];
    return `${shortfallText(shortfall, currency)} to qualify${condition ? ` (${conditionText(condition, currency)})` : ""}.`;
  }
  if (code === "condition_not_met" && refusal.conditionIndex !== undefined) {
    const condition = conditions[refusal.conditionIndex];
    return condition ? `Condition not met: ${conditionText(condition, currency)}.` : FIXED[code];
  }
  if (code === "limit_reached" && refusal.rule) return `The limit ${refusal.rule} is used up.`;
  // For the stacking codes the detail is the winning promotion's id.
  if (code === "units_taken" && detail) return `Its products were already discounted by ${detail}.`;
  if (code === "excluded_by_exclusive" && detail)
    return `Left out: the combination with ${detail} gives the customer more.`;
  if (code === "not_eligible" && detail === "customer_limit") {
    return "The promotion has a per-customer limit, so it needs an identified customer.";
  }
  if (detail) return `${FIXED[code].slice(0, -1)}: ${detail}.`;
  return FIXED[code];
}

function shortfallText(shortfall: Shortfall, currency: string): string {
  switch (shortfall.kind) {
    case "amount":
      return `Add ${formatMinor(shortfall.missing, currency)}`;
    case "quantity":
      return `Add ${shortfall.missing} more item${shortfall.missing === 1 ? "" : "s"}`;
    case "distinct_skus":
      return `Add ${shortfall.missing} more different product${shortfall.missing === 1 ? "" : "s"}`;
  }
}

const OPS = { gte: "at least", gt: "more than", eq: "exactly", lte: "at most", lt: "less than" } as const;

function conditionText(c: Condition, currency: string): string {
  const money = (amount: number): string => `${formatMinor(amount, currency)} ${currency}`;
  switch (c.kind) {
    case "cart_amount":
      return `cart amount ${OPS[c.op]} ${money(c.amountMinor)}`;
    case "item_count":
      return `${c.counting === "units" ? "units" : "different products"} ${OPS[c.op]} ${c.count}`;
    case "line_amount":
      return `spend on selected products ${OPS[c.op]} ${money(c.amountMinor)}`;
    case "line_quantity":
      return `units of selected products ${OPS[c.op]} ${c.quantity}`;
    case "payment_mode":
      return `pay by ${c.mode}${c.identifier ? ` (${c.identifier.value})` : ""}`;
    case "gift_voucher":
      return `gift voucher ${c.code}`;
  }
}
