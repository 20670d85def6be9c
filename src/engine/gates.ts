// The gates a looked-at promotion passes before it may discount anything, in the documented order:
// schedule, store and channel scope, eligibility, type (wallet, activation, code), conditions, benefit
// target, limits. A promotion that passes them all becomes a Plan; the first gate it fails is its
// rejection, as a value with a stable code.
import type { Comparator, Condition, Eligibility } from "../domain/promotion.js";
import type { CompiledPromotion } from "./compile.js";
import type { EvalContext } from "./context.js";
import { assertNever } from "./scope.js";
import type { RejectionCode, Shortfall } from "./types.js";

export interface Refusal {
  readonly code: RejectionCode;
  readonly conditionIndex?: number;
  readonly shortfall?: Shortfall;
  readonly rule?: string;
  /** Free detail for the message: the missing combo block, the incomplete product set. */
  readonly detail?: string;
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
  if (scheduleRefusal !== null) return { code: scheduleRefusal };
  if (!inStoreScope(p, ctx)) return { code: "store_not_in_scope" };
  if (p.channels !== null && !p.channels.has(ctx.channel)) return { code: "channel_not_in_scope" };
  if (!isEligible(p.eligibility, ctx)) return { code: "not_eligible" };
  if (p.needsCustomer && ctx.customer.customerId === undefined)
    return { code: "not_eligible", detail: "customer_limit" };
  const typeRefusal = checkType(p, ctx);
  if (typeRefusal !== null) return typeRefusal;
  for (let i = 0; i < p.conditions.length; i++) {
    const c = p.conditions[i]!;
    const shortfall = checkCondition(c.def, c.scopeId, ctx);
    if (shortfall !== true)
      return { code: "condition_not_met", conditionIndex: i, ...(shortfall ? { shortfall } : {}) };
  }
  return null;
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
  const memberships = ctx.customer.memberships;
  switch (eligibility.kind) {
    case "all":
      return true;
    case "members":
      return memberships.some(
        (m) => eligibility.programId === undefined || m.programId === eligibility.programId,
      );
    case "tiers":
      return memberships.some(
        (m) =>
          m.programId === eligibility.programId &&
          m.tierId !== undefined &&
          eligibility.tierIds.includes(m.tierId),
      );
    case "supplementary":
      return memberships.some(
        (m) =>
          m.programId === eligibility.programId &&
          (m.supplementaryIds ?? []).includes(eligibility.supplementaryId),
      );
    case "segments":
      return eligibility.segmentIds.some((s) => ctx.customer.segments.has(s));
    default:
      return assertNever(eligibility);
  }
}

function checkType(p: CompiledPromotion, ctx: EvalContext): Refusal | null {
  if (p.needsCode && !ctx.customer.hasCode(p.id)) return { code: "code_required" };
  if (!p.needsWallet) return null;
  const entries = ctx.customer.walletEntries(p.id);
  if (entries.length === 0) return { code: "not_in_wallet" };
  const atMs = ctx.clock.atMs;
  const live = entries.filter((e) => e.expiresAt === undefined || Date.parse(e.expiresAt) > atMs);
  if (live.length === 0) return { code: "wallet_entry_expired" };
  if (p.needsActivation && !live.some((e) => e.state === "active")) return { code: "not_activated" };
  return null;
}

/** true when the condition holds; otherwise the shortfall, or null when "more" would not help. */
function checkCondition(c: Condition, scopeId: number, ctx: EvalContext): true | Shortfall | null {
  switch (c.kind) {
    case "cart_amount":
      return compare(ctx.basket.gross, c.op, c.amountMinor, "amount");
    case "item_count":
      return c.counting === "units"
        ? compare(ctx.basket.units, c.op, c.count, "quantity")
        : compare(ctx.distinctSkus, c.op, c.count, "distinct_skus");
    case "line_amount":
      return compare(ctx.match(scopeId).gross, c.op, c.amountMinor, "amount");
    case "line_quantity":
      return compare(ctx.match(scopeId).units, c.op, c.quantity, "quantity");
    case "payment_mode":
      return ctx.tenders.some((t) => tenderMatches(c, t.mode, t.identifier)) ? true : null;
    case "gift_voucher":
      return ctx.vouchers.has(c.code.toUpperCase()) ? true : null;
    default:
      return assertNever(c);
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

/** What the limits leave for this sale, or the rule that leaves nothing. */
export function checkLimits(p: CompiledPromotion, ctx: EvalContext): Caps | Refusal {
  let times = p.cartTimesMax;
  let timesRule: string | undefined = Number.isFinite(times) ? "cart:times:lifetime" : undefined;
  let discount = p.cartDiscountMax;
  let discountRule: string | undefined = Number.isFinite(discount) ? "cart:discount:lifetime" : undefined;
  for (const rule of p.ledgerRules) {
    const left = ctx.customer.remaining(p.id, rule.key, rule.max);
    if (left <= 0) return { code: "limit_reached", rule: rule.key };
    if (rule.measure === "times" && left < times) [times, timesRule] = [left, rule.key];
    if (rule.measure === "discount" && left < discount) [discount, discountRule] = [left, rule.key];
  }
  return { times, timesRule, discount, discountRule };
}
