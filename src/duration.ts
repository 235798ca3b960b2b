import parse from "parse-duration";
import { Temporal } from "temporal-polyfill";
import { BelfryError, quote } from "./errors.js";

/** The short unit suffixes, which may be combined: `"1h30m"`. */
export type ShortUnit = "ms" | "s" | "m" | "h" | "d" | "w";

/** Unit words a single-part duration may use (parse-duration's names): `"5 minutes"`. */
export type DurationUnit =
  | ShortUnit
  | "sec"
  | "min"
  | "hr"
  | `${"millisecond" | "second" | "minute" | "hour" | "day" | "week"}${"" | "s"}`;

/**
 * A duration: milliseconds, a string of up to three number-unit parts (`"250ms"`, `"90s"`,
 * `"5m"`, `"1h30m"`, `"2d"`, `"1w"`, `"5 minutes"`), or ISO 8601 (`"PT5M"`, `"P1DT2H"`).
 * Months and years are refused: their length varies (use `monthly()` or `cron()`).
 */
export type Duration =
  | number
  | `${number}${DurationUnit}`
  | `${number} ${DurationUnit}`
  | `${number}${ShortUnit}${number}${ShortUnit}`
  | `${number}${ShortUnit}${number}${ShortUnit}${number}${ShortUnit}`
  | `P${string}`;

/** The longest duration accepted: 100 years of 365.25 days. */
export const MAX_DURATION_MS = 100 * 365.25 * 86_400_000;

const HINT = 'use milliseconds or a string such as "250ms", "90s", "5m", "1h30m", "1w" or "PT5M"';
/** One number followed by one unit word; the units themselves are parse-duration's. */
const PART = /(\d+(?:\.\d+)?)\s*(\p{L}+)/gu;
/** Variable-length units parse-duration knows but a schedule must not average. */
const CALENDAR_UNITS = new Set<number>([parse.unit.mo, parse.unit.y]);

/** A duration read: its milliseconds, or what is wrong with it. */
export type DurationReading = { readonly ms: number } | { readonly problem: string };

/**
 * Reads a {@link Duration} from any value, requiring at least `minMs` (default 0) and at most
 * 100 years. Never throws: callers add where the value came from.
 */
export function readDuration(value: unknown, minMs = 0): DurationReading {
  const ms = typeof value === "number" ? value : typeof value === "string" ? fromText(value) : null;
  if (typeof ms === "string") return { problem: `${quote(value)} is not a duration; ${ms}` };
  if (ms === null || !Number.isFinite(ms)) {
    return { problem: `${quote(value)} is not a duration; ${HINT}` };
  }
  const rounded = Math.round(ms);
  if (rounded < minMs) {
    const least =
      minMs <= 1 ? (minMs === 1 ? "greater than 0" : "0 or more") : `at least ${minMs} ms`;
    return { problem: `duration must be ${least}, got ${quote(value)}` };
  }
  if (rounded > MAX_DURATION_MS) {
    return { problem: `${quote(value)} is longer than 100 years` };
  }
  return { ms: rounded };
}

/** Milliseconds of a duration string, `null` when unreadable, or a message naming the fault. */
function fromText(text: string): number | string | null {
  const trimmed = text.trim();
  if (/^[+-]?P/i.test(trimmed)) return fromIso(trimmed);
  let total = 0;
  let rest = trimmed;
  for (const [part, amount, unit] of trimmed.matchAll(PART)) {
    const unitMs = parse(`1${unit}`);
    if (unitMs === null) return `unknown unit ${quote(unit)}; ${HINT}`;
    if (CALENDAR_UNITS.has(unitMs)) {
      return `months and years vary in length; use monthly() or cron() for calendar schedules`;
    }
    total += Number(amount) * unitMs;
    rest = rest.replace(part, "");
  }
  return trimmed === "" || rest.trim() !== "" ? null : total;
}

function fromIso(text: string): number | string | null {
  let duration: Temporal.Duration;
  try {
    duration = Temporal.Duration.from(text.toUpperCase());
  } catch {
    return null;
  }
  if (duration.years !== 0 || duration.months !== 0) {
    return `months and years vary in length; use monthly() or cron() for calendar schedules`;
  }
  const days = duration.weeks * 7 + duration.days;
  return duration.with({ weeks: 0, days: 0 }).total({ unit: "milliseconds" }) + days * 86_400_000;
}

/**
 * Converts a {@link Duration} to whole milliseconds, at least `minMs` (default 0), or throws
 * `INVALID_INTERVAL` naming `where` (`every("5x")` → `every("5x"): "5x" is not a duration …`).
 */
export function toMs(value: Duration, where: string, minMs = 0): number {
  const reading = readDuration(value, minMs);
  if ("problem" in reading)
    throw new BelfryError("INVALID_INTERVAL", `${where}: ${reading.problem}`);
  return reading.ms;
}

/** Like {@link toMs} but also requires the result to be greater than zero. */
export function toPositiveMs(value: Duration, where: string): number {
  return toMs(value, where, 1);
}
