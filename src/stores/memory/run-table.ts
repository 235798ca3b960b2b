import type { RunRecord, RunState, RunTrigger } from "../store.js";

/** States a run can still leave: it holds or waits for a lease. */
const OPEN_STATES: readonly RunState[] = ["claimed", "running", "queued"];

/**
 * The run rows of `MemoryStore`, with the indexes its methods need so that no claim scans every
 * run: per job, all its runs and its open (`claimed`, `running`, `queued`) runs, and the unique
 * occurrence key `(jobId, scheduledAt, trigger)`. Rows are immutable records, replaced whole.
 */
export class RunTable {
  private readonly rows = new Map<string, RunRecord>();
  private readonly byJob = new Map<string, Set<string>>();
  private readonly openByJob = new Map<string, Set<string>>();
  private readonly occurrences = new Map<string, string>();

  /** The row of `runId`, if any. */
  get(runId: string): RunRecord | undefined {
    return this.rows.get(runId);
  }

  /** True when the occurrence already has a row (the unique key of every store). */
  hasOccurrence(jobId: string, scheduledAt: number, trigger: RunTrigger): boolean {
    return this.occurrences.has(occurrenceKey(jobId, scheduledAt, trigger));
  }

  /** Inserts a new row; false (and nothing written) when its occurrence already has one. */
  insert(run: RunRecord): boolean {
    const key = occurrenceKey(run.jobId, run.scheduledAt, run.trigger);
    if (this.occurrences.has(key)) return false;
    this.occurrences.set(key, run.runId);
    this.add(this.byJob, run.jobId, run.runId);
    this.put(run);
    return true;
  }

  /** Writes `run` over the row with the same id (its occurrence never changes). */
  put(run: RunRecord): void {
    this.rows.set(run.runId, run);
    if (OPEN_STATES.includes(run.state)) this.add(this.openByJob, run.jobId, run.runId);
    else this.remove(this.openByJob, run.jobId, run.runId);
  }

  /** Deletes a row and its index entries. */
  delete(run: RunRecord): void {
    this.rows.delete(run.runId);
    this.occurrences.delete(occurrenceKey(run.jobId, run.scheduledAt, run.trigger));
    this.remove(this.byJob, run.jobId, run.runId);
    this.remove(this.openByJob, run.jobId, run.runId);
  }

  /** Every run of the job (`jobId` given) or of all jobs. */
  all(jobId?: string): RunRecord[] {
    if (jobId === undefined) return [...this.rows.values()];
    return this.resolve(this.byJob.get(jobId));
  }

  /** Open runs of one job, or of every job, oldest `scheduledAt` first (ties by run id). */
  open(jobId?: string): RunRecord[] {
    const ids =
      jobId === undefined
        ? [...this.openByJob.values()].flatMap((set) => [...set])
        : this.openByJob.get(jobId);
    return this.resolve(ids).sort((a, b) => a.scheduledAt - b.scheduledAt || compareIds(a, b));
  }

  private resolve(ids: Iterable<string> | undefined): RunRecord[] {
    return [...(ids ?? [])].map((id) => this.rows.get(id) as RunRecord);
  }

  private add(index: Map<string, Set<string>>, jobId: string, runId: string): void {
    const set = index.get(jobId) ?? new Set<string>();
    set.add(runId);
    index.set(jobId, set);
  }

  private remove(index: Map<string, Set<string>>, jobId: string, runId: string): void {
    const set = index.get(jobId);
    if (!set) return;
    set.delete(runId);
    if (set.size === 0) index.delete(jobId);
  }
}

/** Orders two runs by run id in code-unit order, as SQL compares the ASCII ids. */
export function compareIds(a: RunRecord, b: RunRecord): number {
  return a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0;
}

function occurrenceKey(jobId: string, scheduledAt: number, trigger: RunTrigger): string {
  return `${jobId}\u0000${scheduledAt}\u0000${trigger}`;
}
