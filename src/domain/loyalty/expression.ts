// Expressions over a profile's attributes, aggregates and other expressions (seed 003): the check of
// their JSON syntax and types with a path per problem, the evaluator, and a one-line text form. Pure.
import type { Issue } from "../check.js";
import {
  FUNCTIONS,
  type ErrorValue,
  type Expr,
  type FunctionName,
  type ParamType,
  type Value,
} from "./definitions.js";

/**
 * What an expression yields, as far as the check can tell. Every type may also be null at run time
 * (a missing attribute, an aggregate over nothing); "null" and "error" are the types of the literal
 * `null` and of `error(…)`; "any" is unknown (an unknown reference, branches of different types).
 */
export type ExprType = "number" | "string" | "boolean" | "date" | "null" | "error" | "any";

/** What a formula may refer to; `undefined` from a lookup means "no such definition". */
export interface ExprScope {
  readonly attributes: Readonly<Record<string, ParamType>>;
  aggregateType(id: string): ExprType | undefined;
  expressionType(id: string): ExprType | undefined;
}

/** What evaluation reads: the instant and the values of the references (dates as epoch ms). */
export interface ExprEnv {
  readonly nowMs: number;
  attribute(name: string): Value;
  aggregate(id: string): Value;
  expression(id: string): Value;
}

export const EXPRESSION_DEPTH_MAX = 32;
const ISSUES_MAX = 200;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

// ---- Check ------------------------------------------------------------------------------------

/**
 * Checks the structure and the types of an expression in its JSON syntax, adding every problem to
 * `issues` with a JSON pointer below `path`, and answers its type ("any" where it cannot tell).
 */
export function checkExpression(expr: unknown, scope: ExprScope, path: string, issues: Issue[]): ExprType {
  return check(expr, scope, path, issues, 1);
}

function add(issues: Issue[], code: string, path: string, message: string): void {
  if (issues.length < ISSUES_MAX) issues.push({ code, path: path || "/", message });
}

const REFERENCE_KEYS = ["attr", "agg", "expr", "fn"] as const;
const SYNTAXES = 'a literal, {"attr": name}, {"agg": id}, {"expr": id} or {"fn": name, "args": [ … ]}';

function check(expr: unknown, scope: ExprScope, path: string, issues: Issue[], depth: number): ExprType {
  if (depth > EXPRESSION_DEPTH_MAX) {
    add(issues, "too_deep", path, `expressions nest at most ${EXPRESSION_DEPTH_MAX} levels`);
    return "any";
  }
  if (expr === null) return "null";
  switch (typeof expr) {
    case "number":
      if (Number.isFinite(expr)) return "number";
      add(issues, "invalid_expression", path, "must be a finite number");
      return "any";
    case "string":
      return "string";
    case "boolean":
      return "boolean";
    case "object":
      if (!Array.isArray(expr)) break;
      add(issues, "invalid_expression", path, `must be ${SYNTAXES}; an array is not an expression`);
      return "any";
    default:
      add(issues, "invalid_expression", path, `must be ${SYNTAXES}`);
      return "any";
  }
  const record = expr as Record<string, unknown>;
  const keys = Object.keys(record);
  const kinds = REFERENCE_KEYS.filter((k) => Object.hasOwn(record, k));
  const kind = kinds[0];
  if (kind === undefined || kinds.length > 1) {
    add(issues, "invalid_expression", path, `must be ${SYNTAXES}`);
    return "any";
  }
  for (const key of keys) {
    if (key !== kind && !(kind === "fn" && key === "args")) {
      add(issues, "invalid_expression", `${path}/${pointerToken(key)}`, "is not a known field");
    }
  }
  if (kind === "fn") return checkCall(record, scope, path, issues, depth);
  const ref = record[kind];
  if (typeof ref !== "string" || ref === "") {
    add(issues, "invalid_expression", `${path}/${kind}`, "must be a non-empty string");
    return "any";
  }
  const type =
    kind === "attr"
      ? Object.hasOwn(scope.attributes, ref)
        ? scope.attributes[ref]
        : undefined
      : kind === "agg"
        ? scope.aggregateType(ref)
        : scope.expressionType(ref);
  if (type !== undefined) return type;
  const [code, what] =
    kind === "attr"
      ? ["unknown_attribute", "attribute"]
      : kind === "agg"
        ? ["unknown_aggregate", "aggregate"]
        : ["unknown_expression", "expression"];
  add(issues, code, `${path}/${kind}`, `there is no ${what} "${ref}"`);
  return "any";
}

