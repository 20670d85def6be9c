// The engine's input and output. The output is a receipt plus its explanation: what each line costs
// after which promotion, what each applied promotion consumes of its limits, and for every promotion
// that did not apply, why, in a stable code.
import type { Basket, CustomerContext, WorkspaceSettings } from "../domain/basket.js";

export interface EvaluationInput {
  readonly basket: Basket;
  readonly customer?: CustomerContext;
  readonly settings: WorkspaceSettings;
  /** The instant of the sale (ISO 8601 or epoch milliseconds); the engine never reads the clock. */
  readonly at: string | number;
  /** Explain every promotion in the set, not only those touching the basket (slower; for tools). */
  readonly explainAll?: boolean;
}

export interface LineDiscount {
  readonly promotionId: string;
  readonly amountMinor: number;
  /** Units of the line this promotion's benefit took (0 for a cart benefit spread over the line). */
  readonly units: number;
}

export interface PricedLine {
  readonly lineId: string;
  readonly sku: string;
  readonly quantity: number;
  readonly unitPriceMinor: number;
  readonly grossMinor: number;
  readonly discounts: readonly LineDiscount[];
  readonly discountMinor: number;
  readonly netMinor: number;
}

export interface Consumption {
  /** limitRuleKey of the rule, e.g. "customer:times:lifetime" */
  readonly rule: string;
  readonly amount: number;
}

export interface AppliedPromotion {
  readonly promotionId: string;
  readonly name: string;
  readonly discountMinor: number;
  /** Benefit instances given ("times"): 1, or more with "apply benefit on each unit". */
  readonly instances: number;
  /** Units discounted by a product benefit (0 for cart and payment-mode benefits). */
  readonly units: number;
  /** What the sale consumes of each limit rule other than cart rules. */
  readonly consumption: readonly Consumption[];
  /** Set when a limit cut the benefit short: the rule that did. */
  readonly cappedBy?: string;
}

export type RejectionCode =
  | "not_started"
  | "ended"
  | "outside_recurrence"
  | "outside_daily_window"
  | "store_not_in_scope"
  | "channel_not_in_scope"
  | "not_eligible"
  | "not_in_wallet"
  | "not_activated"
  | "wallet_entry_expired"
  | "code_required"
  | "condition_not_met"
  | "no_matching_items"
  | "combo_incomplete"
  | "product_set_incomplete"
  | "limit_reached"
  | "no_discount"
  | "units_taken"
  | "excluded_by_exclusive";

export interface Shortfall {
  readonly kind: "amount" | "quantity" | "distinct_skus";
  /** How much more the basket needs: minor units for amount, units or SKUs otherwise. */
  readonly missing: number;
}

export interface Rejection {
  readonly promotionId: string;
  readonly name: string;
  readonly code: RejectionCode;
  readonly message: string;
  /** Index of the failed condition, for condition_not_met. */
  readonly conditionIndex?: number;
  readonly shortfall?: Shortfall;
  /** The limit rule, for limit_reached. */
  readonly rule?: string;
  /** The promotion that won, for excluded_by_exclusive and units_taken. */
  readonly by?: string;
}

export interface Evaluation {
  readonly currency: string;
  readonly lines: readonly PricedLine[];
  readonly totals: { readonly grossMinor: number; readonly discountMinor: number; readonly netMinor: number };
  readonly applied: readonly AppliedPromotion[];
  readonly rejected: readonly Rejection[];
  /** How the best combination of conflicting exclusive promotions was found. */
  readonly search: { readonly combinationsTried: number; readonly exhaustive: boolean };
}
