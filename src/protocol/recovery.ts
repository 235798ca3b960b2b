import type { JobRecord } from "../stores/store.js";

/** What recovery does with one expired run. */
export type RecoveryAction = "retried" | "abandoned" | "superseded";

/**
 * Under `retry`, recovery re-runs an expired run while `attempt < maxAttempts`, except that
 * under overlap `skip` or `queueOne` it never revives a run while the job has another active
 * run (`busy`): that run is `superseded` (recorded `abandoned`). Anything else is `abandoned`.
 * (Under `queueOne` the job's active run, when it ends, hands its queued run on; recovery does
 * the same when the active run's replica died.)
 */
export function recoveryAction(
  job: Pick<JobRecord, "onAbandoned" | "maxAttempts" | "overlap"> | null,
  attempt: number,
  busy: boolean,
): RecoveryAction {
  if (!job || job.onAbandoned !== "retry" || attempt >= job.maxAttempts) return "abandoned";
  return busy && job.overlap !== "allow" ? "superseded" : "retried";
}

/**
 * True when {@link recoveryAction} for this run depends on whether another run of its job is
 * active, so a store that could not read that for sure must leave the run for a later pass.
 */
export function recoveryDependsOnBusy(
  job: Pick<JobRecord, "onAbandoned" | "maxAttempts" | "overlap"> | null,
  attempt: number,
): boolean {
  return recoveryAction(job, attempt, true) !== recoveryAction(job, attempt, false);
}
