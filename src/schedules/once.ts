import { BelfryError, quote } from "../errors.js";
import { INSTANT_HINT, readInstant, type InstantInput } from "./instant.js";
import type { Schedule, ScheduleSpec } from "./schedule.js";

export type { InstantInput } from "./instant.js";

/** Canonical description of a {@link once} schedule. */
export interface OnceSpec extends ScheduleSpec {
  readonly kind: "once";
  /** The instants as ISO 8601 UTC strings, sorted, without duplicates. */
  readonly at: readonly string[];
}

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
  const where = `once(${quote(at)})`;
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
  const ms = readInstant(value);
  if (ms === null) {
    throw new BelfryError(
      "INVALID_DATE",
      `${where}: ${quote(value)} is not a valid instant; ${INSTANT_HINT}`,
    );
  }
  return ms;
}
