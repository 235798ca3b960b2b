import { ACTIVE_STATES_SQL } from "../../protocol/vocabulary.js";
import { MY_NOW, affected, type MysqlDb, type MysqlQuery } from "./connection.js";
import { lockJob } from "./jobs.js";
import { parseEpochOrNull, parseRunRow, type RawRow } from "../shared/rows.js";
import * as writes from "../../protocol/transitions.js";
import { runUpdateSql, runUpdateValues } from "../sql/shared.js";
import type { FinishRequest, FinishResult, RunOutcome, RunRecord, StartRequest } from "../store.js";

/**
 * Every write `MysqlStore` makes about a run its owner holds: start, heartbeat, finish (with
 * hand-over of a queued run) and release, each fenced by the run's token and an unexpired lease
 * in server time. Recovery's writes reuse {@link saveRun}.
 */

/** Parses a runs row. @throws `CORRUPT_ROW`. */
export function parseRun(db: MysqlDb, row: RawRow): RunRecord {
  return parseRunRow(row, `${db.where} table ${db.tables.runs}`);
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

/**
 * One fenced statement on an unexpired run, aliased `r` (columns in `set` are written `r.x`):
 * true when the run matched (mysql2 reports matched rows, so a no-op still counts). `join` and
 * `also` narrow the match further.
 */
async function fenced(
  db: MysqlDb,
  op: string,
  set: string,
  run: { readonly runId: string; readonly token: number },
  values: readonly unknown[],
  join = "",
  also = "",
): Promise<boolean> {
  const result = await db.run(
    op,
    `UPDATE ${db.tables.runs} r ${join} SET ${set} WHERE r.run_id = ? AND r.token = ?
       AND r.state IN ${ACTIVE_STATES_SQL} AND r.lease_expires_at > ${MY_NOW} ${also}`,
    [...values, run.runId, run.token],
  );
  return affected(result) > 0;
}

/** Marks the run `running` with `attempt` (fenced). */
export async function startRun(
  db: MysqlDb,
  runId: string,
  token: number,
  attempt: number,
): Promise<boolean> {
  const set = `r.state = 'running', r.attempt = ?, r.started_at = ${MY_NOW}`;
  return fenced(db, "startRun", set, { runId, token }, [attempt]);
}

/** Extends the lease to server now + `leaseMs` (fenced). */
export async function heartbeat(
  db: MysqlDb,
  runId: string,
  token: number,
  leaseMs: number,
): Promise<boolean> {
  const set = `r.lease_expires_at = ${MY_NOW} + ?`;
  return fenced(db, "heartbeat", set, { runId, token }, [leaseMs]);
}

/** Expires the lease at server now (fenced), so that any replica recovers the run. */
export async function releaseRun(db: MysqlDb, runId: string, token: number): Promise<boolean> {
  return fenced(db, "releaseRun", `r.lease_expires_at = ${MY_NOW}`, { runId, token }, []);
}

/**
 * Writes the outcome (fenced) and hands the job's oldest queued run to the caller. The common
 * case is one statement: the fenced write, made only when the job has no `queued` run (a
 * self-join, so the check and the write are one atomic step). When it matches nothing (the
 * job has a queued run, or the write is refused) the hand-over transaction decides.
 */
export async function finishRun(
  db: MysqlDb,
  runId: string,
  token: number,
  outcome: RunOutcome,
  leaseMs: number,
): Promise<FinishResult> {
  const set = `r.state = ?, r.error = ?, r.finished_at = ${MY_NOW}, r.lease_expires_at = NULL`;
  const values = [outcome.state, outcome.error ?? null];
  const queued = `LEFT JOIN ${db.tables.runs} q ON q.job_id = r.job_id AND q.state = 'queued'`;
  const alone = await fenced(
    db,
    "finishRun",
    set,
    { runId, token },
    values,
    queued,
    "AND q.run_id IS NULL",
  );
  return alone ? { ok: true, next: null } : finishAndHandOver(db, runId, token, outcome, leaseMs);
}

/**
 * The finish of a run whose job has a `queued` run, in one transaction: the run row locked and
 * checked, its outcome written, and the oldest queued run (skipping one another step holds)
 * claimed for the caller under the job row lock. Also answers `ok: false` for a refused write.
 */
async function finishAndHandOver(
  db: MysqlDb,
  runId: string,
  token: number,
  outcome: RunOutcome,
  leaseMs: number,
): Promise<FinishResult> {
  return db.transaction("finishRun", (query) =>
    finishLocked(db, query, runId, token, outcome, leaseMs),
  );
}

/** The body of {@link finishAndHandOver}, run by `query` inside a transaction. */
export async function finishLocked(
  db: MysqlDb,
  query: MysqlQuery,
  runId: string,
  token: number,
  outcome: RunOutcome,
  leaseMs: number,
): Promise<FinishResult> {
  const [raw] = await query(
    `SELECT r.*, ${MY_NOW} AS now_ms FROM ${db.tables.runs} r WHERE r.run_id = ? FOR UPDATE`,
    [runId],
  );
  if (!raw) return { ok: false, next: null };
  const run = parseRun(db, raw);
  const now = parseEpochOrNull(raw.now_ms, "now_ms", db.where) ?? 0;
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
}

/**
 * `Store.startRuns`: each request as {@link startRun}, sent together over the pool (MySQL has no
 * `RETURNING` on `UPDATE` to tell per row which fence held in one statement).
 */
export function startRuns(db: MysqlDb, requests: readonly StartRequest[]): Promise<boolean[]> {
  return Promise.all(requests.map((r) => startRun(db, r.runId, r.token, r.attempt)));
}

/** `Store.finishRuns`: each request as {@link finishRun}, sent together over the pool. */
export function finishRuns(
  db: MysqlDb,
  requests: readonly FinishRequest[],
): Promise<FinishResult[]> {
  return Promise.all(requests.map((r) => finishRun(db, r.runId, r.token, r.outcome, r.leaseMs)));
}
