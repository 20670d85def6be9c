// What a limit has left: a customer's usage of each promotion ("3 of 5 free coffees left") and a
// promotion's limits with their cycles (seed 004's "Preview cycle": when each windowed rule resets).
import { cycleAt, previewCycles, rollingWindowStartMs, type Cycle } from "../domain/limits.js";
import { limitRuleKey, type LimitRule, type Promotion } from "../domain/promotion.js";
import type { Db } from "../store/db.js";
import { counterId, readCounters, sumLedgerSince, type CounterKey } from "../store/limits.js";
import { loadCustomerFacts, loadPromotionDefinition } from "../store/pricing.js";
import { getWorkspace, type WorkspaceRow } from "../store/workspaces.js";
import { publishedPromotions } from "./pricing.js";
import { notFound } from "./problem.js";

export interface RuleUsage {
  readonly rule: string;
  readonly level: LimitRule["level"];
  readonly measure: LimitRule["measure"];
  readonly window: LimitRule["window"];
  readonly max: number;
  /** Consumed in the current cycle (fixed), the window (rolling) or ever (lifetime); absent when per subject. */
  readonly used?: number;
  readonly remaining?: number;
  /** Fixed windows: the current cycle; rolling windows: what counts now. */
  readonly countsFrom?: string;
  readonly resetsAt?: string | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

async function workspaceOf(db: Db, id: string): Promise<WorkspaceRow> {
  const workspace = await getWorkspace(db, id);
  if (workspace === null) throw notFound(`workspace ${id}`);
  return workspace;
}

/** used/remaining for each (promotion, rule, subject) key, as a sale at nowMs would see them. */
async function usageOf(
  db: Db,
  workspace: WorkspaceRow,
  wanted: readonly { p: Promotion; rule: LimitRule; key: CounterKey }[],
  nowMs: number,
): Promise<Map<string, { used: number; from: number; resetsAt: number | null }>> {
  const counters = new Map(
    (
      await readCounters(
        db,
        workspace.id,
        wanted.map((w) => w.key),
      )
    ).map((r) => [counterId(r), r]),
  );
  const rolling = wanted.filter((w) => w.rule.window.kind === "rolling");
  const since = (w: (typeof wanted)[number]): number =>
    rollingWindowStartMs(
      w.rule.window as Extract<LimitRule["window"], { kind: "rolling" }>,
      nowMs,
      workspace.timeZone,
    );
  const sums = await sumLedgerSince(
    db,
    workspace.id,
    rolling.map((w) => ({ ...w.key, sinceMs: since(w) })),
  );
  const result = new Map<string, { used: number; from: number; resetsAt: number | null }>();
  for (const w of wanted) {
    const id = counterId(w.key);
    if (w.rule.window.kind === "rolling") {
      result.set(id, { used: sums.get(id) ?? 0, from: since(w), resetsAt: null });
      continue;
    }
    const cycle: Cycle = cycleAt(w.rule.window, Date.parse(w.p.schedule.startsAt), nowMs, workspace.timeZone);
    const row = counters.get(id);
    const used = row !== undefined && row.cycleStart.getTime() === cycle.startMs ? row.used : 0;
    result.set(id, { used, from: cycle.startMs, resetsAt: cycle.endMs });
  }
  return result;
}

function describe(
  rule: LimitRule,
  usage?: { used: number; from: number; resetsAt: number | null },
): RuleUsage {
  const base = {
    rule: limitRuleKey(rule),
    level: rule.level,
    measure: rule.measure,
    window: rule.window,
    max: rule.max,
  };
  if (usage === undefined) return base;
  return {
    ...base,
    used: usage.used,
    remaining: Math.max(0, rule.max - usage.used),
    ...(rule.window.kind !== "lifetime"
      ? { countsFrom: iso(usage.from)!, resetsAt: iso(usage.resetsAt) }
      : {}),
  };
}

export async function customerUsage(db: Db, workspaceId: string, customerId: string, nowMs: number) {
  const workspace = await workspaceOf(db, workspaceId);
  if ((await loadCustomerFacts(db, workspaceId, customerId)) === null)
    throw notFound(`customer ${customerId}`);
  const { byId } = await publishedPromotions(db, workspace);
  const wanted = [...byId.values()].flatMap((p) =>
    (p.limits ?? [])
      .filter((rule) => rule.level === "customer")
      .map((rule) => ({
        p,
        rule,
        key: { promotionId: p.id, rule: limitRuleKey(rule), subject: customerId },
      })),
  );
  const usage = await usageOf(db, workspace, wanted, nowMs);
  const promotions = new Map<string, { promotionId: string; name: string; rules: RuleUsage[] }>();
  for (const w of wanted) {
    let entry = promotions.get(w.p.id);
    if (!entry) promotions.set(w.p.id, (entry = { promotionId: w.p.id, name: w.p.name, rules: [] }));
    entry.rules.push(describe(w.rule, usage.get(counterId(w.key))));
  }
  return { customerId, at: iso(nowMs), promotions: [...promotions.values()] };
}

export async function promotionLimits(
  db: Db,
  workspaceId: string,
  promotionId: string,
  nowMs: number,
  cycles: number,
) {
  const workspace = await workspaceOf(db, workspaceId);
  const found = await loadPromotionDefinition(db, workspaceId, promotionId);
  if (found === null) throw notFound(`promotion ${promotionId}`);
  const p = found.definition;
  const rules = p.limits ?? [];
  const globals = rules
    .filter((rule) => rule.level === "global")
    .map((rule) => ({ p, rule, key: { promotionId: p.id, rule: limitRuleKey(rule), subject: "" } }));
  const usage = await usageOf(db, workspace, globals, nowMs);
  const anchorMs = Date.parse(p.schedule.startsAt);
  return {
    promotionId: p.id,
    at: iso(nowMs),
    timeZone: workspace.timeZone,
    rules: rules.map((rule) => ({
      ...describe(
        rule,
        rule.level === "global"
          ? usage.get(counterId({ promotionId: p.id, rule: limitRuleKey(rule), subject: "" }))
          : undefined,
      ),
      // Seed 004's "Preview cycle": the next cycles of a fixed window, in the workspace's time zone.
      ...(rule.window.kind === "fixed"
        ? {
            cycles: previewCycles(rule.window, anchorMs, nowMs, workspace.timeZone, cycles).map((c) => ({
              start: iso(c.startMs),
              end: iso(c.endMs),
            })),
          }
        : {}),
    })),
  };
}
