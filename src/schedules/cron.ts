import type { Cron, CronPattern } from "croner";
import { Temporal } from "temporal-polyfill";
import { BelfryError, quote } from "../errors.js";
import { DAY_MS, mod } from "./calendar.js";
import { z } from "zod";
import { parseOptions, strictOptions, timezoneField } from "../validation.js";
import { compiledCron, compiledPattern } from "./cron-cache.js";
import {
  canonicalTimezone,
  type Schedule,
  type ScheduleContext,
  type ScheduleSpec,
} from "./schedule.js";

/** Options of {@link cron}. */
export interface CronOptions {
  /** IANA zone the expression is read in; defaults to the scheduler's `timezone`. */
  readonly timezone?: string;
  /**
   * gocron's `WithSeconds`, accepted for parity only: 5 fields (seconds = 0) and 6 fields
   * (seconds first) are both accepted either way, and the field count decides.
   */
  readonly seconds?: boolean;
}

/** Canonical description of a {@link cron} schedule. */
export interface CronSpec extends ScheduleSpec {
  readonly kind: "cron";
  /** The expression with single spaces, without a `CRON_TZ=` prefix, descriptors lower-cased. */
  readonly expr: string;
  /** The schedule's own zone (from `options.timezone` or the prefix), or `null`. */
  readonly timezone: string | null;
  /** True when the expression has a seconds field (6 fields). */
  readonly seconds: boolean;
}

const PREFIX = /^(?:CRON_TZ|TZ)=(\S+)\s+/;
const DESCRIPTORS: Readonly<Record<string, string>> = {
  "@yearly": "@yearly",
  "@annually": "@yearly",
  "@monthly": "@monthly",
  "@weekly": "@weekly",
  "@daily": "@daily",
  "@midnight": "@daily",
  "@hourly": "@hourly",
};

/**
 * A cron expression, computed with croner (never started: belfry only asks it for instants).
 *
 * Accepts 5 fields (`minute hour day-of-month month day-of-week`), 6 fields (seconds first),
 * croner's extensions (`L`, `W`, `#`, names such as `MON` and `JAN`), the descriptors `@yearly`,
 * `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`, and a leading
 * `CRON_TZ=Zone ` or `TZ=Zone ` prefix that sets the zone. DST: an expression whose second,
 * minute and hour fields have no `*`, `?` or step (`30 2 * * *`, `0 9,17 * * 1-5`) behaves like
 * {@link daily}: a time in a gap runs once, moved forward by the gap's length, and a repeated
 * time runs once, at its first instant. Any other expression (a step such as `0-59/15` or a
 * `*` in those fields) follows real instants: times in a gap do not exist and are skipped, and a
 * repeated time runs on each pass, so "every minute" is every real minute.
 *
 * Throws `INVALID_CRON` (croner's message kept as `cause`), `INVALID_TIMEZONE`, and
 * `INVALID_OPTION` when the prefix and `options.timezone` name different zones.
 *
 * @example
 * ```ts
 * cron("0 3 * * *", { timezone: "Europe/Berlin" });
 * cron("CRON_TZ=America/New_York 30 0 9 * * MON-FRI"); // 6 fields: 09:00:30 on weekdays
 * ```
 */
export function cron(expr: string, options: CronOptions = {}): Schedule {
  const where = `cron(${quote(expr)})`;
  const { body, timezone } = parseExpression(expr, options, where);
  const pattern = compile(body, where);
  assertFires(body, pattern, where);
  const spec: CronSpec = {
    kind: "cron",
    expr: body,
    timezone,
    seconds: !body.startsWith("@") && body.split(" ").length === 6,
  };
  // Compiled patterns are shared between schedules (cron-cache.ts): each call looks its pair up.
  const { isFixedTime } = pattern;
  return {
    spec,
    next(after: number, context: ScheduleContext): number | null {
      const zone = canonicalTimezone(timezone ?? context.timezone, where);
      const job = compiledCron(body, zone);
      if (!isFixedTime) return job.nextRun(new Date(after))?.getTime() ?? null;
      return nextFixedTime(after, zone, job, compiledPattern(body), compiledCron(body, "UTC"));
    },
  };
}

/** Splits off a `CRON_TZ=`/`TZ=` prefix, normalises spaces and descriptors, counts fields. */
function parseExpression(
  expr: string,
  options: CronOptions,
  where: string,
): { body: string; timezone: string | null } {
  if (typeof expr !== "string") {
    throw new BelfryError("INVALID_CRON", `${where}: the expression must be a string`);
  }
  const prefix = PREFIX.exec(expr.trim());
  const fromPrefix = prefix?.[1] === undefined ? null : canonicalTimezone(prefix[1], where);
  const fromOptions = parseOptions(cronOptions, options, where).timezone ?? null;
  if (fromPrefix !== null && fromOptions !== null && fromPrefix !== fromOptions) {
    throw new BelfryError(
      "INVALID_OPTION",
      `${where}: the prefix names time zone ${quote(fromPrefix)} but options.timezone is ${quote(fromOptions)}; give the zone once`,
    );
  }
  const fields = expr
    .trim()
    .slice(prefix ? prefix[0].length : 0)
    .split(/\s+/)
    .filter(Boolean);
  return { body: normaliseFields(fields, where), timezone: fromPrefix ?? fromOptions };
}

