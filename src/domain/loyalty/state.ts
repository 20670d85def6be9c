// A profile's aggregates kept incrementally (seed 003): a compact JSON state per profile that new
// events fold into, a rebuild from all events when that cannot be exact, the aggregates' values at an
// instant, and the evaluation of expressions, segments and tiers from them. Pure: `nowMs` is an input.
//
// Exactness. A filter may compare an event with another aggregate's value ("$timestamp after the time
// of joining"). Such a referenced aggregate is over the lifetime, so its value changes only when an
// event arrives, never with time. The state is therefore exactly `rebuildState(all events so far)` as
// long as no referenced value changes: every event, old or new, was tested against the value that is
// also the final one. When a fold changes a referenced value (a first or a late, earlier joining
// event), `foldEvents` says `rebuild: true` and the caller rebuilds from all the profile's events.
import type { AggregateFn, ParamType, ProfileEvent, ScalarValue, Value } from "./definitions.js";
import { evaluateExpression, isErrorValue } from "./expression.js";
import type { CompiledAggregate, CompiledModel } from "./model.js";

const HOUR_MS = 3_600_000;

/**
 * What the events folded into one aggregate (or one hour of it) add up to. Only the fields the
 * aggregate's function needs are present: `s` for sum and avg, `lo` for min, `hi` for max, `ft`/`fv`
 * for first, `lt`/`lv` for last. Dates are epoch ms.
 */
export interface Accumulator {
  /** Events folded (for all but count: those that had the analysed parameter). */
  readonly c: number;
  readonly s?: number;
  readonly lo?: number;
  readonly hi?: number;
  /** The earliest event's time and value (ties: the later one folded). */
  readonly ft?: number;
  readonly fv?: ScalarValue;
  /** The latest event's time and value (ties: the later one folded). */
  readonly lt?: number;
  readonly lv?: ScalarValue;
}

/** A lifetime aggregate: one accumulator, under the fingerprint of the definition it was built by. */
export interface LifetimeState extends Accumulator {
  readonly f: string;
}

/** One UTC hour of a windowed aggregate; `h` is the hour's start (epoch ms). */
export interface HourBucket extends Accumulator {
  readonly h: number;
}

/** A windowed aggregate (`last N days|hours`): sparse hour buckets in ascending order of `h`. */
export interface WindowedState {
  readonly f: string;
  readonly b: readonly HourBucket[];
}

export type AggregateState = LifetimeState | WindowedState;

