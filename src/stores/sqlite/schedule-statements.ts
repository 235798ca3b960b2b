import { JOB_COLUMNS } from "../sql/shared.js";
import type { SqliteDriver, SqliteStatement } from "./driver.js";

/**
 * The prepared statements of runtime schedules (`ScheduleRecords`, see `schedules.ts`), kept
 * with the store's other statements on the connection. A schedule is a `jobs` row whose `task`
 * is not null; every statement here that reads or deletes one says so, so code-defined jobs
 * never appear in a schedule read.
 */

/** Columns a schedule row has besides the job's, in the order of the insert's values. */
export const SCHEDULE_COLUMNS = [
  "task",
  "schedule_key",
  "data",
  "next_at",
  "triggered_at",
  "due_at",
  "spread",
] as const;

/** Names of the schedule statements. */
export type ScheduleStatementName =
  | "scheduleGet"
  | "scheduleTasks"
  | "scheduleCount"
  | "scheduleCountTask"
  | "scheduleTimes"
  | "scheduleSetTimes"
  | "scheduleInsert"
  | "scheduleUpdate"
  | "scheduleDelete"
  | "dueFirst"
  | "dueGroup"
  | "dueNext"
  | "dueRows";

/** Prepares the schedule statements for the tables of `prefix` (a validated identifier). */
export function prepareScheduleStatements(
  db: SqliteDriver,
  prefix: string,
): Record<ScheduleStatementName, SqliteStatement> {
  const texts = scheduleStatementsSql(prefix);
  const names = Object.keys(texts) as ScheduleStatementName[];
  return Object.fromEntries(names.map((name) => [name, db.prepare(texts[name])])) as Record<
    ScheduleStatementName,
    SqliteStatement
  >;
}

/** The SQL text of each schedule statement (exported for the query-plan test). */
export function scheduleStatementsSql(prefix: string): Record<ScheduleStatementName, string> {
  const jobs = `${prefix}jobs`;
  const columns = [...JOB_COLUMNS, ...SCHEDULE_COLUMNS];
  // The due statements read the partial index jobs_due (task, due_at, spread) alone (rowid
  // is in every index entry): each is a seek plus at most `LIMIT` entries, whatever the number
  // of rows; only the rows of the page are then read from the table, by rowid (see `due.ts`).
  const due = `SELECT rowid AS row_id, due_at, spread FROM ${jobs} WHERE task = ? AND due_at IS NOT NULL`;
  return {
    // A skip scan of the due index: one seek per task, not a read of every entry.
    scheduleTasks: `WITH RECURSIVE t(task) AS (
      SELECT (SELECT task FROM ${jobs} WHERE due_at IS NOT NULL ORDER BY task LIMIT 1)
      UNION ALL
      SELECT (SELECT j.task FROM ${jobs} j WHERE j.due_at IS NOT NULL AND j.task > t.task
              ORDER BY j.task LIMIT 1)
      FROM t WHERE t.task IS NOT NULL)
    SELECT task FROM t WHERE task IS NOT NULL`,
    // Counts from the index jobs_task (task, job_id) of migration 0003 alone.
    scheduleCount: `SELECT count(*) AS n FROM ${jobs} WHERE task IS NOT NULL`,
    scheduleCountTask: `SELECT count(*) AS n FROM ${jobs} WHERE task = ?`,
    scheduleGet: `SELECT * FROM ${jobs} WHERE job_id = ? AND task IS NOT NULL`,
    scheduleTimes: `SELECT hash, next_at, triggered_at FROM ${jobs} WHERE job_id = ? AND task IS NOT NULL`,
    scheduleSetTimes: `UPDATE ${jobs} SET next_at = ?, triggered_at = ?, due_at = ? WHERE job_id = ?`,
    // OR REPLACE: a code-defined job under the same id becomes the schedule, as in the
    // reference store; `schedules.ts` inserts only after finding no schedule under the id.
    scheduleInsert: `INSERT OR REPLACE INTO ${jobs} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
    scheduleUpdate: `UPDATE ${jobs} SET hash = ?, definition = ?, anchor = ?, overlap = ?,
      on_abandoned = ?, max_attempts = ?, max_runs = ?, version = ?, updated_at = ?, task = ?,
      schedule_key = ?, data = ?, next_at = ?, due_at = ? WHERE job_id = ?`,
    scheduleDelete: `DELETE FROM ${jobs} WHERE job_id = ? AND task IS NOT NULL`,
    dueFirst: `${due} AND due_at <= ? ORDER BY due_at, spread LIMIT ?`,
    dueGroup: `${due} AND due_at = ? AND spread >= ? AND spread < ? ORDER BY spread LIMIT ?`,
    dueNext: `SELECT MIN(due_at) AS at FROM ${jobs} WHERE task = ? AND due_at IS NOT NULL AND due_at > ?`,
    // The page's rows in one statement: a JSON array of row ids (a statement per row costs
    // ~2.5 times as much through the driver).
    dueRows: `SELECT rowid AS row_id, * FROM ${jobs} WHERE rowid IN (SELECT value FROM json_each(?))`,
  };
}
