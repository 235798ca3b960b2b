import { MY_NOW, type MysqlDb, type MysqlQuery } from "./connection.js";
import { parseEpochOrNull, parseJobRow, parseRunRow, type RawRow } from "../rows.js";
import * as writes from "../../protocol/transitions.js";
import {
  newRunId,
  RUN_COLUMN_LIST,
  runUpdateSql,
  runUpdateValues,
  runValues,
} from "../sql/shared.js";
import type {
  ClaimedRun,
  FinishResult,
  JobRecord,
  JobRegistration,
  RegisterResult,
  RunOutcome,
  RunRecord,
} from "../store.js";

/**
 * Transactions of `MysqlStore` that read before they write: registration, manual claims,
 * missed occurrences and finishing with hand-over of a queued run (recovery is in
 * `mysql-recovery.ts`). Every step that makes a run active holds its job row lock, as the claim
 * does, so it serialises with claims of that job. The rows written are built by
 * `protocol/transitions.ts`, as in every JavaScript store.
 */

/** Store now, read inside the transaction. */
export async function readNow(db: MysqlDb, query: MysqlQuery): Promise<number> {
  const [row] = await query(`SELECT ${MY_NOW} AS now_ms`);
  return parseEpochOrNull(row?.now_ms, "now_ms", db.where) ?? 0;
}

/** Locks a job row; null when the job is unknown. */
export async function lockJob(
  db: MysqlDb,
  query: MysqlQuery,
  jobId: string,
): Promise<JobRecord | null> {
  const [row] = await query(`SELECT * FROM ${db.tables.jobs} WHERE job_id = ? FOR UPDATE`, [jobId]);
  return row ? parseJobRow(row, `${db.where} table ${db.tables.jobs}`) : null;
}

/** Writes back a run row this transaction holds locked (fenced by the token read before). */
export async function saveRun(
  db: MysqlDb,
  query: MysqlQuery,
  run: RunRecord,
  tokenBefore: number,
): Promise<void> {
  await query(runUpdateSql(db.tables.runs), runUpdateValues(run, tokenBefore));
}

/** Parses a runs row. @throws `CORRUPT_ROW`. */
export function parseRun(db: MysqlDb, row: RawRow): RunRecord {
  return parseRunRow(row, `${db.where} table ${db.tables.runs}`);
}

const DUPLICATE_KEY = 1062;

/**
 * Upserts a job under its row lock. Two replicas inserting the same new job: the second insert
 * fails on the key once the first commits, and the retried transaction finds the row.
 */
export async function registerJob(db: MysqlDb, r: JobRegistration): Promise<RegisterResult> {
  const { jobs } = db.tables;
  const fields: unknown[] = [
    r.hash,
    r.definition,
    r.anchor,
    r.overlap,
    r.onAbandoned,
    r.maxAttempts,
  ];
  fields.push(r.maxRuns);
  const body = async (query: MysqlQuery): Promise<RegisterResult> => {
    const read = async () => (await lockJob(db, query, r.jobId)) as JobRecord;
    const [existing] = await query(`SELECT hash FROM ${jobs} WHERE job_id = ? FOR UPDATE`, [
      r.jobId,
    ]);
    if (!existing) {
      await query(
        `INSERT INTO ${jobs} (job_id, hash, definition, anchor, overlap, on_abandoned,
           max_attempts, max_runs, watermark, paused, run_count, version, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, 0, 1, ${MY_NOW}, ${MY_NOW})`,
        [r.jobId, ...fields],
      );
      return { job: await read(), outcome: "created", previousHash: null };
    }
    const previousHash = String(existing.hash);
    if (previousHash === r.hash) return { job: await read(), outcome: "unchanged", previousHash };
    await query(
      `UPDATE ${jobs} SET hash = ?, definition = ?, anchor = ?, overlap = ?, on_abandoned = ?,
         max_attempts = ?, max_runs = ?, version = version + 1, updated_at = ${MY_NOW}
       WHERE job_id = ?`,
      [...fields, r.jobId],
    );
    return { job: await read(), outcome: "updated", previousHash };
  };
  return db.transaction("registerJob", body, [DUPLICATE_KEY]);
}

/** Creates a manual run at store now (the next free millisecond); null for an unknown job. */
export async function claimManual(
  db: MysqlDb,
  jobId: string,
  replicaId: string,
  leaseMs: number,
): Promise<ClaimedRun | null> {
  return db.transaction("claimManual", async (query) => {
    if (!(await lockJob(db, query, jobId))) return null;
    const now = await readNow(db, query);
    const [last] = await query(
      `SELECT MAX(scheduled_at) AS at FROM ${db.tables.runs}
       WHERE job_id = ? AND trigger_kind = 'manual' AND scheduled_at >= ?`,
      [jobId, now],
    );
    const taken = parseEpochOrNull(last?.at, "scheduled_at", db.where);
    const at = taken === null ? now : taken + 1;
    const row = writes.manualRow(jobId, at, replicaId, now, leaseMs, newRunId());
    await query(`INSERT INTO ${db.tables.runs} (${RUN_COLUMN_LIST}) VALUES (?)`, [runValues(row)]);
    return writes.toClaimedRun(row);
  });
}

/** Records `missed` rows above the watermark and advances it; 0 for an unknown job or hash. */
export async function recordMissed(
  db: MysqlDb,
  jobId: string,
  hash: string,
  instants: readonly number[],
): Promise<number> {
  if (instants.length === 0) return 0;
  return db.transaction("recordMissed", async (query) => {
    const job = await lockJob(db, query, jobId);
    if (!job || job.hash !== hash) return 0;
    const fresh = writes.newMissedInstants(job.watermark, instants);
    const newest = fresh[fresh.length - 1];
    if (newest === undefined) return 0;
    const now = await readNow(db, query);
    const rows = fresh.map((at) => runValues(writes.missedRow(jobId, at, now, newRunId())));
    await query(
      `INSERT INTO ${db.tables.runs} (${RUN_COLUMN_LIST}) VALUES ? ON DUPLICATE KEY UPDATE job_id = job_id`,
      [rows],
    );
    await query(`UPDATE ${db.tables.jobs} SET watermark = ? WHERE job_id = ?`, [newest, jobId]);
    return fresh.length;
  });
}

/** Writes the outcome (fenced by token) and hands the job's oldest queued run to the caller. */
export async function finishRun(
  db: MysqlDb,
  runId: string,
  token: number,
  outcome: RunOutcome,
  leaseMs: number,
): Promise<FinishResult> {
  return db.transaction("finishRun", async (query) => {
    const [raw] = await query(`SELECT * FROM ${db.tables.runs} WHERE run_id = ? FOR UPDATE`, [
      runId,
    ]);
    const run = raw ? parseRun(db, raw) : null;
    const now = await readNow(db, query);
    if (!writes.isOwned(run, token, now)) return { ok: false, next: null };
    await saveRun(db, query, writes.finishedRow(run, outcome, now), token);
    const [queued] = await query(
      `SELECT * FROM ${db.tables.runs} WHERE job_id = ? AND state = 'queued'
       ORDER BY scheduled_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
      [run.jobId],
    );
    if (!queued) return { ok: true, next: null };
    await lockJob(db, query, run.jobId);
    const waiting = parseRun(db, queued);
    const next = writes.takenOverRow(waiting, run.replicaId ?? "", leaseMs, now, false);
    await saveRun(db, query, next, waiting.token);
    return { ok: true, next: writes.toClaimedRun(next) };
  });
}
