import { MY_NOW, affected, type MysqlDb, type MysqlQuery } from "./connection.js";
import { parseJobListing, parseJobRow, type RawRow } from "../shared/rows.js";
import { jobValues } from "../sql/shared.js";
import type { JobListing, JobRecord, JobRegistration, RegisterResult } from "../store.js";

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

const DEFINITION = ["hash", "definition", "anchor", "overlap", "on_abandoned", "max_attempts"];
const DEFINITION_COLUMNS = [...DEFINITION, "max_runs"];

/** `INSERT` of `count` jobs (`job_id` and the definition per row); `upsert` replaces them. */
function insertSql(db: MysqlDb, count: number, upsert: boolean): string {
  const row = `(?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, 0, 1, ${MY_NOW}, ${MY_NOW})`;
  const replace = DEFINITION_COLUMNS.map((column) => `${column} = VALUES(${column})`);
  return `INSERT INTO ${db.tables.jobs} (job_id, ${DEFINITION_COLUMNS.join(", ")}, watermark,
      paused, run_count, version, created_at, updated_at)
    VALUES ${new Array<string>(count).fill(row).join(", ")}${
      upsert
        ? ` ON DUPLICATE KEY UPDATE ${replace.join(", ")}, version = version + 1, updated_at = ${MY_NOW}`
        : ""
    }`;
}

/** Parameters of {@link insertSql}, rows in job id order (the order rows are locked in). */
function insertValues(registrations: readonly JobRegistration[]): unknown[] {
  // The first eight of jobValues are job_id and the definition; the rest come from the SQL.
  return [...registrations]
    .sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0))
    .flatMap((r) => jobValues(r, 0).slice(0, 1 + DEFINITION_COLUMNS.length));
}

/** The parsed rows of `jobIds` read with `query` (`FOR UPDATE` when `lock`), by job id. */
async function readJobs(
  db: MysqlDb,
  query: MysqlQuery,
  jobIds: readonly string[],
  lock: boolean,
): Promise<Map<string, JobRecord>> {
  const marks = jobIds.map(() => "?").join(", ");
  const rows = await query(
    `SELECT * FROM ${db.tables.jobs} WHERE job_id IN (${marks}) ORDER BY job_id${lock ? " FOR UPDATE" : ""}`,
    jobIds,
  );
  return new Map(rows.map((row) => [String(row.job_id), parseJob(db, row)]));
}

/**
 * Upserts a chunk of jobs (each job id at most once) in one transaction: locks the stored rows,
 * inserts the new jobs in one statement and replaces those whose hash differs in another
 * (version + 1, watermark and run count kept), then reads the written rows back. Two replicas
 * inserting the same new job: the second insert fails on the key once the first commits, and
 * the retried transaction finds the row.
 */
export async function registerJobs(
  db: MysqlDb,
  registrations: readonly JobRegistration[],
): Promise<RegisterResult[]> {
  const body = async (query: MysqlQuery): Promise<RegisterResult[]> => {
    const ids = registrations.map((r) => r.jobId);
    const old = await readJobs(db, query, ids, true);
    const created = registrations.filter((r) => !old.has(r.jobId));
    const changed = registrations.filter((r) => {
      const before = old.get(r.jobId);
      return before !== undefined && before.hash !== r.hash;
    });
    for (const [batch, upsert] of [
      [created, false],
      [changed, true],
    ] as const) {
      if (batch.length > 0) await query(insertSql(db, batch.length, upsert), insertValues(batch));
    }
    const written = [...created, ...changed].map((r) => r.jobId);
    const fresh = written.length > 0 ? await readJobs(db, query, written, false) : old;
    return registrations.map((r): RegisterResult => {
      const before = old.get(r.jobId);
      const job = (fresh.get(r.jobId) ?? before) as JobRecord;
      if (!before) return { job, outcome: "created", previousHash: null };
      return {
        job,
        outcome: before.hash === r.hash ? "unchanged" : "updated",
        previousHash: before.hash,
      };
    });
  };
  return db.transaction("registerJobs", body, [DUPLICATE_KEY]);
}

/** One job; null when unknown. */
export async function getJob(db: MysqlDb, jobId: string): Promise<JobRecord | null> {
  const [row] = await db.run("getJob", `SELECT * FROM ${db.tables.jobs} WHERE job_id = ?`, [jobId]);
  return row ? parseJob(db, row) : null;
}

/**
 * Every code-defined job, by id: `task IS NULL` is one range of the due index, whose leading
 * column is `task` (migration 0002), so the runtime schedules beside them are never read.
 */
export async function listJobs(db: MysqlDb): Promise<JobListing> {
  const rows = await db.run(
    "listJobs",
    `SELECT * FROM ${db.tables.jobs} WHERE task IS NULL ORDER BY job_id`,
  );
  return parseJobListing(rows, () => `${db.where} table ${db.tables.jobs}`);
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
