import { percentile } from "../observe/stats.js";
import { preview } from "../schedules/preview.js";
import type { Schedule } from "../schedules/schedule.js";
import type { ReplicaReport, ReplicaWindow } from "./replica.js";

/** The demo's verdict on one run of the replicas. */
export interface Summary {
  /** Occurrences due in the window (all jobs). */
  readonly due: number;
  /** Handler executions (first attempts; a retry is not a new run). */
  readonly runs: number;
  /** Executions beyond the first of the same occurrence. */
  readonly duplicates: number;
  /** Due occurrences that never ran. */
  readonly misses: number;
  /** Runs that started before their instant by the store's clock. */
  readonly early: number;
  /** Start lag (handler start − nominal instant), ms. */
  readonly lagP50Ms: number;
  readonly lagP99Ms: number;
  /** First-attempt runs per replica. */
  readonly perReplica: Readonly<Record<string, number>>;
}

/** Compares what was due with what the replicas reported running. */
export function summarize(
  due: ReadonlyMap<string, readonly number[]>,
  reports: readonly ReplicaReport[],
): Summary {
  const starts = reports.filter(
    (r): r is Extract<ReplicaReport, { type: "start" }> => r.type === "start" && r.attempt === 1,
  );
  const perOccurrence = new Map<string, number>();
  const perReplica: Record<string, number> = {};
  for (const start of starts) {
    const key = `${start.job}@${start.scheduledAt}`;
    perOccurrence.set(key, (perOccurrence.get(key) ?? 0) + 1);
    perReplica[start.replica] = (perReplica[start.replica] ?? 0) + 1;
  }
  let dueCount = 0;
  let misses = 0;
  for (const [job, instants] of due) {
    dueCount += instants.length;
    misses += instants.filter((at) => !perOccurrence.has(`${job}@${at}`)).length;
  }
  const lags = starts.map((s) => s.at - s.scheduledAt);
  return {
    due: dueCount,
    runs: starts.length,
    duplicates: starts.length - perOccurrence.size,
    misses,
    early: starts.filter((s) => s.storeNow < s.scheduledAt).length,
    lagP50Ms: percentile(lags, 0.5),
    lagP99Ms: percentile(lags, 0.99),
    perReplica,
  };
}

/** Instants one `preview` call lists: the first call asks for few (a daily schedule owes one). */
const FIRST_PREVIEW_BATCH = 2;
const MAX_PREVIEW_BATCH = 100;

/** A series {@link dueInWindow} lists the instants of: a code job or a runtime schedule. */
export interface DueSeries {
  /** The job id its runs are reported under. */
  readonly id: string;
  readonly schedule: Schedule;
  /** The series' anchor (its `startAt`, else 0); default: the window's start. */
  readonly anchor?: number;
  /** The zone of a schedule that names none of its own (default UTC). */
  readonly timezone?: string;
  /** Only instants after this one (a runtime schedule's creation): nothing before is owed. */
  readonly after?: number;
}

/**
 * The instants of each series in `[startAt, stopAt]`, computed with the public `preview`: what
 * every replica owes. The demo's code jobs start with the window (their `startAt` anchors their
 * intervals); a runtime schedule passes its own anchor, zone and creation instant.
 */
export function dueInWindow(
  series: readonly DueSeries[],
  window: ReplicaWindow,
): Map<string, number[]> {
  const due = new Map<string, number[]>();
  for (const job of series) {
    const instants: number[] = [];
    let from = Math.max(window.startAt, (job.after ?? -Infinity) + 1);
    for (let count = FIRST_PREVIEW_BATCH; ; count = Math.min(count * 2, MAX_PREVIEW_BATCH)) {
      const batch = preview(job.schedule, {
        count,
        from,
        jobId: job.id,
        anchor: job.anchor ?? window.startAt,
        timezone: job.timezone,
      }).map((at) => at.getTime());
      instants.push(...batch.filter((at) => at <= window.stopAt));
      const last = batch.at(-1);
      if (batch.length < count || last === undefined || last > window.stopAt) break;
      from = last + 1;
    }
    due.set(job.id, instants);
  }
  return due;
}
