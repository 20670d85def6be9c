// Proves the windows of limit rules: fixed cycles reset at local midnight in the workspace zone (DST
// days are 23 h or 25 h), weeks from Monday, months on the 1st, half-open and clamped before the
// anchor, equal to a slow day-by-day walk years into a promotion; rolling windows count local days;
// previews are contiguous.
import fc from "fast-check";
import { DateTime, Settings } from "luxon";
import { describe, expect, it } from "vitest";
import { cycleAt, previewCycles, rollingWindowStartMs, windowKindOf, type Cycle } from "./limits.js";
import type { LimitRule, LimitWindow } from "./promotion.js";

type FixedWindow = Extract<LimitWindow, { kind: "fixed" }>;

const ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"] as const;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const daily = (every = 1): LimitWindow => ({ kind: "fixed", unit: "days", every });
const weekly = (every = 1): LimitWindow => ({ kind: "fixed", unit: "weeks", every });
const monthly = (every = 1): LimitWindow => ({ kind: "fixed", unit: "calendar_months", every });

/** A local wall-clock time in the zone, as epoch ms. */
function at(local: string, zone: string): number {
  return DateTime.fromISO(local, { zone }).toMillis();
}

/** A cycle as local ISO strings, so failures read as calendar facts. */
function local(cycle: Cycle, zone: string): [string, string | null] {
  const iso = (ms: number): string => DateTime.fromMillis(ms, { zone }).toISO() ?? "invalid";
  return [iso(cycle.startMs), cycle.endMs === null ? null : iso(cycle.endMs)];
}

function hours(cycle: Cycle): number {
  return ((cycle.endMs ?? Number.NaN) - cycle.startMs) / HOUR_MS;
}

/**
 * The reference: walk local midnights one day at a time from the first cycle's start, counting days
 * (or month starts) to find the boundaries. Independent of the module's day numbers, and slow.
 */
function slowCycleAt(window: FixedWindow, anchorMs: number, atMs: number, zone: string): Cycle {
  let day = DateTime.fromMillis(anchorMs, { zone }).startOf("day");
  if (window.unit === "weeks") while (day.weekday !== 1) day = day.minus({ days: 1 });
  if (window.unit === "calendar_months") day = day.set({ day: 1 });
  const period = window.unit === "weeks" ? 7 * window.every : window.every;
  let start = day;
  let counted = 0;
  for (;;) {
    day = day.plus({ days: 1 });
    const boundary =
      window.unit === "calendar_months"
        ? day.day === 1 && ++counted % period === 0
        : ++counted % period === 0;
    if (!boundary) continue;
    if (day.toMillis() > atMs) return { startMs: start.toMillis(), endMs: day.toMillis() };
    start = day;
  }
}

describe("lifetime", () => {
  it("is one cycle from 0 that never resets, whatever the instant or the preview count", () => {
    const anchor = at("2024-05-01T09:00", "UTC");
    expect(cycleAt({ kind: "lifetime" }, anchor, anchor + 900 * DAY_MS, "UTC")).toEqual({
      startMs: 0,
      endMs: null,
    });
    expect(previewCycles({ kind: "lifetime" }, anchor, anchor, "Asia/Kolkata", 5)).toEqual([
      { startMs: 0, endMs: null },
    ]);
  });
});

