// Proves seed 003 end to end on the pure model: the four-tier program from a joining aggregate, two
// 365-day sums since joining, a balance, a tier number with an error for non-members, a segmentation
// and a tier program; a customer's year of purchases and returns move them across tiers; a late,
// earlier joining event asks for a rebuild; and folding new events in any order equals a rebuild.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DefinitionKind, Expr, LoyaltyModel, ProfileEvent } from "./definitions.js";
import { checkDefinition, compileModel } from "./model.js";
import {
  aggregateValue,
  emptyState,
  evaluateProfile,
  foldEvents,
  rebuildState,
  type ProfileEvaluation,
  type ProfileState,
} from "./state.js";

const DAY_MS = 86_400_000;
const call = (fn: string, ...args: unknown[]): Expr => ({ fn, args }) as Expr;
const sinceJoining = [{ param: "$timestamp", op: "gt" as const, value: { agg: "joinedAt" } }];
const last365Days = { kind: "last", amount: 365, unit: "days" } as const;
const balance: Expr = { expr: "balance" };

const seed: LoyaltyModel = {
  attributes: {},
  eventTypes: {},
  aggregates: {
    joinedAt: {
      name: "Time of joining",
      fn: "first",
      event: "loyaltyStatus",
      param: "$timestamp",
      filters: [{ param: "status", op: "eq", value: "active" }],
      period: { kind: "lifetime" },
    },
    charges: {
      name: "Transactions, 365 days",
      fn: "sum",
      event: "transaction.charge",
      param: "$totalAmount",
      filters: sinceJoining,
      period: last365Days,
    },
    returns: {
      name: "Returns, 365 days",
      fn: "sum",
      event: "product.return",
      param: "$totalAmount",
      filters: sinceJoining,
      period: last365Days,
    },
  },
  expressions: {
    balance: { name: "Balance", formula: call("sub", { agg: "charges" }, { agg: "returns" }) },
    tierNumber: {
      name: "Tier number",
      formula: call(
        "if",
        call("not", call("exists", { agg: "joinedAt" })),
        call("error", "not a member"),
        call("gte", balance, 200_000),
        4,
        call("gte", balance, 100_000),
        3,
        call("gte", balance, 30_000),
        2,
        1,
      ),
    },
  },
  segmentations: {
    loyaltyTiers: {
      name: "Loyalty tiers",
      segments: (["white", "green", "silver", "golden"] as const).map((id, i) => ({
        id,
        name: id,
        condition: call("eq", { expr: "tierNumber" }, i + 1),
      })),
    },
  },
  tierPrograms: {
    colors: {
      name: "Colors",
      value: call("if", call("exists", { agg: "joinedAt" }), balance, call("error", "not a member")),
      tiers: [
        { id: "white", name: "White" },
        { id: "green", name: "Green", from: 30_000 },
        { id: "silver", name: "Silver", from: 100_000 },
        { id: "golden", name: "Golden", from: 200_000 },
      ],
    },
  },
};
const compiled = compileModel(seed);

let sequence = 0;
const at = (iso: string): number => Date.parse(iso);
const charge = (iso: string, amount: number): ProfileEvent => ({
  id: `c${++sequence}`,
  type: "transaction.charge",
  atMs: at(iso),
  params: { $totalAmount: amount, $currency: "PLN" },
});
const giveBack = (iso: string, amount: number): ProfileEvent => ({
  id: `r${++sequence}`,
  type: "product.return",
  atMs: at(iso),
  params: { $totalAmount: amount },
});
const status = (iso: string, value: string): ProfileEvent => ({
  id: `s${++sequence}`,
  type: "loyaltyStatus",
  atMs: at(iso),
  params: { status: value },
});

/** A profile as the service keeps it: fold new events, rebuild from all of them when asked. */
class Profile {
  readonly events: ProfileEvent[] = [];
  state: ProfileState = emptyState();

  receive(events: ProfileEvent[], nowMs: number): { rebuilt: boolean } {
    this.events.push(...events);
    const folded = foldEvents(compiled, this.state, events, nowMs);
    this.state = folded.rebuild ? rebuildState(compiled, this.events, nowMs) : folded.state;
    return { rebuilt: folded.rebuild };
  }

  at(nowMs: number): ProfileEvaluation {
    return evaluateProfile(compiled, { attributes: {}, state: this.state }, nowMs);
  }
}

/** The facts that matter in the seed: balance, tier number, segment and tier. */
function standing(evaluation: ProfileEvaluation): [unknown, unknown, string[], string | null] {
  return [
    evaluation.expressions.balance,
    evaluation.expressions.tierNumber,
    evaluation.segmentIds,
    evaluation.tiers.colors ?? null,
  ];
}

