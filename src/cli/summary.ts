import { percentile } from "../observe/stats.js";
import type { ReplicaReport } from "./replica.js";

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
