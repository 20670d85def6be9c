// The gates a looked-at promotion passes before it may discount anything, in the documented order:
// schedule, store and channel scope, eligibility, type (wallet, activation, code), conditions, benefit
// target, limits. A promotion that passes them all becomes a Plan; the first gate it fails is its
// rejection, as a value with a stable code.
import type { Comparator, Condition, Eligibility } from "../domain/promotion.js";
import type { CompiledCondition, CompiledPromotion } from "./compile.js";
import type { EvalContext } from "./context.js";
import { REFUSED, refusal } from "./explain.js";
import { assertNever } from "./scope.js";
import type { RejectionCode, Shortfall } from "./types.js";

export interface Refusal {
  readonly code: RejectionCode;
  readonly conditionIndex?: number;
  readonly shortfall?: Shortfall;
  readonly rule?: string;
  /** Free detail for the message: the missing combo block, the incomplete product set. */
  readonly detail?: string;
  /** The message, when written once for refusals shared between promotions (see REFUSED). */
  readonly message?: string;
}

/**
 * Whether a step's answer is a refusal rather than its result (a plan, groups, caps). A property
 * read, not `"code" in answer`: `in` on an answer without the property searches its prototype
 * chain each time, and ran for every looked-at promotion.
 */
export function isRefusal<T extends object>(answer: T | Refusal): answer is Refusal {
  return typeof (answer as { code?: unknown }).code === "string";
}

/** Limits as they bear on this sale. */
export interface Caps {
  readonly times: number;
  readonly timesRule: string | undefined;
  readonly discount: number;
  readonly discountRule: string | undefined;
}

export function checkGates(p: CompiledPromotion, ctx: EvalContext): Refusal | null {
  const scheduleRefusal = ctx.clock.check(p);
  if (scheduleRefusal !== null) return REFUSED[scheduleRefusal];
  if (p.audienceGated) {
    const refusal = checkAudience(p, ctx);
    if (refusal !== null) return refusal;
  }
  for (let i = 0; i < p.conditions.length; i++) {
    const c = p.conditions[i]!;
    const shortfall = checkCondition(c, ctx);
    if (shortfall !== true)
      return refusal(
        "condition_not_met",
        shortfall ? { conditionIndex: i, shortfall } : { conditionIndex: i },
      );
  }
  return null;
}

/** The gates between the schedule and the conditions: store and channel, eligibility, type. */
function checkAudience(p: CompiledPromotion, ctx: EvalContext): Refusal | null {
  if (!inStoreScope(p, ctx)) return REFUSED.store_not_in_scope;
  if (p.channels !== null && !p.channels.has(ctx.channel)) return REFUSED.channel_not_in_scope;
  if (!isEligible(p.eligibility, ctx)) return REFUSED.not_eligible;
  if (p.needsCustomer && ctx.customer.customerId === undefined)
    return refusal("not_eligible", { detail: "customer_limit" });
  return checkType(p, ctx);
}

function inStoreScope(p: CompiledPromotion, ctx: EvalContext): boolean {
  if (p.stores === null && p.concepts === null && p.zones === null) return true;
  const basket = ctx.input.basket;
  if (p.stores !== null && basket.storeId !== undefined && p.stores.has(basket.storeId)) return true;
  if (p.concepts !== null && basket.conceptId !== undefined && p.concepts.has(basket.conceptId)) return true;
  if (p.zones !== null && basket.zoneIds?.some((z) => p.zones!.has(z))) return true;
  return false;
}

function isEligible(eligibility: Eligibility, ctx: EvalContext): boolean {
  // Loops rather than `some` with a closure: this runs for every looked-at promotion.
  const memberships = ctx.customer.memberships;
  switch (eligibility.kind) {
    case "all":
      return true;
    case "members":
      for (const m of memberships)
        if (eligibility.programId === undefined || m.programId === eligibility.programId) return true;
      return false;
    case "tiers":
      for (const m of memberships) {
        if (m.programId !== eligibility.programId || m.tierId === undefined) continue;
        if (eligibility.tierIds.includes(m.tierId)) return true;
      }
      return false;
    case "supplementary":
      for (const m of memberships) {
        if (m.programId !== eligibility.programId) continue;
        if ((m.supplementaryIds ?? []).includes(eligibility.supplementaryId)) return true;
      }
      return false;
    case "segments":
      for (const s of eligibility.segmentIds) if (ctx.customer.segments.has(s)) return true;
      return false;
    default:
      return assertNever(eligibility);
  }
}