describe("seed 003: the model", () => {
  it("passes every check", () => {
    const kinds: [DefinitionKind, Record<string, unknown>][] = [
      ["aggregate", seed.aggregates],
      ["expression", seed.expressions],
      ["segmentation", seed.segmentations],
      ["tierProgram", seed.tierPrograms],
    ];
    for (const [kind, record] of kinds) {
      for (const [id, body] of Object.entries(record))
        expect(checkDefinition(seed, kind, id, body as never)).toEqual([]);
    }
  });
});

describe("seed 003: a customer's year", () => {
  it("counts purchases since joining and within 365 days, and moves across tiers at once", () => {
    const profile = new Profile();
    // Before joining: bought, but not a member.
    expect(
      profile.receive([charge("2025-01-05T10:00:00Z", 70_000)], at("2025-01-05T11:00:00Z")).rebuilt,
    ).toBe(true);
    expect(standing(profile.at(at("2025-01-05T11:00:00Z")))).toEqual([
      0,
      { error: "not a member" },
      [],
      null,
    ]);

    // Joining changes the time of joining, which the sums' filters read: a rebuild, which still
    // leaves out the purchase before joining.
    expect(
      profile.receive([status("2025-01-10T10:00:00Z", "active")], at("2025-01-10T11:00:00Z")).rebuilt,
    ).toBe(true);
    expect(standing(profile.at(at("2025-01-10T11:00:00Z")))).toEqual([0, 1, ["white"], "white"]);

    expect(
      profile.receive([charge("2025-01-20T10:00:00Z", 500_000)], at("2025-01-20T11:00:00Z")).rebuilt,
    ).toBe(false);
    expect(standing(profile.at(at("2025-01-20T11:00:00Z")))).toEqual([500_000, 4, ["golden"], "golden"]);

    // More than 365 days later that purchase no longer counts.
    const steps: [ProfileEvent, string, [number, number, string]][] = [
      [charge("2026-02-01T10:00:00Z", 25_000), "2026-02-01T10:05:00Z", [25_000, 1, "white"]],
      [charge("2026-02-02T10:00:00Z", 10_000), "2026-02-02T10:05:00Z", [35_000, 2, "green"]],
      [giveBack("2026-02-03T10:00:00Z", 6_000), "2026-02-03T10:05:00Z", [29_000, 1, "white"]],
      [charge("2026-02-04T10:00:00Z", 175_000), "2026-02-04T10:05:00Z", [204_000, 4, "golden"]],
    ];
    for (const [event, now, [expectedBalance, tierNumber, tier]] of steps) {
      expect(profile.receive([event], at(now)).rebuilt).toBe(false);
      expect(standing(profile.at(at(now)))).toEqual([expectedBalance, tierNumber, [tier], tier]);
    }

    // Later status events do not move the time of joining: no rebuild.
    const now = at("2026-02-05T12:00:00Z");
    expect(profile.receive([status("2026-02-05T10:00:00Z", "inactive")], now).rebuilt).toBe(false);
    expect(profile.receive([status("2026-02-05T11:00:00Z", "active")], now).rebuilt).toBe(false);
    expect(aggregateValue(compiled, profile.state, "joinedAt", now)).toBe(at("2025-01-10T10:00:00Z"));
    expect(profile.state).toEqual(rebuildState(compiled, profile.events, now));
    // A year on, everything has left the window: white, still a member.
    expect(standing(profile.at(at("2027-02-05T12:00:00Z")))).toEqual([0, 1, ["white"], "white"]);
  });

  it("puts the boundaries in the higher tier", () => {
    const join = status("2026-01-01T00:00:00Z", "active");
    const now = at("2026-03-01T00:00:00Z");
    const tierFor = (amount: number): [unknown, string | null] => {
      const state = rebuildState(compiled, [join, charge("2026-02-01T00:00:00Z", amount)], now);
      const evaluation = evaluateProfile(compiled, { attributes: {}, state }, now);
      return [evaluation.expressions.tierNumber, evaluation.tiers.colors ?? null];
    };
    expect(tierFor(29_999)).toEqual([1, "white"]);
    expect(tierFor(30_000)).toEqual([2, "green"]);
    expect(tierFor(99_999)).toEqual([2, "green"]);
    expect(tierFor(100_000)).toEqual([3, "silver"]);
    expect(tierFor(199_999)).toEqual([3, "silver"]);
    expect(tierFor(200_000)).toEqual([4, "golden"]);
  });

  it("does not count a purchase at the very instant of joining (after, strictly)", () => {
    const now = at("2026-03-01T00:00:00Z");
    const state = rebuildState(
      compiled,
      [
        status("2026-01-01T00:00:00Z", "active"),
        charge("2026-01-01T00:00:00Z", 50_000),
        charge("2026-01-01T00:00:00.001Z", 7),
      ],
      now,
    );
    expect(aggregateValue(compiled, state, "charges", now)).toBe(7);
  });

  it("gives a non-member the error value and no tier", () => {
    const now = at("2026-03-01T00:00:00Z");
    const state = rebuildState(
      compiled,
      [charge("2026-02-01T00:00:00Z", 300_000), status("2026-02-02T00:00:00Z", "inactive")],
      now,
    );
    const evaluation = evaluateProfile(compiled, { attributes: {}, state }, now);
    expect(standing(evaluation)).toEqual([0, { error: "not a member" }, [], null]);
    expect(evaluation.aggregates).toEqual({ joinedAt: null, charges: 0, returns: 0 });
  });

  it("rebuilds when a late status event moves the time of joining earlier", () => {
    const profile = new Profile();
    profile.receive(
      [
        status("2026-01-15T00:00:00Z", "active"),
        charge("2026-01-10T00:00:00Z", 40_000),
        charge("2026-01-20T00:00:00Z", 20_000),
      ],
      at("2026-01-21T00:00:00Z"),
    );
    const now = at("2026-01-22T00:00:00Z");
    expect(standing(profile.at(now))).toEqual([20_000, 1, ["white"], "white"]);
    const late = status("2026-01-05T00:00:00Z", "active");
    const folded = foldEvents(compiled, profile.state, [late], now);
    expect(folded.rebuild).toBe(true);
    profile.events.push(late);
    profile.state = rebuildState(compiled, profile.events, now);
    expect(standing(profile.at(now))).toEqual([60_000, 2, ["green"], "green"]);
  });
});

