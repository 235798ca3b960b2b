/**
 * Calendar arithmetic shared by `daily`, `weekly`, `monthly` and `cron`: validating times of day
 * and intervals, days counted since 1970-01-01, and the one place that turns a wall-clock time in
 * an IANA zone into an instant (`toZonedDateTime` with `disambiguation: "compatible"`: a time in
 * a DST gap moves forward by the gap's length, a time that occurs twice takes the earlier one).
 */
import { Temporal } from "temporal-polyfill";
import { BelfryError, quote } from "../errors.js";
import { parseOptions, strictOptions, timezoneField } from "../validation.js";
import { canonicalTimezone, type ScheduleContext } from "./schedule.js";

/** Milliseconds in a day of 24 hours. */
export const DAY_MS = 86_400_000;

/** Options shared by `daily`, `weekly` and `monthly`. */
export interface CalendarOptions {
  /** IANA zone the times of day are read in; defaults to the scheduler's `timezone`. */
  readonly timezone?: string;
}

/** A calendar date as days since 1970-01-01 (negative before). */
export type DayNumber = number;

const TIME_OF_DAY = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const TIME_HINT = 'use "HH:MM" or "HH:MM:SS"';

/** Euclidean modulo: the result has the sign of `divisor` (`mod(-1, 7) === 6`). */
export function mod(value: number, divisor: number): number {
  return ((value % divisor) + divisor) % divisor;
}

/**
 * Parses one or more times of day (`"HH:MM"` or `"HH:MM:SS"`) to seconds after midnight, sorted
 * and without duplicates. Throws `INVALID_TIME` naming `where` and the offending value.
 */
export function parseTimes(atTimes: string | readonly string[], where: string): number[] {
  const list: readonly unknown[] = typeof atTimes === "string" ? [atTimes] : atTimes;
  if (!Array.isArray(list) || list.length === 0) {
    throw new BelfryError(
      "INVALID_TIME",
      `${where}: at least one time of day is required; ${TIME_HINT}`,
    );
  }
  const seconds = list.map((text) => parseTime(text, where));
  return [...new Set(seconds)].sort((a, b) => a - b);
}

function parseTime(text: unknown, where: string): number {
  const match = typeof text === "string" ? TIME_OF_DAY.exec(text.trim()) : null;
  if (!match) {
    throw new BelfryError(
      "INVALID_TIME",
      `${where}: ${quote(text)} is not a time of day; ${TIME_HINT}`,
    );
  }
  const hour = inRange(Number(match[1]), "hour", 23, where);
  const minute = inRange(Number(match[2]), "minute", 59, where);
  const second = inRange(Number(match[3] ?? 0), "second", 59, where);
  return hour * 3600 + minute * 60 + second;
}

function inRange(value: number, unit: string, max: number, where: string): number {
  if (value > max) {
    throw new BelfryError(
      "INVALID_TIME",
      `${where}: ${unit} ${value} is out of range 0-${max}; ${TIME_HINT}`,
    );
  }
  return value;
}

/** Formats seconds after midnight as `"HH:MM:SS"` (the canonical form in specs). */
export function formatTime(secondOfDay: number): string {
  const parts = [
    Math.floor(secondOfDay / 3600),
    Math.floor(secondOfDay / 60) % 60,
    secondOfDay % 60,
  ];
  return parts.map((part) => String(part).padStart(2, "0")).join(":");
}

/** Checks a day/week/month interval: a whole number, 1 or more (`INVALID_INTERVAL`). */
export function parseInterval(interval: number, unit: string, where: string): number {
  if (!Number.isSafeInteger(interval) || interval < 1) {
    throw new BelfryError(
      "INVALID_INTERVAL",
      `${where}: interval must be a whole number of ${unit}s, 1 or more, got ${quote(interval)}`,
    );
  }
  return interval;
}

const calendarOptions = strictOptions({ timezone: timezoneField().optional() });

/**
 * The schedule's own zone from its options, canonicalised, or `null` to use the scheduler's.
 * Unknown keys are `UNKNOWN_OPTION`, an unknown zone `INVALID_TIMEZONE`.
 */
