import type { ScheduleSpec } from "./schedule.js";

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
/** Cron descriptors in words (croner's meanings). */
const DESCRIPTORS: Readonly<Record<string, string>> = {
  "@yearly": "every year on 1 January at 00:00",
  "@annually": "every year on 1 January at 00:00",
  "@monthly": "every month on the 1st at 00:00",
  "@weekly": "every week on Sunday at 00:00",
  "@daily": "every day at 00:00",
  "@midnight": "every day at 00:00",
  "@hourly": "every hour at minute 0",
};
const UNITS: readonly (readonly [string, number])[] = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["min", 60_000],
  ["s", 1_000],
  ["ms", 1],
];

/**
 * A schedule in a short phrase for people (dashboard, `belfry jobs`), from its serialisable spec:
 * `every 5 s`, `every 1 min to 5 min (random)`, `cron 0 3 * * * (Europe/Berlin)`,
 * `daily at 09:00, 17:30`, `every 2 weeks on Mon, Fri at 08:00`, `monthly on day 1, last at
 * 06:00`, `once at 2026-06-01 09:00:00Z`. A kind it does not know is shown as its JSON.
 *
 * @param spec - a schedule's `spec` (e.g. read back from a stored job definition)
 * @param timezone - the zone that applies when the spec names none (the scheduler's); shown
 *   unless it is UTC
 *
 * @example
 * ```ts
 * describeSchedule(cron("0 3 * * *", { timezone: "Europe/Berlin" }).spec);
 * // → "cron 0 3 * * * (Europe/Berlin)"
 * ```
 */
export function describeSchedule(spec: ScheduleSpec, timezone = "UTC"): string {
  const zone = typeof spec.timezone === "string" ? spec.timezone : timezone;
  const suffix = zone === "UTC" ? "" : ` (${zone})`;
  const times = `at ${list(spec.atTimes).map(shortTime).join(", ")}`;
  switch (spec.kind) {
    case "every":
      return `every ${duration(spec.intervalMs)}`;
    case "everyRandom":
      return `every ${duration(spec.minMs)} to ${duration(spec.maxMs)} (random)`;
    case "cron":
      return `${DESCRIPTORS[String(spec.expr)] ?? `cron ${String(spec.expr)}`}${suffix}`;
    case "daily":
      return `${repeat(spec.interval, "daily", "days")} ${times}${suffix}`;
    case "weekly": {
      const days = list(spec.weekdays).map((d) => WEEKDAYS[Number(d)] ?? String(d));
      return `${repeat(spec.interval, "weekly", "weeks")} on ${days.join(", ")} ${times}${suffix}`;
    }
    case "monthly": {
      // Days from the start of the month first, then those counted from its end.
      const numbers = list(spec.days).map(Number);
      const days = [...numbers.filter((d) => d > 0), ...numbers.filter((d) => d < 0)].map(monthDay);
      return `${repeat(spec.interval, "monthly", "months")} on day ${days.join(", ")} ${times}${suffix}`;
    }
    case "once": {
      const at = list(spec.at).map((iso) => String(iso).replace("T", " ").replace(".000Z", "Z"));
      return at.length <= 2 ? `once at ${at.join(", ")}` : `once at ${at.length} instants`;
    }
    default:
      return JSON.stringify(spec);
  }
}

/** A duration in ms as `1 h 30 min`, `5 s`, `250 ms`. */
function duration(value: unknown): string {
  let rest = Number(value);
  if (!Number.isFinite(rest) || rest <= 0) return `${String(value)} ms`;
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)} ${unit}`);
      rest %= size;
    }
  }
  return parts.join(" ");
}

function repeat(interval: unknown, single: string, unit: string): string {
  return Number(interval) === 1 ? single : `every ${String(interval)} ${unit}`;
}

/** `"09:00:00"` → `"09:00"`; times with seconds keep them. */
function shortTime(value: unknown): string {
  return String(value).replace(/^(\d\d:\d\d):00$/, "$1");
}

/** Day of month: negative days count from the end (`-1` is the last day). */
function monthDay(day: number): string {
  if (day >= 0) return String(day);
  return day === -1 ? "last" : `${-day}${ordinalSuffix(-day)} last`;
}

function ordinalSuffix(n: number): string {
  if (n % 100 >= 11 && n % 100 <= 13) return "th";
  return ["th", "st", "nd", "rd"][n % 10] ?? "th";
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}
