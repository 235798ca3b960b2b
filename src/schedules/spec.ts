import { BelfryError, quote } from "../errors.js";
import type { CalendarOptions } from "./calendar.js";
import { cron } from "./cron.js";
import { daily } from "./daily.js";
import { every } from "./every.js";
import { everyRandom } from "./every-random.js";
import { monthly } from "./monthly.js";
import { once } from "./once.js";
import type { Schedule, ScheduleSpec } from "./schedule.js";
import { weekly, type Weekday } from "./weekly.js";

/** Reads typed fields of a spec, throwing `INVALID_SCHEDULE` naming the field and its value. */
class SpecReader {
  constructor(
    private readonly spec: Readonly<Record<string, unknown>>,
    private readonly where: string,
  ) {}

  number(name: string): number {
    return this.check(name, "a number", (value) => typeof value === "number") as number;
  }

  string(name: string): string {
    return this.check(name, "a string", (value) => typeof value === "string") as string;
  }

  numbers(name: string): number[] {
    return this.check(name, "an array of numbers", (value) =>
      isArrayOf(value, "number"),
    ) as number[];
  }

  strings(name: string): string[] {
    return this.check(name, "an array of strings", (value) =>
      isArrayOf(value, "string"),
    ) as string[];
  }

  /** The optional `timezone` field as calendar options: absent or null means the scheduler's. */
  zone(): CalendarOptions {
    const timezone = this.spec.timezone;
    if (timezone === undefined || timezone === null) return {};
    return { timezone: this.string("timezone") };
  }

  private check(name: string, expected: string, ok: (value: unknown) => boolean): unknown {
    const value = this.spec[name];
    if (!ok(value)) {
      throw new BelfryError(
        "INVALID_SCHEDULE",
        `${this.where}: ${name} must be ${expected}, got ${quote(value)}`,
      );
    }
    return value;
  }
}

function isArrayOf(value: unknown, type: "number" | "string"): boolean {
  return Array.isArray(value) && value.every((item) => typeof item === type);
}

type Builder = (read: SpecReader) => Schedule;

const BUILDERS: Readonly<Record<string, Builder>> = {
  every: (read) => every(read.number("intervalMs")),
  everyRandom: (read) => everyRandom(read.number("minMs"), read.number("maxMs")),
  cron: (read) => cron(read.string("expr"), read.zone()),
  daily: (read) => daily(read.number("interval"), read.strings("atTimes"), read.zone()),
  weekly: (read) =>
    weekly(
      read.number("interval"),
      read.numbers("weekdays") as Weekday[],
      read.strings("atTimes"),
      read.zone(),
    ),
  monthly: (read) =>
    monthly(read.number("interval"), read.numbers("days"), read.strings("atTimes"), read.zone()),
  once: (read) => once(read.strings("at")),
};

/**
 * Rebuilds a schedule from its serialisable {@link ScheduleSpec} (a schedule's `spec`, e.g. read
 * back from a stored job definition): `scheduleFromSpec(s.spec)` has the same spec and the same
 * instants as `s`. Fields a kind derives (`cron`'s `seconds`) are recomputed, and a missing or
 * `null` `timezone` means the scheduler's zone.
 *
 * Throws `INVALID_SCHEDULE` for a spec that is not an object, has an unknown `kind` or a field of
 * the wrong type; a field of the right type but an invalid value throws the code its kind's
 * factory throws (`INVALID_CRON`, `INVALID_TIME`, …).
 *
 * @example
 * ```ts
 * const schedule = scheduleFromSpec({ kind: "daily", interval: 1, atTimes: ["03:00:00"], timezone: "Europe/Berlin" });
 * scheduleFromSpec(cron("0 3 * * *").spec); // the same cron schedule
 * ```
 */
export function scheduleFromSpec(spec: ScheduleSpec): Schedule {
  const where = `scheduleFromSpec(${quote(spec)})`;
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
    throw new BelfryError("INVALID_SCHEDULE", `${where}: a spec is an object with a "kind"`);
  }
  const kind: unknown = spec.kind;
  const build = typeof kind === "string" && Object.hasOwn(BUILDERS, kind) ? BUILDERS[kind] : null;
  if (!build) {
    throw new BelfryError(
      "INVALID_SCHEDULE",
      `${where}: unknown kind ${quote(kind)}; use one of ${Object.keys(BUILDERS).join(", ")}`,
    );
  }
  return build(new SpecReader(spec, where));
}
