import { PG_NOW, type PgDb } from "./connection.js";
import { notifyColumn, scheduleChannel } from "./notify.js";
import { parseJobListing, parseJobRow, type RawRow } from "../shared/rows.js";
import type { JobListing, JobRecord, JobRegistration, RegisterResult } from "../store.js";

/** The job rows of `PostgresStore`: registration, reads and pause/resume. */

/**
 * One statement per chunk: the jobs stored with the same hash are answered `unchanged` from the
 * snapshot, untouched and unlocked; the stored rows of the others are locked (in job id order)
 * and one multi-row upsert inserts the new jobs and replaces those whose hash differs (version
 * + 1, watermark and run count kept), returning each job's row and its hash before the call. A
 * job another replica created after this statement's snapshot is left alone and asked again,
 * so its previous hash is always known. Racing registrations of one job serialise on its row.
 */
const REGISTER_SQL = (jobs: string): string => `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[],
    $7::bigint[], $8::bigint[]) AS i(job_id, hash, definition, anchor, overlap, on_abandoned,
    max_attempts, max_runs)),
same AS MATERIALIZED (
  SELECT j.* FROM ${jobs} j JOIN input i ON i.job_id = j.job_id AND i.hash = j.hash),
todo AS (SELECT * FROM input WHERE job_id NOT IN (SELECT job_id FROM same)),
old AS MATERIALIZED (
  SELECT * FROM ${jobs} WHERE job_id IN (SELECT job_id FROM todo) ORDER BY job_id FOR UPDATE),
up AS (
  INSERT INTO ${jobs} AS j (job_id, hash, definition, anchor, overlap, on_abandoned, max_attempts,
    max_runs, watermark, paused, run_count, version, created_at, updated_at)
  SELECT job_id, hash, definition, anchor, overlap, on_abandoned, max_attempts, max_runs, NULL,
    FALSE, 0, 1, ${PG_NOW}, ${PG_NOW} FROM todo ORDER BY job_id
  ON CONFLICT (job_id) DO UPDATE SET hash = EXCLUDED.hash, definition = EXCLUDED.definition,
    anchor = EXCLUDED.anchor, overlap = EXCLUDED.overlap, on_abandoned = EXCLUDED.on_abandoned,
    max_attempts = EXCLUDED.max_attempts, max_runs = EXCLUDED.max_runs,
    version = j.version + 1, updated_at = ${PG_NOW}
  WHERE j.hash IS DISTINCT FROM EXCLUDED.hash AND j.job_id IN (SELECT job_id FROM old)
  RETURNING j.*)
SELECT u.*, o.hash AS previous_hash FROM up u LEFT JOIN old o ON o.job_id = u.job_id
UNION ALL SELECT o.*, o.hash FROM old o WHERE NOT EXISTS (SELECT 1 FROM up u WHERE u.job_id = o.job_id)
UNION ALL SELECT s.*, s.hash FROM same s`;

/** Upserts a chunk of jobs (each job id at most once); results in request order. */
export async function registerJobs(
  db: PgDb,
  registrations: readonly JobRegistration[],
): Promise<RegisterResult[]> {
  const results = new Map<string, RegisterResult>();
  let pending = registrations;
  while (pending.length > 0) {
    const column = <T>(pick: (r: JobRegistration) => T): T[] => pending.map(pick);
    const rows = await db.rows("registerJobs", REGISTER_SQL(db.tables.jobs), [
      ...[column((r) => r.jobId), column((r) => r.hash), column((r) => r.definition)],
      ...[column((r) => r.anchor), column((r) => r.overlap), column((r) => r.onAbandoned)],
      ...[column((r) => r.maxAttempts), column((r) => r.maxRuns)],
    ]);
    for (const row of rows) results.set(String(row.job_id), toResult(db, row));
    pending = pending.filter((r) => !results.has(r.jobId));
  }
  return registrations.map((r) => results.get(r.jobId) as RegisterResult);
}

function toResult(db: PgDb, row: RawRow): RegisterResult {
  const job = toJob(db, row);
  if (row.previous_hash === null) return { job, outcome: "created", previousHash: null };
  const previousHash = String(row.previous_hash);
  return { job, outcome: previousHash === job.hash ? "unchanged" : "updated", previousHash };
}

/** The stored job, or null. */
export async function getJob(db: PgDb, jobId: string): Promise<JobRecord | null> {
  const rows = await db.rows("getJob", `SELECT * FROM ${db.tables.jobs} WHERE job_id = $1`, [
    jobId,
  ]);
  return rows[0] ? toJob(db, rows[0]) : null;
}

/**
 * Every code-defined job, by job id: a range of the index on `(task, job_id)` (migration 3),
 * so the runtime schedules beside them are never read.
 */
export async function listJobs(db: PgDb): Promise<JobListing> {
  const rows = await db.rows(
    "listJobs",
    `SELECT * FROM ${db.tables.jobs} WHERE task IS NULL ORDER BY job_id`,
  );
  return parseJobListing(rows, () => `PostgresStore table ${db.tables.jobs}`);
}

/**
 * Sets the job's `paused` flag; false for an unknown job. Resuming a runtime schedule notifies
 * the store's schedule channel (see `notify.ts`), so that other replicas look at it again.
 */
export async function setPaused(db: PgDb, jobId: string, paused: boolean): Promise<boolean> {
  const rows = await db.rows(
    "setPaused",
    `WITH upd AS (
  UPDATE ${db.tables.jobs} SET paused = $2, updated_at = ${PG_NOW} WHERE job_id = $1 RETURNING task)
SELECT ${notifyColumn("$3::text", "EXISTS (SELECT 1 FROM upd WHERE NOT $2 AND task IS NOT NULL)")}
FROM upd`,
    [jobId, paused, scheduleChannel(db.tables)],
  );
  return rows.length > 0;
}

function toJob(db: PgDb, row: RawRow): JobRecord {
  return parseJobRow(row, `PostgresStore table ${db.tables.jobs}`);
}
