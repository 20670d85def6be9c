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

/**
 * Local calendar facts depend only on the zone and the instant, and every zone offset in the tz
 * database, and every DST change, falls on a quarter hour: so the local date is the same for a whole
 * quarter-hour bucket, and a daily start instant the same for a zone and local date. Both are cached
 * across evaluations (bounded), because luxon's zone arithmetic is the slow part of a schedule check.
 */
const QUARTER_HOUR_MS = 900_000;
const CACHE_ENTRIES_MAX = 50_000;
const dayCache = new Map<string, [LocalDay, LocalDay]>();
/** Per zone: local date and wall-clock time (as one number, see startOf) → instant. */
const startCaches = new Map<string, Map<number, number>>();

function remember<K, T>(cache: Map<K, T>, key: K, value: T): T {
  if (cache.size >= CACHE_ENTRIES_MAX) cache.clear();
  cache.set(key, value);
  return value;
}

export class LocalClock {
  private localDays: [LocalDay, LocalDay] | null = null;
  private starts: Map<number, number> | null = null;

  constructor(
    readonly atMs: number,
    private readonly zone: string,
  ) {}

  private days(): [LocalDay, LocalDay] {
    if (this.localDays !== null) return this.localDays;
    const bucket = Math.floor(this.atMs / QUARTER_HOUR_MS);
    const key = `${this.zone}|${bucket}`;
    let days = dayCache.get(key);
    if (days === undefined) {
      const now = DateTime.fromMillis(bucket * QUARTER_HOUR_MS, { zone: this.zone });
      if (!now.isValid) throw new Error(`invalid time zone ${this.zone}`);
      const before = now.minus({ days: 1 });
      days = remember(dayCache, key, [
        { year: now.year, month: now.month, day: now.day, weekday: now.weekday },
        { year: before.year, month: before.month, day: before.day, weekday: before.weekday },
      ]);
    }
    return (this.localDays = days);
  }

  /** The instant a local wall-clock time falls on a local day (moved forward by a DST gap). */
  private startOf(day: LocalDay, hour: number, minute: number): number {
    // A number, not a string, as the key: no key to build on every daily-window promotion checked.
    const key = ((day.year * 16 + day.month) * 32 + day.day) * 1440 + hour * 60 + minute;
    let starts = this.starts ?? startCaches.get(this.zone);
    if (starts === undefined) startCaches.set(this.zone, (starts = new Map()));
    this.starts = starts;
    const known = starts.get(key);
    if (known !== undefined) return known;
    const { year, month, day: date } = day;
    return remember(
      starts,
      key,
      DateTime.fromObject({ year, month, day: date, hour, minute }, { zone: this.zone }).toMillis(),
    );
  }

  /** Whether the daily window that starts on a qualifying `day` holds this instant. */
  private inWindow(
    p: CompiledPromotion,
    window: NonNullable<CompiledPromotion["daily"]>,
    day: LocalDay,
  ): boolean {
    if (!qualifies(p, day)) return false;
    const start = this.startOf(day, window.hour, window.minute);
    return this.atMs >= start && this.atMs < start + window.durationMs;
  }

  /** null when the promotion is live at this instant; otherwise why not. */
  check(p: CompiledPromotion): RejectionCode | null {
    if (this.atMs < p.startMs) return "not_started";
    if (this.atMs >= p.endMs) return "ended";
    if (p.weekdayMask === 0 && p.dateMask === 0 && p.daily === null) return null;
    const [today, yesterday] = this.days();
    if (p.daily === null) return qualifies(p, today) ? null : "outside_recurrence";
    if (this.inWindow(p, p.daily, today) || this.inWindow(p, p.daily, yesterday)) return null;
    return qualifies(p, today) ? "outside_daily_window" : "outside_recurrence";
  }
}

function qualifies(p: CompiledPromotion, day: LocalDay): boolean {
  if (p.weekdayMask !== 0) return (p.weekdayMask & (1 << day.weekday)) !== 0;
  if (p.dateMask !== 0) return (p.dateMask & (1 << day.day)) !== 0;
  return true;
}
