// Proves the expression language: every issue code of the check (with a passing case beside each
// failing one), the types it infers, the evaluation semantics (errors, nulls, division by zero,
// dates) and the text form with the fewest parentheses.
import { describe, expect, it } from "vitest";
import type { Issue } from "../check.js";
import type { Expr, Value } from "./definitions.js";
import {
  checkExpression,
  evaluateExpression,
  formatExpression,
  type ExprEnv,
  type ExprScope,
  type ExprType,
} from "./expression.js";

const AGGREGATE_TYPES: Record<string, ExprType> = { joinedAt: "date", charges: "number", store: "string" };
const EXPRESSION_TYPES: Record<string, ExprType> = { balance: "number", member: "boolean" };

const scope: ExprScope = {
  attributes: { card: "string", birthday: "date", vip: "boolean", age: "number" },
  aggregateType: (id) => (Object.hasOwn(AGGREGATE_TYPES, id) ? AGGREGATE_TYPES[id] : undefined),
  expressionType: (id) => (Object.hasOwn(EXPRESSION_TYPES, id) ? EXPRESSION_TYPES[id] : undefined),
};

function checked(expr: unknown): { type: ExprType; issues: Issue[] } {
  const issues: Issue[] = [];
  const type = checkExpression(expr, scope, "/formula", issues);
  return { type, issues };
}

/** The issues as "code path", the shortest way to read them. */
function problems(expr: unknown): string[] {
  return checked(expr).issues.map((i) => `${i.code} ${i.path}`);
}

const fn = (name: string, ...args: unknown[]): unknown => ({ fn: name, args });

