import { Temporal } from "temporal-polyfill";

/** An instant: a `Date`, epoch milliseconds, or an ISO 8601 string with `Z` or an offset. */
export type InstantInput = Date | number | string;

/** How to write an instant, for error messages. */
export const INSTANT_HINT =
  'use a Date, epoch milliseconds or an ISO 8601 string with "Z" or an offset, e.g. "2026-03-08T10:00:00Z"';

/** The largest epoch-ms magnitude a `Date` can hold. */
const MAX_INSTANT = 8.64e15;

/**
 * Reads an instant to whole epoch ms, or `null` when `value` is not one or lies outside the
 * range a `Date` can hold. A string must carry `Z` or an offset: a wall time without one would
 * be read differently on replicas in different zones.
 */
export function readInstant(value: unknown): number | null {
  const ms = parse(value);
  return ms !== null && Number.isFinite(ms) && Math.abs(ms) <= MAX_INSTANT ? Math.round(ms) : null;
}

function parse(value: unknown): number | null {
  if (value instanceof Date) return value.getTime();
  if (typeof value === "number") return value;
  if (typeof value !== "string") return null;
  try {
    return Temporal.Instant.from(value.trim()).epochMilliseconds;
  } catch {
    return null;
  }
}
