import { BelfryError } from "../../errors.js";
import { decideOrRefuse } from "../../protocol/claim.js";
import { MY_NOW, readNow, type MysqlDb, type MysqlQuery } from "./connection.js";
import { lockJob } from "./jobs.js";
import { advancedNextAtCase } from "./schedule-sql.js";
import { parseEpochOrNull, parseJobRow, parseRunState, type RawRow } from "../shared/rows.js";
import * as writes from "../../protocol/transitions.js";
import { newRunId, RUN_COLUMN_LIST as COLUMNS, runValues } from "../sql/shared.js";
import type { ClaimedRun, ClaimRequest, ClaimResult, JobRecord, RunRecord } from "../store.js";

/**
 * Every step of `MysqlStore` that claims occurrences: the scheduled claim (a batch), manual
 * claims and missed occurrences recorded without a claim.
 *
 * The scheduled claim is one transaction per batch. It locks the batch's job rows
 * (`SELECT … FOR UPDATE` in job id order, so racing batches queue instead of deadlocking),
 * then reads store now and the jobs' active and queued runs (READ COMMITTED: after the lock,
 * so every earlier commit is seen), decides each request in order with `decideClaim` (the
 * same rules as every store), and writes the watermarks and run rows before committing. A job
 * whose row (or one of its active or queued runs) cannot be parsed gets an `error` result for
 * its requests and no writes; the rest of the batch goes on.
 */

/** What the claim read inside its transaction. */
interface Snapshot {
  readonly jobs: Map<string, JobRecord>;
  readonly now: number;
  readonly active: Set<string>;
  readonly queued: Set<string>;
  /** Jobs whose rows could not be read (`CORRUPT_ROW`): their requests get an `error` result. */
  readonly broken: Map<string, BelfryError>;
}

/** The outcome of deciding a batch: results in request order and the writes they need. */
export interface ClaimPlan {
  readonly results: ClaimResult[];
  /** Final watermark and run count of each job whose watermark advanced. */
  readonly jobs: JobRecord[];
  /** Run rows to insert (`missed` rows, then each occurrence's own row). */
  readonly rows: RunRecord[];
  /**
   * Per job, the `nextAt` of each of its requests that wrote rows and carried one, in request
   * order: the schedule's `next_at` moves through them as `advancedNextAt` says.
   */
  readonly nextAts: Map<string, (number | null)[]>;
}

/**
 * Decides a batch in request order against one snapshot, as if each request ran alone: a
 * request sees the watermark, run count and active/queued runs left by the earlier ones.
 * Pure, so any store that decides in JavaScript inside one transaction can use it.
 */
export function planClaims(requests: readonly ClaimRequest[], snapshot: Snapshot): ClaimPlan {
  const { now, active, queued, broken } = snapshot;
  const jobs = new Map(snapshot.jobs);
  const changed = new Set<string>();
  const rows: RunRecord[] = [];
  const nextAts = new Map<string, (number | null)[]>();
  const results = requests.map((request): ClaimResult => {
    const id = request.jobId;
    const job = jobs.get(id) ?? null;
    const decision = decideOrRefuse(request, () => {
      const error = broken.get(id);
      if (error) throw error;
      return { job, now, hasActiveRun: active.has(id), hasQueuedRun: queued.has(id) };
    });
    if (decision.kind === "refuse") return decision.result;
    const { write } = decision;
    const planned = writes.claimRows(request, write, now, newRunId);
    rows.push(...planned.rows);
    // decideClaim refuses an unknown job, so `job` is set here.
    const runCount = (job as JobRecord).runCount + (write.countsAsRun ? 1 : 0);
    jobs.set(id, { ...(job as JobRecord), watermark: request.scheduledAt, runCount });
    changed.add(id);
    if (request.nextAt !== undefined) nextAts.set(id, [...(nextAts.get(id) ?? []), request.nextAt]);
    if (write.state === "claimed") active.add(id);
    if (write.state === "queued") queued.add(id);
    return planned.result;
  });
  return { results, jobs: [...changed].map((id) => jobs.get(id) as JobRecord), rows, nextAts };
}

/** Claims `requests` in one transaction; see the file comment. */
export async function claimBatch(
  db: MysqlDb,
  requests: readonly ClaimRequest[],
): Promise<ClaimResult[]> {
  const { jobs } = db.tables;
  const ids = [...new Set(requests.map((r) => r.jobId))].sort();
  return db.transaction("claim", async (query) => {
    const jobRows = await query(
      `SELECT * FROM ${jobs} WHERE job_id IN (?) ORDER BY job_id FOR UPDATE`,
      [ids],
    );
    const snapshot = await readSnapshot(db, query, ids, jobRows);
    const plan = planClaims(requests, snapshot);
    await writePlan(db, query, plan);
    return plan.results;
  });
}