describe("checkExpression: issue codes", () => {
  it("accepts literals and the four syntaxes", () => {
    for (const expr of [
      1,
      "a",
      true,
      null,
      { attr: "card" },
      { agg: "charges" },
      { expr: "balance" },
      fn("now"),
    ]) {
      expect(problems(expr)).toEqual([]);
    }
  });

  it("invalid_expression: not one of the syntaxes, unknown keys, malformed parts", () => {
    expect(problems([1, 2])).toEqual(["invalid_expression /formula"]);
    expect(problems({})).toEqual(["invalid_expression /formula"]);
    expect(problems({ attr: "card", agg: "charges" })).toEqual(["invalid_expression /formula"]);
    expect(problems({ fn: "add", args: [1, 2], extra: 1 })).toEqual(["invalid_expression /formula/extra"]);
    expect(problems({ fn: "add", args: 5 })).toEqual(["invalid_expression /formula/args"]);
    expect(problems({ attr: 5 })).toEqual(["invalid_expression /formula/attr"]);
    expect(problems({ agg: "charges", args: [] })).toEqual(["invalid_expression /formula/args"]);
  });

  it("unknown_function", () => {
    expect(problems(fn("pow", 2, 3))).toEqual(["unknown_function /formula/fn"]);
    expect(problems(fn("mul", 2, 3))).toEqual([]);
  });

  it("arity, including if's odd count and error's optional message", () => {
    expect(problems(fn("sub", 1))).toEqual(["arity /formula/args"]);
    expect(problems(fn("if", true, 1, false, 2))).toEqual(["arity /formula/args"]);
    expect(problems(fn("if", true, 1))).toEqual(["arity /formula/args"]);
    expect(problems(fn("error", "a", "b"))).toEqual(["arity /formula/args"]);
    expect(problems(fn("now", 1))).toEqual(["arity /formula/args"]);
    expect(problems(fn("if", true, 1, false, 2, 3))).toEqual([]);
    expect(problems(fn("error"))).toEqual([]);
    expect(problems(fn("add", 1, 2, 3, 4))).toEqual([]);
  });

  it("unknown_attribute, unknown_aggregate, unknown_expression at the reference's path", () => {
    expect(problems({ attr: "nope" })).toEqual(["unknown_attribute /formula/attr"]);
    expect(problems(fn("sub", { agg: "charges" }, { agg: "nope" }))).toEqual([
      "unknown_aggregate /formula/args/1/agg",
    ]);
    expect(problems(fn("add", 1, fn("neg", { expr: "nope" })))).toEqual([
      "unknown_expression /formula/args/1/args/0/expr",
    ]);
    expect(checked({ attr: "birthday" }).type).toBe("date");
  });

  it("type_mismatch: arithmetic of strings, mixed comparisons, non-boolean conditions", () => {
    expect(problems(fn("add", 1, { attr: "card" }))).toEqual(["type_mismatch /formula/args/1"]);
    expect(problems(fn("eq", { attr: "card" }, 1))).toEqual(["type_mismatch /formula"]);
    expect(problems(fn("if", { agg: "charges" }, 1, 2))).toEqual(["type_mismatch /formula/args/0"]);
    expect(problems(fn("gt", { attr: "vip" }, true))).toEqual([
      "type_mismatch /formula/args/0",
      "type_mismatch /formula/args/1",
    ]);
    expect(problems(fn("sub", 1, { agg: "joinedAt" }))).toEqual(["type_mismatch /formula/args/1"]);
    expect(problems(fn("add", { agg: "joinedAt" }, { attr: "birthday" }))).toEqual([
      "type_mismatch /formula",
    ]);
    expect(problems(fn("daysSince", { agg: "charges" }))).toEqual(["type_mismatch /formula/args/0"]);
    expect(problems(fn("error", 5))).toEqual(["type_mismatch /formula/args/0"]);
    expect(problems(fn("and", { attr: "vip" }, 1))).toEqual(["type_mismatch /formula/args/1"]);
  });

  it("type_mismatch passes: dates with numbers, strings with strings, null anywhere", () => {
    expect(problems(fn("gt", { agg: "joinedAt" }, 1_700_000_000_000))).toEqual([]);
    expect(problems(fn("lt", { attr: "card" }, "M"))).toEqual([]);
    expect(problems(fn("eq", { attr: "card" }, null))).toEqual([]);
    expect(problems(fn("add", null, 1))).toEqual([]);
    expect(problems(fn("if", null, 1, fn("error", "no")))).toEqual([]);
    expect(problems(fn("not", { expr: "member" }))).toEqual([]);
  });

  it("division_by_zero: by a literal 0 or an argument that is statically 0", () => {
    expect(problems(fn("div", 1, 0))).toEqual(["division_by_zero /formula/args/1"]);
    expect(problems(fn("mod", 1, fn("neg", 0)))).toEqual(["division_by_zero /formula/args/1"]);
    expect(problems(fn("div", 1, fn("sub", 2, 2)))).toEqual(["division_by_zero /formula/args/1"]);
    expect(problems(fn("div", 1, 2))).toEqual([]);
    expect(problems(fn("div", 1, { attr: "age" }))).toEqual([]);
    expect(problems(fn("div", 0, 1))).toEqual([]);
  });

  it("too_deep: more than 32 levels", () => {
    const nest = (levels: number): unknown => (levels === 1 ? 1 : fn("neg", nest(levels - 1)));
    expect(problems(nest(32))).toEqual([]);
    const deep = checked(nest(33)).issues;
    expect(deep.map((i) => i.code)).toEqual(["too_deep"]);
    expect(deep[0]!.path).toBe(`/formula${"/args/0".repeat(32)}`);
  });

  it("collects every problem, not the first", () => {
    const expr = fn("add", { attr: "nope" }, fn("div", 1, 0), fn("pow", 1), "x");
    expect(problems(expr)).toEqual([
      "unknown_attribute /formula/args/0/attr",
      "division_by_zero /formula/args/1/args/1",
      "unknown_function /formula/args/2/fn",
      "type_mismatch /formula/args/3",
    ]);
  });
});

describe("checkExpression: types", () => {
  const typeOf = (expr: unknown): ExprType => checked(expr).type;

  it("dates: date − date is a number, date ± number a date", () => {
    expect(typeOf(fn("sub", fn("now"), { agg: "joinedAt" }))).toBe("number");
    expect(typeOf(fn("sub", fn("now"), 1000))).toBe("date");
    expect(typeOf(fn("add", 1000, { agg: "joinedAt" }))).toBe("date");
    expect(typeOf(fn("daysSince", { agg: "joinedAt" }))).toBe("number");
    expect(typeOf(fn("max", { agg: "joinedAt" }, { attr: "birthday" }))).toBe("date");
  });

  it("if and coalesce join their branches; null and error branches fit any", () => {
    expect(typeOf(fn("if", true, 1, fn("error", "x")))).toBe("number");
    expect(typeOf(fn("if", true, 1, null))).toBe("number");
    expect(typeOf(fn("if", true, 1, "a"))).toBe("any");
    expect(typeOf(fn("coalesce", null, "a"))).toBe("string");
    expect(typeOf(fn("if", true, null, fn("error")))).toBe("null");
    expect(typeOf(fn("error"))).toBe("error");
    expect(typeOf(fn("eq", 1, 2))).toBe("boolean");
    expect(typeOf({ attr: "nope" })).toBe("any");
  });
});

