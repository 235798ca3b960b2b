import type { RunRecord, UnreadableJob, WarningRecord } from "../stores/store.js";

/** A count and up to `listLimit` examples (the first found). */
export interface AuditList<T> {
  readonly count: number;
  readonly items: readonly T[];
}

/** One occurrence: a job and a nominal instant (epoch ms). */
export interface Occurrence {
  readonly jobId: string;
  readonly scheduledAt: number;
}

/** An occurrence that two or more run rows (different `runId`s) started or completed. */
export interface Duplicate extends Occurrence {
  readonly runs: readonly RunRecord[];
}

/** A run's start lag: `startedAt − scheduledAt`. */
export interface LateStart extends Occurrence {
  readonly runId: string;
  readonly replicaId: string | null;
  readonly lagMs: number;
}

/** Start lag of first attempts of scheduled runs, ms (nearest-rank percentiles). */
export interface LagStats {
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The 5 latest starts, worst first. */
  readonly worst: readonly LateStart[];
}

/** Two scheduled runs of one job (overlap not `allow`) whose [start, end] intersect. */
export interface Overlap {
  readonly jobId: string;
  readonly first: RunRecord;
  readonly second: RunRecord;
}

/** A replica that wrote run rows in the window or reported itself during it. */
export interface ReplicaSeen {
  readonly replicaId: string;
  /** Run rows in the window it owns or last owned. */
  readonly runs: number;
  readonly host: string | null;
  readonly lastSeenAt: number | null;
  readonly clockOffsetMs: number | null;
}

/** What the audit checked for one job. */
export interface JobAudit {
  readonly jobId: string;
  readonly paused: boolean;
  readonly version: number;
  readonly watermark: number | null;
  /** Occurrences in the window the job owed (see {@link AuditReport.due}). */
  readonly due: number;
  /** Run rows of the job in the window. */
  readonly runs: number;
  /** False when its misses could not be checked (internal job, unreadable definition). */
  readonly checked: boolean;
  /** Why it was not checked, or from when (a changed definition), else null. */
  readonly note: string | null;
}

/**
 * What the audit checked for the runtime schedules of one task (`scheduler.schedules`): each
 * schedule is checked as a code job is, with its own stored definition and time zone, and
 * summed up here rather than listed one by one (a task may hold a million).
 */
export interface TaskAudit {
  readonly task: string;
  /** Schedules of the task read (a row that cannot be read is in `unreadableJobs`). */
  readonly schedules: number;
  /** Occurrences in the window its schedules owed (see {@link AuditReport.due}). */
  readonly due: number;
  /** Run rows of its schedules in the window. */
  readonly runs: number;
  /** Owed occurrences with no run row (their examples are in `unexplainedMisses`). */
  readonly unexplainedMisses: number;
  /** Schedules whose misses could not be checked (their definition cannot be read). */
  readonly unchecked: number;
}

/**
 * The audit of a window: what each job's stored definition says was due, compared with the run
 * records. `ok` is false when an occurrence ran twice or was due and left no row at all.
 */
export interface AuditReport {
  readonly ok: boolean;
  /** The window, `since ≤ scheduledAt < until`, and the store time of the audit (epoch ms). */
  readonly since: number;
  readonly until: number;
  readonly now: number;
  /** The jobs defined in code, by job id. */
  readonly jobs: readonly JobAudit[];
  /** The runtime schedules, one entry per task, by task (none on a store without them). */
  readonly tasks: readonly TaskAudit[];
  /**
   * Job and schedule rows that cannot be read (`CORRUPT_ROW`): their occurrences cannot be
   * checked.
   */
  readonly unreadableJobs: readonly UnreadableJob[];
  /** Run rows read. */
  readonly runs: number;
  /**
   * Occurrences owed in the window, code jobs and schedules together: after the job's first
   * registration (or its immediate
   * occurrence) and at or below its watermark, the newest occurrence claimed or recorded. Those
   * above it were not due yet, or the job is paused or was stopped; a job whose definition
   * changed is checked from the change on.
   */
  readonly due: number;
  /** Occurrences that two or more runs started or completed. */
  readonly duplicates: AuditList<Duplicate>;
  /** Owed occurrences with no run row at all (not even `missed` or `skipped`). */
  readonly unexplainedMisses: AuditList<Occurrence>;
  /** `missed` rows: occurrences the job's missed policy recorded instead of running. */
  readonly missed: AuditList<RunRecord>;
  /**
   * `skipped` rows: the overlap policy or a `beforeRun` listener skipped them, or the job was
   * paused when they fell due (error `paused`).
   */
  readonly skipped: AuditList<RunRecord>;
  readonly lateStarts: LagStats;
  readonly failures: AuditList<RunRecord>;
  readonly abandoned: AuditList<RunRecord>;
  /** Runs that took more than one attempt. */
  readonly retries: AuditList<RunRecord>;
  readonly overlaps: AuditList<Overlap>;
  /** Scheduled rows at an instant the job's current definition does not produce. */
  readonly unscheduled: AuditList<RunRecord>;
  /** Runs started by `runNow` (not occurrences of a schedule). */
  readonly manualRuns: number;
  /**
   * Runs of past occurrences made by `schedules.backfill`: checked for duplicates among
   * themselves, never counted as the occurrence's scheduled run nor as its duplicate.
   */
  readonly backfillRuns: number;
  /** Runs still `claimed` or `running`, and `queued` ones. */
  readonly active: number;
  readonly queued: number;
  /** `clock-skew` warnings persisted during the window. */
  readonly clockSkew: AuditList<WarningRecord>;
  readonly replicas: readonly ReplicaSeen[];
}
