import { MY_NOW, affected, type MysqlDb, type MysqlQuery } from "./connection.js";
import { parseJobRow, type RawRow } from "../rows.js";
import type { JobRecord, JobRegistration, RegisterResult } from "../store.js";

/**
 * The jobs table of `MysqlStore`: registration (an upsert under the job row lock), reads and
 * pause. {@link lockJob} is the row lock every step that makes a run active takes, so that it
 * serialises with claims of that job.
 */

const DUPLICATE_KEY = 1062;

/** Parses a jobs row. @throws `CORRUPT_ROW`. */
function parseJob(db: MysqlDb, row: RawRow): JobRecord {
  return parseJobRow(row, `${db.where} table ${db.tables.jobs}`);
}

/** Locks a job row; null when the job is unknown. */
export async function lockJob(
  db: MysqlDb,
  query: MysqlQuery,
  jobId: string,
): Promise<JobRecord | null> {
  const [row] = await query(`SELECT * FROM ${db.tables.jobs} WHERE job_id = ? FOR UPDATE`, [jobId]);
  return row ? parseJob(db, row) : null;
}

/**
 * Upserts a job under its row lock. Two replicas inserting the same new job: the second insert
 * fails on the key once the first commits, and the retried transaction finds the row.
 */
export async function registerJob(db: MysqlDb, r: JobRegistration): Promise<RegisterResult> {
  const { jobs } = db.tables;
  const { hash, definition, anchor, overlap, onAbandoned, maxAttempts, maxRuns } = r;
  const fields = [hash, definition, anchor, overlap, onAbandoned, maxAttempts, maxRuns];
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

/** One job; null when unknown. */
export async function getJob(db: MysqlDb, jobId: string): Promise<JobRecord | null> {
  const [row] = await db.run("getJob", `SELECT * FROM ${db.tables.jobs} WHERE job_id = ?`, [jobId]);
  return row ? parseJob(db, row) : null;
}

/** Every job, by id. */
export async function listJobs(db: MysqlDb): Promise<JobRecord[]> {
  const rows = await db.run("listJobs", `SELECT * FROM ${db.tables.jobs} ORDER BY job_id`);
  return rows.map((row) => parseJob(db, row));
}

/** Pauses or resumes a job; false when the job is unknown. */
export async function setPaused(db: MysqlDb, jobId: string, paused: boolean): Promise<boolean> {
  const result = await db.run(
    "setPaused",
    `UPDATE ${db.tables.jobs} SET paused = ?, updated_at = ${MY_NOW} WHERE job_id = ?`,
    [paused ? 1 : 0, jobId],
  );
  return affected(result) > 0;
}
