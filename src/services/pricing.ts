// Pricing against the store: turn a client's basket into the engine's input (catalog prices and facts,
// the store, the customer and their wallet, the codes, the capacity left under every limit), run the
// engine, and say what a commit would consume. A quote reads capacity as it is; a sale reads it under
// lock.
//
// Capacity is read only for the promotions that apply: price with full capacity, read (or lock) the
// counters of the applied promotions that have ledger limits, price again, and repeat while a
// promotion with limits applies whose counters were not read (a capped promotion can free units for
// another). Each round adds at least one promotion, so the loop ends; in practice it runs twice.
import type { Basket, BasketLine, Capacity, CustomerContext } from "../domain/basket.js";
import type { Issue } from "../domain/check.js";
import { cycleAt, rollingWindowStartMs } from "../domain/limits.js";
import { limitRuleKey, type LimitRule, type LimitWindow, type Promotion } from "../domain/promotion.js";
import { compilePromotions, evaluate, type Evaluation, type PromotionIndex } from "../engine/index.js";
import { isMoved, type Queryable, type Tx } from "../store/db.js";
import {
  addToCountersAndCommit,
  consume,
  counterId,
  lockCounters,
  sumLedgerSince,
  type CounterKey,
  type CounterRow,
  type LedgerEntry,
} from "../store/limits.js";
import {
  loadPricingFacts,
  loadPublishedPromotions,
  type PricingFacts,
  type SaleClaim,
} from "../store/pricing.js";
import type { WorkspaceRow } from "../store/workspaces.js";
import {
  effectiveCustomer,
  evaluateForPricing,
  newProfile,
  loyaltyModel,
  type LoadedModel,
  type ProfileFacts,
} from "./loyalty.js";
import { invalid, notFound } from "./problem.js";
import type { BasketRequest } from "./requests.js";
import { walletContext } from "./wallet.js";

export interface Catalogued {
  readonly index: PromotionIndex;
  readonly byId: ReadonlyMap<string, Promotion>;
  readonly version: number;
}

/** Compiled promotions per workspace, rebuilt when the workspace's promotions_version moves. */
const compiled = new Map<string, Catalogued>();
const COMPILED_WORKSPACES_MAX = 1_000;

export async function publishedPromotions(q: Queryable, workspace: WorkspaceRow): Promise<Catalogued> {
  const hit = compiled.get(workspace.id);
  if (hit && hit.version === workspace.promotionsVersion) return hit;
  const definitions = await loadPublishedPromotions(q, workspace.id);
  const entry: Catalogued = {
    index: compilePromotions(definitions),
    byId: new Map(definitions.map((d) => [d.id, d])),
    version: workspace.promotionsVersion,
  };
  if (compiled.size >= COMPILED_WORKSPACES_MAX) compiled.clear();
  compiled.set(workspace.id, entry);
  return entry;
}

/** A promotion as this process last compiled it for the workspace (what a sale was just priced with). */
export function compiledPromotion(workspaceId: string, promotionId: string): Promotion | undefined {
  return compiled.get(workspaceId)?.byId.get(promotionId);
}

export interface PricingOptions {
  readonly nowMs: number;
  readonly maySetPrices: boolean;
  /** Inside a sale: counters are locked through this transaction. Absent for a quote. */
  readonly lock?: Tx;
}

export interface Priced {
  readonly evaluation: Evaluation;
  readonly basket: Basket;
  /** What a commit consumes, per counter, in the cycle it belongs to. */
  readonly consumption: readonly ConsumptionEntry[];
  /** Codes presented that gave nothing: unknown, for another promotion, or not applicable. */
  readonly unusedCodes: readonly string[];
  /** The code used for each applied code promotion. */
  readonly codeByPromotion: ReadonlyMap<string, string>;
}

const LEDGER_LEVELS = new Set(["customer", "global", "code"]);

