import { quote } from "../errors.js";
import {
  type CalendarOptions,
  type DayNumber,
  firstAfter,
  formatTime,
  localDay,
  mod,
  ownZone,
  parseInterval,
  parseTimes,
  searchStart,
  zoneFor,
} from "./calendar.js";
import type { Schedule, ScheduleContext, ScheduleSpec } from "./schedule.js";

/** Canonical description of a {@link daily} schedule. */
export interface DailySpec extends ScheduleSpec {
  readonly kind: "daily";
  readonly interval: number;
  /** Times of day as `"HH:MM:SS"`, sorted, without duplicates. */
  readonly atTimes: readonly string[];
  /** The schedule's own zone, or `null` for the scheduler's. */
  readonly timezone: string | null;
}

/**
 * Runs at the given wall-clock times every `interval` days (gocron's `DailyJob`).
 *
 * With an `interval` above 1 the days are counted from the calendar date of the job's anchor
 * (`startAt`, else 1970-01-01) in the schedule's zone, so every replica picks the same days. DST:
 * a time in a spring-forward gap runs once, moved forward by the gap's length (02:30 → 03:30); a
 * time that occurs twice in a fall-back overlap runs once, at the first of the two instants.
 *
 * @param interval - run every `interval` days, a whole number ≥ 1 (`INVALID_INTERVAL`)
 * @param atTimes - `"HH:MM"` or `"HH:MM:SS"`, one or several (`INVALID_TIME`)
 * @param options - `timezone`: IANA zone for the times (`INVALID_TIMEZONE`)
 *
 * @example
 * ```ts
 * scheduler.job("backup", daily(1, ["03:00", "15:00"], { timezone: "Europe/Berlin" }), backup);
 * ```
 */
export function daily(
  interval: number,
  atTimes: string | readonly string[],
  options?: CalendarOptions,
): Schedule {
  const where = `daily(${quote(interval)}, ${quote(atTimes)})`;
  const every = parseInterval(interval, "day", where);
  const times = parseTimes(atTimes, where);
  const own = ownZone(options, where);
  const spec: DailySpec = {
    kind: "daily",
    interval: every,
    atTimes: times.map(formatTime),
    timezone: own,
  };
  return {
    spec,
    next(after: number, context: ScheduleContext): number | null {
      const zone = zoneFor(own, context, where);
      const search = searchStart(after, context.anchor, zone);
      const days = dailyDays(search.start, localDay(context.anchor, zone), every);
      return firstAfter(search.after, zone, times, days);
    },
  };
}

/** Every `interval`-th day counted from `anchorDay`, from `start` on. */
function* dailyDays(
  start: DayNumber,
  anchorDay: DayNumber,
  interval: number,
): Generator<DayNumber> {
  for (let day = start + mod(anchorDay - start, interval); ; day += interval) yield day;
}