describe("seed 003: folding equals rebuilding", () => {
  const NOW = at("2026-06-01T12:00:00Z");
  const START = NOW - 500 * DAY_MS;
  /** Instants on whole hours and half hours, so ties and shared buckets are common. */
  const instant = fc
    .tuple(fc.integer({ min: 0, max: 500 * 24 }), fc.constantFrom(0, 0, 30 * 60_000))
    .map(([hours, extra]) => START + hours * 3_600_000 + extra);
  const event: fc.Arbitrary<ProfileEvent> = fc.oneof(
    fc.record({ atMs: instant, amount: fc.integer({ min: 0, max: 300_000 }) }).map(({ atMs, amount }) => ({
      id: "c",
      type: "transaction.charge",
      atMs,
      params: { $totalAmount: amount },
    })),
    fc.record({ atMs: instant, amount: fc.integer({ min: 0, max: 50_000 }) }).map(({ atMs, amount }) => ({
      id: "r",
      type: "product.return",
      atMs,
      params: { $totalAmount: amount },
    })),
    fc.record({ atMs: instant, value: fc.constantFrom("active", "inactive") }).map(({ atMs, value }) => ({
      id: "s",
      type: "loyaltyStatus",
      atMs,
      params: { status: value },
    })),
  );
  const joinedAt = (state: ProfileState): unknown => aggregateValue(compiled, state, "joinedAt", NOW);

  it("when the time of joining stays, batches folded in any order equal a rebuild of all events", () => {
    const join: ProfileEvent = {
      id: "join",
      type: "loyaltyStatus",
      atMs: START - 1,
      params: { status: "active" },
    };
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 10 }),
        fc.array(fc.array(event, { maxLength: 8 }), { maxLength: 4 }),
        (base, batches) => {
          let state = rebuildState(compiled, [join, ...base], NOW);
          for (const batch of batches) {
            const folded = foldEvents(compiled, state, batch, NOW);
            expect(folded.rebuild).toBe(false);
            state = folded.state;
          }
          expect(state).toEqual(rebuildState(compiled, [join, ...base, ...batches.flat()], NOW));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("asks for a rebuild exactly when the time of joining moves, and is exact otherwise", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 12 }), fc.array(event, { maxLength: 8 }), (base, incoming) => {
        const before = rebuildState(compiled, base, NOW);
        const all = rebuildState(compiled, [...base, ...incoming], NOW);
        const folded = foldEvents(compiled, before, incoming, NOW);
        expect(folded.rebuild).toBe(joinedAt(before) !== joinedAt(all));
        if (!folded.rebuild) expect(folded.state).toEqual(all);
      }),
      { numRuns: 300 },
    );
  });
});