function normaliseFields(fields: readonly string[], where: string): string {
  const first = fields[0] ?? "";
  if (fields.length === 1 && first.startsWith("@")) {
    const descriptor = DESCRIPTORS[first.toLowerCase()];
    if (descriptor === undefined) {
      throw new BelfryError(
        "INVALID_CRON",
        `${where}: unknown descriptor ${quote(first)}; use one of ${Object.keys(DESCRIPTORS).join(", ")}`,
      );
    }
    return descriptor;
  }
  if (fields.length !== 5 && fields.length !== 6) {
    throw new BelfryError(
      "INVALID_CRON",
      `${where}: expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), got ${fields.length}`,
    );
  }
  return fields.join(" ");
}

const cronOptions = strictOptions({
  timezone: timezoneField().optional(),
  seconds: z.boolean().optional(),
});

/**
 * Refuses an expression that matches no instant, such as `0 0 30 2 *` (`NEVER_FIRES`). Cron
 * fields repeat with the 400-year Gregorian cycle (whose 146 097 days are whole weeks), so an
 * expression with no match in the ~400 years croner searches after 1970 has none ever. A day
 * field holding one of days 1-28 or `L` matches in every month, so only other fields are searched.
 */
function assertFires(body: string, pattern: CronPattern, where: string): void {
  if (pattern.lastDayOfMonth || pattern.day.slice(0, 28).some(Boolean)) return;
  if (compiledCron(body, "UTC").nextRun(new Date(0)) === null) {
    throw new BelfryError(
      "NEVER_FIRES",
      `${where}: the expression matches no date (e.g. a day that its month never has)`,
    );
  }
}

function compile(body: string, where: string): CronPattern {
  try {
    return compiledPattern(body);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new BelfryError("INVALID_CRON", `${where}: ${detail}`, { cause });
  }
}

/**
 * Next run of a fixed-time expression. croner runs every time in a DST gap at the gap's end; we
 * drop those runs and instead move each time in the gap forward by the gap's length, as `daily`
 * does. croner already runs a repeated time once, at its first instant.
 */
function nextFixedTime(
  after: number,
  zone: string,
  job: Cron,
  pattern: CronPattern,
  wallJob: Cron,
): number | null {
  let run = job.nextRun(new Date(after));
  while (run !== null && !job.match(run)) run = job.nextRun(run);
  if (run === null) return null;
  if (zone === "UTC") return run.getTime(); // no DST gaps
  const shifted = firstShiftedGapTime(after, run.getTime(), zone, pattern, wallJob);
  return shifted === null ? run.getTime() : Math.min(shifted, run.getTime());
}

/**
 * Looks at the zone's transitions up to `until` that open a gap, for the first time in a gap
 * that the expression matches and whose moved instant is after `after`. `wallJob` is the same
 * expression in UTC, used to match a wall time that has no instant in `zone`.
 */
function firstShiftedGapTime(
  after: number,
  until: number,
  zone: string,
  pattern: CronPattern,
  wallJob: Cron,
): number | null {
  let cursor = Temporal.Instant.fromEpochMilliseconds(after - DAY_MS).toZonedDateTimeISO(zone);
  for (;;) {
    const transition = cursor.getTimeZoneTransition("next");
    if (transition === null || transition.epochMilliseconds > until) return null;
    const at = transition.epochMilliseconds;
    const offsetBefore = offsetMs(at - 1, zone);
    const offsetAfter = transition.offsetNanoseconds / 1e6;
    if (offsetAfter > offsetBefore) {
      const found = firstInGap(
        after,
        at + offsetBefore,
        at + offsetAfter,
        offsetBefore,
        pattern,
        wallJob,
      );
      if (found !== null) return found;
    }
    cursor = transition;
  }
}

function offsetMs(at: number, zone: string): number {
  return (
    Temporal.Instant.fromEpochMilliseconds(at).toZonedDateTimeISO(zone).offsetNanoseconds / 1e6
  );
}

/**
 * The first wall time in `[gapStart, gapEnd)` (wall clock read as UTC ms) that the expression
 * matches, as the instant it moves to (the wall time read with the offset before the gap).
 */
function firstInGap(
  after: number,
  gapStart: number,
  gapEnd: number,
  offsetBefore: number,
  pattern: CronPattern,
  wallJob: Cron,
): number | null {
  for (let wall = Math.ceil(gapStart / 1000) * 1000; wall < gapEnd; wall += 1000) {
    const instant = wall - offsetBefore;
    if (instant <= after) continue;
    const secondOfDay = mod(Math.floor(wall / 1000), 86_400);
    const timeMatches =
      pattern.second[secondOfDay % 60] &&
      pattern.minute[Math.floor(secondOfDay / 60) % 60] &&
      pattern.hour[Math.floor(secondOfDay / 3600)];
    if (timeMatches && wallJob.match(new Date(wall))) return instant;
  }
  return null;
}
