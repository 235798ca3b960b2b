import { ACTIVE_STATES_SQL } from "../../protocol/vocabulary.js";
import { MY_NOW, affected, readNow, type MysqlDb, type MysqlQuery } from "./connection.js";
import { lockJob } from "./jobs.js";
import { parseRunRow, type RawRow } from "../rows.js";
import * as writes from "../../protocol/transitions.js";
import { runUpdateSql, runUpdateValues } from "../sql/shared.js";
import type { FinishResult, RunOutcome, RunRecord } from "../store.js";

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

/** One fenced write to an unexpired run (mysql2 reports matched rows: a no-op still counts). */
async function fenced(
  db: MysqlDb,
  op: string,
  set: string,
  runId: string,
  token: number,
  ...values: unknown[]
): Promise<boolean> {
  const result = await db.run(
    op,
    `UPDATE ${db.tables.runs} SET ${set} WHERE run_id = ? AND token = ?
       AND state IN ${ACTIVE_STATES_SQL} AND lease_expires_at > ${MY_NOW}`,
    [...values, runId, token],
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
  const set = `state = 'running', attempt = ?, started_at = ${MY_NOW}`;
  return fenced(db, "startRun", set, runId, token, attempt);
}

/** Extends the lease to server now + `leaseMs` (fenced). */
export async function heartbeat(
  db: MysqlDb,
  runId: string,
  token: number,
  leaseMs: number,
): Promise<boolean> {
  return fenced(db, "heartbeat", `lease_expires_at = ${MY_NOW} + ?`, runId, token, leaseMs);
}

/** Expires the lease at server now (fenced), so that any replica recovers the run. */
export async function releaseRun(db: MysqlDb, runId: string, token: number): Promise<boolean> {
  return fenced(db, "releaseRun", `lease_expires_at = ${MY_NOW}`, runId, token);
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
