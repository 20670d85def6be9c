// Proves schedules are read in the workspace time zone: half-open windows, weekdays and dates of the
// local calendar, daily windows that cross midnight and keep their real length across DST changes.
import { describe, expect, it } from "vitest";
import type { Promotion, Schedule } from "../domain/promotion.js";
import { compilePromotions } from "./compile.js";
import { LocalClock } from "./schedule.js";

const ZONE = "Europe/Warsaw";

function gate(schedule: Schedule, at: string): string | null {
  const promotion: Promotion = {
    id: "p",
    name: "p",
    type: "pos",
    schedule,
    conditions: [],
    benefit: { kind: "cart", value: { kind: "percentage", bps: 100 } },
  };
  const compiled = compilePromotions([promotion]).promotions[0]!;
  return new LocalClock(Date.parse(at), ZONE).check(compiled);
}

describe("window [startsAt, endsAt)", () => {
  const window = { startsAt: "2026-05-01T00:00:00Z", endsAt: "2026-05-31T00:00:00Z" };
  it("includes the start and excludes the end", () => {
    expect(gate(window, "2026-04-30T23:59:59.999Z")).toBe("not_started");
    expect(gate(window, "2026-05-01T00:00:00Z")).toBeNull();
    expect(gate(window, "2026-05-30T23:59:59.999Z")).toBeNull();
    expect(gate(window, "2026-05-31T00:00:00Z")).toBe("ended");
  });
});

describe("recurrence in the local calendar", () => {
  const since = "2026-01-01T00:00:00Z";
  it("reads the weekday in the workspace zone, not UTC", () => {
    // Tuesday 2026-06-02 00:30 in Warsaw is still Monday 22:30 UTC.
    const tuesdays = { startsAt: since, recurrence: { kind: "days_of_week" as const, days: [2] } };
    expect(gate(tuesdays, "2026-06-01T22:30:00Z")).toBeNull();
    expect(gate(tuesdays, "2026-06-01T21:30:00Z")).toBe("outside_recurrence");
  });

  it("matches dates of the month, and a 31 never matches a 30-day month", () => {
    const firstAndFifteenth = {
      startsAt: since,
      recurrence: { kind: "dates_of_month" as const, dates: [1, 15, 31] },
    };
    expect(gate(firstAndFifteenth, "2026-06-15T10:00:00Z")).toBeNull();
    expect(gate(firstAndFifteenth, "2026-06-16T10:00:00Z")).toBe("outside_recurrence");
    expect(gate(firstAndFifteenth, "2026-06-30T23:30:00Z")).toBeNull(); // 1 July 01:30 local: date 1
    expect(gate(firstAndFifteenth, "2026-06-30T21:30:00Z")).toBe("outside_recurrence"); // 30 June 23:30 local
  });
});

describe("daily window", () => {
  const since = "2026-01-01T00:00:00Z";
  const happyHour = { startsAt: since, dailyWindow: { startTime: "17:00", durationHours: 2 } };

  it("opens at local start time for its duration", () => {
    // June: Warsaw is UTC+2, so 17:00 local is 15:00 UTC.
    expect(gate(happyHour, "2026-06-10T14:59:59Z")).toBe("outside_daily_window");
    expect(gate(happyHour, "2026-06-10T15:00:00Z")).toBeNull();
    expect(gate(happyHour, "2026-06-10T16:59:59Z")).toBeNull();
    expect(gate(happyHour, "2026-06-10T17:00:00Z")).toBe("outside_daily_window");
  });

  it("belongs to the day it started on when it crosses midnight", () => {
    const fridayNight = {
      startsAt: since,
      recurrence: { kind: "days_of_week" as const, days: [5] },
      dailyWindow: { startTime: "22:00", durationHours: 4 },
    };
    // Friday 2026-06-05 22:00 local is 20:00 UTC; the window runs to Saturday 02:00 local (00:00 UTC).
    expect(gate(fridayNight, "2026-06-05T19:59:59Z")).toBe("outside_daily_window");
    expect(gate(fridayNight, "2026-06-05T23:00:00Z")).toBeNull(); // Saturday 01:00 local
    expect(gate(fridayNight, "2026-06-06T00:00:00Z")).toBe("outside_recurrence"); // Saturday 02:00 local
  });

  it("keeps its real length over the spring-forward night", () => {
    // 2026-03-29 in Warsaw: 02:00 CET jumps to 03:00 CEST. 22:00 CET on the 28th is 21:00 UTC; 6 h later is 03:00 UTC.
    const night = { startsAt: since, dailyWindow: { startTime: "22:00", durationHours: 6 } };
    expect(gate(night, "2026-03-29T02:59:59Z")).toBeNull();
    expect(gate(night, "2026-03-29T03:00:00Z")).toBe("outside_daily_window");
  });

  it("moves a start time inside the DST gap forward by the gap", () => {
    // 02:30 does not exist on 2026-03-29; it becomes 03:30 CEST, 01:30 UTC.
    const inGap = { startsAt: since, dailyWindow: { startTime: "02:30", durationHours: 1 } };
    expect(gate(inGap, "2026-03-29T01:29:59Z")).toBe("outside_daily_window");
    expect(gate(inGap, "2026-03-29T01:30:00Z")).toBeNull();
    expect(gate(inGap, "2026-03-29T02:30:00Z")).toBe("outside_daily_window");
  });

  it("keeps its real length over the fall-back night", () => {
    // 2026-10-25: 03:00 CEST falls back to 02:00 CET. 01:00 CEST is 23:00 UTC on the 24th; 3 h later is 02:00 UTC.
    const night = { startsAt: since, dailyWindow: { startTime: "01:00", durationHours: 3 } };
    expect(gate(night, "2026-10-25T01:59:59Z")).toBeNull();
    expect(gate(night, "2026-10-25T02:00:00Z")).toBe("outside_daily_window");
  });
});
