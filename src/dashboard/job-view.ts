import { INTERNAL_JOB_PREFIX, readStoredJob } from "../observe/stored-job.js";
import { describeSchedule } from "../schedules/describe.js";
import type { JobRecord } from "../stores/store.js";

/** A stored job as the jobs page shows it. */
export interface JobView {
  readonly record: JobRecord;
  /** The schedule in words, or why the stored definition cannot be read. */
  readonly schedule: string;
  /** The next instants (epoch ms), empty when the series is over or unreadable. */
  readonly next: readonly number[];
}

/** True for rows belfry keeps for itself (the leader election's terms), not user jobs. */
export function isInternalJob(jobId: string): boolean {
  return jobId.startsWith(INTERNAL_JOB_PREFIX);
}

/**
 * Reads a job's stored definition: the schedule in words and its next `count` instants after
 * `now`, computed by the same series the replicas use (`startAt`, `stopAt` and the anchor
 * included). A definition that cannot be read is shown as such, never thrown: one bad row must
 * not take the page down.
 */
export function viewJob(record: JobRecord, now: number, count: number): JobView {
  let stored: ReturnType<typeof readStoredJob>;
  try {
    stored = readStoredJob(record);
  } catch {
    return { record, schedule: "(unreadable definition)", next: [] };
  }
  const next: number[] = [];
  for (let at = stored.series.next(now); at !== null && next.length < count;) {
    next.push(at);
    at = stored.series.next(at);
  }
  const { schedule, timezone } = stored.definition;
  return { record, schedule: describeSchedule(schedule, timezone), next };
}