describe("fixed days", () => {
  const zone = "Europe/Berlin";
  const anchor = at("2024-03-20T15:30", zone);

  it("starts each cycle at local midnight, the first on the day the promotion starts", () => {
    expect(local(cycleAt(daily(), anchor, anchor, zone), zone)).toEqual([
      "2024-03-20T00:00:00.000+01:00",
      "2024-03-21T00:00:00.000+01:00",
    ]);
  });

  it("makes the spring-forward day 23 hours, midnight to midnight", () => {
    for (const time of ["2024-03-31T00:00", "2024-03-31T01:59", "2024-03-31T03:00", "2024-03-31T23:59"]) {
      const cycle = cycleAt(daily(), anchor, at(time, zone), zone);
      expect(local(cycle, zone)).toEqual(["2024-03-31T00:00:00.000+01:00", "2024-04-01T00:00:00.000+02:00"]);
      expect(hours(cycle)).toBe(23);
    }
  });

  it("makes the fall-back day 25 hours, midnight to midnight", () => {
    const cycle = cycleAt(daily(), anchor, at("2024-10-27T02:30", zone), zone);
    expect(local(cycle, zone)).toEqual(["2024-10-27T00:00:00.000+02:00", "2024-10-28T00:00:00.000+01:00"]);
    expect(hours(cycle)).toBe(25);
  });

  it("counts every N local days, an hour short for each DST day inside", () => {
    const friday = at("2024-03-29T08:00", zone);
    const cycle = cycleAt(daily(3), friday, at("2024-03-31T12:00", zone), zone);
    expect(local(cycle, zone)).toEqual(["2024-03-29T00:00:00.000+01:00", "2024-04-01T00:00:00.000+02:00"]);
    expect(hours(cycle)).toBe(71);
    const next = cycleAt(daily(3), friday, at("2024-04-01T00:00", zone), zone);
    expect(local(next, zone)).toEqual(["2024-04-01T00:00:00.000+02:00", "2024-04-04T00:00:00.000+02:00"]);
  });

  it("is half-open: an instant on a boundary belongs to the new cycle", () => {
    const boundary = at("2024-03-22T00:00", zone);
    expect(cycleAt(daily(), anchor, boundary, zone).startMs).toBe(boundary);
    expect(cycleAt(daily(), anchor, boundary - 1, zone).endMs).toBe(boundary);
  });

  it("puts instants before the anchor in the first cycle", () => {
    const first = cycleAt(daily(2), anchor, anchor, zone);
    expect(cycleAt(daily(2), anchor, at("2024-03-20T00:00", zone) - 1, zone)).toEqual(first);
    expect(cycleAt(daily(2), anchor, anchor - 400 * DAY_MS, zone)).toEqual(first);
    expect(local(first, zone)).toEqual(["2024-03-20T00:00:00.000+01:00", "2024-03-22T00:00:00.000+01:00"]);
  });
});

describe("fixed weeks", () => {
  const zone = "America/New_York";

  it("anchors at local midnight of the Monday of the week the promotion starts", () => {
    const wednesday = at("2024-05-15T10:00", zone);
    const sunday = at("2024-05-19T23:00", zone);
    for (const anchor of [wednesday, sunday]) {
      expect(local(cycleAt(weekly(), anchor, anchor, zone), zone)).toEqual([
        "2024-05-13T00:00:00.000-04:00",
        "2024-05-20T00:00:00.000-04:00",
      ]);
    }
  });

  it("counts N weeks per cycle, half-open at the Monday boundary, clamped before the anchor", () => {
    const anchor = at("2024-05-15T10:00", zone);
    const first = ["2024-05-13T00:00:00.000-04:00", "2024-05-27T00:00:00.000-04:00"];
    expect(local(cycleAt(weekly(2), anchor, at("2024-05-26T23:59:59.999", zone), zone), zone)).toEqual(first);
    expect(local(cycleAt(weekly(2), anchor, at("2024-05-01T12:00", zone), zone), zone)).toEqual(first);
    expect(local(cycleAt(weekly(2), anchor, at("2024-05-27T00:00", zone), zone), zone)).toEqual([
      "2024-05-27T00:00:00.000-04:00",
      "2024-06-10T00:00:00.000-04:00",
    ]);
  });

  it("is 7 × 24 + 1 hours for the week of the fall-back", () => {
    const cycle = cycleAt(weekly(), at("2024-05-15T10:00", zone), at("2024-11-03T12:00", zone), zone);
    expect(local(cycle, zone)).toEqual(["2024-10-28T00:00:00.000-04:00", "2024-11-04T00:00:00.000-05:00"]);
    expect(hours(cycle)).toBe(169);
  });
});

