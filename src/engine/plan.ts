// A Plan is a promotion that passed every gate, with what its benefit needs resolved against this
// basket: the lines it may take units from, how many instances it may give, and its limit caps.
import type { ProductBenefit } from "../domain/promotion.js";
import { INSTANCES_MAX, type CompiledPromotion } from "./compile.js";
import { newMatch, type EvalContext, type ScopeMatch } from "./context.js";
import { REFUSED, refusal } from "./explain.js";
import { checkLimits, isRefusal, tenderMatches, type Caps, type Refusal } from "./gates.js";

export interface Plan {
  readonly p: CompiledPromotion;
  readonly caps: Caps;
  /** Cart and payment-mode benefits; the rest are product benefits. */
  readonly isCart: boolean;
  /** Effective quantity-level exclusivity (the promotion's flag, or product stacking switched off). */
  readonly exclusive: boolean;
  readonly instancesMax: number;
  /** Union of the trigger scope's lines, or every line when the promotion has no line condition. */
  readonly triggerLines: readonly number[];
  /** Lines per benefit group: one group for trigger/scope targets, one per combo block or product set. */
  readonly groups: readonly (readonly number[])[];
  /** For payment-mode benefits: what the matching tenders pay (Infinity when unstated). */
  readonly tenderCap: number;
  /** `groups` in the order the benefit takes units; filled on first use. */
  ordered: (readonly number[])[] | null;
}

export function buildPlan(p: CompiledPromotion, ctx: EvalContext): Plan | Refusal {
  const trigger = triggerOf(p, ctx);
  const groups = groupsOf(p, ctx, trigger);
  if (isRefusal(groups)) return groups;
  const instancesMax = instancesOf(p, trigger);
  if (typeof instancesMax !== "number") return instancesMax;
  const caps = checkLimits(p, ctx);
  if (isRefusal(caps)) return caps;
  const isCart = p.isCart;
  return {
    p,
    caps,
    isCart,
    exclusive: !isCart && (p.exclusiveForProducts || ctx.input.settings.productStacking === false),
    instancesMax,
    triggerLines: trigger.lines,
    groups,
    tenderCap: p.shape.isPaymentMode ? tenderCapOf(p, ctx) : Infinity,
    ordered: null,
  };
}

function triggerOf(p: CompiledPromotion, ctx: EvalContext): ScopeMatch {
  if (p.triggerScopeIds.length === 0) return ctx.basket;
  if (p.triggerScopeIds.length === 1) return ctx.match(p.triggerScopeIds[0]!);
  const seen = new Set<number>();
  for (const id of p.triggerScopeIds) for (const line of ctx.match(id).lines) seen.add(line);
  const lines = [...seen].sort((a, b) => a - b);
  let units = 0;
  let gross = 0;
  for (const i of lines) {
    const line = ctx.lines[i]!;
    units += line.quantity;
    gross += line.quantity * line.price;
  }
  return newMatch(lines, units, gross);
}

function groupsOf(
  p: CompiledPromotion,
  ctx: EvalContext,
  trigger: ScopeMatch,
): readonly (readonly number[])[] | Refusal {
  const target = p.target;
  switch (target.kind) {
    case "cart":
      return [];
    case "trigger":
      return trigger.lines.length > 0 ? (trigger.asGroups ??= [trigger.lines]) : REFUSED.no_matching_items;
    case "scope": {
      const match = ctx.match(target.scopeId);
      return match.lines.length > 0 ? (match.asGroups ??= [match.lines]) : REFUSED.no_matching_items;
    }
    case "blocks": {
      const blocks = (p.benefit as ProductBenefit & { target: { kind: "combo" } }).target.blocks;
      for (let i = 0; i < blocks.length; i++) {
        const missing = blocks[i]!.quantity - ctx.match(target.scopeIds[i]!).units;
        if (missing > 0)
          return refusal("combo_incomplete", { detail: `block ${i + 1} needs ${missing} more unit(s)` });
      }
      return target.scopeIds.map((id) => ctx.match(id).lines);
    }
    case "sets":
      return setGroups(p, ctx, target.scopeIds);
    default: {
      const unreachable: never = target;
      throw new Error(`unhandled target ${JSON.stringify(unreachable)}`);
    }
  }
}

function setGroups(
  p: CompiledPromotion,
  ctx: EvalContext,
  scopeIds: readonly number[],
): number[][] | Refusal {
  const sets = (p.benefit as ProductBenefit & { target: { kind: "product_sets" } }).target.sets;
  const groups: number[][] = [];
  for (let i = 0; i < sets.length; i++) {
    const set = sets[i]!;
    const lines =
      set.products.kind === "scope" ? ctx.match(scopeIds[i]!).lines : personalLines(p, ctx, set.products);
    const units = lines.reduce((sum, l) => sum + ctx.lines[l]!.quantity, 0);
    if (units < set.requiredQuantity) {
      return refusal("product_set_incomplete", {
        detail: `${set.name} needs ${set.requiredQuantity - units} more unit(s)`,
      });
    }
    groups.push(lines);
  }
  return groups;
}

/** The lines holding the customer's chosen products (at most maxDistinct), or the default product. */
function personalLines(
  p: CompiledPromotion,
  ctx: EvalContext,
  source: { maxDistinct?: number; defaultSku?: string },
): number[] {
  const chosen = ctx.customer.productChoices(p.id);
  let skus =
    chosen && chosen.length > 0 ? chosen : source.defaultSku !== undefined ? [source.defaultSku] : [];
  if (source.maxDistinct !== undefined) skus = skus.slice(0, source.maxDistinct);
  const wanted = new Set(skus);
  const lines: number[] = [];
  ctx.lines.forEach((line, i) => wanted.has(line.def.sku) && lines.push(i));
  return lines;
}

function instancesOf(p: CompiledPromotion, trigger: ScopeMatch): number | Refusal {
  const { instancesFixed, repeatKpi, repeatPer } = p.shape;
  if (instancesFixed > 0) return instancesFixed;
  const measure = repeatKpi === "quantity" ? trigger.units : trigger.gross;
  const instances = Math.min(Math.floor(measure / repeatPer), INSTANCES_MAX);
  if (instances > 0) return instances;
  return refusal("condition_not_met", {
    shortfall: { kind: repeatKpi === "quantity" ? "quantity" : "amount", missing: repeatPer - measure },
  });
}

function tenderCapOf(p: CompiledPromotion, ctx: EvalContext): number {
  const condition = p.def.conditions.find((c) => c.kind === "payment_mode");
  if (condition?.kind !== "payment_mode") return Infinity;
  let cap = 0;
  for (const t of ctx.tenders) {
    if (!tenderMatches(condition, t.mode, t.identifier)) continue;
    if (t.amountMinor === undefined) return Infinity;
    cap += t.amountMinor;
  }
  return cap;
}
