import type { ScheduleSpec } from "../schedules/schedule.js";
import { formatMs } from "./output.js";

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const DESCRIPTORS: Readonly<Record<string, string>> = {
  "@yearly": "every year on 1 January at 00:00",
  "@monthly": "every month on the 1st at 00:00",
  "@weekly": "every week on Sunday at 00:00",
  "@daily": "every day at 00:00",
  "@hourly": "every hour at minute 0",
};

/**
 * A schedule spec in words, e.g. `every 2 days at 03:00, 15:00 (Europe/Berlin)`. `timezone` is
 * the zone used when the spec names none.
 */
export function describeSchedule(spec: ScheduleSpec, timezone: string): string {
  const zone = typeof spec.timezone === "string" ? spec.timezone : timezone;
  const times = () => `at ${list(spec.atTimes).map(shortTime).join(", ")} (${zone})`;
  switch (spec.kind) {
    case "every":
      return `every ${formatMs(Number(spec.intervalMs))}`;
    case "everyRandom":
      return `every ${formatMs(Number(spec.minMs))} to ${formatMs(Number(spec.maxMs))}, at random`;
    case "cron": {
      const expr = String(spec.expr);
      return `${DESCRIPTORS[expr] ?? `cron "${expr}"`} (${zone})`;
    }
    case "daily":
      return `${cadence(spec.interval, "day")} ${times()}`;
    case "weekly":
      return `${cadence(spec.interval, "week")} on ${list(spec.weekdays)
        .map((d) => WEEKDAYS[Number(d)])
        .join(", ")} ${times()}`;
    case "monthly":
      return `${cadence(spec.interval, "month")} on day ${list(spec.days).map(monthDay).join(", ")} ${times()}`;
    case "once":
      return `once at ${list(spec.at).join(", ")}`;
    default:
      return JSON.stringify(spec);
  }
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function cadence(interval: unknown, unit: string): string {
  return interval === 1 ? `every ${unit}` : `every ${String(interval)} ${unit}s`;
}

function shortTime(time: unknown): string {
  return String(time).replace(/:00$/, "");
}

function monthDay(day: unknown): string {
  const n = Number(day);
  if (n === -1) return "last";
  return n < 0 ? `${-n - 1} before last` : String(n);
}
