// The windows of limit rules (seed 004 steps 5.2 to 5.4): which stretch of time a rule counts
// consumption in. Pure: instants come in as epoch milliseconds, calendar facts are read in the
// workspace's IANA time zone with luxon, DST included.
//
// Rules:
// - lifetime: one cycle, [0, never).
// - fixed, days, every N: cycles of N local calendar days from local midnight of the day the promotion
//   starts (the anchor, schedule.startsAt). Every cycle starts at a local midnight, so each DST day in
//   it makes it an hour shorter (23 h) or longer (25 h).
// - fixed, weeks, every N: cycles of N weeks from local midnight of the Monday of the anchor's week.
// - fixed, calendar_months, every N: cycles of N months from local midnight of the 1st of the anchor's
//   month, so they reset on the 1st.
// - Cycles are half-open, [start, end): an instant on a boundary belongs to the new cycle. An instant
//   before the anchor falls in the first cycle (clamped), so nothing consumed early is lost.
// - A day begins at its first instant: the first of two midnights when a DST change repeats midnight,
//   the moment the clock jumps when one skips it.
// - rolling, last N days or weeks: consumption at instants in (at − N local days, at] counts (a week is
//   7 days). Local days, not N × 24 h, so "the last 7 days" across a DST change is 7 calendar days.
// - A cycle's index is exact calendar arithmetic (days or months between two local dates, counted on
//   wall-clock dates, which have no DST), never a walk from the anchor: it costs the same a day or ten
//   years into a promotion. Only the boundaries are then turned into instants, in the zone.
import { DateTime, type Zone } from "luxon";
import type { LimitRule, LimitWindow } from "./promotion.js";

/** [startMs, endMs); endMs null: the cycle never resets. */
export interface Cycle {
  readonly startMs: number;
  readonly endMs: number | null;
}

type FixedWindow = Extract<LimitWindow, { kind: "fixed" }>;
type RollingWindow = Extract<LimitWindow, { kind: "rolling" }>;

const LIFETIME: Cycle = { startMs: 0, endMs: null };
const MINUTE_MS = 60_000;
/** Only ever applied to wall-clock dates read as UTC, which has no DST: never to a real instant. */
const DAY_MS = 86_400_000;

/**
 * Fixed cycles as a grid of local calendar dates: cycle i starts on the date numbered origin + i × step,
 * dates numbered in days (days, weeks) or in months (calendar_months) since 1970-01-01.
 */
interface Grid {
  readonly unit: "days" | "months";
  readonly origin: number;
  readonly step: number;
}

/** The instant read in the zone; an unknown zone is a bug (the workspace zone is validated on write). */
function zoned(ms: number, zone: string): DateTime {
  if (!Number.isFinite(ms)) throw new Error(`not an instant: ${ms}`);
  const local = DateTime.fromMillis(ms, { zone });
  if (!local.isValid) throw new Error(`cannot read ${ms} in time zone "${zone}": ${local.invalidReason}`);
  return local;
}

/** Local midnight of a date read as if it were UTC (setUTCFullYear, unlike Date.UTC, keeps years < 100). */
function wallMs(year: number, month: number, day: number): number {
  return new Date(0).setUTCFullYear(year, month - 1, day);
}

function dayNumber(local: DateTime): number {
  return wallMs(local.year, local.month, local.day) / DAY_MS;
}

function monthNumber(local: DateTime): number {
  return (local.year - 1970) * 12 + local.month - 1;
}

function gridOf(window: FixedWindow, anchor: DateTime): Grid {
  switch (window.unit) {
    case "days":
      return { unit: "days", origin: dayNumber(anchor), step: window.every };
    case "weeks":
      return { unit: "days", origin: dayNumber(anchor) - (anchor.weekday - 1), step: 7 * window.every };
    case "calendar_months":
      return { unit: "months", origin: monthNumber(anchor), step: window.every };
  }
}

