// Proves the model checks (every issue code of checkDefinition and checkEvent, a pass beside each
// failure), the dependents of each kind of definition, the one-line aggregate text, and what
// compileModel precomputes: topological order, fed event types, stable fingerprints and versions.
import { describe, expect, it } from "vitest";
import type {
  AggregateBody,
  DefinitionKind,
  ExpressionBody,
  LoyaltyModel,
  SegmentationBody,
  TierProgramBody,
} from "./definitions.js";
import {
  canonicalJson,
  checkDefinition,
  checkEvent,
  compileModel,
  dependentsOf,
  describeAggregate,
  hash53,
} from "./model.js";

const LIFETIME = { kind: "lifetime" } as const;
const LAST_365_DAYS = { kind: "last", amount: 365, unit: "days" } as const;

const joinedAt: AggregateBody = {
  name: "Joined at",
  fn: "first",
  event: "loyaltyStatus",
  param: "$timestamp",
  filters: [{ param: "status", op: "eq", value: "active" }],
  period: LIFETIME,
};
const charges: AggregateBody = {
  name: "Charges",
  fn: "sum",
  event: "transaction.charge",
  param: "$totalAmount",
  filters: [{ param: "$timestamp", op: "gt", value: { agg: "joinedAt" } }],
  period: LAST_365_DAYS,
};
const visits: AggregateBody = { name: "Visits", fn: "count", event: "app.visit", period: LAST_365_DAYS };

const base: LoyaltyModel = {
  attributes: { card: "string", birthday: "date" },
  eventTypes: { "app.visit": { screen: "string", seconds: "number", premium: "boolean", at: "date" } },
  aggregates: { joinedAt, charges, visits },
  expressions: {
    balance: { name: "Balance", formula: { fn: "sub", args: [{ agg: "charges" }, 0] } },
    member: { name: "Member", formula: { fn: "exists", args: [{ agg: "joinedAt" }] } },
  },
  segmentations: {
    status: {
      name: "Status",
      segments: [{ id: "members", name: "Members", condition: { expr: "member" } }],
    },
  },
  tierPrograms: {
    club: {
      name: "Club",
      value: { expr: "balance" },
      tiers: [
        { id: "white", name: "White" },
        { id: "green", name: "Green", from: 30_000 },
      ],
    },
  },
};

type Body = AggregateBody | ExpressionBody | SegmentationBody | TierProgramBody;

function problems(kind: DefinitionKind, id: string, body: Body, model: LoyaltyModel = base): string[] {
  return checkDefinition(model, kind, id, body).map((i) => `${i.code} ${i.path}`);
}

const aggregate = (overrides: Partial<AggregateBody>): AggregateBody => ({
  name: "A",
  fn: "sum",
  event: "app.visit",
  param: "seconds",
  period: LIFETIME,
  ...overrides,
});

