import { BelfryError } from "../../errors.js";
import { requestError } from "../../protocol/claim.js";
import { PG_NOW, type PgDb, type PgQuery, type PgTables } from "./connection.js";
import { toClaimed } from "./runs.js";
import { advancedNextAtSql, dueAtSql } from "./schedule-sql.js";
import { parseJobRow, type RawRow } from "../shared/rows.js";
import { newRunId, RUN_COLUMN_LIST as RUN_COLUMNS } from "../sql/shared.js";
import type { ClaimedRun, ClaimRequest, ClaimResult } from "../store.js";

/**
 * The PostgreSQL claim step: the claim batch, manual claims and missed occurrences.
 *
 * The claim batch: one statement decides and writes every request of a batch (no two for
 * the same job), so a batch is one round trip. The statement locks the job rows (`FOR UPDATE`,
 * in job id order, so racing batches never deadlock) and decides on their newest versions: a
 * racing claim of the same occurrence waits for the winner's commit, then sees the advanced
 * watermark and reports `lost`. The watermark advance is also conditional
 * (`watermark < scheduledAt`), and the run insert ignores a conflicting occurrence (reported
 * `lost`), so no unique violation can surface.
 *
 * The statement reads the job's runs (for the overlap policy) from its snapshot, taken before
 * the lock wait. Every step that makes a run active also updates its job row, so when the
 * locked row is newer than the snapshot's (`xmin` differs) the runs read may be stale: for an
 * overlap policy other than `allow` that request is answered `recheck` and run again inside a
 * transaction that first locks the job rows, so its statement's snapshot is current.
 *
 * A job row that fails the checks of `parseJobRow` (a bad policy, an integer beyond 2^53) is
 * answered `corrupt` in SQL: that request writes nothing and gets an `error` result naming the
 * row, column and value, while the rest of the batch is decided and written as usual.
 *
 * A manual claim also updates its job row (`run_count = run_count`), like every step that makes
 * a run active, so a racing claim sees that its snapshot is stale.
 *
 * A request with `nextAt` (a runtime schedule's) also moves the row's `next_at` forward and
 * recomputes `due_at`, in the same update that advances the watermark: so exactly the results
 * that write rows move the schedule on, and no reader ever sees one without the other.
 */

/** Checks, in SQL, what `parseJobRow` checks, so a corrupt row is refused before any write. */
const SAFE_INTS = [
  "anchor",
  "max_attempts",
  "max_runs",
  "watermark",
  "run_count",
  "version",
  "created_at",
  "updated_at",
];
const VALID_JOB = [
  "l.overlap IN ('allow', 'skip', 'queueOne')",
  "l.on_abandoned IN ('retry', 'abandon')",
  ...SAFE_INTS.map((c) => `coalesce(l.${c}, 0) BETWEEN -9007199254740991 AND 9007199254740991`),
].join(" AND ");

/**
 * `next_at` after the claim: the request's `nextAt` (`has_next`: given) applied to a schedule's
 * row by `advancedNextAt`; a code-defined job (`task` NULL) keeps its NULL.
 */
const CLAIMED_NEXT_AT = `CASE WHEN d.has_next AND j.task IS NOT NULL
  THEN ${advancedNextAtSql("j.next_at", "d.next_at")} ELSE j.next_at END`;

/**
 * The claim statement. Parameters: the request columns as arrays (`late_after` null where the
 * request has no `lateAfter`), then missed (ord, at) pairs, then `next_at` and `has_next`
 * (whether the request has `nextAt`; its null means "the series is over").
 */
