// Schedule gate: the window [startsAt, endsAt), the recurrence (local weekdays or dates) and the daily
// window, read in the workspace's time zone. Local calendar facts are computed once per evaluation
// and daily-window start instants are cached per evaluation, because luxon is the slow part.
import { DateTime } from "luxon";
import type { CompiledPromotion } from "./compile.js";
import type { RejectionCode } from "./types.js";

interface LocalDay {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly weekday: number;
}

export class LocalClock {
  private today: LocalDay | null = null;
  private yesterday: LocalDay | null = null;
  private readonly starts = new Map<string, number>();

  constructor(
    readonly atMs: number,
    private readonly zone: string,
  ) {}

  private days(): [LocalDay, LocalDay] {
    if (this.today === null || this.yesterday === null) {
      const now = DateTime.fromMillis(this.atMs, { zone: this.zone });
      if (!now.isValid) throw new Error(`invalid time zone ${this.zone}`);
      const before = now.minus({ days: 1 });
      this.today = { year: now.year, month: now.month, day: now.day, weekday: now.weekday };
      this.yesterday = { year: before.year, month: before.month, day: before.day, weekday: before.weekday };
    }
    return [this.today, this.yesterday];
  }

  /** The instant a local wall-clock time falls on a local day (after the gap on a spring-forward night). */
  private startOf(day: LocalDay, hour: number, minute: number): number {
    const key = `${day.year}-${day.month}-${day.day} ${hour}:${minute}`;
    let ms = this.starts.get(key);
    if (ms === undefined) {
      ms = DateTime.fromObject({ year: day.year, month: day.month, day: day.day, hour, minute }, { zone: this.zone }).toMillis();
      this.starts.set(key, ms);
    }
    return ms;
  }

  /** null when the promotion is live at this instant; otherwise why not. */
  check(p: CompiledPromotion): RejectionCode | null {
    if (this.atMs < p.startMs) return "not_started";
    if (this.atMs >= p.endMs) return "ended";
    if (p.weekdayMask === 0 && p.dateMask === 0 && p.daily === null) return null;
    const [today, yesterday] = this.days();
    if (p.daily === null) return qualifies(p, today) ? null : "outside_recurrence";
    const window = p.daily;
    for (const day of [today, yesterday]) {
      if (!qualifies(p, day)) continue;
      const start = this.startOf(day, window.hour, window.minute);
      if (this.atMs >= start && this.atMs < start + window.durationMs) return null;
    }
    return qualifies(p, today) ? "outside_daily_window" : "outside_recurrence";
  }
}

function qualifies(p: CompiledPromotion, day: LocalDay): boolean {
  if (p.weekdayMask !== 0) return (p.weekdayMask & (1 << day.weekday)) !== 0;
  if (p.dateMask !== 0) return (p.dateMask & (1 << day.day)) !== 0;
  return true;
}
