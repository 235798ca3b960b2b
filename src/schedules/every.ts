import { quote } from "../errors.js";
import { type Duration, toPositiveMs } from "../duration.js";
import type { Schedule, ScheduleContext, ScheduleSpec } from "./schedule.js";

/** Canonical description of an {@link every} schedule. */
export interface EverySpec extends ScheduleSpec {
  readonly kind: "every";
  readonly intervalMs: number;
}

/**
 * Runs on a fixed grid: the anchor (the job's `startAt`, else the Unix epoch) plus whole multiples
 * of `interval` (gocron's `DurationJob`, but counted from an anchor every replica shares instead
 * of from each process's start). Nothing runs before the anchor.
 *
 * @param interval - milliseconds or a string such as `"250ms"`, `"90s"`, `"5m"`, `"1h30m"`;
 *   must be greater than 0 (`INVALID_INTERVAL`)
 *
 * @example
 * ```ts
 * every("5m").next(Date.parse("2026-01-01T00:03:00Z"), { jobId: "j", anchor: 0, timezone: "UTC" });
 * // → Date.parse("2026-01-01T00:05:00Z")
 * ```
 */
export function every(interval: Duration): Schedule {
  const intervalMs = toPositiveMs(interval, `every(${quote(interval)})`);
  const spec: EverySpec = { kind: "every", intervalMs };
  return {
    spec,
    next(after: number, context: ScheduleContext): number | null {
      const { anchor } = context;
      if (after < anchor) return anchor;
      return anchor + (Math.floor((after - anchor) / intervalMs) + 1) * intervalMs;
    },
  };
}