describe("checkDefinition: aggregates", () => {
  it("accepts the model's own aggregates", () => {
    for (const [id, body] of Object.entries(base.aggregates))
      expect(problems("aggregate", id, body)).toEqual([]);
  });

  it("unknown_event, without piling parameter problems on it", () => {
    expect(problems("aggregate", "x", aggregate({ event: "nope", param: "whatever" }))).toEqual([
      "unknown_event /event",
    ]);
    expect(
      problems("aggregate", "x", aggregate({ event: "registration", fn: "count", param: "channel" })),
    ).toEqual([]);
  });

  it("unknown_param for the analysed parameter and for filters; $timestamp is always there", () => {
    expect(problems("aggregate", "x", aggregate({ param: "nope" }))).toEqual(["unknown_param /param"]);
    expect(
      problems("aggregate", "x", aggregate({ filters: [{ param: "nope", op: "eq", value: "a" }] })),
    ).toEqual(["unknown_param /filters/0/param"]);
    expect(problems("aggregate", "x", aggregate({ fn: "max", param: "$timestamp" }))).toEqual([]);
  });

  it("param_required except for count", () => {
    expect(problems("aggregate", "x", aggregate({ param: undefined }))).toEqual(["param_required /param"]);
    expect(problems("aggregate", "x", aggregate({ fn: "count", param: undefined }))).toEqual([]);
  });

  it("type_mismatch of the function and the parameter", () => {
    expect(problems("aggregate", "x", aggregate({ param: "screen" }))).toEqual(["type_mismatch /param"]);
    expect(problems("aggregate", "x", aggregate({ fn: "avg", param: "$timestamp" }))).toEqual([
      "type_mismatch /param",
    ]);
    expect(problems("aggregate", "x", aggregate({ fn: "max", param: "premium" }))).toEqual([
      "type_mismatch /param",
    ]);
    expect(problems("aggregate", "x", aggregate({ fn: "min", param: "at" }))).toEqual([]);
    expect(problems("aggregate", "x", aggregate({ fn: "last", param: "screen" }))).toEqual([]);
    expect(problems("aggregate", "x", aggregate({ fn: "avg", param: "seconds" }))).toEqual([]);
  });

  it("type_mismatch of filter operators and literal values", () => {
    const withFilter = (param: string, op: string, value: unknown): string[] =>
      problems("aggregate", "x", aggregate({ filters: [{ param, op, value } as never] }));
    expect(withFilter("seconds", "contains", 5)).toEqual(["type_mismatch /filters/0/op"]);
    expect(withFilter("screen", "gt", "a")).toEqual(["type_mismatch /filters/0/op"]);
    expect(withFilter("premium", "gte", true)).toEqual(["type_mismatch /filters/0/op"]);
    expect(withFilter("seconds", "eq", "10")).toEqual(["type_mismatch /filters/0/value"]);
    expect(withFilter("at", "gt", "2026-01-01")).toEqual(["type_mismatch /filters/0/value"]);
    expect(withFilter("at", "gt", 1_700_000_000_000)).toEqual(["type_mismatch /filters/0/value"]);
    expect(withFilter("screen", "startsWith", "home")).toEqual([]);
    expect(withFilter("seconds", "lte", 10)).toEqual([]);
    expect(withFilter("premium", "ne", false)).toEqual([]);
    expect(withFilter("at", "gt", "2026-01-01T00:00:00Z")).toEqual([]);
  });

  it("unknown_aggregate, not_lifetime and the referenced aggregate's type", () => {
    const ref = (agg: string, param = "$timestamp"): AggregateBody =>
      aggregate({ filters: [{ param, op: "gt", value: { agg } }] });
    expect(problems("aggregate", "x", ref("nope"))).toEqual(["unknown_aggregate /filters/0/value/agg"]);
    expect(problems("aggregate", "x", ref("visits", "seconds"))).toEqual([
      "not_lifetime /filters/0/value/agg",
    ]);
    expect(problems("aggregate", "x", ref("joinedAt", "seconds"))).toEqual([
      "type_mismatch /filters/0/value",
    ]);
    expect(problems("aggregate", "x", ref("joinedAt"))).toEqual([]);
  });

  it("cycle: a self reference and a longer loop, named in the message", () => {
    const self = aggregate({
      fn: "first",
      param: "$timestamp",
      filters: [{ param: "$timestamp", op: "gt", value: { agg: "x" } }],
    });
    const selfIssues = checkDefinition(base, "aggregate", "x", self);
    expect(selfIssues.map((i) => `${i.code} ${i.path}`)).toEqual(["cycle /filters/0/value/agg"]);
    expect(selfIssues[0]!.message).toContain("x → x");

    const a = aggregate({
      fn: "first",
      param: "$timestamp",
      filters: [{ param: "$timestamp", op: "gt", value: { agg: "b" } }],
    });
    const model = { ...base, aggregates: { ...base.aggregates, a } };
    const loop = checkDefinition(model, "aggregate", "b", {
      ...a,
      filters: [{ param: "$timestamp", op: "gt", value: { agg: "a" } }],
    });
    expect(loop.map((i) => `${i.code} ${i.path}`)).toEqual(["cycle /filters/0/value/agg"]);
    expect(loop[0]!.message).toContain("b → a → b");
  });
});

describe("checkDefinition: an aggregate other filters read", () => {
  it("must stay over the lifetime and keep the type they compare with", () => {
    expect(problems("aggregate", "joinedAt", { ...joinedAt, period: LAST_365_DAYS })).toEqual([
      "not_lifetime /period",
    ]);
    expect(problems("aggregate", "joinedAt", { ...joinedAt, fn: "count", param: undefined })).toEqual([
      "type_mismatch /fn",
    ]);
    expect(problems("aggregate", "joinedAt", { ...joinedAt, fn: "last" })).toEqual([]);
  });
});