/** A profile's aggregate state, stored as jsonb: per aggregate id. */
export interface ProfileState {
  readonly aggregates: Readonly<Record<string, AggregateState>>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Acc = Mutable<Accumulator>;
type Bucket = Mutable<HourBucket>;
type Lifetime = Mutable<LifetimeState>;
interface Windowed {
  f: string;
  b: Bucket[];
}
type Entry = Lifetime | Windowed;

/**
 * A state that holds nothing. It is current only for a model without aggregates: a missing aggregate
 * cannot be told from one added after the profile had events. `rebuildState(compiled, [], nowMs)` is
 * the current state of a profile without events.
 */
export function emptyState(): ProfileState {
  return { aggregates: {} };
}

/** Whether every aggregate of the model has state built under its current fingerprint. */
export function isCurrent(compiled: CompiledModel, state: ProfileState): boolean {
  for (const agg of compiled.aggregates) {
    const entry = Object.hasOwn(state.aggregates, agg.id) ? state.aggregates[agg.id] : undefined;
    if (entry === undefined || entry.f !== agg.fingerprint) return false;
  }
  return true;
}

// ---- Folding ----------------------------------------------------------------------------------

export function floorToHour(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/** The first hour a windowed aggregate still counts at `nowMs`. */
function windowStartMs(agg: CompiledAggregate, nowMs: number): number {
  return agg.windowMs === 0 ? -Infinity : floorToHour(nowMs - agg.windowMs);
}

function emptyEntry(agg: CompiledAggregate): Entry {
  return agg.windowMs === 0 ? { f: agg.fingerprint, c: 0 } : { f: agg.fingerprint, b: [] };
}

/** One event into an accumulator; `value` is the analysed parameter (unused by count). */
function foldValue(acc: Acc, fn: AggregateFn, atMs: number, value: ScalarValue): void {
  acc.c++;
  switch (fn) {
    case "count":
      return;
    case "sum":
    case "avg":
      acc.s = (acc.s ?? 0) + (value as number);
      return;
    case "min":
      if (acc.lo === undefined || (value as number) < acc.lo) acc.lo = value as number;
      return;
    case "max":
      if (acc.hi === undefined || (value as number) > acc.hi) acc.hi = value as number;
      return;
    case "first":
      if (acc.ft === undefined || atMs <= acc.ft) {
        acc.ft = atMs;
        acc.fv = value;
      }
      return;
    case "last":
      if (acc.lt === undefined || atMs >= acc.lt) {
        acc.lt = atMs;
        acc.lv = value;
      }
      return;
  }
}

/** The bucket of hour `h`, created in order if missing (events mostly come in time order: try the end). */
function bucketOf(buckets: Bucket[], h: number): Bucket {
  const n = buckets.length;
  const last = buckets[n - 1];
  if (last !== undefined && last.h === h) return last;
  if (last === undefined || last.h < h) {
    const bucket: Bucket = { h, c: 0 };
    buckets.push(bucket);
    return bucket;
  }
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (buckets[mid]!.h < h) lo = mid + 1;
    else hi = mid;
  }
  if (buckets[lo]!.h === h) return buckets[lo]!;
  const bucket: Bucket = { h, c: 0 };
  buckets.splice(lo, 0, bucket);
  return bucket;
}

/**
 * Folds one event that passed the aggregate's filters into its entry; windowed aggregates skip
 * events before the window. Events without the analysed parameter count only for `count`.
 */
function foldEvent(agg: CompiledAggregate, entry: Entry, event: ProfileEvent, startMs: number): void {
  let value: ScalarValue | undefined = 0;
  if (agg.fn !== "count") {
    value = agg.read(event);
    if (value === undefined) return;
  }
  if (agg.windowMs === 0) return foldValue(entry as Lifetime, agg.fn, event.atMs, value);
  const h = floorToHour(event.atMs);
  if (h < startMs) return;
  foldValue(bucketOf((entry as Windowed).b, h), agg.fn, event.atMs, value);
}

/** Whether an event passes the aggregate's filters, references read from `entries` as they are. */
function passes(
  agg: CompiledAggregate,
  event: ProfileEvent,
  entries: readonly Entry[],
  aggs: readonly CompiledAggregate[],
): boolean {
  if (!agg.matches(event)) return false;
  for (const ref of agg.references) {
    if (!ref.test(event, lifetimeValue(entries[ref.index] as Lifetime, aggs[ref.index]!.fn))) return false;
  }
  return true;
}

function copyEntry(entry: AggregateState): Entry {
  if ("b" in entry) return { f: entry.f, b: entry.b.map((bucket) => ({ ...bucket })) };
  return { ...entry };
}

/** Windowed entries without the hours before the window; untouched entries are shared, not copied. */
function pruned(entry: AggregateState, startMs: number): AggregateState {
  if (!("b" in entry) || entry.b.length === 0 || entry.b[0]!.h >= startMs) return entry;
  return { f: entry.f, b: entry.b.filter((bucket) => bucket.h >= startMs) };
}

/**
 * Folds new events (in any order) into a copy of the state: each event into every aggregate its type
 * feeds whose filters it passes, aggregates in topological order, so a filter against `{agg}` sees
 * that aggregate's value after this event was folded into it. Windowed aggregates skip events before
 * their window at `nowMs` and drop older hours. The input state is not changed.
 *
 * `rebuild: true` when the state is not current (the state is then returned unchanged) or when a
 * value some filter references changed: the caller loads all the profile's events and calls
 * `rebuildState`. Without that, the result equals `rebuildState` over all events (see the top).
 */
export function foldEvents(
  compiled: CompiledModel,
  state: ProfileState,
  events: readonly ProfileEvent[],
  nowMs: number,
): { state: ProfileState; rebuild: boolean } {
  if (!isCurrent(compiled, state)) return { state, rebuild: true };
  const aggs = compiled.aggregates;
  const fed = new Set<CompiledAggregate>();
  for (const event of events) for (const agg of compiled.byEventType.get(event.type) ?? []) fed.add(agg);
  const entries: Entry[] = [];
  const starts: number[] = [];
  for (const agg of aggs) {
    const start = windowStartMs(agg, nowMs);
    const stored = pruned(state.aggregates[agg.id]!, start);
    entries.push(fed.has(agg) ? copyEntry(stored) : (stored as Entry));
    starts.push(start);
  }
  const before = aggs.map((agg) =>
    agg.referenced && fed.has(agg) ? lifetimeValue(entries[agg.index] as Lifetime, agg.fn) : null,
  );
  for (const event of events) {
    const targets = compiled.byEventType.get(event.type);
    if (targets === undefined) continue;
    for (const agg of targets) {
      if (passes(agg, event, entries, aggs)) foldEvent(agg, entries[agg.index]!, event, starts[agg.index]!);
    }
  }
  let rebuild = false;
  for (const agg of aggs) {
    if (
      agg.referenced &&
      fed.has(agg) &&
      !sameValue(before[agg.index]!, lifetimeValue(entries[agg.index] as Lifetime, agg.fn))
    ) {
      rebuild = true;
    }
  }
  return { state: stateOf(aggs, entries), rebuild };
}

function sameValue(a: Value, b: Value): boolean {
  if (isErrorValue(a) || isErrorValue(b)) return isErrorValue(a) && isErrorValue(b) && a.error === b.error;
  return a === b;
}

function stateOf(aggs: readonly CompiledAggregate[], entries: readonly Entry[]): ProfileState {
  const aggregates: Record<string, AggregateState> = {};
  for (const agg of aggs) aggregates[agg.id] = entries[agg.index]!;
  return { aggregates };
}

/**
 * The state from all of a profile's events, in any order. Aggregates are folded level by level
 * (compiled.levels), so a filter against `{agg}` sees that aggregate's FINAL value over all events,
 * not its value as of each event.
 */
export function rebuildState(
  compiled: CompiledModel,
  events: readonly ProfileEvent[],
  nowMs: number,
): ProfileState {
  const aggs = compiled.aggregates;
  const entries = aggs.map(emptyEntry);
  const starts = aggs.map((agg) => windowStartMs(agg, nowMs));
  for (const level of compiled.levels) {
    for (const event of events) {
      const targets = level.get(event.type);
      if (targets === undefined) continue;
      for (const agg of targets) {
        if (passes(agg, event, entries, aggs)) foldEvent(agg, entries[agg.index]!, event, starts[agg.index]!);
      }
    }
  }
  return stateOf(aggs, entries);
}

// ---- Values -----------------------------------------------------------------------------------

/** The value of an accumulator: count and sum 0 over nothing; the others null over nothing. */
function lifetimeValue(acc: Accumulator, fn: AggregateFn): Value {
  switch (fn) {
    case "count":
      return acc.c;
    case "sum":
      return acc.s ?? 0;
    case "avg":
      return acc.c === 0 ? null : (acc.s ?? 0) / acc.c;
    case "min":
      return acc.lo ?? null;
    case "max":
      return acc.hi ?? null;
    case "first":
      return acc.fv ?? null;
    case "last":
      return acc.lv ?? null;
  }
}

const NOT_COMPUTED: Value = { error: "aggregate state is not current: rebuild it" };

/**
 * An aggregate's value at `nowMs`: count and sum are 0 over nothing, first/last/min/max/avg null;
 * a windowed one merges its hours from floorToHour(nowMs − window) on. A state built under another
 * fingerprint (or none) answers an error value: the caller rebuilds before evaluating.
 */
export function aggregateValue(
  compiled: CompiledModel,
  state: ProfileState,
  id: string,
  nowMs: number,
): Value {
  const agg = compiled.aggregateById.get(id);
  if (agg === undefined) return { error: `unknown aggregate "${id}"` };
  const entry = Object.hasOwn(state.aggregates, id) ? state.aggregates[id] : undefined;
  if (entry === undefined || entry.f !== agg.fingerprint) return NOT_COMPUTED;
  if (!("b" in entry)) return lifetimeValue(entry, agg.fn);
  return windowedValue(entry.b, agg.fn, windowStartMs(agg, nowMs));
}

function windowedValue(buckets: readonly HourBucket[], fn: AggregateFn, startMs: number): Value {
  let c = 0;
  let s = 0;
  let lo: number | undefined;
  let hi: number | undefined;
  let first: HourBucket | undefined;
  let last: HourBucket | undefined;
  for (const bucket of buckets) {
    if (bucket.h < startMs || bucket.c === 0) continue;
    c += bucket.c;
    s += bucket.s ?? 0;
    if (bucket.lo !== undefined && (lo === undefined || bucket.lo < lo)) lo = bucket.lo;
    if (bucket.hi !== undefined && (hi === undefined || bucket.hi > hi)) hi = bucket.hi;
    first ??= bucket;
    last = bucket;
  }
  switch (fn) {
    case "count":
      return c;
    case "sum":
      return s;
    case "avg":
      return c === 0 ? null : s / c;
    case "min":
      return lo ?? null;
    case "max":
      return hi ?? null;
    case "first":
      return first?.fv ?? null;
    case "last":
      return last?.lv ?? null;
  }
}

// ---- Evaluation -------------------------------------------------------------------------------

export interface ProfileEvaluation {
  aggregates: Record<string, Value>;
  expressions: Record<string, Value>;
  /** Sorted. */
  segmentIds: string[];
  /** programId → tierId; null: not a member (the value is null, an error or not a number). */
  tiers: Record<string, string | null>;
}

/**
 * Everything a profile evaluates to at `nowMs`. Attributes are read by their declared type (dates from
 * ISO strings to epoch ms); an undeclared attribute or a value of another type reads as null. A
 * segment holds the profile when its condition is true; a tier program's tier is the last tier whose
 * `from` is at most the value.
 */
export function evaluateProfile(
  compiled: CompiledModel,
  profile: { attributes: Readonly<Record<string, ScalarValue>>; state: ProfileState },
  nowMs: number,
): ProfileEvaluation {
  const aggregates: Record<string, Value> = {};
  for (const agg of compiled.aggregates)
    aggregates[agg.id] = aggregateValue(compiled, profile.state, agg.id, nowMs);
  const expressions: Record<string, Value> = {};
  const env = {
    nowMs,
    attribute: (name: string): Value => attributeValue(compiled.attributes, profile.attributes, name),
    aggregate: (id: string): Value =>
      Object.hasOwn(aggregates, id) ? aggregates[id]! : { error: `unknown aggregate "${id}"` },
    expression: (id: string): Value =>
      Object.hasOwn(expressions, id) ? expressions[id]! : { error: `unknown expression "${id}"` },
  };
  for (const { id, formula } of compiled.expressions) expressions[id] = evaluateExpression(formula, env);
  const segmentIds: string[] = [];
  for (const { body } of compiled.segmentations) {
    for (const segment of body.segments) {
      if (evaluateExpression(segment.condition, env) === true) segmentIds.push(segment.id);
    }
  }
  segmentIds.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const tiers: Record<string, string | null> = {};
  for (const { id, body } of compiled.tierPrograms) {
    const value = evaluateExpression(body.value, env);
    let tier: string | null = null;
    if (typeof value === "number" && Number.isFinite(value)) {
      for (const candidate of body.tiers)
        if (candidate.from === undefined || candidate.from <= value) tier = candidate.id;
    }
    tiers[id] = tier;
  }
  return { aggregates, expressions, segmentIds, tiers };
}

function attributeValue(
  declared: Readonly<Record<string, ParamType>>,
  attributes: Readonly<Record<string, ScalarValue>>,
  name: string,
): Value {
  if (!Object.hasOwn(declared, name) || !Object.hasOwn(attributes, name)) return null;
  const value = attributes[name];
  switch (declared[name]) {
    case "date": {
      if (typeof value !== "string") return null;
      const ms = Date.parse(value);
      return Number.isNaN(ms) ? null : ms;
    }
    case "number":
      return typeof value === "number" ? value : null;
    case "string":
      return typeof value === "string" ? value : null;
    case "boolean":
      return typeof value === "boolean" ? value : null;
    default:
      return null;
  }
}
