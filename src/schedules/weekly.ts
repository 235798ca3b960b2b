import { BelfryError, quote } from "../errors.js";
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
  weekdayOf,
  zoneFor,
} from "./calendar.js";
import type { Schedule, ScheduleContext, ScheduleSpec } from "./schedule.js";

/** Lower-case English weekday names and their three-letter abbreviations. */
export type WeekdayName =
  | "sunday"
  | "monday"
  | "tuesday"
  | "wednesday"
  | "thursday"
  | "friday"
  | "saturday"
  | "sun"
  | "mon"
  | "tue"
  | "wed"
  | "thu"
  | "fri"
  | "sat";

/** A day of the week: 0 = Sunday … 6 = Saturday, or a name (any case), e.g. `"monday"`, `"Mon"`. */
export type Weekday =
  0 | 1 | 2 | 3 | 4 | 5 | 6 | WeekdayName | Capitalize<WeekdayName> | Uppercase<WeekdayName>;

/** Canonical description of a {@link weekly} schedule. */
export interface WeeklySpec extends ScheduleSpec {
  readonly kind: "weekly";
  readonly interval: number;
  /** 0 = Sunday … 6 = Saturday, sorted, without duplicates. */
  readonly weekdays: readonly number[];
  /** Times of day as `"HH:MM:SS"`, sorted, without duplicates. */
  readonly atTimes: readonly string[];
  readonly timezone: string | null;
}

const NAMES = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

/**
 * Runs on the given weekdays at the given wall-clock times every `interval` weeks (gocron's
 * `WeeklyJob`). Weeks are ISO weeks (Monday first); with an `interval` above 1 they are counted
 * from the week of the job's anchor (`startAt`, else 1970-01-01) in the schedule's zone. DST is
 * handled as in {@link daily}.
 *
 * @param interval - every `interval` weeks, a whole number ≥ 1 (`INVALID_INTERVAL`)
 * @param weekdays - 0-6 (0 = Sunday) or names such as `"monday"` / `"mon"` (`INVALID_WEEKDAY`)
 * @param atTimes - `"HH:MM"` or `"HH:MM:SS"` (`INVALID_TIME`)
 *
 * @example
 * ```ts
 * weekly(2, ["monday", "thursday"], "09:30", { timezone: "America/New_York" });
 * ```
 */
export function weekly(
  interval: number,
  weekdays: Weekday | readonly Weekday[],
  atTimes: string | readonly string[],
  options?: CalendarOptions,
): Schedule {
  const where = `weekly(${[interval, weekdays, atTimes].map(quote).join(", ")})`;
  const every = parseInterval(interval, "week", where);
  const days = parseWeekdays(weekdays, where);
  const times = parseTimes(atTimes, where);
  const own = ownZone(options, where);
  const spec: WeeklySpec = {
    kind: "weekly",
    interval: every,
    weekdays: days,
    atTimes: times.map(formatTime),
    timezone: own,
  };
  return {
    spec,
    next(after: number, context: ScheduleContext): number | null {
      const zone = zoneFor(own, context, where);
      const search = searchStart(after, context.anchor, zone);
      const anchorMonday = mondayOf(localDay(context.anchor, zone));
      return firstAfter(
        search.after,
        zone,
        times,
        weeklyDays(search.start, anchorMonday, every, days),
      );
    },
  };
}

/** Parses weekdays to numbers 0-6, sorted and without duplicates. */
function parseWeekdays(weekdays: Weekday | readonly Weekday[], where: string): number[] {
  const list: readonly unknown[] = Array.isArray(weekdays) ? weekdays : [weekdays];
  if (list.length === 0) {
    throw new BelfryError("INVALID_WEEKDAY", `${where}: at least one weekday is required`);
  }
  const numbers = list.map((value) => parseWeekday(value, where));
  return [...new Set(numbers)].sort((a, b) => a - b);
}

function parseWeekday(value: unknown, where: string): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 6)
    return value;
  if (typeof value === "string") {
    const name = value.trim().toLowerCase();
    const index = NAMES.findIndex((full) => full === name || full.slice(0, 3) === name);
    if (index >= 0) return index;
  }
  throw new BelfryError(
    "INVALID_WEEKDAY",
    `${where}: ${quote(value)} is not a weekday; use 0-6 (0 = Sunday) or a name such as "monday" or "mon"`,
  );
}

/** The Monday on or before `day`. */
function mondayOf(day: DayNumber): DayNumber {
  return day - mod(weekdayOf(day) - 1, 7);
}

/** The given weekdays of every `interval`-th ISO week counted from `anchorMonday`, from `start`. */
function* weeklyDays(
  start: DayNumber,
  anchorMonday: DayNumber,
  interval: number,
  weekdays: readonly number[],
): Generator<DayNumber> {
  const offsets = weekdays.map((weekday) => mod(weekday - 1, 7)).sort((a, b) => a - b);
  let monday = mondayOf(start);
  monday += mod(anchorMonday - monday, interval * 7);
  for (; ; monday += interval * 7) {
    for (const offset of offsets) if (monday + offset >= start) yield monday + offset;
  }
}