describe("checkDefinition: expressions", () => {
  it("accepts the model's own expressions", () => {
    for (const [id, body] of Object.entries(base.expressions))
      expect(problems("expression", id, body)).toEqual([]);
  });

  it("checks the formula below /formula", () => {
    const body = {
      name: "E",
      formula: { fn: "sub", args: [{ agg: "charges" }, { agg: "nope" }] },
    } as ExpressionBody;
    expect(problems("expression", "e", body)).toEqual(["unknown_aggregate /formula/args/1/agg"]);
  });

  it("infers the types of referenced expressions", () => {
    const body = { name: "E", formula: { fn: "add", args: [{ expr: "member" }, 1] } } as ExpressionBody;
    expect(problems("expression", "e", body)).toEqual(["type_mismatch /formula/args/0"]);
  });

  it("cycle at the reference that closes it, as if stored under the id", () => {
    const model: LoyaltyModel = {
      ...base,
      expressions: {
        ...base.expressions,
        a: { name: "A", formula: { fn: "add", args: [{ expr: "b" }, 1] } },
      },
    };
    const closing = checkDefinition(model, "expression", "b", {
      name: "B",
      formula: { fn: "mul", args: [2, { expr: "a" }] },
    });
    expect(closing.map((i) => `${i.code} ${i.path}`)).toEqual(["cycle /formula/args/1/expr"]);
    expect(closing[0]!.message).toContain("b → a → b");
    expect(problems("expression", "a", { name: "A", formula: { expr: "a" } }, model)).toEqual([
      "cycle /formula/expr",
    ]);
    // Replacing a with a formula that no longer refers to b breaks the loop.
    expect(problems("expression", "a", { name: "A", formula: 1 }, model)).toEqual([]);
  });
});

describe("checkDefinition: segmentations", () => {
  const segmentation = (...segments: [string, unknown][]): SegmentationBody =>
    ({
      name: "S",
      segments: segments.map(([id, condition]) => ({ id, name: id, condition })),
    }) as SegmentationBody;

  it("accepts boolean, null and unknown conditions", () => {
    expect(problems("segmentation", "s", segmentation(["a", { expr: "member" }], ["b", null]))).toEqual([]);
    expect(problems("segmentation", "status", base.segmentations.status!)).toEqual([]);
  });

  it("type_mismatch for a condition that is not boolean", () => {
    expect(problems("segmentation", "s", segmentation(["a", { agg: "charges" }]))).toEqual([
      "type_mismatch /segments/0/condition",
    ]);
  });

  it("duplicate ids within the body and across segmentations", () => {
    expect(problems("segmentation", "s", segmentation(["a", true], ["a", false]))).toEqual([
      "duplicate /segments/1/id",
    ]);
    const across = checkDefinition(base, "segmentation", "s", segmentation(["members", true]));
    expect(across.map((i) => `${i.code} ${i.path}`)).toEqual(["duplicate /segments/0/id"]);
    expect(across[0]!.message).toContain('"status"');
  });
});

describe("checkDefinition: tier programs", () => {
  const program = (value: unknown, ...tiers: [string, number?][]): TierProgramBody =>
    ({
      name: "P",
      value,
      tiers: tiers.map(([id, from]) => (from === undefined ? { id, name: id } : { id, name: id, from })),
    }) as TierProgramBody;

  it("accepts a number-ish value and ascending tiers", () => {
    expect(problems("tierProgram", "club", base.tierPrograms.club!)).toEqual([]);
    expect(problems("tierProgram", "p", program(null, ["a"]))).toEqual([]);
    expect(problems("tierProgram", "p", program({ fn: "error", args: [] }, ["a"]))).toEqual([]);
  });

  it("type_mismatch for a value that is not a number", () => {
    expect(problems("tierProgram", "p", program({ attr: "card" }, ["a"]))).toEqual(["type_mismatch /value"]);
  });

  it("duplicate, invalid_value (a from on the first tier), required, not_ascending", () => {
    expect(problems("tierProgram", "p", program(1, ["a"], ["a", 10]))).toEqual(["duplicate /tiers/1/id"]);
    expect(problems("tierProgram", "p", program(1, ["a", 0], ["b", 10]))).toEqual([
      "invalid_value /tiers/0/from",
    ]);
    expect(problems("tierProgram", "p", program(1, ["a"], ["b"]))).toEqual(["required /tiers/1/from"]);
    expect(problems("tierProgram", "p", program(1, ["a"], ["b", 10], ["c", 10], ["d", 5]))).toEqual([
      "not_ascending /tiers/2/from",
      "not_ascending /tiers/3/from",
    ]);
  });
});

