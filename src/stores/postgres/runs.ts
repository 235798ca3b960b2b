import { ACTIVE_STATES_SQL } from "../../protocol/vocabulary.js";
import { PG_NOW, type PgDb } from "./connection.js";
import { parseJobRow, parseRunRow, type RawRow } from "../rows.js";
import { toClaimedRun } from "../../protocol/transitions.js";
import { newRunId, RUN_COLUMN_LIST as RUN_COLUMNS } from "../sql/shared.js";
import type {
  ClaimedRun,
  FinishResult,
  JobRegistration,
  RegisterResult,
  RunOutcome,
} from "../store.js";

/**
 * Statements of `PostgresStore` that do more than one write: registration, manual claims,
 * missed occurrences and finishing with hand-over of a queued run (recovery is in
 * `postgres-recovery.ts`). Each is one statement (registration two). Every step that makes a
 * run active (manual claim, hand-over, retry, promotion) also updates its job row
 * (`run_count = run_count`), which serialises it with claims of that job and lets a racing
 * claim see that its snapshot is stale (see `postgres-claim.ts`).
 */

const ACTIVE = ACTIVE_STATES_SQL;

/**
 * Upserts a job: inserts it, or else locks the stored row (its newest version) and replaces it
 * when the hash differs. Racing registrations of one job serialise on the row.
 */
export async function registerJob(db: PgDb, r: JobRegistration): Promise<RegisterResult> {
  const { jobs } = db.tables;
  const where = `PostgresStore table ${jobs}`;
  const values: unknown[] = [r.jobId, r.hash, r.definition, r.anchor, r.overlap];
  values.push(r.onAbandoned, r.maxAttempts, r.maxRuns);
  const [inserted] = await db.rows(
    "registerJob",
    `INSERT INTO ${jobs} (job_id, hash, definition, anchor, overlap, on_abandoned, max_attempts,
       max_runs, watermark, paused, run_count, version, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, FALSE, 0, 1, ${PG_NOW}, ${PG_NOW})
     ON CONFLICT (job_id) DO NOTHING RETURNING *`,
    values,
  );
  if (inserted)
    return { job: parseJobRow(inserted, where), outcome: "created", previousHash: null };
  // The row was committed before this second statement, so it sees it.
  const [row] = await db.rows(
    "registerJob",
    `WITH old AS MATERIALIZED (SELECT * FROM ${jobs} WHERE job_id = $1 FOR UPDATE),
     upd AS (
       UPDATE ${jobs} j SET hash = $2, definition = $3, anchor = $4, overlap = $5,
         on_abandoned = $6, max_attempts = $7, max_runs = $8, version = j.version + 1,
         updated_at = ${PG_NOW}
       FROM old WHERE j.job_id = old.job_id AND old.hash <> $2 RETURNING j.*)
     SELECT u.*, o.hash AS previous_hash FROM upd u CROSS JOIN old o
     UNION ALL SELECT o.*, o.hash FROM old o WHERE NOT EXISTS (SELECT 1 FROM upd)`,
    values,
  );
  if (!row) return registerJob(db, r);
  const job = parseJobRow(row, where);
  const previousHash = String(row.previous_hash);
  return { job, outcome: previousHash === job.hash ? "unchanged" : "updated", previousHash };
}

/** Creates a manual run at store now (the next free millisecond); null for an unknown job. */
export async function claimManual(
  db: PgDb,
  jobId: string,
  replicaId: string,
  leaseMs: number,
): Promise<ClaimedRun | null> {
  const { jobs, runs } = db.tables;
  const sql = `
WITH job AS (UPDATE ${jobs} SET run_count = run_count WHERE job_id = $1 RETURNING job_id),
clock AS MATERIALIZED (SELECT ${PG_NOW} AS now_ms FROM (SELECT count(*) FROM job) AS after_lock),
slot AS (
  SELECT c.now_ms, greatest(c.now_ms, coalesce(
    (SELECT max(scheduled_at) + 1 FROM ${runs}
     WHERE job_id = $1 AND trigger_kind = 'manual' AND scheduled_at >= c.now_ms), c.now_ms)) AS at
  FROM clock c
),
ins AS (
  INSERT INTO ${runs} (${RUN_COLUMNS})
  SELECT $2, j.job_id, s.at, 'manual', 'claimed', 1, 1, $3, s.now_ms, NULL, NULL, s.now_ms + $4, NULL
  FROM job j CROSS JOIN slot s
  ON CONFLICT (job_id, scheduled_at, trigger_kind) DO NOTHING
  RETURNING *
)
SELECT (SELECT count(*) FROM job) AS known, ins.* FROM (SELECT 1) AS one LEFT JOIN ins ON true`;
  // A racing manual claim that committed after this statement's snapshot took the slot: the
  // insert did nothing, and the next attempt (a new snapshot) sees it and takes the next one.
  for (let attempt = 0; attempt < 100; attempt++) {
    const [row] = await db.rows("claimManual", sql, [jobId, newRunId(), replicaId, leaseMs]);
    if (!row || Number(row.known) === 0) return null;
    if (row.run_id !== null && row.run_id !== undefined) return toClaimed(db, row);
  }
  return null;
}

/** Records `missed` rows above the watermark and advances it; 0 for an unknown job or hash. */
export async function recordMissed(
  db: PgDb,
  jobId: string,
  hash: string,
  instants: readonly number[],
): Promise<number> {
  if (instants.length === 0) return 0;
  const { jobs, runs } = db.tables;
  const sql = `
WITH job AS MATERIALIZED (
  SELECT job_id, watermark FROM ${jobs} WHERE job_id = $1 AND hash = $2 FOR UPDATE
),
clock AS MATERIALIZED (SELECT ${PG_NOW} AS now_ms FROM (SELECT count(*) FROM job) AS after_lock),
fresh AS MATERIALIZED (
  SELECT DISTINCT m.at FROM unnest($3::bigint[]) AS m(at) CROSS JOIN job j
  WHERE j.watermark IS NULL OR m.at > j.watermark
),
upd AS (
  UPDATE ${jobs} SET watermark = (SELECT max(at) FROM fresh)
  WHERE job_id = (SELECT job_id FROM job) AND EXISTS (SELECT 1 FROM fresh)
  RETURNING job_id
),
ins AS (
  INSERT INTO ${runs} (${RUN_COLUMNS})
  SELECT gen_random_uuid()::text, u.job_id, f.at, 'schedule', 'missed', 1, 0, NULL,
         NULL, NULL, c.now_ms, NULL, NULL
  FROM fresh f CROSS JOIN upd u CROSS JOIN clock c
  ON CONFLICT (job_id, scheduled_at, trigger_kind) DO NOTHING
  RETURNING 1
)
SELECT count(*) AS recorded FROM ins`;
  const [row] = await db.rows("recordMissed", sql, [jobId, hash, instants]);
  return Number(row?.recorded ?? 0);
}

/** Writes the outcome (fenced by token) and hands the job's oldest queued run to the caller. */
export async function finishRun(
  db: PgDb,
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
  const [row] = await db.rows("finishRun", sql, values);
  if (!row || Number(row.finished) === 0) return { ok: false, next: null };
  return { ok: true, next: row.run_id ? toClaimed(db, row) : null };
}

/** The claimed run in a `runs` row. @throws `CORRUPT_ROW`. */
export function toClaimed(db: PgDb, row: RawRow): ClaimedRun {
  return toClaimedRun(parseRunRow(row, `PostgresStore table ${db.tables.runs}`));
}