export async function price(
  q: Queryable,
  facts: PricingFacts,
  request: BasketRequest,
  options: PricingOptions,
): Promise<Priced> {
  const { workspace } = facts;
  const promotions = await publishedPromotions(q, workspace);
  const basket = buildBasket(facts, request, options.maySetPrices);
  const codes = new Map(facts.codes.map((c) => [c.code, c.promotionId]));
  const customer = customerContext(facts, request.customerId, codes, promotions.byId);
  const settings = {
    currency: workspace.currency,
    timeZone: workspace.timeZone,
    cartStacking: workspace.cartStacking,
    productStacking: workspace.productStacking,
  };
  const limits = new LimitReader(q, workspace, options, request.customerId, codes, facts.counters);
  let evaluation: Evaluation;
  for (let round = 0; ; round++) {
    evaluation = evaluate(promotions.index, {
      basket,
      customer: { ...customer, capacity: limits.capacity() },
      settings,
      at: options.nowMs,
    });
    const unread = evaluation.applied
      .map((a) => promotions.byId.get(a.promotionId)!)
      .filter((p) => !limits.hasRead(p.id) && ledgerRules(p).length > 0);
    if (unread.length === 0) break;
    if (round > promotions.byId.size) throw new Error("capacity loop did not settle");
    await limits.read(unread);
  }
  const used = new Set(evaluation.applied.map((a) => a.promotionId));
  return {
    evaluation,
    basket,
    consumption: limits.consumption(evaluation, promotions.byId),
    unusedCodes: (request.codes ?? []).filter((c) => {
      const promotionId = codes.get(normalizeCode(c));
      return promotionId === undefined || !used.has(promotionId);
    }),
    codeByPromotion: new Map(
      [...codes]
        .filter(([, promotionId]) => used.has(promotionId))
        .map(([code, promotionId]) => [promotionId, code]),
    ),
  };
}

/** The facts with the loyalty model applied: tiers and segments as of the basket's instant. */
export interface LoyalFacts extends PricingFacts {
  readonly claimed: boolean;
  readonly loyalty: LoadedModel;
  /** The customer's evaluated profile (null: no customer, or no loyalty model). */
  readonly evaluated: ProfileFacts | null;
}

/**
 * What pricing reads for this request, in one round trip (and, for a sale, the claim with it); then
 * the customer's tiers and segments evaluated from their stored loyalty state at `nowMs`, so the
 * engine and the points rules see the tier the customer is in now.
 */
export async function pricingFacts(
  q: Queryable,
  workspaceId: string,
  request: BasketRequest,
  nowMs: number,
  claim?: SaleClaim,
): Promise<LoyalFacts> {
  const facts = await loadPricingFacts(
    q,
    workspaceId,
    {
      skus: [...new Set(request.lines.map((l) => l.sku))],
      ...(request.customerId !== undefined ? { customerId: request.customerId } : {}),
      ...(request.storeId !== undefined ? { storeId: request.storeId } : {}),
      codes: [...new Set((request.codes ?? []).map(normalizeCode))],
    },
    claim,
  );
  if (facts === null) throw notFound(`workspace ${workspaceId}`);
  const loyalty = await loyaltyModel(q, workspaceId, facts.workspace.loyaltyVersion);
  if (request.customerId === undefined || loyalty.empty) return { ...facts, loyalty, evaluated: null };
  // A customer the workspace does not know yet (a sale creates them) is a profile without events.
  const customer = facts.customer ?? { id: request.customerId, memberships: [], segmentIds: [] };
  const stored =
    facts.profile !== null ? { customerId: customer.id, ...facts.profile } : newProfile(customer.id);
  const evaluated = await evaluateForPricing(q, workspaceId, loyalty, stored, nowMs);
  const effective = effectiveCustomer(customer, loyalty, evaluated.evaluation);
  return { ...facts, customer: { ...customer, ...effective }, loyalty, evaluated };
}

/** A ledger entry with what it takes to check it again at commit time. */
export interface ConsumptionEntry extends LedgerEntry {
  readonly max: number;
  readonly rolling: Extract<LimitWindow, { kind: "rolling" }> | null;
}

/** A concurrent sale consumed a limit between this sale's read and its commit: price again under lock. */
export class CapacityMoved extends Error {}

/**
 * The optimistic commit, the sale's last statement: lock only the counters this sale consumes, at the
 * very end of its transaction, and check that what it consumes still fits (with COMMIT sent behind the
 * statement when it can check in SQL, so nothing may follow this call). If it does, the sale was priced with
 * capacity it may use; if not, CapacityMoved, and the caller prices again with the counters locked.
 */
