import { Temporal } from "temporal-polyfill";
import { BelfryError } from "../errors.js";
import type { Schedule, ScheduleSpec } from "./schedule.js";

/** An instant: a `Date`, epoch milliseconds, or an ISO 8601 string with `Z` or an offset. */
export type InstantInput = Date | number | string;

/** Canonical description of a {@link once} schedule. */
export interface OnceSpec extends ScheduleSpec {
  readonly kind: "once";
  /** The instants as ISO 8601 UTC strings, sorted, without duplicates. */
  readonly at: readonly string[];
}

/** The largest epoch-ms magnitude a `Date` can hold. */
const MAX_INSTANT = 8.64e15;

/**
 * Runs once at each of the given instants (gocron's `OneTimeJob`); `next` is the earliest one
 * after `after`, then `null`. Strings must name an instant — `"2026-03-08T10:00:00Z"` or
 * `"2026-03-08T10:00:00+01:00"` — since a wall time without an offset would be read differently
 * on replicas in different zones.
 *
 * @param at - one instant or several (`INVALID_DATE`)
 *
 * @example
 * ```ts
 * once(["2026-06-01T09:00:00Z", new Date("2026-07-01T09:00:00Z")]);
 * ```
 */
export function once(at: InstantInput | readonly InstantInput[]): Schedule {
  const where = `once(${describe(at)})`;
  const list: readonly unknown[] = Array.isArray(at) ? at : [at];
  if (list.length === 0) {
    throw new BelfryError("INVALID_DATE", `${where}: at least one instant is required`);
  }
  const instants = [...new Set(list.map((value) => toInstant(value, where)))].sort((a, b) => a - b);
  const spec: OnceSpec = { kind: "once", at: instants.map((ms) => new Date(ms).toISOString()) };
  return {
    spec,
    next(after: number): number | null {
      return instants.find((instant) => instant > after) ?? null;
    },
  };
}

function toInstant(value: unknown, where: string): number {
  const ms = parseInstant(value);
  if (ms === null || !Number.isFinite(ms) || Math.abs(ms) > MAX_INSTANT) {
    throw new BelfryError(
      "INVALID_DATE",
      `${where}: ${describe(value)} is not a valid instant; use a Date, epoch milliseconds or an ISO 8601 string with "Z" or an offset, e.g. "2026-03-08T10:00:00Z"`,
    );
  }
  return Math.round(ms);
}

function parseInstant(value: unknown): number | null {
  if (value instanceof Date) return value.getTime();
  if (typeof value === "number") return value;
  if (typeof value !== "string") return null;
  try {
    return Temporal.Instant.from(value.trim()).epochMilliseconds;
  } catch {
    return null;
  }
}

function describe(value: unknown): string {
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  if (Array.isArray(value)) return `[${value.map(describe).join(", ")}]`;
  return typeof value === "number" ? String(value) : JSON.stringify(value);
}