describe("evaluateExpression", () => {
  const NOW = Date.UTC(2026, 5, 1, 12);
  const env: ExprEnv = {
    nowMs: NOW,
    attribute: (name) => ({ card: "GOLD", age: 40 })[name] ?? null,
    aggregate: (id) => ({ joinedAt: NOW - 2.5 * 86_400_000, charges: 30_000 })[id] ?? null,
    expression: (id) => (id === "broken" ? { error: "broken" } : null),
  };
  const run = (expr: unknown): Value => evaluateExpression(expr as Expr, env);
  const error = (message?: string): unknown => (message === undefined ? fn("error") : fn("error", message));

  it("reads references and literals", () => {
    expect(run({ attr: "card" })).toBe("GOLD");
    expect(run({ agg: "charges" })).toBe(30_000);
    expect(run({ expr: "broken" })).toEqual({ error: "broken" });
    expect(run("text")).toBe("text");
    expect(run(null)).toBe(null);
    expect(run(fn("now"))).toBe(NOW);
  });

  it("arithmetic, rounding half up, modulo keeping the dividend's sign", () => {
    expect(run(fn("add", 1, 2, 3))).toBe(6);
    expect(run(fn("sub", { agg: "charges" }, 6000))).toBe(24_000);
    expect(run(fn("mul", 2, 3, 4))).toBe(24);
    expect(run(fn("div", 7, 2))).toBe(3.5);
    expect(run(fn("mod", -7, 3))).toBe(-1);
    expect(run(fn("neg", 0))).toBe(0);
    expect(Object.is(run(fn("neg", 0)), -0)).toBe(false);
    expect(run(fn("abs", -4))).toBe(4);
    expect([
      run(fn("round", 2.5)),
      run(fn("round", -2.5)),
      run(fn("floor", -1.5)),
      run(fn("ceil", 1.2)),
    ]).toEqual([3, -2, -2, 2]);
    expect([run(fn("min", 3, 1, 2)), run(fn("max", 3, 1, 2))]).toEqual([1, 3]);
    expect(run(fn("mul", 1e308, 10))).toEqual({ error: "number out of range" });
  });

  it("division and modulo by 0 at run time are error values", () => {
    expect(run(fn("div", 1, fn("sub", { agg: "charges" }, 30_000)))).toEqual({ error: "division by zero" });
    expect(run(fn("mod", 1, fn("sub", { agg: "charges" }, 30_000)))).toEqual({ error: "division by zero" });
  });

  it("errors propagate through every function but isError, exists, coalesce and untaken if branches", () => {
    expect(run(fn("add", 1, error("x")))).toEqual({ error: "x" });
    expect(run(fn("and", false, error("e")))).toEqual({ error: "e" });
    expect(run(fn("eq", error("a"), error("b")))).toEqual({ error: "a" });
    expect(run(fn("not", error()))).toEqual({ error: "error" });
    expect(run(fn("isError", error()))).toBe(true);
    expect(run(fn("isError", 1))).toBe(false);
    expect(run(fn("exists", error()))).toBe(false);
    expect(run(fn("coalesce", null, error(), 3))).toBe(3);
    expect(run(fn("coalesce", null, error()))).toBe(null);
    expect(run(fn("if", true, 1, error()))).toBe(1);
    expect(run(fn("if", false, error(), 2))).toBe(2);
    expect(run(fn("if", error("c"), 1, 2))).toEqual({ error: "c" });
  });

  it("null: arithmetic gives null; eq/ne compare it; other comparisons are false; conditions read false", () => {
    expect(run(fn("add", 1, null))).toBe(null);
    expect(run(fn("max", 1, null))).toBe(null);
    expect(run(fn("eq", null, null))).toBe(true);
    expect(run(fn("eq", null, 0))).toBe(false);
    expect(run(fn("ne", null, 1))).toBe(true);
    expect([run(fn("gt", null, 1)), run(fn("lte", 1, null))]).toEqual([false, false]);
    expect(run(fn("and", true, null))).toBe(false);
    expect(run(fn("or", null, true))).toBe(true);
    expect(run(fn("not", null))).toBe(true);
    expect(run(fn("if", null, 1, 2))).toBe(2);
    expect([run(fn("exists", null)), run(fn("exists", 0)), run(fn("exists", ""))]).toEqual([
      false,
      true,
      true,
    ]);
  });

  it("if takes the first true condition, else the last argument", () => {
    const tier = (balance: number): unknown =>
      fn(
        "if",
        fn("gte", balance, 200_000),
        4,
        fn("gte", balance, 100_000),
        3,
        fn("gte", balance, 30_000),
        2,
        1,
      );
    expect([run(tier(250_000)), run(tier(100_000)), run(tier(30_000)), run(tier(29_999))]).toEqual([
      4, 3, 2, 1,
    ]);
  });

  it("comparisons of dates, numbers and strings", () => {
    expect(run(fn("gt", fn("now"), { agg: "joinedAt" }))).toBe(true);
    expect(run(fn("lt", "apple", "banana"))).toBe(true);
    expect(run(fn("gte", 2, 2))).toBe(true);
    expect(run(fn("eq", 1, "1"))).toBe(false);
  });

  it("daysSince and hoursSince are whole units to now, null for null", () => {
    expect(run(fn("daysSince", { agg: "joinedAt" }))).toBe(2);
    expect(run(fn("hoursSince", { agg: "joinedAt" }))).toBe(60);
    expect(run(fn("daysSince", null))).toBe(null);
    expect(run(fn("daysSince", fn("add", fn("now"), 1)))).toBe(-1);
  });

  it("a value of the wrong type at run time is an error value", () => {
    expect(run(fn("add", 1, { attr: "card" }))).toEqual({ error: 'type mismatch: "add" of a string' });
    expect(run(fn("gt", "a", 1))).toEqual({ error: 'type mismatch: "gt" of a number' });
    expect(run(fn("and", true, 1))).toEqual({ error: 'type mismatch: "and" of a number' });
  });
});