export async function consumeChecked(
  tx: Tx,
  workspace: WorkspaceRow,
  saleId: string,
  nowMs: number,
  entries: readonly ConsumptionEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  if (entries.every((e) => e.rolling === null)) {
    // One statement: lock, add, ledger, check, with COMMIT right behind it. Over a limit: the
    // statement fails, the COMMIT rolls back, and the sale is priced again under lock.
    try {
      await addToCountersAndCommit(tx, workspace.id, saleId, nowMs, entries);
    } catch (error) {
      if (isMoved(error)) throw new CapacityMoved((error as Error).message);
      throw error;
    }
    return;
  }
  // A rolling window is summed from the ledger: lock, sum, check, then add.
  const rows = await lockCounters(tx, workspace.id, entries);
  const counters = new Map(rows.map((r) => [counterId(r), r]));
  const rolling = entries.filter((e) => e.rolling !== null);
  const sums = await sumLedgerSince(
    tx,
    workspace.id,
    rolling.map((e) => ({ ...e, sinceMs: rollingWindowStartMs(e.rolling!, nowMs, workspace.timeZone) })),
  );
  for (const e of entries) {
    const id = counterId(e);
    const row = counters.get(id);
    const used =
      e.rolling !== null
        ? (sums.get(id) ?? 0)
        : row !== undefined && row.cycleStart.getTime() === e.cycleStartMs
          ? row.used
          : 0;
    if (used + e.amount > e.max) throw new CapacityMoved(`${e.promotionId} ${e.rule} ${e.subject}`);
  }
  await consume(tx, workspace.id, saleId, null, nowMs, entries);
}

export function normalizeCode(code: string): string {
  return code.trim().toUpperCase();
}

function ledgerRules(p: Promotion): LimitRule[] {
  return (p.limits ?? []).filter((r) => LEDGER_LEVELS.has(r.level));
}

function buildBasket(facts: PricingFacts, request: BasketRequest, maySetPrices: boolean): Basket {
  const { catalog } = facts;
  const issues: Issue[] = [];
  const seen = new Set<string>();
  const lines: BasketLine[] = [];
  request.lines.forEach((line, i) => {
    if (seen.has(line.id))
      issues.push({
        code: "duplicate_line_id",
        path: `/lines/${i}/id`,
        message: `line id "${line.id}" is used twice`,
      });
    seen.add(line.id);
    const item = catalog.get(line.sku);
    const sent = line.unitPriceMinor;
    if (sent !== undefined && !maySetPrices && sent !== item?.priceMinor) {
      issues.push({
        code: "price_not_allowed",
        path: `/lines/${i}/unitPriceMinor`,
        message: "this key may not set prices: leave it out and the catalog's price applies",
      });
      return;
    }
    if (item === undefined && sent === undefined) {
      issues.push({
        code: "unknown_sku",
        path: `/lines/${i}/sku`,
        message: `SKU "${line.sku}" is not in the catalog`,
      });
      return;
    }
    lines.push({
      id: line.id,
      sku: line.sku,
      quantity: line.quantity,
      unitPriceMinor: sent ?? item!.priceMinor,
      ...(item && item.categories.length > 0 ? { categories: item.categories } : {}),
      ...(item?.brand ? { brand: item.brand } : {}),
      ...(item && Object.keys(item.attributes).length > 0 ? { attributes: item.attributes } : {}),
    });
  });
  let store: { conceptId?: string; zoneIds?: string[] } = {};
  if (request.storeId !== undefined) {
    if (facts.store === null)
      issues.push({
        code: "unknown_store",
        path: "/storeId",
        message: `store "${request.storeId}" does not exist`,
      });
    else
      store = {
        ...(facts.store.conceptId ? { conceptId: facts.store.conceptId } : {}),
        zoneIds: facts.store.zoneIds,
      };
  }
  if (issues.length > 0) throw invalid(issues, 422);
  return {
    lines,
    ...(request.tenders ? { tenders: request.tenders } : {}),
    ...(request.giftVouchers ? { giftVouchers: request.giftVouchers } : {}),
    ...(request.storeId !== undefined ? { storeId: request.storeId } : {}),
    ...store,
    ...(request.channel ? { channel: request.channel } : {}),
  };
}

function customerContext(
  facts: PricingFacts,
  customerId: string | undefined,
  codes: ReadonlyMap<string, string>,
  promotions: ReadonlyMap<string, Promotion>,
): CustomerContext {
  const codeList = [...codes].map(([code, promotionId]) => ({ promotionId, code }));
  if (customerId === undefined) return { codes: codeList };
  return {
    customerId,
    memberships: facts.customer?.memberships ?? [],
    segmentIds: facts.customer?.segmentIds ?? [],
    codes: codeList,
    wallet: walletContext(facts.wallet, promotions, facts.workspace.timeZone),
    ...(facts.productChoices.length > 0 ? { productChoices: facts.productChoices } : {}),
  };
}

