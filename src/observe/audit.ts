import { BelfryError } from "../errors.js";
import type {
  JobRecord,
  OverlapPolicy,
  ReplicaRecord,
  RunRecord,
  ScheduleRecords,
  Store,
  UnreadableJob,
  WarningRecord,
} from "../stores/store.js";
import { MAX_SCHEDULE_PAGE } from "../stores/shared/schedules.js";
import type { AuditReport, JobAudit, Occurrence, ReplicaSeen, TaskAudit } from "./audit-report.js";
import { Capped, RunTally } from "./audit-tally.js";
import { runPages } from "./run-pages.js";
import { capabilities } from "../stores/shared/capabilities.js";
import { INTERNAL_JOB_PREFIX, readStoredJob, type StoredJob } from "./stored-job.js";

export type * from "./audit-report.js";

/** Options of {@link auditStore}. Instants are epoch ms or `Date`s. */
export interface AuditOptions {
  /** Start of the window, inclusive (default: 24 h before `until`). */
  readonly since?: number | Date;
  /** End of the window, exclusive (default: `now`). */
  readonly until?: number | Date;
  /** The audit's "now" (default: the store's clock). */
  readonly now?: number | Date;
  /** Run rows read per store call (default 1000). */
  readonly pageSize?: number;
  /** Examples kept per list of the report (default 100); counts are always complete. */
  readonly listLimit?: number;
  /** Called after each page of run rows, e.g. for a progress line on long windows. */
  readonly onProgress?: (progress: AuditProgress) => void;
}

/** How far {@link auditStore} has read (it reads newest first). */
export interface AuditProgress {
  readonly rows: number;
  /** The oldest `scheduledAt` read so far. */
  readonly reachedAt: number;
  readonly since: number;
  readonly until: number;
}

const DAY_MS = 86_400_000;
const WARNINGS_READ = 10_000;

/**
 * Audits a store over a window: recomputes from each job's stored definition the occurrences it
 * owed in `[since, until)` and compares them with the run records (read page by page): duplicate
 * runs of an occurrence, owed occurrences with no row at all, `missed` and `skipped` rows, start
 * lag, failures, abandoned runs, retries, overlapping executions of jobs whose overlap policy is
 * not `allow`, clock-skew warnings and the replicas seen. `ok` is true when nothing ran twice and
 * nothing owed is unaccounted for.
 *
 * Occurrences that fell due while a job was paused have `skipped` rows (error `paused`), written
 * by the claim step, so they count as skipped; a job paused now owes nothing past its watermark.
 * Code job ids starting with `belfry:` are internal and only checked for duplicates.
 *
 * Runtime schedules are checked the same way, each with its own stored definition and time
 * zone, read a page of `listSchedules` at a time (so memory holds one page of definitions, not
 * all of them) and reported per task (`tasks`); their duplicates and unexplained misses go into
 * the lists beside the code jobs' and count against `ok`.
 *
 * @example
 * ```ts
 * const report = await auditStore(store, { since: Date.parse("2026-01-01T00:00:00Z") });
 * if (!report.ok) console.log(report.duplicates.items, report.unexplainedMisses.items);
 * ```
 */
export async function auditStore(store: Store, options: AuditOptions = {}): Promise<AuditReport> {
  const now = instant(options.now ?? (await store.now()), "now");
  const until = instant(options.until ?? now, "until");
  const since = instant(options.since ?? until - DAY_MS, "since");
  if (since >= until) {
    throw new BelfryError(
      "INVALID_OPTION",
      `audit: since (${new Date(since).toISOString()}) must be before until (${new Date(until).toISOString()})`,
    );
  }
  const listLimit = options.listLimit ?? 100;
  const tally = new RunTally(listLimit);
  for await (const page of runPages(store, since, until, options.pageSize ?? 1000)) {
    for (const run of page) tally.add(run);
    const reachedAt = page[page.length - 1]?.scheduledAt ?? since;
    options.onProgress?.({ rows: tally.rows, reachedAt, since, until });
  }
  const { replicas: replicaRecords, warnings: warningRecords } = capabilities(store);
  const [listing, replicaRows, warnings] = await Promise.all([
    store.listJobs(),
    replicaRecords?.listReplicas(since) ?? [],
    warningRecords?.listWarnings(WARNINGS_READ) ?? [],
  ]);
  const found: Found = {
    misses: new Capped(listLimit),
    unscheduled: new Capped(listLimit),
    policies: new Map(listing.jobs.map((r) => [r.jobId, r.overlap])),
  };
  const window = { since, until, now };
  const jobs = listing.jobs.map((record) =>
    record.jobId.startsWith(INTERNAL_JOB_PREFIX)
      ? internalJob(record, tally)
      : checkJob(record, window, tally, found),
  );
  const unreadable = [...listing.unreadable];
  const { schedules } = capabilities(store);
  const tasks = schedules ? await auditSchedules(schedules, window, tally, found, unreadable) : [];
  const duplicates = tally.duplicates();
  const clockSkew = new Capped<WarningRecord>(listLimit);
  for (const warning of warnings) {
    if (warning.kind === "clock-skew" && warning.at >= since && warning.at < until) {
      clockSkew.push(warning);
    }
  }
  return {
    ok: duplicates.count === 0 && found.misses.count === 0 && unreadable.length === 0,
    since,
    until,
    now,
    jobs,
    tasks,
    unreadableJobs: unreadable,
    runs: tally.rows,
    due: [...jobs, ...tasks].reduce((sum, entry) => sum + entry.due, 0),
    duplicates,
    unexplainedMisses: found.misses,
    missed: tally.missed,
    skipped: tally.skipped,
    lateStarts: tally.lagStats(),
    failures: tally.failures,
    abandoned: tally.abandoned,
    retries: tally.retries,
    overlaps: tally.overlaps(found.policies, now),
    unscheduled: found.unscheduled,
    manualRuns: tally.manualRuns,
    backfillRuns: tally.backfillRuns,
    active: tally.active,
    queued: tally.queued,
    clockSkew,
    replicas: replicasSeen(tally.perReplica, replicaRows),
  };
}

