import { ACTIVE_STATES_SQL } from "../../protocol/vocabulary.js";
import { toClaimedRun } from "../../protocol/transitions.js";
import { PG_NOW, type PgDb, type PgQuery } from "./connection.js";
import { parseRunRow, type RawRow } from "../shared/rows.js";
import type {
  ClaimedRun,
  FinishRequest,
  FinishResult,
  RunOutcome,
  StartRequest,
} from "../store.js";

/**
 * Every write of `PostgresStore` to a claimed run: start, heartbeat, finish (with hand-over of
 * the job's oldest queued run) and release. Each is one statement, fenced by the run's token and
 * an unexpired lease. A hand-over makes a run active, so it also updates the job row
 * (`run_count = run_count`), which serialises it with claims of that job (see `claim.ts`).
 */

const ACTIVE = ACTIVE_STATES_SQL;

/** Marks the run running with its attempt number; false when the fence fails. */
export async function startRun(
  db: PgDb,
  runId: string,
  token: number,
  attempt: number,
): Promise<boolean> {
  const set = `state = 'running', attempt = $3, started_at = ${PG_NOW}`;
  return fenced(db, "startRun", set, [runId, token, attempt]);
}

/** `Store.startRuns`: one statement over the requests (`unnest`), each fenced on its own. */
export async function startRuns(db: PgDb, requests: readonly StartRequest[]): Promise<boolean[]> {
  if (requests.length === 0) return [];
  const rows = await db.rows(
    "startRuns",
    `WITH clock AS MATERIALIZED (SELECT ${PG_NOW} AS now_ms),
b AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[]) WITH ORDINALITY
        AS b(run_id, token, attempt, item))
UPDATE ${db.tables.runs} r SET state = 'running', attempt = b.attempt, started_at = c.now_ms
FROM b CROSS JOIN clock c
WHERE r.run_id = b.run_id AND r.token = b.token AND r.state IN ${ACTIVE}
  AND r.lease_expires_at > c.now_ms
RETURNING b.item`,
    [requests.map((r) => r.runId), requests.map((r) => r.token), requests.map((r) => r.attempt)],
  );
  const started = new Set(rows.map((row) => Number(row.item)));
  return requests.map((_, i) => started.has(i + 1));
}

/** Extends the run's lease to `leaseMs` from store now; false when the fence fails. */
export async function heartbeat(
  db: PgDb,
  runId: string,
  token: number,
  leaseMs: number,
): Promise<boolean> {
  return fenced(db, "heartbeat", `lease_expires_at = ${PG_NOW} + $3`, [runId, token, leaseMs]);
}

/** Expires the run's lease now, so recovery takes it on its next pass; false when fenced. */
export async function releaseRun(db: PgDb, runId: string, token: number): Promise<boolean> {
  return fenced(db, "releaseRun", `lease_expires_at = ${PG_NOW}`, [runId, token]);
}

/** One fenced write to an unexpired run: `$1` run id, `$2` token, further parameters from `$3`. */
async function fenced(db: PgDb, op: string, set: string, values: unknown[]): Promise<boolean> {
  const rows = await db.rows(
    op,
    `UPDATE ${db.tables.runs} SET ${set} WHERE run_id = $1 AND token = $2
       AND state IN ${ACTIVE} AND lease_expires_at > ${PG_NOW} RETURNING 1`,
    values,
  );
  return rows.length > 0;
}

/** Writes the outcome (fenced by token) and hands the job's oldest queued run to the caller. */
export async function finishRun(
  db: PgDb,
  runId: string,
  token: number,
  outcome: RunOutcome,
  leaseMs: number,
): Promise<FinishResult> {
  const query: PgQuery = (text, values) => db.rows("finishRun", text, values);
  return finishWith(db, query, runId, token, outcome, leaseMs);
}

