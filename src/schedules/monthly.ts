import { BelfryError, quote } from "../errors.js";
import {
  type CalendarOptions,
  type DayNumber,
  civilDate,
  dayNumber,
  daysInMonth,
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

/** Canonical description of a {@link monthly} schedule. */
export interface MonthlySpec extends ScheduleSpec {
  readonly kind: "monthly";
  readonly interval: number;
  /** Days of the month, 1..31 or -1..-31 (from the end), sorted, without duplicates. */
  readonly days: readonly number[];
  /** Times of day as `"HH:MM:SS"`, sorted, without duplicates. */
  readonly atTimes: readonly string[];
  readonly timezone: string | null;
}

/** Months in the Gregorian cycle of 400 years, after which month lengths repeat. */
const CYCLE_MONTHS = 4800;

/**
 * Runs on the given days of the month at the given wall-clock times every `interval` months
 * (gocron's `MonthlyJob`). A positive day counts from the start of the month (`1` = the 1st), a
 * negative one from its end (`-1` = the last day, `-2` the one before). A month without that day
 * is skipped for it (`31` does not run in April; `30` does not run in February), as gocron does.
 * With an `interval` above 1 the months are counted from the anchor's month in the schedule's
 * zone. DST is handled as in {@link daily}.
 *
 * @param interval - every `interval` months, a whole number ≥ 1 (`INVALID_INTERVAL`)
 * @param days - 1..31 or -1..-31 (`INVALID_DAY`)
 * @param atTimes - `"HH:MM"` or `"HH:MM:SS"` (`INVALID_TIME`)
 *
 * @example
 * ```ts
 * monthly(1, [1, -1], "06:00"); // the first and the last day of every month at 06:00
 * ```
 */
export function monthly(
  interval: number,
  days: number | readonly number[],
  atTimes: string | readonly string[],
  options?: CalendarOptions,
): Schedule {
  const where = `monthly(${[interval, days, atTimes].map(quote).join(", ")})`;
  const every = parseInterval(interval, "month", where);
  const monthDays = parseDays(days, where);
  const times = parseTimes(atTimes, where);
  const own = ownZone(options, where);
  const spec: MonthlySpec = {
    kind: "monthly",
    interval: every,
    days: monthDays,
    atTimes: times.map(formatTime),
    timezone: own,
  };
  return {
    spec,
    next(after: number, context: ScheduleContext): number | null {
      const zone = zoneFor(own, context, where);
      const search = searchStart(after, context.anchor, zone);
      const anchorMonth = monthIndex(localDay(context.anchor, zone));
      const candidates = monthlyDays(search.start, anchorMonth, every, monthDays);
      return firstAfter(search.after, zone, times, candidates);
    },
  };
}

function parseDays(days: number | readonly number[], where: string): number[] {
  const list: readonly unknown[] = Array.isArray(days) ? days : [days];
  if (list.length === 0) {
    throw new BelfryError("INVALID_DAY", `${where}: at least one day of the month is required`);
  }
  for (const day of list) {
    if (typeof day !== "number" || !Number.isInteger(day) || day === 0 || Math.abs(day) > 31) {
      throw new BelfryError(
        "INVALID_DAY",
        `${where}: day ${quote(day)} is out of range; use 1..31, or -1..-31 to count back from the month's last day`,
      );
    }
  }
  return [...new Set(list as number[])].sort((a, b) => a - b);
}

/** Months since January 1970 of the month containing `day`. */
function monthIndex(day: DayNumber): number {
  const date = civilDate(day);
  return (date.year - 1970) * 12 + date.month - 1;
}

/** The dates of `days` that exist in the month `index` (months since January 1970), ascending. */
function datesInMonth(index: number, days: readonly number[]): DayNumber[] {
  const year = 1970 + Math.floor(index / 12);
  const month = mod(index, 12) + 1;
  const length = daysInMonth(year, month);
  const first = dayNumber(year, month, 1);
  const ofMonth = days.map((day) => (day > 0 ? day : length + 1 + day));
  const valid = ofMonth.filter((day) => day >= 1 && day <= length);
  return [...new Set(valid)].sort((a, b) => a - b).map((day) => first + day - 1);
}

/**
 * The given days of every `interval`-th month counted from `anchorMonth`, from `start` on. Ends
 * after a full Gregorian cycle without a date, which happens only when the chosen months never
 * have the day (e.g. `monthly(12, [30], …)` anchored in February).
 */
function* monthlyDays(
  start: DayNumber,
  anchorMonth: number,
  interval: number,
  days: readonly number[],
): Generator<DayNumber> {
  let index = monthIndex(start);
  index += mod(anchorMonth - index, interval);
  const limit = CYCLE_MONTHS / gcd(interval, CYCLE_MONTHS) + 1;
  for (let misses = 0; misses <= limit; index += interval) {
    const dates = datesInMonth(index, days).filter((day) => day >= start);
    misses = dates.length === 0 ? misses + 1 : 0;
    yield* dates;
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
