import { ACTIVE_STATES_SQL } from "../../protocol/vocabulary.js";
import { PG_NOW, type PgDb } from "./connection.js";
import { toClaimed } from "./runs.js";
import { parseRunRow } from "../shared/rows.js";
import { SUPERSEDED } from "../../protocol/transitions.js";
import type { Recovered } from "../store.js";

const ACTIVE = ACTIVE_STATES_SQL;

/**
 * `PostgresStore.recoverExpired`, one statement. It takes expired runs with
 * `FOR UPDATE SKIP LOCKED` (racing replicas take disjoint runs, and a run whose lease was renewed
 * meanwhile no longer qualifies), locks their jobs' rows, decides each run, then promotes
 * queued runs of jobs left without an active run, within `limit` in total.
 *
 * Under overlap `skip` / `queueOne` a run is retried only when no other run of its job is active
 * (else it is abandoned as superseded), and only the first expired one of a job per statement.
 * Whether another run is active is read from those runs' newest versions (`FOR SHARE SKIP
 * LOCKED`, so a heartbeat committed after the snapshot is seen); when one of them is locked by
 * another transaction (a heartbeat in flight) or the job row changed since the snapshot (a claim
 * committed meanwhile), the run is left for a later pass.
 */
export async function recoverExpired(
  db: PgDb,
  replicaId: string,
  leaseMs: number,
  limit: number,
): Promise<Recovered[]> {
  const { jobs, runs } = db.tables;
  const sql = `
WITH clock AS MATERIALIZED (SELECT ${PG_NOW} AS now_ms),
exp AS MATERIALIZED (
  SELECT r.run_id, r.job_id, r.attempt, r.replica_id, r.lease_expires_at AS lease
  FROM ${runs} r CROSS JOIN clock c
  WHERE r.state IN ${ACTIVE} AND r.lease_expires_at <= c.now_ms
  ORDER BY r.lease_expires_at, r.run_id LIMIT $3 FOR UPDATE OF r SKIP LOCKED
),
cand AS MATERIALIZED (
  SELECT DISTINCT ON (q.job_id) q.run_id, q.job_id FROM ${runs} q CROSS JOIN clock c
  WHERE q.state = 'queued' AND NOT EXISTS (
    SELECT 1 FROM ${runs} a WHERE a.job_id = q.job_id AND a.state IN ${ACTIVE}
      AND a.lease_expires_at > c.now_ms)
  ORDER BY q.job_id, q.scheduled_at
),
seen AS (
  SELECT job_id, xmin::text AS v FROM ${jobs}
  WHERE job_id IN (SELECT job_id FROM exp UNION SELECT job_id FROM cand)
),
jl AS MATERIALIZED (
  SELECT j.job_id, j.on_abandoned, j.max_attempts, j.overlap, j.xmin::text AS v FROM ${jobs} j
  WHERE j.job_id IN (SELECT job_id FROM exp UNION SELECT job_id FROM cand)
  ORDER BY j.job_id FOR UPDATE
),
snap AS MATERIALIZED (
  SELECT a.run_id, a.job_id FROM ${runs} a
  WHERE a.job_id IN (SELECT job_id FROM exp) AND a.state IN ${ACTIVE}
    AND a.run_id NOT IN (SELECT run_id FROM exp)
),
live AS MATERIALIZED (
  SELECT a.run_id, a.job_id, a.state, a.lease_expires_at FROM ${runs} a
  WHERE a.run_id IN (SELECT run_id FROM snap) FOR SHARE OF a SKIP LOCKED
),
act AS MATERIALIZED (
  SELECT e.*, c.now_ms,
    coalesce(jl.on_abandoned = 'retry' AND e.attempt < jl.max_attempts, false) AS wants,
    coalesce(jl.overlap <> 'allow', false) AS single,
    jl.v IS DISTINCT FROM s.v OR EXISTS (
      SELECT 1 FROM snap x WHERE x.job_id = e.job_id
        AND NOT EXISTS (SELECT 1 FROM live l WHERE l.run_id = x.run_id)) AS unsure,
    EXISTS (
      SELECT 1 FROM live l WHERE l.job_id = e.job_id AND l.state IN ${ACTIVE}
        AND l.lease_expires_at > c.now_ms) AS busy
  FROM exp e CROSS JOIN clock c
  LEFT JOIN jl ON jl.job_id = e.job_id LEFT JOIN seen s ON s.job_id = e.job_id
),
dec AS MATERIALIZED (
  SELECT a.*, CASE
      WHEN NOT a.wants THEN 'abandoned'
      WHEN NOT a.single THEN 'retried'
      WHEN a.unsure THEN 'defer'
      WHEN a.busy OR row_number() OVER (
        PARTITION BY a.job_id, a.wants ORDER BY a.lease, a.run_id) > 1 THEN 'superseded'
      ELSE 'retried'
    END AS decision
  FROM act a
),
rec AS (
  UPDATE ${runs} r SET
    state = CASE WHEN d.decision = 'retried' THEN 'claimed' ELSE 'abandoned' END,
    token = r.token + 1,
    attempt = r.attempt + CASE WHEN d.decision = 'retried' THEN 1 ELSE 0 END,
    replica_id = CASE WHEN d.decision = 'retried' THEN $1 ELSE r.replica_id END,
    claimed_at = CASE WHEN d.decision = 'retried' THEN d.now_ms ELSE r.claimed_at END,
    started_at = CASE WHEN d.decision = 'retried' THEN NULL ELSE r.started_at END,
    finished_at = CASE WHEN d.decision = 'retried' THEN r.finished_at ELSE d.now_ms END,
    lease_expires_at = CASE WHEN d.decision = 'retried' THEN d.now_ms + $2 END,
    error = 'lease expired on replica ' || coalesce(d.replica_id, '?') || ' (attempt '
      || d.attempt || ')' || CASE WHEN d.decision = 'superseded' THEN $4::text ELSE '' END
  FROM dec d WHERE r.run_id = d.run_id AND d.decision <> 'defer'
  RETURNING r.*, CASE WHEN d.decision = 'retried' THEN 'retried' ELSE 'abandoned' END AS action
),
promo AS MATERIALIZED (
  SELECT q.run_id FROM ${runs} q
  WHERE q.state = 'queued' AND q.run_id IN (
    SELECT c.run_id FROM cand c JOIN jl ON jl.job_id = c.job_id JOIN seen s ON s.job_id = c.job_id
    WHERE jl.v = s.v
      AND c.job_id NOT IN (SELECT job_id FROM dec WHERE decision IN ('retried', 'defer')))
  ORDER BY q.scheduled_at, q.run_id
  LIMIT greatest($3 - (SELECT count(*) FROM exp), 0) FOR UPDATE SKIP LOCKED
),
prom AS (
  UPDATE ${runs} r SET state = 'claimed', token = r.token + 1, replica_id = $1,
    claimed_at = c.now_ms, started_at = NULL, lease_expires_at = c.now_ms + $2
  FROM promo p CROSS JOIN clock c WHERE r.run_id = p.run_id
  RETURNING r.*, 'promoted' AS action
),
bump AS (
  UPDATE ${jobs} j SET run_count = j.run_count
  WHERE j.job_id IN (SELECT job_id FROM rec WHERE action = 'retried' UNION SELECT job_id FROM prom)
)
SELECT * FROM rec UNION ALL SELECT * FROM prom`;
  const params = [replicaId, leaseMs, Math.max(0, limit), SUPERSEDED];
  const rows = await db.rows("recoverExpired", sql, params);
  return rows.map((row): Recovered => {
    const action = row.action;
    if (action === "retried" || action === "promoted") return { action, run: toClaimed(db, row) };
    const run = parseRunRow(row, `PostgresStore table ${db.tables.runs}`);
    const { runId, jobId, scheduledAt } = run;
    return { action: "abandoned", runId, jobId, scheduledAt };
  });
}
