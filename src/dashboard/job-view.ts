import { describeSchedule } from "../schedules/describe.js";
import { preview } from "../schedules/preview.js";
import type { ScheduleSpec } from "../schedules/schedule.js";
import { scheduleFromSpec } from "../schedules/spec.js";
import type { JobRecord } from "../stores/store.js";

/** Ids with this prefix are belfry's own rows (the leader election's terms), not user jobs. */
const INTERNAL_JOB_PREFIX = "belfry:";

/** A stored job as the jobs page shows it. */
export interface JobView {
  readonly record: JobRecord;
  /** The schedule in words, or why the stored definition cannot be read. */
  readonly schedule: string;
  /** The next instants (epoch ms), empty when the series is over or unreadable. */
  readonly next: readonly number[];
}

interface StoredDefinition {
  readonly schedule: ScheduleSpec;
  readonly timezone: string;
  readonly startAt: number | null;
  readonly stopAt: number | null;
}

/** True for rows belfry keeps for itself (not shown as jobs). */
export function isInternalJob(jobId: string): boolean {
  return jobId.startsWith(INTERNAL_JOB_PREFIX);
}

/**
 * Reads a job's stored definition: the schedule in words and its next `count` instants from
 * `now`, bounded by the definition's `startAt`/`stopAt`. A definition that cannot be read is
 * shown as such, never thrown: one bad row must not take the page down.
 */
export function viewJob(record: JobRecord, now: number, count: number): JobView {
  let definition: StoredDefinition;
  try {
    definition = JSON.parse(record.definition) as StoredDefinition;
    if (typeof definition.schedule !== "object" || definition.schedule === null) throw new Error();
  } catch {
    return { record, schedule: "(unreadable definition)", next: [] };
  }
  const words = describeSchedule(definition.schedule, definition.timezone ?? "UTC");
  try {
    const schedule = scheduleFromSpec(definition.schedule);
    const next = preview(schedule, {
      count,
      from: Math.max(now, definition.startAt ?? now),
      jobId: record.jobId,
      anchor: record.anchor,
      timezone: definition.timezone ?? "UTC",
    }).map((at) => at.getTime());
    const stopAt = definition.stopAt ?? Number.POSITIVE_INFINITY;
    return { record, schedule: words, next: next.filter((at) => at <= stopAt) };
  } catch {
    return { record, schedule: words, next: [] };
  }
}
