import { ACTIVE_STATES } from "../protocol/vocabulary.js";
import type { OverlapPolicy, RunRecord } from "../stores/store.js";
import type {
  AuditList,
  Duplicate,
  LagStats,
  LateStart,
  Occurrence,
  Overlap,
} from "./audit-report.js";
import { nearestRank } from "./stats.js";

const WORST = 5;

/** A count and the first `limit` items pushed. */
export class Capped<T> implements AuditList<T> {
  count = 0;
  readonly items: T[] = [];

  constructor(private readonly limit: number) {}

  push(item: T): void {
    this.count += 1;
    if (this.items.length < this.limit) this.items.push(item);
  }
}

/**
 * Reads run rows one at a time (any order) and keeps what the audit compares: rows per
 * occurrence, the state lists, start lags and each job's execution intervals.
 */
export class RunTally {
  rows = 0;
  manualRuns = 0;
  backfillRuns = 0;
  active = 0;
  queued = 0;
  readonly missed: Capped<RunRecord>;
  readonly skipped: Capped<RunRecord>;
  readonly failures: Capped<RunRecord>;
  readonly abandoned: Capped<RunRecord>;
  readonly retries: Capped<RunRecord>;
  /** Run rows per replica id. */
  readonly perReplica = new Map<string, number>();
  /** Run rows per job id. */
  readonly perJob = new Map<string, number>();
  /** Scheduled rows per job, per nominal instant. */
  readonly occurrences = new Map<string, Map<number, RunRecord[]>>();
  /**
   * `backfill` rows per job, per instant: apart from the scheduled rows (a backfill runs an
   * instant again by design), but two of them at one instant are a duplicate.
   */
  private readonly backfills = new Map<string, Map<number, RunRecord[]>>();
  private readonly lags: LateStart[] = [];

  constructor(private readonly listLimit: number) {
    this.missed = new Capped(listLimit);
    this.skipped = new Capped(listLimit);
    this.failures = new Capped(listLimit);
    this.abandoned = new Capped(listLimit);
    this.retries = new Capped(listLimit);
  }

  add(run: RunRecord): void {
    this.rows += 1;
    bump(this.perJob, run.jobId);
    if (run.replicaId !== null) bump(this.perReplica, run.replicaId);
    if (run.state === "missed") this.missed.push(run);
    if (run.state === "skipped") this.skipped.push(run);
    if (run.state === "failed") this.failures.push(run);
    if (run.state === "abandoned") this.abandoned.push(run);
    if (run.state === "queued") this.queued += 1;
    if (ACTIVE_STATES.includes(run.state)) this.active += 1;
    if (run.attempt > 1) this.retries.push(run);
    if (run.trigger === "manual") {
      this.manualRuns += 1;
      return;
    }
    if (run.trigger === "backfill") {
      this.backfillRuns += 1;
      byOccurrence(this.backfills, run);
      return;
    }
    byOccurrence(this.occurrences, run);
    if (run.attempt === 1 && run.startedAt !== null) {
      const { jobId, scheduledAt, runId, replicaId } = run;
      this.lags.push({ jobId, scheduledAt, runId, replicaId, lagMs: run.startedAt - scheduledAt });
    }
  }

  /**
   * Occurrences that two or more scheduled runs (different `runId`s) started or completed, and
   * instants that two or more backfill runs did. A backfill run beside the occurrence's
   * scheduled run is no duplicate.
   */
  duplicates(): Capped<Duplicate> {
    const found = new Capped<Duplicate>(this.listLimit);
    for (const rows of [this.occurrences, this.backfills]) {
      for (const [jobId, byInstant] of rows) {
        for (const [scheduledAt, runs] of byInstant) {
          const started = runs.filter((run) => run.startedAt !== null || run.state === "succeeded");
          if (new Set(started.map((run) => run.runId)).size > 1) {
            found.push({ jobId, scheduledAt, runs: started });
          }
        }
      }
    }
    return found;
  }

  /** Percentiles and the worst offenders of the first attempts' start lag. */
  lagStats(): LagStats {
    const sorted = [...this.lags].sort((a, b) => a.lagMs - b.lagMs);
    const values = sorted.map((lag) => lag.lagMs);
    return {
      count: values.length,
      p50Ms: nearestRank(values, 0.5),
      p95Ms: nearestRank(values, 0.95),
      p99Ms: nearestRank(values, 0.99),
      maxMs: values[values.length - 1] ?? 0,
      worst: sorted.slice(-WORST).reverse(),
    };
  }

  /**
   * Scheduled runs of one job whose [startedAt, end] intersect, for jobs whose overlap policy is
   * not `allow`. A run's end is its `finishedAt`, else its lease expiry, else `now`.
   */
  overlaps(policies: ReadonlyMap<string, OverlapPolicy>, now: number): Capped<Overlap> {
    const found = new Capped<Overlap>(this.listLimit);
    for (const [jobId, byInstant] of this.occurrences) {
      if ((policies.get(jobId) ?? "allow") === "allow") continue;
      const runs = [...byInstant.values()]
        .flat()
        .filter((run) => run.startedAt !== null)
        .sort((a, b) => (a.startedAt as number) - (b.startedAt as number));
      let longest: RunRecord | null = null;
      for (const run of runs) {
        if (longest && (run.startedAt as number) < endOf(longest, now)) {
          found.push({ jobId, first: longest, second: run });
        }
        if (!longest || endOf(run, now) > endOf(longest, now)) longest = run;
      }
    }
    return found;
  }

  /** The scheduled rows of a job at `scheduledAt`, or none. */
  rowsAt(occurrence: Occurrence): readonly RunRecord[] {
    return this.occurrences.get(occurrence.jobId)?.get(occurrence.scheduledAt) ?? [];
  }
}

function endOf(run: RunRecord, now: number): number {
  return run.finishedAt ?? run.leaseExpiresAt ?? now;
}

/** Adds `run` to its job's rows at its instant. */
function byOccurrence(rows: Map<string, Map<number, RunRecord[]>>, run: RunRecord): void {
  let byInstant = rows.get(run.jobId);
  if (!byInstant) rows.set(run.jobId, (byInstant = new Map()));
  const same = byInstant.get(run.scheduledAt);
  if (same) same.push(run);
  else byInstant.set(run.scheduledAt, [run]);
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