function checkType(p: CompiledPromotion, ctx: EvalContext): Refusal | null {
  if (p.needsCode && !ctx.customer.hasCode(p.id)) return REFUSED.code_required;
  if (!p.needsWallet) return null;
  const entries = ctx.customer.walletEntries(p.id);
  if (entries.length === 0) return REFUSED.not_in_wallet;
  const atMs = ctx.clock.atMs;
  const live = entries.filter((e) => e.expiresAt === undefined || Date.parse(e.expiresAt) > atMs);
  if (live.length === 0) return REFUSED.wallet_entry_expired;
  if (p.needsActivation && !live.some((e) => e.state === "active")) return REFUSED.not_activated;
  return null;
}

/** true when the condition holds; otherwise the shortfall, or null when "more" would not help. */
function checkCondition(c: CompiledCondition, ctx: EvalContext): true | Shortfall | null {
  switch (c.kind) {
    case "cart_amount":
      return compare(ctx.basket.gross, c.op, c.threshold, "amount");
    case "item_count":
      return c.byUnits
        ? compare(ctx.basket.units, c.op, c.threshold, "quantity")
        : compare(ctx.distinctSkus, c.op, c.threshold, "distinct_skus");
    case "line_amount":
      return compare(ctx.match(c.scopeId).gross, c.op, c.threshold, "amount");
    case "line_quantity":
      return compare(ctx.match(c.scopeId).units, c.op, c.threshold, "quantity");
    case "payment_mode":
    case "gift_voucher":
      return checkPayment(c.def, ctx);
    default:
      return assertNever(c.kind);
  }
}

/** The conditions on how the basket is paid: they hold or not, "more" never helps. */
function checkPayment(c: Condition, ctx: EvalContext): true | null {
  switch (c.kind) {
    case "payment_mode":
      return ctx.tenders.some((t) => tenderMatches(c, t.mode, t.identifier)) ? true : null;
    case "gift_voucher":
      return ctx.vouchers.has(c.code.toUpperCase()) ? true : null;
    default:
      throw new Error(`not a payment condition: ${c.kind}`);
  }
}

export function tenderMatches(
  c: Extract<Condition, { kind: "payment_mode" }>,
  mode: string,
  identifier: string | undefined,
): boolean {
  if (mode.toLowerCase() !== c.mode.toLowerCase()) return false;
  if (c.identifier === undefined) return true;
  const have = (identifier ?? "").toLowerCase();
  const want = c.identifier.value.toLowerCase();
  switch (c.identifier.op) {
    case "is":
      return have === want;
    case "starts_with":
      return have.startsWith(want);
    case "contains":
      return have.includes(want);
    default:
      return assertNever(c.identifier.op);
  }
}

function compare(
  measure: number,
  op: Comparator,
  threshold: number,
  kind: Shortfall["kind"],
): true | Shortfall | null {
  switch (op) {
    case "gte":
      return measure >= threshold ? true : { kind, missing: threshold - measure };
    case "gt":
      return measure > threshold ? true : { kind, missing: threshold - measure + 1 };
    case "eq":
      return measure === threshold
        ? true
        : measure < threshold
          ? { kind, missing: threshold - measure }
          : null;
    case "lte":
      return measure <= threshold ? true : null;
    case "lt":
      return measure < threshold ? true : null;
    default:
      return assertNever(op);
  }
}

/** The caps of a promotion without limit rules; shared, as they are the same for every basket. */
const UNCAPPED: Caps = Object.freeze({
  times: Infinity,
  timesRule: undefined,
  discount: Infinity,
  discountRule: undefined,
});

/** What the limits leave for this sale, or the rule that leaves nothing. */
export function checkLimits(p: CompiledPromotion, ctx: EvalContext): Caps | Refusal {
  if (p.shape.unlimited) return UNCAPPED;
  let times = p.cartTimesMax;
  let timesRule: string | undefined = Number.isFinite(times) ? "cart:times:lifetime" : undefined;
  let discount = p.cartDiscountMax;
  let discountRule: string | undefined = Number.isFinite(discount) ? "cart:discount:lifetime" : undefined;
  for (const rule of p.ledgerRules) {
    const left = ctx.customer.remaining(p.id, rule.key, rule.max);
    if (left <= 0) return refusal("limit_reached", { rule: rule.key });
    if (rule.measure === "times" && left < times) [times, timesRule] = [left, rule.key];
    if (rule.measure === "discount" && left < discount) [discount, discountRule] = [left, rule.key];
  }
  return { times, timesRule, discount, discountRule };
}