export function claimSql(t: PgTables): string {
  return `
WITH req AS MATERIALIZED (
  SELECT * FROM unnest($1::int[], $2::text[], $3::bigint[], $4::text[], $5::text[],
                       $6::bigint[], $7::bigint[], $8::text[], $9::bigint[], $12::bigint[],
                       $13::boolean[])
    AS r(ord, job_id, scheduled_at, hash, replica_id, lease_ms, tolerance_ms, run_id, late_after,
         next_at, has_next)
),
locked AS MATERIALIZED (
  SELECT j.*, j.xmin::text AS row_version FROM ${t.jobs} j
  WHERE j.job_id IN (SELECT job_id FROM req) ORDER BY j.job_id FOR UPDATE
),
clock AS MATERIALIZED (
  SELECT ${PG_NOW} AS now_ms FROM (SELECT count(*) FROM locked) AS after_locks
),
seen AS (
  SELECT j.job_id, j.xmin::text AS row_version FROM ${t.jobs} j
  WHERE j.job_id IN (SELECT job_id FROM req)
),
busy AS (
  SELECT r.job_id,
         bool_or(r.state IN ('claimed', 'running') AND r.lease_expires_at > c.now_ms) AS active,
         bool_or(r.state = 'queued') AS queued
  FROM ${t.runs} r CROSS JOIN clock c
  WHERE r.job_id IN (SELECT job_id FROM req) AND r.state IN ('claimed', 'running', 'queued')
  GROUP BY r.job_id
),
dec AS MATERIALIZED (
  SELECT q.*, c.now_ms, l.watermark, l.hash AS stored_hash,
    CASE
      WHEN l.job_id IS NULL THEN 'unknownJob'
      WHEN NOT (${VALID_JOB}) THEN 'corrupt'
      WHEN l.hash <> q.hash THEN 'definitionChanged'
      WHEN q.scheduled_at - q.tolerance_ms > c.now_ms THEN 'notDue'
      WHEN l.watermark = q.scheduled_at THEN 'lost'
      WHEN l.watermark > q.scheduled_at THEN 'stale'
      WHEN l.max_runs IS NOT NULL AND l.run_count >= l.max_runs THEN 'exhausted'
      WHEN l.paused THEN 'paused'
      WHEN q.late_after IS NOT NULL AND c.now_ms > q.late_after THEN 'missed'
      WHEN l.overlap <> 'allow' AND s.row_version IS DISTINCT FROM l.row_version THEN 'recheck'
      WHEN coalesce(b.active, false) AND l.overlap = 'skip' THEN 'skipped'
      WHEN coalesce(b.active, false) AND l.overlap = 'queueOne' THEN
        CASE WHEN coalesce(b.queued, false) THEN 'skipped' ELSE 'queued' END
      ELSE 'claimed'
    END AS status
  FROM req q CROSS JOIN clock c
  LEFT JOIN locked l ON l.job_id = q.job_id
  LEFT JOIN seen s ON s.job_id = q.job_id
  LEFT JOIN busy b ON b.job_id = q.job_id
),
upd AS (
  UPDATE ${t.jobs} j
  SET watermark = d.scheduled_at,
      run_count = j.run_count + CASE WHEN d.status IN ('claimed', 'queued') THEN 1 ELSE 0 END,
      next_at = ${CLAIMED_NEXT_AT},
      due_at = ${dueAtSql(CLAIMED_NEXT_AT, "j.triggered_at")}
  FROM dec d
  WHERE j.job_id = d.job_id AND d.status IN ('claimed', 'skipped', 'queued', 'missed', 'paused')
    AND (j.watermark IS NULL OR j.watermark < d.scheduled_at)
  RETURNING j.job_id
),
ins AS (
  INSERT INTO ${t.runs} (${RUN_COLUMNS})
  SELECT d.run_id, d.job_id, d.scheduled_at, 'schedule',
         CASE WHEN d.status = 'paused' THEN 'skipped' ELSE d.status END, 1,
         CASE WHEN d.status = 'claimed' THEN 1 ELSE 0 END,
         CASE WHEN d.status <> 'missed' THEN d.replica_id END,
         CASE WHEN d.status = 'claimed' THEN d.now_ms END, NULL,
         CASE WHEN d.status IN ('skipped', 'missed', 'paused') THEN d.now_ms END,
         CASE WHEN d.status = 'claimed' THEN d.now_ms + d.lease_ms END,
         CASE WHEN d.status = 'paused' THEN 'paused' END
  FROM dec d JOIN upd u ON u.job_id = d.job_id
  ON CONFLICT (job_id, scheduled_at, trigger_kind) DO NOTHING
  RETURNING run_id, job_id
),
gone AS (
  INSERT INTO ${t.runs} (${RUN_COLUMNS})
  SELECT gen_random_uuid()::text, d.job_id, m.at, 'schedule', 'missed', 1, 0, NULL,
         NULL, NULL, d.now_ms, NULL, NULL
  FROM (SELECT DISTINCT * FROM unnest($10::int[], $11::bigint[]) AS x(ord, at)) m
  JOIN dec d ON d.ord = m.ord JOIN upd u ON u.job_id = d.job_id
  WHERE m.at < d.scheduled_at AND (d.watermark IS NULL OR m.at > d.watermark)
  ON CONFLICT (job_id, scheduled_at, trigger_kind) DO NOTHING
  RETURNING job_id, scheduled_at
)
SELECT d.ord, d.status, d.now_ms, d.watermark, d.stored_hash, d.job_id, d.scheduled_at,
       d.tolerance_ms, d.lease_ms, i.run_id AS inserted,
       (SELECT array_agg(g.scheduled_at ORDER BY g.scheduled_at) FROM gone g
        WHERE g.job_id = d.job_id) AS recorded_missed,
       CASE WHEN d.status = 'corrupt' THEN row_to_json(l) END AS job_row
FROM dec d
LEFT JOIN ins i ON i.job_id = d.job_id
LEFT JOIN locked l ON l.job_id = d.job_id
ORDER BY d.ord`;
}