describe("fixed calendar months", () => {
  const zone = "Asia/Kolkata";
  const anchor = at("2024-01-31T20:00", zone);

  it("anchors on the 1st of the start month and resets on the 1st (Jan 31 start: Feb 1 boundary)", () => {
    expect(local(cycleAt(monthly(), anchor, anchor, zone), zone)).toEqual([
      "2024-01-01T00:00:00.000+05:30",
      "2024-02-01T00:00:00.000+05:30",
    ]);
    const february = cycleAt(monthly(), anchor, at("2024-02-01T00:00", zone), zone);
    expect(local(february, zone)).toEqual(["2024-02-01T00:00:00.000+05:30", "2024-03-01T00:00:00.000+05:30"]);
    expect(hours(february)).toBe(29 * 24);
  });

  it("counts every 3 months from the anchor month, across the year end", () => {
    expect(local(cycleAt(monthly(3), anchor, at("2024-12-15T12:00", zone), zone), zone)).toEqual([
      "2024-10-01T00:00:00.000+05:30",
      "2025-01-01T00:00:00.000+05:30",
    ]);
    expect(local(cycleAt(monthly(3), anchor, at("2024-04-01T00:00", zone), zone), zone)).toEqual([
      "2024-04-01T00:00:00.000+05:30",
      "2024-07-01T00:00:00.000+05:30",
    ]);
  });

  it("previews contiguous months from the one holding the instant", () => {
    const preview = previewCycles(monthly(), anchor, anchor, zone, 3).map((c) => local(c, zone));
    expect(preview).toEqual([
      ["2024-01-01T00:00:00.000+05:30", "2024-02-01T00:00:00.000+05:30"],
      ["2024-02-01T00:00:00.000+05:30", "2024-03-01T00:00:00.000+05:30"],
      ["2024-03-01T00:00:00.000+05:30", "2024-04-01T00:00:00.000+05:30"],
    ]);
  });
});

const fixedWindow: fc.Arbitrary<FixedWindow> = fc.record({
  kind: fc.constant("fixed" as const),
  unit: fc.constantFrom("days" as const, "weeks" as const, "calendar_months" as const),
  every: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 366 })),
});
const zoneArb = fc.constantFrom(...ZONES);
/** Anchors between 2000 and 2030, on the minute. */
const anchorArb = fc.integer({ min: 15_768_000, max: 31_536_000 }).map((minutes) => minutes * 60_000);

