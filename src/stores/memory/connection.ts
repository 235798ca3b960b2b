import type { Clock } from "../../clock.js";
import { isActive } from "../../protocol/transitions.js";
import { jobRowOf, parseJobListing, parseJobRow } from "../shared/rows.js";
import type { JobListing, JobRecord, ReplicaRecord, WarningRecord } from "../store.js";
import { advancedNextAt } from "../shared/schedules.js";
import { RunTable } from "./run-table.js";

const WHERE = "MemoryStore jobs";

/** The columns a runtime schedule's row has besides the job's (`ScheduleRecords`). */
export interface ScheduleParts {
  readonly task: string;
  readonly key: string;
  readonly data: string | null;
  readonly nextAt: number | null;
  readonly triggeredAt: number | null;
  /** See `spreadOf` in `stores/shared/schedules.ts`. */
  readonly spread: number;
}

/**
 * What `MemoryStore` has in place of a database connection: its tables, held in this process,
 * and the store clock. Every operation (`claim.ts`, `runs.ts`, `recovery.ts`) reads and writes
 * them without awaiting, so each one is atomic in JavaScript: that is the memory store's
 * transaction. There is nothing to open, migrate or close.
 */
export class MemoryDb {
  /** Job rows by job id. */
  readonly jobs = new Map<string, JobRecord>();
  /** The schedule columns of the job rows that are runtime schedules, by job id. */
  readonly schedules = new Map<string, ScheduleParts>();
  /** `onScheduleChange` listeners (every scheduler sharing this store instance). */
  readonly scheduleListeners = new Set<() => void>();
  /** Run rows, indexed by job and by occurrence. */
  readonly runs = new RunTable();
  /** Replica records by replica id. */
  readonly replicas = new Map<string, ReplicaRecord>();
  /** Warnings, oldest first. */
  readonly warnings: WarningRecord[] = [];

  constructor(private readonly clock: Clock) {}

  /** Store time: the injected clock. */
  now(): number {
    return this.clock.now();
  }

  /** The job, checked with the rules of every store's row parsing. @throws `CORRUPT_ROW`. */
  readJob(jobId: string): JobRecord | null {
    const job = this.jobs.get(jobId);
    return job ? parseJobRow(jobRowOf(job), WHERE) : null;
  }

  /**
   * Every code-defined job by id (runtime schedules are not listed), checked like
   * {@link readJob}; a corrupt row is listed as unreadable.
   */
  listJobs(): JobListing {
    const ids = [...this.jobs.keys()].filter((jobId) => !this.schedules.has(jobId)).sort();
    const rows = ids.map((jobId) => jobRowOf(this.jobs.get(jobId)!));
    return parseJobListing(rows, () => WHERE);
  }

  /** Writes the job row whole and returns it. */
  setJob(job: JobRecord): JobRecord {
    this.jobs.set(job.jobId, job);
    return job;
  }

  /** Tells the `onScheduleChange` listeners, after the current step, that a schedule changed. */
  scheduleChanged(): void {
    for (const listener of this.scheduleListeners) queueMicrotask(listener);
  }

  /** Moves a schedule's `nextAt` forward to `nextAt` (never back; null is the furthest). */
  advanceNextAt(jobId: string, nextAt: number | null | undefined): void {
    const parts = this.schedules.get(jobId);
    if (parts)
      this.schedules.set(jobId, { ...parts, nextAt: advancedNextAt(parts.nextAt, nextAt) });
  }

  /** True when the job has a `claimed`/`running` run whose lease has not expired at `now`. */
  hasActiveRun(jobId: string, now: number): boolean {
    return this.runs.open(jobId).some((run) => isActive(run, now));
  }
}