export function ownZone(options: CalendarOptions | undefined, where: string): string | null {
  return parseOptions(calendarOptions, options ?? {}, where).timezone ?? null;
}

/**
 * The zone a schedule runs in: its own, else the context's, canonicalised (`INVALID_TIMEZONE`
 * naming `where`). Each zone name is resolved once per process.
 */
export function zoneFor(own: string | null, context: ScheduleContext, where: string): string {
  return own ?? canonicalTimezone(context.timezone, where);
}

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
export function dayNumber(year: number, month: number, day: number): DayNumber {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The date of a day number: `{ year, month (1-12), day (1-31) }`. */
export function civilDate(day: DayNumber): { year: number; month: number; day: number } {
  const shifted = day + 719_468;
  const era = Math.floor(shifted / 146_097);
  const dayOfEra = shifted - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear =
    dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day: dayOfYear - Math.floor((153 * mp + 2) / 5) + 1 };
}

/** Number of days in `month` (1-12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  return month === 12 ? 31 : dayNumber(year, month + 1, 1) - dayNumber(year, month, 1);
}

/** Day of the week of a day number, 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
export function weekdayOf(day: DayNumber): number {
  return mod(day + 4, 7);
}

/** The calendar date, in `zone`, of the instant `at` (epoch ms). */
export function localDay(at: number, zone: string): DayNumber {
  const zoned = Temporal.Instant.fromEpochMilliseconds(at).toZonedDateTimeISO(zone);
  return dayNumber(zoned.year, zoned.month, zoned.day);
}

/**
 * The instant (epoch ms) of the wall-clock time `secondOfDay` on `day` in `zone`. A time in a
 * DST gap is moved forward by the gap's length; a time that occurs twice maps to the earlier
 * instant (Temporal's `"compatible"` disambiguation).
 *
 * @example
 * ```ts
 * wallToInstant(dayNumber(2026, 3, 8), 2.5 * 3600, "America/New_York"); // 03:30 EDT (07:30Z)
 * ```
 */
export function wallToInstant(day: DayNumber, secondOfDay: number, zone: string): number {
  const date = civilDate(day);
  const hour = Math.floor(secondOfDay / 3600);
  const minute = Math.floor(secondOfDay / 60) % 60;
  const wall = new Temporal.PlainDateTime(
    date.year,
    date.month,
    date.day,
    hour,
    minute,
    secondOfDay % 60,
  );
  return wall.toZonedDateTime(zone, { disambiguation: "compatible" }).epochMilliseconds;
}

/**
 * The last day whose wall times have an instant in every zone: instants (a `Date`, Temporal) end
 * 100 000 000 days after the epoch, and a zone's offset shifts a wall time by up to a day.
 */
const LAST_DAY: DayNumber = 100_000_000 - 2;

/**
 * The earliest instant after `after` among the wall times `times` (seconds after midnight) on
 * `days`, which must come in ascending order. Because a time in a DST gap can move past midnight,
 * the day after the first day with a match is checked too. Returns `null` when `days` runs out
 * or passes the last day an instant can have (a huge interval).
 */
export function firstAfter(
  after: number,
  zone: string,
  times: readonly number[],
  days: Iterable<DayNumber>,
): number | null {
  let best: number | null = null;
  let firstMatchDay = Number.POSITIVE_INFINITY;
  for (const day of days) {
    if (day > firstMatchDay + 1 || day > LAST_DAY) break;
    for (const time of times) {
      const at = wallToInstant(day, time, zone);
      if (at > after && (best === null || at < best)) best = at;
    }
    if (best !== null && firstMatchDay === Number.POSITIVE_INFINITY) firstMatchDay = day;
  }
  return best;
}

/**
 * The first day a calendar schedule has to look at for `next(after)`: the day before `after`'s
 * date (a gap can move the previous evening's time past midnight), and never before the anchor,
 * because a calendar series starts at its anchor. Also returns the bound `after` to use.
 */
export function searchStart(
  after: number,
  anchor: number,
  zone: string,
): { after: number; start: DayNumber } {
  const bound = Math.max(after, anchor - 1);
  return { after: bound, start: localDay(bound, zone) - 1 };
}