/**
 * Claims `requests` in request order. Requests are grouped in waves with at most one request
 * per job (usually a single wave); a later request for the same job runs after the earlier one.
 */
export async function claimBatch(
  db: PgDb,
  requests: readonly ClaimRequest[],
): Promise<ClaimResult[]> {
  const results: ClaimResult[] = new Array<ClaimResult>(requests.length);
  for (const wave of waves(requests)) {
    const first = await runWave(db.tables, wave, requests, (text, values) =>
      db.rows("claim", text, values),
    );
    const recheck = wave.filter((i) => first.get(i) === undefined);
    const second =
      recheck.length === 0
        ? new Map<number, ClaimResult>()
        : await db.transaction("claim", async (query) => {
            const ids = [...new Set(recheck.map((i) => requests[i]?.jobId))].sort();
            await query(
              `SELECT 1 FROM ${db.tables.jobs} WHERE job_id = ANY($1::text[]) ORDER BY job_id FOR UPDATE`,
              [ids],
            );
            return runWave(db.tables, recheck, requests, query);
          });
    for (const i of wave) {
      const result = first.get(i) ?? second.get(i);
      // Cannot happen: inside the transaction the job rows are locked before the snapshot.
      if (!result) throw new BelfryError("STORE_ERROR", "PostgresStore.claim: claim undecided");
      results[i] = result;
    }
  }
  return results;
}

/** Creates a manual run at store now (the next free millisecond); null for an unknown job. */
export async function claimManual(
  db: PgDb,
  jobId: string,
  replicaId: string,
  leaseMs: number,
): Promise<ClaimedRun | null> {
  const query: PgQuery = (text, values) => db.rows("claimManual", text, values);
  return claimManualWith(db, query, jobId, replicaId, leaseMs);
}

/**
 * {@link claimManual} run by `query`: alone, or inside a transaction that has already changed
 * (and so locked) the job row, as `claimTriggered` does.
 */
export async function claimManualWith(
  db: PgDb,
  query: PgQuery,
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
    const [row] = await query(sql, [jobId, newRunId(), replicaId, leaseMs]);
    if (!row || Number(row.known) === 0) return null;
    if (row.run_id !== null && row.run_id !== undefined) return toClaimed(db, row);
  }
  return null;
}

/** Records `missed` rows above the watermark and advances it; none for an unknown job or hash. */
export async function recordMissed(
  db: PgDb,
  jobId: string,
  hash: string,
  instants: readonly number[],
): Promise<number[]> {
  if (instants.length === 0) return [];
  const { jobs, runs } = db.tables;
  const sql = `
WITH job AS MATERIALIZED (
  SELECT job_id, watermark FROM ${jobs} WHERE job_id = $1 AND hash = $2 FOR UPDATE
),
clock AS MATERIALIZED (SELECT ${PG_NOW} AS now_ms FROM (SELECT count(*) FROM job) AS after_lock),
fresh AS MATERIALIZED (
  SELECT DISTINCT m.at FROM unnest($3::bigint[]) AS m(at) CROSS JOIN job j CROSS JOIN clock c
  WHERE (j.watermark IS NULL OR m.at > j.watermark) AND m.at <= c.now_ms
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
  RETURNING scheduled_at
)
SELECT scheduled_at FROM ins ORDER BY scheduled_at`;
  const rows = await db.rows("recordMissed", sql, [jobId, hash, instants]);
  return rows.map((row) => Number(row.scheduled_at));
}