describe("dependentsOf", () => {
  it("lists what refers to a definition directly", () => {
    expect(dependentsOf(base, "aggregate", "joinedAt")).toEqual([
      { kind: "aggregate", id: "charges" },
      { kind: "expression", id: "member" },
    ]);
    expect(dependentsOf(base, "aggregate", "charges")).toEqual([{ kind: "expression", id: "balance" }]);
    expect(dependentsOf(base, "expression", "balance")).toEqual([{ kind: "tierProgram", id: "club" }]);
    expect(dependentsOf(base, "expression", "member")).toEqual([{ kind: "segmentation", id: "status" }]);
    expect(dependentsOf(base, "eventType", "app.visit")).toEqual([{ kind: "aggregate", id: "visits" }]);
    expect(dependentsOf(base, "segmentation", "status")).toEqual([]);
    expect(dependentsOf(base, "tierProgram", "club")).toEqual([]);
    expect(dependentsOf(base, "attribute", "card")).toEqual([]);
  });

  it("finds attributes in conditions and tier values", () => {
    const model: LoyaltyModel = {
      ...base,
      segmentations: {
        cards: {
          name: "Cards",
          segments: [{ id: "gold", name: "Gold", condition: { fn: "eq", args: [{ attr: "card" }, "GOLD"] } }],
        },
      },
    };
    expect(dependentsOf(model, "attribute", "card")).toEqual([{ kind: "segmentation", id: "cards" }]);
  });
});

describe("checkEvent", () => {
  const check = (type: string, params: Record<string, unknown>): string[] =>
    checkEvent(base, { type, params }, "/events/3").map((i) => `${i.code} ${i.path}`);

  it("accepts built-in and declared events, undeclared parameters included", () => {
    expect(check("transaction.charge", { $totalAmount: 2500, $currency: "PLN", extra: "kept" })).toEqual([]);
    expect(
      check("app.visit", { screen: "home", seconds: 3, premium: false, at: "2026-05-01T09:00:00+02:00" }),
    ).toEqual([]);
    expect(check("loyaltyStatus", {})).toEqual([]);
  });

  it("unknown_event, type_mismatch, invalid_value", () => {
    expect(check("nope", {})).toEqual(["unknown_event /events/3/type"]);
    expect(check("transaction.charge", { $totalAmount: "2500" })).toEqual([
      "type_mismatch /events/3/params/$totalAmount",
    ]);
    expect(check("app.visit", { at: "2026-05-01", premium: "yes" })).toEqual([
      "type_mismatch /events/3/params/at",
      "type_mismatch /events/3/params/premium",
    ]);
    expect(check("app.visit", { extra: { nested: 1 }, other: null })).toEqual([
      "invalid_value /events/3/params/extra",
      "invalid_value /events/3/params/other",
    ]);
  });
});

describe("describeAggregate", () => {
  it("says what it sums, where, over which period", () => {
    expect(describeAggregate(charges)).toBe(
      "sum of transaction.charge $totalAmount where $timestamp > agg.joinedAt, over the last 365 days",
    );
    expect(describeAggregate(joinedAt)).toBe(
      'first of loyaltyStatus $timestamp where status == "active", over the lifetime',
    );
    expect(
      describeAggregate({
        name: "V",
        fn: "count",
        event: "app.visit",
        filters: [
          { param: "screen", op: "startsWith", value: "home" },
          { param: "seconds", op: "gte", value: 5 },
        ],
        period: { kind: "last", amount: 1, unit: "hours" },
      }),
    ).toBe('count of app.visit where screen starts with "home" and seconds >= 5, over the last 1 hour');
  });
});

