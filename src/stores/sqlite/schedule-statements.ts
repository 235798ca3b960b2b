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
  | "scheduleTimes"
  | "scheduleSetTimes"
  | "scheduleInsert"
  | "scheduleUpdate"
  | "scheduleDelete"
  | "dueFirst"
  | "dueGroup"
  | "dueNext";

/** Prepares the schedule statements for the tables of `prefix` (a validated identifier). */
export function prepareScheduleStatements(
  db: SqliteDriver,
  prefix: string,
): Record<ScheduleStatementName, SqliteStatement> {
  const jobs = `${prefix}jobs`;
  const columns = [...JOB_COLUMNS, ...SCHEDULE_COLUMNS];
  const sql = (text: string): SqliteStatement => db.prepare(text);
  // The three due statements read the partial index jobs_due (task, due_at, spread): each is a
  // seek plus at most `LIMIT` index entries, whatever the number of rows (see `due.ts`).
  const due = `task = ? AND due_at IS NOT NULL`;
  return {
    scheduleGet: sql(`SELECT * FROM ${jobs} WHERE job_id = ? AND task IS NOT NULL`),
    scheduleTimes: sql(
      `SELECT hash, next_at, triggered_at FROM ${jobs} WHERE job_id = ? AND task IS NOT NULL`,
    ),
    scheduleSetTimes: sql(
      `UPDATE ${jobs} SET next_at = ?, triggered_at = ?, due_at = ? WHERE job_id = ?`,
    ),
    // OR REPLACE: a code-defined job under the same id becomes the schedule, as in the
    // reference store; `schedules.ts` inserts only after finding no schedule under the id.
    scheduleInsert: sql(
      `INSERT OR REPLACE INTO ${jobs} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
    ),
    scheduleUpdate: sql(
      `UPDATE ${jobs} SET hash = ?, definition = ?, anchor = ?, overlap = ?, on_abandoned = ?,
       max_attempts = ?, max_runs = ?, version = ?, updated_at = ?, task = ?, schedule_key = ?,
       data = ?, next_at = ?, due_at = ? WHERE job_id = ?`,
    ),
    scheduleDelete: sql(`DELETE FROM ${jobs} WHERE job_id = ? AND task IS NOT NULL`),
    dueFirst: sql(
      `SELECT * FROM ${jobs} WHERE ${due} AND due_at <= ? ORDER BY due_at, spread LIMIT ?`,
    ),
    dueGroup: sql(
      `SELECT * FROM ${jobs} WHERE ${due} AND due_at = ? AND spread >= ? AND spread < ?
       ORDER BY spread LIMIT ?`,
    ),
    dueNext: sql(`SELECT MIN(due_at) AS at FROM ${jobs} WHERE ${due} AND due_at > ?`),
  };
}
