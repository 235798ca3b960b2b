import { PG_NOW, type PgDb } from "./connection.js";
import { parseJobRow, type RawRow } from "../rows.js";
import type { JobRecord, JobRegistration, RegisterResult } from "../store.js";

/** The job rows of `PostgresStore`: registration, reads and pause/resume. */

/**
 * Upserts a job: inserts it, or else locks the stored row (its newest version) and replaces it
 * when the hash differs. Racing registrations of one job serialise on the row.
 */
export async function registerJob(db: PgDb, r: JobRegistration): Promise<RegisterResult> {
  const { jobs } = db.tables;
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
  if (inserted) return { job: toJob(db, inserted), outcome: "created", previousHash: null };
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
  const job = toJob(db, row);
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

/** Every stored job, by job id. */
export async function listJobs(db: PgDb): Promise<JobRecord[]> {
  const rows = await db.rows("listJobs", `SELECT * FROM ${db.tables.jobs} ORDER BY job_id`);
  return rows.map((row) => toJob(db, row));
}

/** Sets the job's `paused` flag; false for an unknown job. */
export async function setPaused(db: PgDb, jobId: string, paused: boolean): Promise<boolean> {
  const rows = await db.rows(
    "setPaused",
    `UPDATE ${db.tables.jobs} SET paused = $2, updated_at = ${PG_NOW} WHERE job_id = $1 RETURNING 1`,
    [jobId, paused],
  );
  return rows.length > 0;
}

function toJob(db: PgDb, row: RawRow): JobRecord {
  return parseJobRow(row, `PostgresStore table ${db.tables.jobs}`);
}