describe("compileModel", () => {
  it("orders aggregates after those their filters reference, and indexes them by event type", () => {
    const model: LoyaltyModel = {
      ...base,
      aggregates: { a: { ...charges, name: "A" }, joinedAt, visits, z: { ...charges, name: "Z" } },
    };
    const compiled = compileModel(model);
    expect(compiled.aggregates.map((a) => a.id)).toEqual(["joinedAt", "visits", "a", "z"]);
    expect(compiled.aggregates.map((a) => a.index)).toEqual([0, 1, 2, 3]);
    expect(compiled.byEventType.get("transaction.charge")!.map((a) => a.id)).toEqual(["a", "z"]);
    expect([...compiled.eventTypes].sort()).toEqual(["app.visit", "loyaltyStatus", "transaction.charge"]);
    expect(compiled.levels.map((level) => [...level.values()].flat().map((a) => a.id))).toEqual([
      ["joinedAt", "visits"],
      ["a", "z"],
    ]);
    expect(compiled.aggregateById.get("joinedAt")!.referenced).toBe(true);
    expect(compiled.aggregateById.get("a")!.windowMs).toBe(365 * 86_400_000);
  });

  it("orders expressions after those they reference", () => {
    const model: LoyaltyModel = {
      ...base,
      expressions: {
        a: { name: "A", formula: { fn: "add", args: [{ expr: "b" }, { expr: "c" }] } },
        b: { name: "B", formula: { expr: "c" } },
        c: { name: "C", formula: 1 },
      },
    };
    expect(compileModel(model).expressions.map((e) => e.id)).toEqual(["c", "b", "a"]);
  });

  it("fingerprints ignore names and key order but follow definitions, types and references", () => {
    const print = (model: LoyaltyModel, id: string): string =>
      compileModel(model).aggregateById.get(id)!.fingerprint;
    const before = print(base, "charges");
    expect(
      print(
        { ...base, aggregates: { ...base.aggregates, charges: { ...charges, name: "Renamed" } } },
        "charges",
      ),
    ).toBe(before);
    const reordered = {
      period: charges.period,
      filters: charges.filters,
      param: charges.param,
      event: charges.event,
      fn: charges.fn,
      name: charges.name,
    };
    expect(print({ ...base, aggregates: { ...base.aggregates, charges: reordered } }, "charges")).toBe(
      before,
    );
    const changedReference = {
      ...base,
      aggregates: { ...base.aggregates, joinedAt: { ...joinedAt, fn: "last" as const } },
    };
    expect(print(changedReference, "charges")).not.toBe(before);
    expect(
      print(
        { ...base, aggregates: { ...base.aggregates, charges: { ...charges, period: LIFETIME } } },
        "charges",
      ),
    ).not.toBe(before);
    const retyped = {
      ...base,
      eventTypes: { "app.visit": { ...base.eventTypes["app.visit"]!, screen: "number" as const } },
    };
    expect(print(retyped, "visits")).toBe(print(base, "visits"));
    const retypedParam = {
      ...base,
      aggregates: { ...base.aggregates, visits: { ...visits, fn: "first" as const, param: "screen" } },
    };
    const retypedBoth = { ...retyped, aggregates: retypedParam.aggregates };
    expect(print(retypedBoth, "visits")).not.toBe(print(retypedParam, "visits"));
  });

  it("versions the whole model", () => {
    const version = compileModel(base).version;
    expect(compileModel({ ...base }).version).toBe(version);
    expect(compileModel({ ...base, attributes: { ...base.attributes, x: "number" } }).version).not.toBe(
      version,
    );
  });
});

describe("hashing", () => {
  it("is FNV-1a 64 cut to its low 53 bits", () => {
    const low53 = (hex: string): string => (BigInt(hex) & ((1n << 53n) - 1n)).toString(36);
    expect(hash53("")).toBe(low53("0xcbf29ce484222325"));
    expect(hash53("a")).toBe(low53("0xaf63dc4c8601ec8c"));
    expect(hash53("foobar")).toBe(low53("0x85944171f73967e8"));
  });

  it("canonical JSON sorts keys and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }, null] })).toBe('{"a":[{"d":2},null],"b":1}');
  });
});