async function readSnapshot(
  db: MysqlDb,
  query: MysqlQuery,
  ids: readonly string[],
  jobRows: RawRow[],
): Promise<Snapshot> {
  const broken = new Map<string, BelfryError>();
  /** Runs `read` for one job's row; a `BelfryError` marks only that job broken. */
  const perJob = (jobId: string, read: () => void): void => {
    try {
      read();
    } catch (error) {
      if (!(error instanceof BelfryError)) throw error;
      if (!broken.has(jobId)) broken.set(jobId, error);
    }
  };
  const where = `${db.where} table ${db.tables.jobs}`;
  const jobs = new Map<string, JobRecord>();
  for (const row of jobRows) {
    const jobId = String(row.job_id);
    perJob(jobId, () => jobs.set(jobId, parseJobRow(row, where)));
  }
  const rows = await query(
    `SELECT n.now_ms, r.run_id, r.job_id, r.state, r.lease_expires_at
     FROM (SELECT ${MY_NOW} AS now_ms) n
     LEFT JOIN ${db.tables.runs} r
       ON r.job_id IN (?) AND r.state IN ('claimed', 'running', 'queued')`,
    [ids],
  );
  const runsWhere = `${db.where} table ${db.tables.runs}, row run_id=`;
  const now = parseEpochOrNull(rows[0]?.now_ms, "now_ms", db.where) ?? 0;
  const active = new Set<string>();
  const queued = new Set<string>();
  for (const row of rows) {
    if (row.job_id === null || row.job_id === undefined) continue;
    const jobId = String(row.job_id);
    perJob(jobId, () => {
      const at = `${runsWhere}${JSON.stringify(String(row.run_id))}`;
      const state = parseRunState(row.state, at);
      const lease = parseEpochOrNull(row.lease_expires_at, "lease_expires_at", at);
      if (state === "queued") queued.add(jobId);
      else if ((lease ?? 0) > now) active.add(jobId);
    });
  }
  return { jobs, now, active, queued, broken };
}

async function writePlan(db: MysqlDb, query: MysqlQuery, plan: ClaimPlan): Promise<void> {
  if (plan.jobs.length > 0) {
    const cases = `CASE job_id ${plan.jobs.map(() => "WHEN ? THEN ?").join(" ")} END`;
    const pairs = (column: "watermark" | "runCount") =>
      plan.jobs.flatMap((job) => [job.jobId, job[column]]);
    const nextAt = advancedNextAtCase([...plan.nextAts]);
    await query(
      `UPDATE ${db.tables.jobs} SET watermark = ${cases}, run_count = ${cases}${
        nextAt ? `, next_at = ${nextAt.sql}` : ""
      } WHERE job_id IN (?)`,
      [
        ...pairs("watermark"),
        ...pairs("runCount"),
        ...(nextAt?.params ?? []),
        plan.jobs.map((job) => job.jobId),
      ],
    );
  }
  const missed = plan.rows.filter((row) => row.state === "missed");
  const own = plan.rows.filter((row) => row.state !== "missed");
  if (missed.length > 0) {
    await query(
      `INSERT INTO ${db.tables.runs} (${COLUMNS}) VALUES ? ON DUPLICATE KEY UPDATE job_id = job_id`,
      [missed.map(runValues)],
    );
  }
  if (own.length > 0) {
    await query(`INSERT INTO ${db.tables.runs} (${COLUMNS}) VALUES ?`, [own.map(runValues)]);
  }
}

/** Creates a manual run at store now (the next free millisecond); null for an unknown job. */
export async function claimManual(
  db: MysqlDb,
  jobId: string,
  replicaId: string,
  leaseMs: number,
): Promise<ClaimedRun | null> {
  return db.transaction("claimManual", async (query) =>
    (await lockJob(db, query, jobId))
      ? insertManualRun(db, query, jobId, replicaId, leaseMs)
      : null,
  );
}

/**
 * The body of {@link claimManual} inside a transaction that holds the job row's lock (so manual
 * runs of one job get distinct instants): inserts the `manual` run and returns it.
 */
export async function insertManualRun(
  db: MysqlDb,
  query: MysqlQuery,
  jobId: string,
  replicaId: string,
  leaseMs: number,
): Promise<ClaimedRun> {
  const now = await readNow(db, query);
  const [last] = await query(
    `SELECT MAX(scheduled_at) AS at FROM ${db.tables.runs}
     WHERE job_id = ? AND trigger_kind = 'manual' AND scheduled_at >= ?`,
    [jobId, now],
  );
  const taken = parseEpochOrNull(last?.at, "scheduled_at", db.where);
  const at = taken === null ? now : taken + 1;
  const row = writes.manualRow(jobId, at, replicaId, now, leaseMs, newRunId());
  await query(`INSERT INTO ${db.tables.runs} (${COLUMNS}) VALUES (?)`, [runValues(row)]);
  return writes.toClaimedRun(row);
}

/** Records `missed` rows above the watermark and advances it; none for an unknown job or hash. */
export async function recordMissed(
  db: MysqlDb,
  jobId: string,
  hash: string,
  instants: readonly number[],
): Promise<number[]> {
  if (instants.length === 0) return [];
  return db.transaction("recordMissed", async (query) => {
    const job = await lockJob(db, query, jobId);
    if (!job || job.hash !== hash) return [];
    const now = await readNow(db, query);
    const fresh = writes.newMissedInstants(job.watermark, instants, now);
    const newest = fresh[fresh.length - 1];
    if (newest === undefined) return [];
    const rows = fresh.map((at) => runValues(writes.missedRow(jobId, at, now, newRunId())));
    await query(
      `INSERT INTO ${db.tables.runs} (${COLUMNS}) VALUES ? ON DUPLICATE KEY UPDATE job_id = job_id`,
      [rows],
    );
    await query(`UPDATE ${db.tables.jobs} SET watermark = ? WHERE job_id = ?`, [newest, jobId]);
    return fresh;
  });
}