describe("formatExpression", () => {
  const f = (expr: unknown): string => formatExpression(expr as Expr);
  const a = { agg: "a" };
  const b = { agg: "b" };
  const c = { agg: "c" };

  it("reads like the seed's formula", () => {
    const formula = fn(
      "if",
      fn("not", fn("exists", { agg: "joinedAt" })),
      fn("error", "not a member"),
      fn("sub", { agg: "charges365" }, { agg: "returns365" }),
    );
    expect(f(formula)).toBe(
      'if(not(exists(agg.joinedAt)), error("not a member"), agg.charges365 - agg.returns365)',
    );
  });

  it("parenthesises by precedence, no more than needed", () => {
    expect(f(fn("mul", fn("add", 1, 2), 3))).toBe("(1 + 2) * 3");
    expect(f(fn("add", 1, fn("mul", 2, 3)))).toBe("1 + 2 * 3");
    expect(f(fn("sub", fn("sub", a, b), c))).toBe("agg.a - agg.b - agg.c");
    expect(f(fn("sub", a, fn("sub", b, c)))).toBe("agg.a - (agg.b - agg.c)");
    expect(f(fn("add", a, fn("add", b, c)))).toBe("agg.a + agg.b + agg.c");
    expect(f(fn("add", a, fn("sub", b, c)))).toBe("agg.a + (agg.b - agg.c)");
    expect(f(fn("div", a, fn("mul", b, c)))).toBe("agg.a / (agg.b * agg.c)");
    expect(f(fn("mod", fn("div", a, b), c))).toBe("agg.a / agg.b % agg.c");
    expect(f(fn("or", fn("and", true, false), true))).toBe("true and false or true");
    expect(f(fn("and", fn("or", true, false), true))).toBe("(true or false) and true");
    expect(f(fn("gte", fn("add", a, 1), 5))).toBe("agg.a + 1 >= 5");
    expect(f(fn("eq", fn("gt", a, b), true))).toBe("(agg.a > agg.b) == true");
    expect(f(fn("and", fn("gt", a, 1), fn("ne", b, null)))).toBe("agg.a > 1 and agg.b != null");
    expect(f(fn("lte", fn("sub", a, b), 0))).toBe("agg.a - agg.b <= 0");
  });

  it("functions, references and literals", () => {
    expect(f(fn("max", fn("add", 1, 2), 3))).toBe("max(1 + 2, 3)");
    expect(f(fn("neg", { attr: "x" }))).toBe("neg(attr.x)");
    expect(f(fn("eq", { attr: "card" }, 'say "hi"'))).toBe('attr.card == "say \\"hi\\""');
    expect(f({ agg: "charges-365" })).toBe('agg["charges-365"]');
    expect(f({ expr: "tier.number" })).toBe("expr.tier.number");
    expect(f(fn("now"))).toBe("now()");
    expect(f(fn("sub", a, -5))).toBe("agg.a - -5");
    expect(f(null)).toBe("null");
  });
});
