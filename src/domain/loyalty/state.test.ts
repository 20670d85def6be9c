// Proves the aggregate state on hand-computed cases: each function's value over nothing and over
// events in any order, skipped parameters, ties, hour buckets in UTC (DST plays no part), windows and
// pruning, currency of fingerprints, inputs never mutated, JSON round trips, and evaluateProfile's
// reading of attributes, segments and tiers.
import { describe, expect, it } from "vitest";
import type { AggregateBody, LoyaltyModel, ProfileEvent, ScalarValue } from "./definitions.js";
import { compileModel } from "./model.js";
import {
  aggregateValue,
  emptyState,
  evaluateProfile,
  foldEvents,
  isCurrent,
  rebuildState,
  type ProfileState,
  type WindowedState,
} from "./state.js";

const HOUR_MS = 3_600_000;
const LIFETIME = { kind: "lifetime" } as const;
const over = (
  fn: AggregateBody["fn"],
  param?: string,
  extra: Partial<AggregateBody> = {},
): AggregateBody => ({
  name: `${fn} ${param ?? ""}`,
  fn,
  event: "app.visit",
  ...(param === undefined ? {} : { param }),
  period: LIFETIME,
  ...extra,
});

const model: LoyaltyModel = {
  attributes: { card: "string", birthday: "date", age: "number", vip: "boolean" },
  eventTypes: { "app.visit": { screen: "string", seconds: "number", premium: "boolean", at: "date" } },
  aggregates: {
    n: over("count"),
    total: over("sum", "seconds"),
    mean: over("avg", "seconds"),
    least: over("min", "seconds"),
    most: over("max", "seconds"),
    firstScreen: over("first", "screen"),
    lastScreen: over("last", "screen"),
    earliestAt: over("min", "at"),
    firstSeen: over("first", "$timestamp"),
    premium: over("count", undefined, { filters: [{ param: "premium", op: "eq", value: true }] }),
    day: over("sum", "seconds", { period: { kind: "last", amount: 24, unit: "hours" } }),
    twoHours: over("count", undefined, { period: { kind: "last", amount: 2, unit: "hours" } }),
    firstPremium: over("first", "$timestamp", { filters: [{ param: "premium", op: "eq", value: true }] }),
    notAtFirstPremium: over("count", undefined, {
      filters: [{ param: "$timestamp", op: "ne", value: { agg: "firstPremium" } }],
    }),
  },
  expressions: {
    minutes: { name: "Minutes", formula: { fn: "div", args: [{ agg: "total" }, 60] } },
    ageNextYear: { name: "Age", formula: { fn: "add", args: [{ attr: "age" }, 1] } },
    born: { name: "Born", formula: { attr: "birthday" } },
  },
  segmentations: {
    usage: {
      name: "Usage",
      segments: [
        { id: "z-heavy", name: "Heavy", condition: { fn: "gte", args: [{ agg: "total" }, 60] } },
        { id: "a-any", name: "Any", condition: { fn: "gt", args: [{ agg: "n" }, 0] } },
        { id: "m-vip", name: "VIP", condition: { attr: "vip" } },
      ],
    },
  },
  tierPrograms: {
    minutes: {
      name: "Minutes",
      value: { expr: "minutes" },
      tiers: [
        { id: "low", name: "Low" },
        { id: "mid", name: "Mid", from: 1 },
        { id: "high", name: "High", from: 2 },
      ],
    },
    age: { name: "Age", value: { attr: "age" }, tiers: [{ id: "all", name: "All" }] },
  },
};
const compiled = compileModel(model);

const T = Date.UTC(2026, 4, 10, 12, 0, 0);
let sequence = 0;
function visit(atMs: number, params: Record<string, ScalarValue>): ProfileEvent {
  return { id: `e${++sequence}`, type: "app.visit", atMs, params };
}

