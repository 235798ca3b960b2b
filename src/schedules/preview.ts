import { systemClock } from "../clock.js";
import { z } from "zod";
import {
  instantField,
  parseOptions,
  strictOptions,
  timezoneField,
  wholeNumber,
} from "../validation.js";
import type { Schedule, ScheduleContext } from "./schedule.js";

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

const previewOptions = strictOptions({
  count: wholeNumber(0, 100_000).default(10),
  from: instantField().optional(),
  jobId: z.string().optional(),
  anchor: instantField().optional(),
  timezone: timezoneField().optional(),
});

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
  const parsed = parseOptions(previewOptions, options, "preview");
  const context: ScheduleContext = {
    jobId: parsed.jobId ?? "preview",
    anchor: parsed.anchor ?? 0,
    timezone: parsed.timezone ?? "UTC",
  };
  const instants: Date[] = [];
  let after = (parsed.from ?? systemClock.now()) - 1;
  while (instants.length < parsed.count) {
    const next = schedule.next(after, context);
    if (next === null) break;
    instants.push(new Date(next));
    after = next;
  }
  return instants;
}