/** {@link finishRun} as one statement run by `query` (alone, or inside a transaction). */
export async function finishWith(
  db: PgDb,
  query: PgQuery,
  runId: string,
  token: number,
  outcome: RunOutcome,
  leaseMs: number,
): Promise<FinishResult> {
  const { jobs, runs } = db.tables;
  const sql = `
WITH clock AS MATERIALIZED (SELECT ${PG_NOW} AS now_ms),
fin AS (
  UPDATE ${runs} r SET state = $3, error = $4, finished_at = c.now_ms, lease_expires_at = NULL
  FROM clock c
  WHERE r.run_id = $1 AND r.token = $2 AND r.state IN ${ACTIVE} AND r.lease_expires_at > c.now_ms
  RETURNING r.job_id, r.replica_id
),
next AS MATERIALIZED (
  SELECT q.run_id FROM ${runs} q
  WHERE q.job_id = (SELECT job_id FROM fin) AND q.state = 'queued'
  ORDER BY q.scheduled_at LIMIT 1 FOR UPDATE SKIP LOCKED
),
prom AS (
  UPDATE ${runs} r SET state = 'claimed', token = r.token + 1,
    replica_id = coalesce(f.replica_id, ''), claimed_at = c.now_ms, started_at = NULL,
    lease_expires_at = c.now_ms + $5
  FROM next n CROSS JOIN fin f CROSS JOIN clock c
  WHERE r.run_id = n.run_id
  RETURNING r.*
),
bump AS (
  UPDATE ${jobs} j SET run_count = j.run_count FROM prom p WHERE j.job_id = p.job_id
)
SELECT (SELECT count(*) FROM fin) AS finished, p.*
FROM (SELECT 1) AS one LEFT JOIN prom p ON true`;
  const values = [runId, token, outcome.state, outcome.error ?? null, leaseMs];
  const [row] = await query(sql, values);
  if (!row || Number(row.finished) === 0) return { ok: false, next: null };
  return { ok: true, next: row.run_id ? toClaimed(db, row) : null };
}

/**
 * `Store.finishRuns`: one statement over the requests (`unnest`), each fenced on its own; the
 * oldest queued run of each job with a finished item goes to the first such item.
 */
export async function finishRuns(
  db: PgDb,
  requests: readonly FinishRequest[],
): Promise<FinishResult[]> {
  if (requests.length === 0) return [];
  const { jobs, runs } = db.tables;
  const sql = `
WITH clock AS MATERIALIZED (SELECT ${PG_NOW} AS now_ms),
b AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[])
        WITH ORDINALITY AS b(run_id, token, state, error, lease_ms, item)),
fin AS (
  UPDATE ${runs} r SET state = b.state, error = b.error, finished_at = c.now_ms,
    lease_expires_at = NULL
  FROM b CROSS JOIN clock c
  WHERE r.run_id = b.run_id AND r.token = b.token AND r.state IN ${ACTIVE}
    AND r.lease_expires_at > c.now_ms
  RETURNING b.item, r.job_id, r.replica_id, b.lease_ms
),
first AS (SELECT DISTINCT ON (job_id) * FROM fin ORDER BY job_id, item),
next AS MATERIALIZED (
  SELECT n.run_id, f.item, f.replica_id, f.lease_ms FROM first f
  CROSS JOIN LATERAL (
    SELECT q.run_id FROM ${runs} q WHERE q.job_id = f.job_id AND q.state = 'queued'
    ORDER BY q.scheduled_at LIMIT 1 FOR UPDATE SKIP LOCKED
  ) n
),
prom AS (
  UPDATE ${runs} r SET state = 'claimed', token = r.token + 1,
    replica_id = coalesce(n.replica_id, ''), claimed_at = c.now_ms, started_at = NULL,
    lease_expires_at = c.now_ms + n.lease_ms
  FROM next n CROSS JOIN clock c
  WHERE r.run_id = n.run_id
  RETURNING n.item AS handed_to, r.*
),
bump AS (
  UPDATE ${jobs} j SET run_count = j.run_count FROM prom p WHERE j.job_id = p.job_id
)
SELECT fin.item AS finished_item, p.* FROM fin LEFT JOIN prom p ON p.handed_to = fin.item`;
  const rows = await db.rows("finishRuns", sql, [
    requests.map((r) => r.runId),
    requests.map((r) => r.token),
    requests.map((r) => r.outcome.state),
    requests.map((r) => r.outcome.error ?? null),
    requests.map((r) => r.leaseMs),
  ]);
  const results: FinishResult[] = requests.map(() => ({ ok: false, next: null }));
  for (const row of rows) {
    const next = row.run_id ? toClaimed(db, row) : null;
    results[Number(row.finished_item) - 1] = { ok: true, next };
  }
  return results;
}

/** The claimed run in a `runs` row. @throws `CORRUPT_ROW`. */
export function toClaimed(db: PgDb, row: RawRow): ClaimedRun {
  return toClaimedRun(parseRunRow(row, `PostgresStore table ${db.tables.runs}`));
}