function values(state: ProfileState, nowMs: number): Record<string, unknown> {
  return Object.fromEntries(
    compiled.aggregates.map((a) => [a.id, aggregateValue(compiled, state, a.id, nowMs)]),
  );
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

describe("aggregate values", () => {
  it("over nothing: count and sum 0, the others null", () => {
    const state = rebuildState(compiled, [], T);
    expect(values(state, T)).toEqual({
      n: 0,
      total: 0,
      mean: null,
      least: null,
      most: null,
      firstScreen: null,
      lastScreen: null,
      earliestAt: null,
      firstSeen: null,
      premium: 0,
      day: 0,
      twoHours: 0,
      firstPremium: null,
      notAtFirstPremium: 0,
    });
  });

  it("over events in any order; a missing or mistyped parameter counts only for count", () => {
    const events = [
      visit(T, { screen: "home", seconds: 10, premium: true, at: "2026-05-01T10:00:00+02:00" }),
      visit(T + HOUR_MS, { screen: "cart", seconds: 30, premium: false, at: "2026-04-01T00:00:00Z" }),
      visit(T - HOUR_MS, { screen: "search", seconds: 20 }),
      visit(T + 2 * HOUR_MS, { seconds: "long" as unknown as number, premium: "yes" as unknown as boolean }),
    ];
    const now = T + 3 * HOUR_MS;
    expect(values(rebuildState(compiled, events, now), now)).toEqual({
      n: 4,
      total: 60,
      mean: 20,
      least: 10,
      most: 30,
      firstScreen: "search",
      lastScreen: "cart",
      earliestAt: Date.UTC(2026, 3, 1),
      firstSeen: T - HOUR_MS,
      premium: 1,
      day: 60,
      twoHours: 2,
      firstPremium: T,
      notAtFirstPremium: 3,
    });
  });

  it("first and last: ties in time go to the later event", () => {
    const events = [visit(T, { screen: "a" }), visit(T, { screen: "b" })];
    const state = rebuildState(compiled, events, T);
    expect(aggregateValue(compiled, state, "firstScreen", T)).toBe("b");
    expect(aggregateValue(compiled, state, "lastScreen", T)).toBe("b");
    const folded = foldEvents(compiled, state, [visit(T, { screen: "c" })], T);
    expect(aggregateValue(compiled, folded.state, "firstScreen", T)).toBe("c");
  });

  it("a filter against a null reference: only ne passes", () => {
    const state = rebuildState(compiled, [visit(T, { premium: false }), visit(T + 1, {})], T);
    expect(aggregateValue(compiled, state, "firstPremium", T)).toBe(null);
    expect(aggregateValue(compiled, state, "notAtFirstPremium", T)).toBe(2);
  });
});

describe("windows", () => {
  const now = Date.UTC(2026, 4, 10, 12, 40);
  const start = Date.UTC(2026, 4, 9, 12, 0);

  it("count hours from floorToHour(now − window): the hour's first ms is in, the ms before is out", () => {
    const state = rebuildState(
      compiled,
      [visit(start, { seconds: 5 }), visit(start - 1, { seconds: 7 })],
      now,
    );
    expect(aggregateValue(compiled, state, "day", now)).toBe(5);
    expect(aggregateValue(compiled, state, "total", now)).toBe(12);
    expect((state.aggregates.day as WindowedState).b).toEqual([{ h: start, c: 1, s: 5 }]);
  });

  it("drop hours as time passes; foldEvents prunes them from the state", () => {
    const state = rebuildState(
      compiled,
      [visit(start, { seconds: 5 }), visit(start + HOUR_MS, { seconds: 7 })],
      now,
    );
    const later = now + HOUR_MS;
    expect(aggregateValue(compiled, state, "day", later)).toBe(7);
    const folded = foldEvents(compiled, state, [], later);
    expect(folded.rebuild).toBe(false);
    expect((folded.state.aggregates.day as WindowedState).b.map((b) => b.h)).toEqual([start + HOUR_MS]);
  });

  it("ignore events older than the window when folding", () => {
    const state = rebuildState(compiled, [], now);
    const folded = foldEvents(
      compiled,
      state,
      [visit(start - HOUR_MS, { seconds: 9 }), visit(now, { seconds: 1 })],
      now,
    );
    expect(aggregateValue(compiled, folded.state, "day", now)).toBe(1);
    expect(aggregateValue(compiled, folded.state, "total", now)).toBe(10);
  });

  it("use UTC hours: the night Europe moves its clocks has three plain hours", () => {
    // 2026-03-29 01:00Z is 02:00 CET → 03:00 CEST in Berlin; buckets do not care.
    const events = [
      visit(Date.UTC(2026, 2, 29, 0, 30), {}),
      visit(Date.UTC(2026, 2, 29, 1, 30), {}),
      visit(Date.UTC(2026, 2, 29, 2, 30), {}),
    ];
    const at = Date.UTC(2026, 2, 29, 3, 10);
    const state = rebuildState(compiled, events, at);
    expect((state.aggregates.twoHours as WindowedState).b.map((b) => b.h)).toEqual([
      Date.UTC(2026, 2, 29, 1),
      Date.UTC(2026, 2, 29, 2),
    ]);
    expect(aggregateValue(compiled, state, "twoHours", at)).toBe(2);
    expect(aggregateValue(compiled, state, "twoHours", Date.UTC(2026, 2, 29, 2, 59))).toBe(2);
  });

  it("keep buckets sorted whatever the order of events", () => {
    const hours = [5, 1, 3, 1, 0, 4, 2];
    const state = rebuildState(
      compiled,
      hours.map((h) => visit(start + h * HOUR_MS + 60_000, { seconds: h })),
      now,
    );
    const buckets = (state.aggregates.day as WindowedState).b;
    expect(buckets.map((b) => (b.h - start) / HOUR_MS)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(buckets.map((b) => b.c)).toEqual([1, 2, 1, 1, 1, 1]);
  });
});

describe("currency and immutability", () => {
  it("an empty state is current only for a model without aggregates", () => {
    expect(isCurrent(compiled, emptyState())).toBe(false);
    expect(
      isCurrent(
        compileModel({ ...model, aggregates: {}, expressions: {}, segmentations: {}, tierPrograms: {} }),
        emptyState(),
      ),
    ).toBe(true);
    expect(isCurrent(compiled, rebuildState(compiled, [], T))).toBe(true);
  });

  it("a changed definition makes the state stale: foldEvents asks for a rebuild, values are errors", () => {
    const state = rebuildState(compiled, [visit(T, { seconds: 4 })], T);
    const changed = compileModel({
      ...model,
      aggregates: {
        ...model.aggregates,
        total: over("sum", "seconds", { period: { kind: "last", amount: 7, unit: "days" } }),
      },
    });
    expect(isCurrent(changed, state)).toBe(false);
    const folded = foldEvents(changed, state, [visit(T, { seconds: 1 })], T);
    expect(folded).toEqual({ state, rebuild: true });
    expect(aggregateValue(changed, state, "total", T)).toEqual({
      error: "aggregate state is not current: rebuild it",
    });
    expect(aggregateValue(changed, state, "n", T)).toBe(1);
  });

  it("the state of a removed aggregate is ignored and dropped by the next fold", () => {
    const state = rebuildState(compiled, [visit(T, { seconds: 4 })], T);
    const rest = Object.fromEntries(Object.entries(model.aggregates).filter(([id]) => id !== "n"));
    const fewer = compileModel({
      ...model,
      aggregates: rest,
      expressions: {},
      segmentations: {},
      tierPrograms: {},
    });
    expect(isCurrent(fewer, state)).toBe(true);
    expect(Object.keys(foldEvents(fewer, state, [], T).state.aggregates)).not.toContain("n");
  });

  it("foldEvents never changes its input", () => {
    const state = deepFreeze(rebuildState(compiled, [visit(T - HOUR_MS, { seconds: 4, screen: "a" })], T));
    const before = JSON.stringify(state);
    const folded = foldEvents(
      compiled,
      state,
      [visit(T, { seconds: 6, screen: "b" }), visit(T + HOUR_MS, { seconds: 1 })],
      T + HOUR_MS,
    );
    expect(JSON.stringify(state)).toBe(before);
    expect(aggregateValue(compiled, folded.state, "total", T + HOUR_MS)).toBe(11);
    expect(aggregateValue(compiled, state, "total", T + HOUR_MS)).toBe(4);
  });

  it("survives a JSON round trip (jsonb)", () => {
    const state = rebuildState(compiled, [visit(T, { seconds: 4, screen: "a", premium: true })], T);
    const copy = JSON.parse(JSON.stringify(state)) as ProfileState;
    expect(copy).toEqual(state);
    expect(isCurrent(compiled, copy)).toBe(true);
    expect(values(copy, T)).toEqual(values(state, T));
  });
});

describe("evaluateProfile", () => {
  it("reads attributes by their declared type; undeclared or mistyped ones are null", () => {
    const state = rebuildState(compiled, [], T);
    const evaluation = evaluateProfile(
      compiled,
      { attributes: { age: 41, birthday: "1985-02-03T00:00:00Z", card: 7, undeclared: "x" }, state },
      T,
    );
    expect(evaluation.expressions).toEqual({ minutes: 0, ageNextYear: 42, born: Date.UTC(1985, 1, 3) });
    const mistyped = evaluateProfile(compiled, { attributes: { age: "41", birthday: "soon" }, state }, T);
    expect(mistyped.expressions).toEqual({ minutes: 0, ageNextYear: null, born: null });
  });

  it("sorts segment ids and picks the last tier whose from is at most the value", () => {
    const state = rebuildState(compiled, [visit(T, { seconds: 60 }), visit(T, { seconds: 60 })], T);
    const evaluation = evaluateProfile(compiled, { attributes: { vip: true, age: 3 }, state }, T);
    expect(evaluation.segmentIds).toEqual(["a-any", "m-vip", "z-heavy"]);
    expect(evaluation.tiers).toEqual({ age: "all", minutes: "high" });
    expect(evaluation.aggregates.total).toBe(120);
    const one = evaluateProfile(
      compiled,
      { attributes: {}, state: rebuildState(compiled, [visit(T, { seconds: 90 })], T) },
      T,
    );
    expect(one.tiers).toEqual({ age: null, minutes: "mid" });
    expect(one.segmentIds).toEqual(["a-any", "z-heavy"]);
    const none = evaluateProfile(compiled, { attributes: {}, state: rebuildState(compiled, [], T) }, T);
    expect(none.tiers).toEqual({ age: null, minutes: "low" });
  });
});