interface Window {
  readonly since: number;
  readonly until: number;
  readonly now: number;
}

/** What {@link checkJob} finds, across jobs. */
interface Found {
  readonly misses: Capped<Occurrence>;
  readonly unscheduled: Capped<RunRecord>;
  /** The overlap policy of the code jobs and of the schedules with runs in the window. */
  readonly policies: Map<string, OverlapPolicy>;
}

/** What the audit says of a job row, before checking its occurrences. */
function jobBase(record: JobRecord, tally: RunTally) {
  return {
    jobId: record.jobId,
    paused: record.paused,
    version: record.version,
    watermark: record.watermark,
    runs: tally.perJob.get(record.jobId) ?? 0,
  };
}

/** An internal job (the leader election's terms): checked for duplicates only. */
function internalJob(record: JobRecord, tally: RunTally): JobAudit {
  const note = "internal job: checked for duplicates only";
  return { ...jobBase(record, tally), due: 0, checked: false, note };
}

/**
 * Checks every runtime schedule as {@link checkJob} checks a code job, one `listSchedules` page
 * at a time, and sums them up per task (by task). Rows that cannot be read join `unreadable`.
 */
async function auditSchedules(
  records: ScheduleRecords,
  window: Window,
  tally: RunTally,
  found: Found,
  unreadable: UnreadableJob[],
): Promise<TaskAudit[]> {
  const tasks = new Map<string, TaskAudit>();
  let after: string | null = null;
  do {
    const query = { limit: MAX_SCHEDULE_PAGE, ...(after === null ? {} : { after }) };
    const page = await records.listSchedules(query);
    unreadable.push(...page.unreadable);
    for (const record of page.schedules) {
      const misses = found.misses.count;
      const audit = checkJob(record, window, tally, found);
      if (audit.runs > 0) found.policies.set(record.jobId, record.overlap);
      const sum = tasks.get(record.task);
      tasks.set(record.task, {
        task: record.task,
        schedules: (sum?.schedules ?? 0) + 1,
        due: (sum?.due ?? 0) + audit.due,
        runs: (sum?.runs ?? 0) + audit.runs,
        unexplainedMisses: (sum?.unexplainedMisses ?? 0) + found.misses.count - misses,
        unchecked: (sum?.unchecked ?? 0) + (audit.checked ? 0 : 1),
      });
    }
    after = page.next;
  } while (after !== null);
  return [...tasks.values()].sort((a, b) => (a.task < b.task ? -1 : 1));
}

/**
 * Walks one job's occurrences in the window: reports owed ones without a row and scheduled rows
 * at instants the definition does not produce.
 */
function checkJob(record: JobRecord, window: Window, tally: RunTally, found: Found): JobAudit {
  const base = jobBase(record, tally);
  let job: StoredJob;
  try {
    job = readStoredJob(record);
  } catch (error) {
    return { ...base, due: 0, checked: false, note: (error as Error).message };
  }
  // A changed definition produced other instants before the change: check from the change on.
  const changedAt = record.version > 1 ? record.updatedAt : Number.NEGATIVE_INFINITY;
  const floor = Math.max(job.series.initialCursor(window.now), changedAt);
  const produced = new Set<number>();
  let due = 0;
  for (
    let at = job.series.next(window.since - 1);
    at !== null && at < window.until;
    at = job.series.next(at)
  ) {
    produced.add(at);
    if (at <= floor || record.watermark === null || at > record.watermark) continue;
    due += 1;
    const occurrence = { jobId: record.jobId, scheduledAt: at };
    if (tally.rowsAt(occurrence).length === 0) found.misses.push(occurrence);
  }
  for (const [at, runs] of tally.occurrences.get(record.jobId) ?? []) {
    if (at > changedAt && !produced.has(at)) for (const run of runs) found.unscheduled.push(run);
  }
  const note = record.version > 1 ? `definition changed: checked from ${iso(changedAt)}` : null;
  return { ...base, due, checked: true, note };
}

function replicasSeen(
  perReplica: ReadonlyMap<string, number>,
  rows: readonly ReplicaRecord[],
): ReplicaSeen[] {
  const seen = new Map<string, ReplicaSeen>();
  for (const [replicaId, runs] of perReplica) {
    seen.set(replicaId, { replicaId, runs, host: null, lastSeenAt: null, clockOffsetMs: null });
  }
  // Every replica row seen since the window opened (its `startedAt` is on the replica's own
  // clock, so it cannot place the replica inside the window).
  for (const row of rows) {
    const { replicaId, host, lastSeenAt, clockOffsetMs } = row;
    const runs = perReplica.get(replicaId) ?? 0;
    seen.set(replicaId, { replicaId, runs, host, lastSeenAt, clockOffsetMs });
  }
  return [...seen.values()].sort((a, b) => a.replicaId.localeCompare(b.replicaId));
}

function instant(value: number | Date, name: string): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (!Number.isFinite(ms)) {
    throw new BelfryError("INVALID_DATE", `audit: ${name} must be a valid instant, got ${value}`);
  }
  return ms;
}

function iso(at: number): string {
  return new Date(at).toISOString();
}