function pointerToken(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

function checkCall(
  record: Record<string, unknown>,
  scope: ExprScope,
  path: string,
  issues: Issue[],
  depth: number,
): ExprType {
  const name = record.fn;
  let args: readonly unknown[] = [];
  if (Array.isArray(record.args)) args = record.args;
  else add(issues, "invalid_expression", `${path}/args`, "must be an array of expressions");
  const types = args.map((arg, i) => check(arg, scope, `${path}/args/${i}`, issues, depth + 1));
  if (typeof name !== "string" || !Object.hasOwn(FUNCTIONS, name)) {
    add(issues, "unknown_function", `${path}/fn`, `there is no function ${JSON.stringify(name)}`);
    return "any";
  }
  const fn = name as FunctionName;
  const [min, max] = FUNCTIONS[fn];
  const fits =
    args.length >= min && (max === -1 || args.length <= max) && (fn !== "if" || args.length % 2 === 1);
  if (!fits) {
    if (Array.isArray(record.args)) add(issues, "arity", `${path}/args`, arityMessage(fn, min, max));
    return FALLBACK_TYPES[fn];
  }
  return typeCall(fn, args, types, path, issues);
}

function arityMessage(fn: FunctionName, min: number, max: number): string {
  if (fn === "if") return `"if" takes a condition, a value, more condition-value pairs, and an else value`;
  if (min === max) return `"${fn}" takes ${min} argument${min === 1 ? "" : "s"}`;
  if (max === -1) return `"${fn}" takes at least ${min} arguments`;
  return `"${fn}" takes ${min} to ${max} arguments`;
}

/** The result type when the arguments do not fit: a guess that keeps follow-up messages sensible. */
const FALLBACK_TYPES: Record<FunctionName, ExprType> = {
  add: "any",
  sub: "any",
  mul: "number",
  div: "number",
  mod: "number",
  neg: "number",
  abs: "number",
  round: "number",
  floor: "number",
  ceil: "number",
  min: "any",
  max: "any",
  eq: "boolean",
  ne: "boolean",
  gt: "boolean",
  gte: "boolean",
  lt: "boolean",
  lte: "boolean",
  and: "boolean",
  or: "boolean",
  not: "boolean",
  if: "any",
  exists: "boolean",
  isError: "boolean",
  coalesce: "any",
  error: "error",
  now: "date",
  daysSince: "number",
  hoursSince: "number",
};

/** Null, error and unknown fit anywhere: null and errors propagate at run time. */
function loose(type: ExprType): boolean {
  return type === "any" || type === "null" || type === "error";
}

/** What a condition may be (`and`, `or`, `not`, `if`): null reads as false, an error propagates. */
function booleanish(type: ExprType): boolean {
  return type === "boolean" || loose(type);
}

/** Whether two types may be compared: dates compare with dates and numbers (epoch ms). */
function comparable(a: ExprType, b: ExprType): boolean {
  if (loose(a) || loose(b) || a === b) return true;
  return (a === "number" || a === "date") && (b === "number" || b === "date");
}

function article(type: ExprType): string {
  return type === "any" || type === "error" ? `an ${type}` : type === "null" ? "null" : `a ${type}`;
}

function typeCall(
  fn: FunctionName,
  args: readonly unknown[],
  types: readonly ExprType[],
  path: string,
  issues: Issue[],
): ExprType {
  const requireEach = (ok: (t: ExprType) => boolean, what: string): void => {
    types.forEach((t, i) => {
      if (!ok(t))
        add(issues, "type_mismatch", `${path}/args/${i}`, `"${fn}" takes ${what}, not ${article(t)}`);
    });
  };
  const numeric = (t: ExprType): boolean => t === "number" || loose(t);
  const temporal = (t: ExprType): boolean => t === "number" || t === "date" || loose(t);
  switch (fn) {
    case "add": {
      requireEach(temporal, "numbers (or a date and numbers)");
      const dates = types.filter((t) => t === "date").length;
      if (dates > 1) add(issues, "type_mismatch", path, `"add" cannot add two dates`);
      return dates > 0 ? "date" : types.includes("any") ? "any" : "number";
    }
    case "sub":
      return typeSub(types, path, issues);
    case "mul":
    case "div":
    case "mod":
    case "neg":
    case "abs":
    case "round":
    case "floor":
    case "ceil":
      requireEach(numeric, "numbers");
      if ((fn === "div" || fn === "mod") && staticNumber(args[1]) === 0) {
        add(issues, "division_by_zero", `${path}/args/1`, `"${fn}" by zero`);
      }
      return "number";
    case "min":
    case "max": {
      requireEach(temporal, "numbers or dates");
      const known = new Set(types.filter((t) => !loose(t)));
      if (types.includes("any")) return "any";
      return known.size === 1 && known.has("date") ? "date" : "number";
    }
    case "eq":
    case "ne":
    case "gt":
    case "gte":
    case "lt":
    case "lte": {
      const [a, b] = types as [ExprType, ExprType];
      if (fn !== "eq" && fn !== "ne") requireEach((t) => t !== "boolean", "numbers, dates or strings");
      if (!comparable(a, b)) {
        add(issues, "type_mismatch", path, `"${fn}" compares ${article(a)} with ${article(b)}`);
      }
      return "boolean";
    }
    case "and":
    case "or":
    case "not":
      requireEach(booleanish, "conditions");
      return "boolean";
    case "if": {
      const branches: ExprType[] = [];
      types.forEach((t, i) => {
        const isCondition = i % 2 === 0 && i < types.length - 1;
        if (!isCondition) branches.push(t);
        else if (!booleanish(t)) {
          add(
            issues,
            "type_mismatch",
            `${path}/args/${i}`,
            `a condition of "if" must be true or false, not ${article(t)}`,
          );
        }
      });
      return joinTypes(branches);
    }
    case "exists":
    case "isError":
      return "boolean";
    case "coalesce":
      return joinTypes(types);
    case "error":
      if (args.length === 1 && typeof args[0] !== "string") {
        add(issues, "type_mismatch", `${path}/args/0`, `the message of "error" must be a literal string`);
      }
      return "error";
    case "now":
      return "date";
    case "daysSince":
    case "hoursSince":
      requireEach((t) => t === "date" || loose(t), "a date");
      return "number";
    default:
      return assertNever(fn);
  }
}

function typeSub(types: readonly ExprType[], path: string, issues: Issue[]): ExprType {
  const [a, b] = types as [ExprType, ExprType];
  types.forEach((t, i) => {
    if (!(t === "number" || t === "date" || loose(t))) {
      add(issues, "type_mismatch", `${path}/args/${i}`, `"sub" takes numbers or dates, not ${article(t)}`);
    }
  });
  if (a === "number" && b === "date") {
    add(issues, "type_mismatch", `${path}/args/1`, `"sub" cannot subtract a date from a number`);
    return "number";
  }
  if (a === "date") return b === "date" ? "number" : b === "any" ? "any" : "date";
  if (a === "any") return "any";
  return "number";
}

/** The type of a choice between values: null and error branches fit any other branch. */
function joinTypes(types: readonly ExprType[]): ExprType {
  const known = new Set(types.filter((t) => t !== "null" && t !== "error"));
  if (known.size === 0) return types.includes("null") ? "null" : "error";
  if (known.size > 1 || known.has("any")) return "any";
  return [...known][0]!;
}

/**
 * The value of a numeric expression made only of literals (`0`, `neg(0)`, `sub(2, 2)`), or undefined
 * when it depends on anything else or is not well formed: what `division_by_zero` is checked on.
 */
function staticNumber(expr: unknown): number | undefined {
  if (typeof expr === "number") return expr;
  if (typeof expr !== "object" || expr === null || Array.isArray(expr)) return undefined;
  const { fn, args } = expr as { fn?: unknown; args?: unknown };
  if (!Array.isArray(args) || args.length === 0 || args.length > 100) return undefined;
  const values = args.map(staticNumber);
  if (values.some((v) => v === undefined)) return undefined;
  const [a, b] = values as [number, number];
  switch (fn) {
    case "neg":
      return args.length === 1 ? 0 - a : undefined;
    case "abs":
      return args.length === 1 ? Math.abs(a) : undefined;
    case "add":
      return (values as number[]).reduce((x, y) => x + y, 0);
    case "mul":
      return (values as number[]).reduce((x, y) => x * y, 1);
    case "sub":
      return args.length === 2 ? a - b : undefined;
    default:
      return undefined;
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected ${String(value)}`);
}

// ---- Evaluate ---------------------------------------------------------------------------------

/**
 * Evaluates a checked expression. The semantics:
 * - an error value propagates: a function given an error answers the first error among its
 *   arguments, except `isError`, `exists` (false for an error), `coalesce` (skips nulls and errors,
 *   null when nothing is left) and `if`, which evaluates only the branch it takes;
 * - division and modulo by 0 answer `{error: "division by zero"}`; `mod` keeps the dividend's sign;
 *   `round` rounds halves up (towards +∞); a result beyond the finite doubles is an error value;
 * - arithmetic (add sub mul div mod neg abs round floor ceil min max) with a null answers null;
 * - `eq`/`ne` compare nulls too (null == null); gt gte lt lte with a null are false;
 * - `and`, `or`, `not` and the conditions of `if` read null as false; all arguments of `and` and
 *   `or` are evaluated (no short circuit), so an error in any of them propagates;
 * - dates are epoch milliseconds: date ± number is a date, date − date a number of ms;
 *   `daysSince(d)` is floor((now − d) / 86 400 000), `hoursSince(d)` the same in hours, null for null;
 * - numbers are IEEE doubles; amounts are integer minor units, so sums of them are exact;
 * - a value of the wrong type (possible only through "any") is an error value "type mismatch: …".
 */
export function evaluateExpression(expr: Expr, env: ExprEnv): Value {
  if (expr === null || typeof expr !== "object") return expr;
  if ("fn" in expr) return call(expr.fn, expr.args, env);
  if ("attr" in expr) return env.attribute(expr.attr);
  if ("agg" in expr) return env.aggregate(expr.agg);
  return env.expression(expr.expr);
}

const DIVISION_BY_ZERO: ErrorValue = { error: "division by zero" };
const OUT_OF_RANGE: ErrorValue = { error: "number out of range" };

export function isErrorValue(value: Value): value is ErrorValue {
  return typeof value === "object" && value !== null;
}

function typeError(fn: string, value: Value): ErrorValue {
  return { error: `type mismatch: "${fn}" of ${value === null ? "null" : `a ${typeof value}`}` };
}

function call(fn: FunctionName, args: readonly Expr[], env: ExprEnv): Value {
  switch (fn) {
    case "if":
      return evaluateIf(args, env);
    case "coalesce":
      for (const arg of args) {
        const value = evaluateExpression(arg, env);
        if (value !== null && !isErrorValue(value)) return value;
      }
      return null;
    case "isError":
      return isErrorValue(evaluateExpression(args[0]!, env));
    case "exists": {
      const value = evaluateExpression(args[0]!, env);
      return value !== null && !isErrorValue(value);
    }
    case "error":
      return { error: typeof args[0] === "string" ? args[0] : "error" };
    case "now":
      return env.nowMs;
    default:
      break;
  }
  const values: Value[] = [];
  for (const arg of args) {
    const value = evaluateExpression(arg, env);
    if (isErrorValue(value)) return value;
    values.push(value);
  }
  return apply(fn, values, env.nowMs);
}

function evaluateIf(args: readonly Expr[], env: ExprEnv): Value {
  const last = args.length - 1;
  for (let i = 0; i < last; i += 2) {
    const condition = evaluateExpression(args[i]!, env);
    const truth = truthOf("if", condition);
    if (typeof truth !== "boolean") return truth;
    if (truth) return evaluateExpression(args[i + 1]!, env);
  }
  return evaluateExpression(args[last]!, env);
}

/** A condition's truth: null is false; anything but a boolean is an error value. */
function truthOf(fn: string, value: Value): boolean | ErrorValue {
  if (value === null) return false;
  if (typeof value === "boolean") return value;
  return isErrorValue(value) ? value : typeError(fn, value);
}

/** The strict functions, over arguments none of which is an error. */
function apply(fn: FunctionName, values: readonly Value[], nowMs: number): Value {
  switch (fn) {
    case "eq":
      return values[0] === values[1];
    case "ne":
      return values[0] !== values[1];
    case "gt":
    case "gte":
    case "lt":
    case "lte":
      return compare(fn, values[0]!, values[1]!);
    case "and":
    case "or":
    case "not":
      return logic(fn, values);
    case "daysSince":
    case "hoursSince": {
      const value = values[0]!;
      if (value === null) return null;
      if (typeof value !== "number") return typeError(fn, value);
      return Math.floor((nowMs - value) / (fn === "daysSince" ? DAY_MS : HOUR_MS));
    }
    default:
      return arithmetic(fn, values);
  }
}

function compare(fn: "gt" | "gte" | "lt" | "lte", a: Value, b: Value): Value {
  if (a === null || b === null) return false;
  if (typeof a !== typeof b || typeof a === "boolean") return typeError(fn, typeof a === "boolean" ? a : b);
  const x = a as number;
  const y = b as number;
  switch (fn) {
    case "gt":
      return x > y;
    case "gte":
      return x >= y;
    case "lt":
      return x < y;
    case "lte":
      return x <= y;
  }
}

function logic(fn: "and" | "or" | "not", values: readonly Value[]): Value {
  let all = true;
  let some = false;
  for (const value of values) {
    const truth = truthOf(fn, value);
    if (typeof truth !== "boolean") return truth;
    all &&= truth;
    some ||= truth;
  }
  return fn === "and" ? all : fn === "or" ? some : !all;
}

function arithmetic(fn: FunctionName, values: readonly Value[]): Value {
  for (const value of values) {
    if (value === null) return null;
    if (typeof value !== "number") return typeError(fn, value);
  }
  const numbers = values as readonly number[];
  const [a, b] = numbers as [number, number];
  let result: number;
  switch (fn) {
    case "add":
      result = numbers.reduce((x, y) => x + y, 0);
      break;
    case "sub":
      result = a - b;
      break;
    case "mul":
      result = numbers.reduce((x, y) => x * y, 1);
      break;
    case "div":
      if (b === 0) return DIVISION_BY_ZERO;
      result = a / b;
      break;
    case "mod":
      if (b === 0) return DIVISION_BY_ZERO;
      result = a % b;
      break;
    case "neg":
      result = 0 - a;
      break;
    case "abs":
      result = Math.abs(a);
      break;
    case "round":
      result = Math.round(a);
      break;
    case "floor":
      result = Math.floor(a);
      break;
    case "ceil":
      result = Math.ceil(a);
      break;
    case "min":
      result = Math.min(...numbers);
      break;
    case "max":
      result = Math.max(...numbers);
      break;
    default:
      throw new Error(`evaluateExpression: "${fn}" is not arithmetic`);
  }
  // -0 would print as 0 but compare oddly in division; normalise it.
  if (result === 0) return 0;
  return Number.isFinite(result) ? result : OUT_OF_RANGE;
}

// ---- Format -----------------------------------------------------------------------------------

/** Binary operators and their precedence (higher binds tighter); comparisons do not chain. */
const INFIX: Partial<Record<FunctionName, { readonly op: string; readonly precedence: number }>> = {
  or: { op: "or", precedence: 1 },
  and: { op: "and", precedence: 2 },
  eq: { op: "==", precedence: 3 },
  ne: { op: "!=", precedence: 3 },
  gt: { op: ">", precedence: 3 },
  gte: { op: ">=", precedence: 3 },
  lt: { op: "<", precedence: 3 },
  lte: { op: "<=", precedence: 3 },
  add: { op: "+", precedence: 4 },
  sub: { op: "-", precedence: 4 },
  mul: { op: "*", precedence: 5 },
  div: { op: "/", precedence: 5 },
  mod: { op: "%", precedence: 5 },
};
const COMPARISON_PRECEDENCE = 3;
const ATOM = 9;
const ASSOCIATIVE: ReadonlySet<string> = new Set(["add", "mul", "and", "or"]);
const BARE_ID = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/**
 * A readable one-line form: `if(not(exists(agg.joinedAt)), error("not a member"), agg.charges -
 * agg.returns)`. Binary operators are infix with the fewest parentheses their precedence allows
 * (operators are left-associative; comparisons never chain); references read `attr.x`, `agg.x`,
 * `expr.x` (`agg["x-y"]` when the id is not a plain name); strings are JSON-quoted.
 */
export function formatExpression(expr: Expr): string {
  return format(expr, 0).text;
}

function format(expr: Expr, depth: number): { text: string; precedence: number } {
  if (depth > EXPRESSION_DEPTH_MAX * 4) return { text: "…", precedence: ATOM };
  if (expr === null || typeof expr !== "object") return { text: JSON.stringify(expr), precedence: ATOM };
  if ("attr" in expr) return { text: reference("attr", expr.attr), precedence: ATOM };
  if ("agg" in expr) return { text: reference("agg", expr.agg), precedence: ATOM };
  if ("expr" in expr) return { text: reference("expr", expr.expr), precedence: ATOM };
  if (!("fn" in expr) || !Array.isArray(expr.args)) return { text: JSON.stringify(expr), precedence: ATOM };
  const infix = INFIX[expr.fn];
  const args = expr.args.map((arg) => ({ arg, ...format(arg, depth + 1) }));
  if (infix === undefined || args.length < 2) {
    return { text: `${String(expr.fn)}(${args.map((a) => a.text).join(", ")})`, precedence: ATOM };
  }
  const { op, precedence } = infix;
  const parts = args.map(({ arg, text, precedence: inner }, i) => {
    const sameLevel = inner === precedence;
    const childFn = typeof arg === "object" && arg !== null && "fn" in arg ? arg.fn : undefined;
    const wrap =
      inner < precedence ||
      (sameLevel && precedence === COMPARISON_PRECEDENCE) ||
      (sameLevel && i > 0 && !(childFn === expr.fn && ASSOCIATIVE.has(expr.fn)));
    return wrap ? `(${text})` : text;
  });
  return { text: parts.join(` ${op} `), precedence };
}

function reference(kind: "attr" | "agg" | "expr", id: string): string {
  return BARE_ID.test(id) ? `${kind}.${id}` : `${kind}[${JSON.stringify(id)}]`;
}