/** Splits request indexes into waves in which each job appears at most once. */
function waves(requests: readonly ClaimRequest[]): number[][] {
  const out: number[][] = [];
  const seen = new Map<string, number>();
  requests.forEach((request, i) => {
    const k = seen.get(request.jobId) ?? 0;
    seen.set(request.jobId, k + 1);
    (out[k] ??= []).push(i);
  });
  return out;
}

/** Runs the statement for one wave; a request answered `recheck` is absent from the map. */
async function runWave(
  t: PgTables,
  wave: readonly number[],
  requests: readonly ClaimRequest[],
  query: PgQuery,
): Promise<Map<number, ClaimResult>> {
  const picked = wave.map((i) => requests[i] as ClaimRequest);
  const missed = picked.flatMap((r, k) => (r.missed ?? []).map((at) => [wave[k], at] as const));
  const rows = await query(claimSql(t), [
    wave,
    picked.map((r) => r.jobId),
    picked.map((r) => r.scheduledAt),
    picked.map((r) => r.hash),
    picked.map((r) => r.replicaId),
    picked.map((r) => r.leaseMs),
    picked.map((r) => r.toleranceMs ?? 0),
    picked.map(() => newRunId()),
    picked.map((r) => r.lateAfter ?? null),
    missed.map(([ord]) => ord),
    missed.map(([, at]) => at),
    picked.map((r) => r.nextAt ?? null),
    picked.map((r) => r.nextAt !== undefined),
  ]);
  const out = new Map<number, ClaimResult>();
  for (const row of rows) {
    const result = toResult(row, t.jobs);
    if (result) out.set(Number(row.ord), result);
  }
  return out;
}

function toResult(row: RawRow, jobs: string): ClaimResult | null {
  const status = String(row.status);
  const num = (column: string) => Number(row[column]);
  switch (status) {
    case "recheck":
      return null;
    case "corrupt":
      return corruptResult(row, jobs);
    case "claimed":
    case "skipped":
    case "queued":
    case "missed":
    case "paused": {
      const runId = row.inserted;
      if (typeof runId !== "string") return { status: "lost", watermark: num("scheduled_at") };
      const recordedMissed = ((row.recorded_missed ?? []) as unknown[]).map(Number);
      if (status === "missed") recordedMissed.push(num("scheduled_at"));
      if (status !== "claimed") return { status, runId, recordedMissed };
      const run = {
        runId,
        jobId: String(row.job_id),
        scheduledAt: num("scheduled_at"),
        trigger: "schedule" as const,
        attempt: 1,
        token: 1,
        leaseExpiresAt: num("now_ms") + num("lease_ms"),
      };
      return { status: "won", run, recordedMissed };
    }
    case "lost":
    case "stale":
      return { status, watermark: num("watermark") };
    case "notDue":
      return {
        status,
        retryAfterMs: num("scheduled_at") - num("tolerance_ms") - num("now_ms"),
      };
    case "definitionChanged":
      return { status, hash: String(row.stored_hash) };
    case "exhausted":
    case "unknownJob":
      return { status };
    default:
      throw new BelfryError("STORE_ERROR", `PostgresStore.claim: unexpected status ${status}`);
  }
}

/** The `error` result (`CORRUPT_ROW`) of a request whose job row the statement refused. */
function corruptResult(row: RawRow, table: string): ClaimResult {
  const where = `PostgresStore table ${table}`;
  const raw = row.job_row;
  try {
    // Names the column and value when the row fails the checks every store applies.
    if (raw && typeof raw === "object") parseJobRow(raw as RawRow, where);
  } catch (error) {
    const result = requestError(error);
    if (result) return result;
    throw error;
  }
  const message = `${where}, row job_id=${JSON.stringify(String(row.job_id))}: invalid values (a policy or an integer out of range)`;
  return { status: "error", code: "CORRUPT_ROW", message };
}