/** The counters of the promotions that apply: read (quote) or locked (sale), then turned into capacity. */
class LimitReader {
  private readonly read_ = new Map<string, Capacity[]>();
  private readonly cycles = new Map<string, number>();

  constructor(
    private readonly q: Queryable,
    private readonly workspace: WorkspaceRow,
    private readonly options: PricingOptions,
    private readonly customerId: string | undefined,
    private readonly codes: ReadonlyMap<string, string>,
    /** Every counter the basket may need, read with the facts (store/pricing.ts). */
    private readonly prefetched: readonly CounterRow[],
  ) {}

  hasRead(promotionId: string): boolean {
    return this.read_.has(promotionId);
  }

  capacity(): Capacity[] {
    return [...this.read_.values()].flat();
  }

  private subject(p: Promotion, rule: LimitRule): string | undefined {
    if (rule.level === "global") return "";
    if (rule.level === "customer") return this.customerId;
    for (const [code, promotionId] of this.codes) if (promotionId === p.id) return code;
    return undefined;
  }

  async read(promotions: readonly Promotion[]): Promise<void> {
    const wanted: { p: Promotion; rule: LimitRule; key: CounterKey }[] = [];
    for (const p of promotions) {
      this.read_.set(p.id, []);
      for (const rule of ledgerRules(p)) {
        const subject = this.subject(p, rule);
        if (subject !== undefined)
          wanted.push({ p, rule, key: { promotionId: p.id, rule: limitRuleKey(rule), subject } });
      }
    }
    const keys = wanted.map((w) => w.key);
    // A quote or an optimistic sale prices with the counters read with the facts; the locked path
    // reads them again under lock.
    const rows = this.options.lock
      ? await lockCounters(this.options.lock, this.workspace.id, keys)
      : this.prefetched;
    const counters = new Map(rows.map((r) => [counterId(r), r]));
    const rolling = wanted.filter((w) => w.rule.window.kind === "rolling");
    const sums = await sumLedgerSince(
      this.q,
      this.workspace.id,
      rolling.map((w) => ({
        ...w.key,
        sinceMs: rollingWindowStartMs(
          w.rule.window as Extract<LimitRule["window"], { kind: "rolling" }>,
          this.options.nowMs,
          this.workspace.timeZone,
        ),
      })),
    );
    for (const { p, rule, key } of wanted) {
      const id = counterId(key);
      let used: number;
      if (rule.window.kind === "rolling") {
        used = sums.get(id) ?? 0;
        this.cycles.set(id, 0);
      } else {
        const cycle = cycleAt(
          rule.window,
          Date.parse(p.schedule.startsAt),
          this.options.nowMs,
          this.workspace.timeZone,
        );
        const row = counters.get(id);
        used = row !== undefined && row.cycleStart.getTime() === cycle.startMs ? row.used : 0;
        this.cycles.set(id, cycle.startMs);
      }
      this.read_
        .get(p.id)!
        .push({ promotionId: p.id, rule: key.rule, remaining: Math.max(0, rule.max - used) });
    }
  }

  /** What the evaluation consumes, per counter that was read. */
  consumption(evaluation: Evaluation, byId: ReadonlyMap<string, Promotion>): ConsumptionEntry[] {
    const entries: ConsumptionEntry[] = [];
    for (const applied of evaluation.applied) {
      const p = byId.get(applied.promotionId)!;
      for (const c of applied.consumption) {
        const rule = ledgerRules(p).find((r) => limitRuleKey(r) === c.rule);
        if (rule === undefined || c.amount === 0) continue;
        const subject = this.subject(p, rule);
        if (subject === undefined) continue;
        const key = { promotionId: p.id, rule: c.rule, subject };
        const cycleStartMs = this.cycles.get(counterId(key));
        if (cycleStartMs === undefined) throw new Error(`counter ${c.rule} of ${p.id} was not read`);
        entries.push({
          ...key,
          cycleStartMs,
          amount: c.amount,
          max: rule.max,
          rolling: rule.window.kind === "rolling" ? rule.window : null,
        });
      }
    }
    return entries;
  }
}