describe("long-running promotions", () => {
  it("equal a slow day-by-day walk up to 5 years after the anchor", () => {
    fc.assert(
      fc.property(
        fixedWindow,
        anchorArb,
        fc.integer({ min: -30 * DAY_MS, max: 1_830 * DAY_MS }),
        zoneArb,
        (window, anchorMs, offsetMs, zone) => {
          const atMs = anchorMs + offsetMs;
          expect(cycleAt(window, anchorMs, atMs, zone)).toEqual(slowCycleAt(window, anchorMs, atMs, zone));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("answers 5 years in without walking there", () => {
    const zone = "Europe/Berlin";
    const anchor = at("2024-03-20T15:30", zone);
    const far = anchor + 5 * 365 * DAY_MS;
    expect(local(cycleAt(daily(), anchor, far, zone), zone)).toEqual([
      "2029-03-19T00:00:00.000+01:00",
      "2029-03-20T00:00:00.000+01:00",
    ]);
    // A day-by-day walk takes milliseconds per call; arithmetic takes microseconds. 1,000 calls in
    // under a second only allows the latter, with room for a slow CI machine.
    const started = performance.now();
    for (let i = 0; i < 1_000; i++) cycleAt(daily(), anchor, far + i * HOUR_MS, zone);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe("preview cycles", () => {
  it("gives exactly `count` cycles, contiguous, the first holding the instant, each from a local midnight", () => {
    fc.assert(
      fc.property(
        fixedWindow,
        anchorArb,
        fc.integer({ min: 0, max: 1_000 * DAY_MS }),
        zoneArb,
        fc.integer({ min: 1, max: 24 }),
        (window, anchorMs, offsetMs, zone, count) => {
          const atMs = anchorMs + offsetMs;
          const cycles = previewCycles(window, anchorMs, atMs, zone, count);
          expect(cycles).toHaveLength(count);
          expect(cycles[0]).toEqual(cycleAt(window, anchorMs, atMs, zone));
          expect(cycles[0]?.startMs).toBeLessThanOrEqual(atMs);
          expect(cycles[0]?.endMs).toBeGreaterThan(atMs);
          cycles.forEach((cycle, i) => {
            if (i > 0) expect(cycle.startMs).toBe(cycles[i - 1]?.endMs);
            const start = DateTime.fromMillis(cycle.startMs, { zone });
            expect([start.hour, start.minute, start.second, start.millisecond]).toEqual([0, 0, 0, 0]);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("rolling windows", () => {
  it("counts the last 7 local days across the spring-forward: 7 × 24 − 1 hours", () => {
    const zone = "Europe/Berlin";
    const now = at("2024-04-02T12:00", zone);
    const start = rollingWindowStartMs({ kind: "rolling", unit: "days", last: 7 }, now, zone);
    expect(DateTime.fromMillis(start, { zone }).toISO()).toBe("2024-03-26T12:00:00.000+01:00");
    expect((now - start) / HOUR_MS).toBe(167);
    expect(rollingWindowStartMs({ kind: "rolling", unit: "weeks", last: 1 }, now, zone)).toBe(start);
  });

  it("counts the last 7 local days across the fall-back: 7 × 24 + 1 hours", () => {
    const zone = "America/New_York";
    const now = at("2024-11-05T12:00", zone);
    const start = rollingWindowStartMs({ kind: "rolling", unit: "days", last: 7 }, now, zone);
    expect(DateTime.fromMillis(start, { zone }).toISO()).toBe("2024-10-29T12:00:00.000-04:00");
    expect((now - start) / HOUR_MS).toBe(169);
  });

  it("is plain days where the zone has no DST, weeks being 7 days", () => {
    const now = at("2024-06-10T08:15", "UTC");
    expect(rollingWindowStartMs({ kind: "rolling", unit: "days", last: 30 }, now, "UTC")).toBe(
      now - 30 * DAY_MS,
    );
    expect(rollingWindowStartMs({ kind: "rolling", unit: "weeks", last: 2 }, now, "Asia/Kolkata")).toBe(
      now - 14 * DAY_MS,
    );
  });
});

describe("zones whose DST change falls at midnight", () => {
  it("begins a day at its first midnight when midnight repeats, whatever the clock says now", () => {
    // Havana falls back from 01:00 to 00:00 on 2024-11-03, so that day's midnight occurs twice. luxon
    // would resolve it by the offset in force now; the cycle must not depend on the real clock.
    const zone = "America/Havana";
    const anchor = at("2024-10-01T12:00", zone);
    const atMs = Date.parse("2024-11-03T12:00:00-05:00");
    const saved = Settings.now;
    try {
      const cycles = [Date.parse("2024-01-15T12:00:00Z"), Date.parse("2024-07-15T12:00:00Z")].map((now) => {
        Settings.now = () => now;
        return cycleAt(daily(), anchor, atMs, zone);
      });
      expect(cycles[1]).toEqual(cycles[0]);
      expect(cycles[0]?.startMs).toBe(Date.parse("2024-11-03T00:00:00-04:00"));
    } finally {
      Settings.now = saved;
    }
  });

  it("begins a day when the clock jumps when midnight is skipped", () => {
    // Santiago springs forward from 24:00 on 2024-09-07 to 01:00 on 2024-09-08.
    const zone = "America/Santiago";
    const cycle = cycleAt(daily(), at("2024-09-01T12:00", zone), at("2024-09-08T12:00", zone), zone);
    expect(local(cycle, zone)).toEqual(["2024-09-08T01:00:00.000-03:00", "2024-09-09T00:00:00.000-03:00"]);
    expect(hours(cycle)).toBe(23);
  });
});

describe("windowKindOf", () => {
  const rule = (window: LimitWindow): LimitRule => ({ level: "customer", measure: "times", max: 1, window });

  it("is none without windowed rules, else the kind of the first windowed rule", () => {
    expect(windowKindOf([])).toBe("none");
    expect(windowKindOf([rule({ kind: "lifetime" })])).toBe("none");
    expect(windowKindOf([rule({ kind: "lifetime" }), rule(weekly())])).toBe("fixed");
    expect(windowKindOf([rule({ kind: "rolling", unit: "days", last: 7 }), rule({ kind: "lifetime" })])).toBe(
      "rolling",
    );
  });
});

describe("bugs are refused", () => {
  it("throws on an unknown zone, a rolling window asked for cycles, or a count below 1", () => {
    const anchor = at("2024-05-01T09:00", "UTC");
    expect(() => cycleAt(daily(), anchor, anchor, "Mars/Olympus")).toThrow(/time zone/);
    expect(() => rollingWindowStartMs({ kind: "rolling", unit: "days", last: 7 }, anchor, "Nope")).toThrow(
      /time zone/,
    );
    expect(() => cycleAt({ kind: "rolling", unit: "days", last: 7 }, anchor, anchor, "UTC")).toThrow(
      /rolling/,
    );
    expect(() => previewCycles(daily(), anchor, anchor, "UTC", 0)).toThrow(/count/);
  });
});
