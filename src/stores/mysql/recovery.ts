import { ACTIVE_STATES_SQL } from "../../protocol/vocabulary.js";
import { recoveryAction, recoveryDependsOnBusy } from "../../protocol/recovery.js";
import { readNow, type MysqlDb, type MysqlQuery } from "./connection.js";
import { parseRun, saveRun } from "./runs.js";
import { parseEpochOrNull, parseJobRow, unlessCorrupt } from "../shared/rows.js";
import * as writes from "../../protocol/transitions.js";
import type { JobRecord, Recovered, RunRecord } from "../store.js";

const ACTIVE = ACTIVE_STATES_SQL;

/**
 * `MysqlStore.recoverExpired`, one READ COMMITTED transaction: it takes expired runs with
 * `FOR UPDATE SKIP LOCKED` (racing replicas take disjoint runs, and a run whose lease was
 * renewed meanwhile no longer qualifies), locks their jobs' rows (so no claim of those jobs runs
 * meanwhile), decides each run with `recoveryAction`, then promotes queued runs of jobs left
 * without an active run, within `limit` in total.
 */
export async function recoverExpired(
  db: MysqlDb,
  replicaId: string,
  leaseMs: number,
  limit: number,
): Promise<Recovered[]> {
  const { runs } = db.tables;
  return db.transaction("recoverExpired", async (query) => {
    const now = await readNow(db, query);
    const expired = (
      await query(
        `SELECT * FROM ${runs} WHERE state IN ${ACTIVE} AND lease_expires_at <= ?
         ORDER BY lease_expires_at, run_id LIMIT ? FOR UPDATE SKIP LOCKED`,
        [now, Math.max(0, limit)],
      )
    ).map((row) => parseRun(db, row));
    const waiting = (
      await query(
        `SELECT DISTINCT q.job_id FROM ${runs} q WHERE q.state = 'queued' AND NOT EXISTS (
           SELECT 1 FROM ${runs} a WHERE a.job_id = q.job_id AND a.state IN ${ACTIVE}
             AND a.lease_expires_at > ?)`,
        [now],
      )
    ).map((row) => String(row.job_id));
    const policies = await lockJobs(db, query, [...expired.map((r) => r.jobId), ...waiting]);
    const overlap = expired.filter((r) =>
      recoveryDependsOnBusy(policies.get(r.jobId) ?? null, r.attempt),
    );
    const { busy, unsure } = await otherActiveRuns(db, query, overlap, expired, now);
    const recovered: Recovered[] = [];
    for (const run of expired) {
      const job = policies.get(run.jobId) ?? null;
      // Another run's lease could not be read for sure (being written): decide next pass.
      if (unsure.has(run.jobId) && recoveryDependsOnBusy(job, run.attempt)) continue;
      const action = recoveryAction(job, run.attempt, busy.has(run.jobId));
      const { row, recovered: entry } = writes.recoveredRow(run, action, replicaId, leaseMs, now);
      await saveRun(db, query, row, run.token);
      if (action === "retried") busy.add(run.jobId);
      recovered.push(entry);
    }
    const room = limit - recovered.length;
    if (room <= 0 || waiting.length === 0) return recovered;
    return [...recovered, ...(await promote(db, query, waiting, replicaId, leaseMs, now, room))];
  });
}

/** Locks the job rows (in id order); a corrupt one is left out (its runs are abandoned). */
async function lockJobs(
  db: MysqlDb,
  query: MysqlQuery,
  jobIds: readonly string[],
): Promise<Map<string, JobRecord>> {
  const ids = [...new Set(jobIds)].sort();
  const policies = new Map<string, JobRecord>();
  if (ids.length === 0) return policies;
  const where = `${db.where} table ${db.tables.jobs}`;
  const rows = await query(
    `SELECT * FROM ${db.tables.jobs} WHERE job_id IN (?) ORDER BY job_id FOR UPDATE`,
    [ids],
  );
  for (const row of rows) {
    const job = unlessCorrupt(() => parseJobRow(row, where));
    if (job) policies.set(job.jobId, job);
  }
  return policies;
}

/**
 * Which jobs of `candidates` have another active run (`busy`), read with locks so that a
 * heartbeat committed after `now` was read is seen; `unsure` are the jobs with such a run that
 * another transaction holds locked (a heartbeat or finish in flight, another recovery).
 * `expired` are the runs this transaction holds. Claims of these jobs wait for their job rows.
 */
async function otherActiveRuns(
  db: MysqlDb,
  query: MysqlQuery,
  candidates: readonly RunRecord[],
  expired: readonly RunRecord[],
  now: number,
): Promise<{ busy: Set<string>; unsure: Set<string> }> {
  const busy = new Set<string>();
  const unsure = new Set<string>();
  if (candidates.length === 0) return { busy, unsure };
  const where = `job_id IN (?) AND state IN ${ACTIVE} AND run_id NOT IN (?)`;
  const params = [[...new Set(candidates.map((r) => r.jobId))], expired.map((r) => r.runId)];
  const locked = await query(
    `SELECT run_id, job_id, lease_expires_at FROM ${db.tables.runs} WHERE ${where}
     FOR UPDATE SKIP LOCKED`,
    params,
  );
  const read = new Set(locked.map((row) => String(row.run_id)));
  for (const row of locked) {
    const lease = parseEpochOrNull(row.lease_expires_at, "lease_expires_at", db.where) ?? 0;
    if (lease > now) busy.add(String(row.job_id));
  }
  const all = await query(`SELECT run_id, job_id FROM ${db.tables.runs} WHERE ${where}`, params);
  for (const row of all) if (!read.has(String(row.run_id))) unsure.add(String(row.job_id));
  return { busy, unsure };
}

/** Promotes the oldest queued run of each job in `jobIds` that has no active run. */
async function promote(
  db: MysqlDb,
  query: MysqlQuery,
  jobIds: readonly string[],
  replicaId: string,
  leaseMs: number,
  now: number,
  room: number,
): Promise<Recovered[]> {
  const { runs } = db.tables;
  // Our own retries are visible here (same transaction), so their jobs are not promoted.
  const queued = await query(
    `SELECT * FROM ${runs} q WHERE q.state = 'queued' AND q.job_id IN (?)
       AND NOT EXISTS (SELECT 1 FROM ${runs} a WHERE a.job_id = q.job_id
         AND a.state IN ${ACTIVE} AND a.lease_expires_at > ?)
     ORDER BY q.scheduled_at, q.run_id LIMIT ? FOR UPDATE SKIP LOCKED`,
    [jobIds, now, room],
  );
  const promoted: Recovered[] = [];
  const seen = new Set<string>();
  for (const raw of queued) {
    const run = parseRun(db, raw);
    if (seen.has(run.jobId)) continue;
    seen.add(run.jobId);
    const next = writes.takenOverRow(run, replicaId, leaseMs, now, false);
    await saveRun(db, query, next, run.token);
    promoted.push({ action: "promoted", run: writes.toClaimedRun(next) });
  }
  return promoted;
}