/** Index of the cycle holding this local instant; before the origin, the first cycle (clamped). */
function indexAt(grid: Grid, at: DateTime): number {
  const elapsed = (grid.unit === "days" ? dayNumber(at) : monthNumber(at)) - grid.origin;
  return Math.max(0, Math.floor(elapsed / grid.step));
}

/**
 * The first instant of a local date (given as its wall-clock midnight read as UTC). Not
 * DateTime.fromObject: for a wall time that occurs twice luxon picks the offset in force *now*, a hidden
 * clock read. Candidates are midnight under the offsets a day either side (nearly always the same);
 * the earliest real one wins. When neither is real, DST skipped midnight and the day begins where the
 * clock jumps, at midnight by the old offset.
 */
function startOfLocalDate(wall: number, zone: Zone): number {
  const before = zone.offset(wall - DAY_MS);
  const after = zone.offset(wall + DAY_MS);
  if (before === after) return wall - before * MINUTE_MS;
  const midnights = [before, after]
    .filter((offset) => zone.offset(wall - offset * MINUTE_MS) === offset)
    .map((offset) => wall - offset * MINUTE_MS);
  return midnights.length > 0 ? Math.min(...midnights) : wall - Math.min(before, after) * MINUTE_MS;
}

function boundaryMs(grid: Grid, index: number, zone: Zone): number {
  const n = grid.origin + index * grid.step;
  // setUTCFullYear carries a month past December (or before January) into the year.
  const wall = grid.unit === "days" ? n * DAY_MS : wallMs(1970, n + 1, 1);
  return startOfLocalDate(wall, zone);
}

function cycleOf(grid: Grid, index: number, zone: Zone): Cycle {
  return { startMs: boundaryMs(grid, index, zone), endMs: boundaryMs(grid, index + 1, zone) };
}

/** Where atMs falls among a window's cycles; null for lifetime, which has a single cycle. */
function locate(
  window: LimitWindow,
  anchorMs: number,
  atMs: number,
  zone: string,
): { grid: Grid; index: number; zone: Zone } | null {
  const at = zoned(atMs, zone);
  if (window.kind === "lifetime") return null;
  if (window.kind === "rolling") throw new Error("a rolling window has no cycles: use rollingWindowStartMs");
  const grid = gridOf(window, zoned(anchorMs, zone));
  return { grid, index: indexAt(grid, at), zone: at.zone };
}

/** The cycle of a limit window that contains `atMs`. anchorMs is the promotion's schedule.startsAt. */
export function cycleAt(window: LimitWindow, anchorMs: number, atMs: number, zone: string): Cycle {
  const found = locate(window, anchorMs, atMs, zone);
  return found === null ? LIFETIME : cycleOf(found.grid, found.index, found.zone);
}

/**
 * The next `count` cycles from the one containing atMs (inclusive): seed 004's "Preview cycle".
 * Lifetime gives its one cycle whatever the count. A rolling window has no cycles: asking is a bug
 * (use rollingWindowStartMs).
 */
export function previewCycles(
  window: LimitWindow,
  anchorMs: number,
  atMs: number,
  zone: string,
  count: number,
): Cycle[] {
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`cycle count must be a positive integer: ${count}`);
  const found = locate(window, anchorMs, atMs, zone);
  if (found === null) return [LIFETIME];
  const { grid, index, zone: tz } = found;
  return Array.from({ length: count }, (_, i) => cycleOf(grid, index + i, tz));
}

/** For rolling windows: consumption at instants > this value counts at atMs. */
export function rollingWindowStartMs(window: RollingWindow, atMs: number, zone: string): number {
  const days = window.unit === "weeks" ? 7 * window.last : window.last;
  return zoned(atMs, zone).minus({ days }).toMillis();
}

/** Validation refuses fixed and rolling rules in one promotion, so the first windowed rule decides. */
export function windowKindOf(rules: readonly LimitRule[]): "none" | "fixed" | "rolling" {
  for (const { window } of rules) if (window.kind !== "lifetime") return window.kind;
  return "none";
}
