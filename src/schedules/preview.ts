import { systemClock } from "../clock.js";
import { BelfryError } from "../errors.js";
import { assertTimezone, type Schedule, type ScheduleContext } from "./schedule.js";

/** Options of {@link preview}. */
export interface PreviewOptions {
  /** How many instants to list (default 10). */
  readonly count?: number;
  /** List instants at or after this one (default: now, from the system clock). */
  readonly from?: number | Date;
  /** The job id, which seeds `everyRandom` (default `"preview"`). */
  readonly jobId?: string;
  /** The series' anchor, epoch ms (default 0, the Unix epoch; a job's `startAt` if it has one). */
  readonly anchor?: number;
  /** The zone for schedules that did not name their own (default `"UTC"`). */
  readonly timezone?: string;
}

/**
 * The next `count` instants of `schedule`, from `from` on (inclusive), computed exactly as the
 * scheduler would for a job with that id, anchor and zone. Fewer when the schedule ends.
 *
 * @example
 * ```ts
 * preview(cron("0 9 * * MON"), { count: 3, from: Date.parse("2026-01-01T00:00:00Z") });
 * // → [2026-01-05T09:00Z, 2026-01-12T09:00Z, 2026-01-19T09:00Z]
 * ```
 */
export function preview(schedule: Schedule, options: PreviewOptions = {}): Date[] {
  const count = options.count ?? 10;
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new BelfryError(
      "INVALID_OPTION",
      `preview: count must be a whole number, 0 or more, got ${JSON.stringify(count)}`,
    );
  }
  const context: ScheduleContext = {
    jobId: options.jobId ?? "preview",
    anchor: instant(options.anchor ?? 0, "anchor"),
    timezone: options.timezone ?? "UTC",
  };
  assertTimezone(context.timezone, "preview");
  const instants: Date[] = [];
  let after = instant(options.from ?? systemClock.now(), "from") - 1;
  while (instants.length < count) {
    const next = schedule.next(after, context);
    if (next === null) break;
    instants.push(new Date(next));
    after = next;
  }
  return instants;
}

function instant(value: number | Date, name: string): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (!Number.isFinite(ms)) {
    throw new BelfryError(
      "INVALID_DATE",
      `preview: ${name} must be a valid instant, got ${String(value)}`,
    );
  }
  return ms;
}
