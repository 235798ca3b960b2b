import * as writes from "../../protocol/transitions.js";
import { registrationChunks } from "../shared/batches.js";
import { parseEpochOrNull, parseScheduleListing, parseScheduleRow } from "../shared/rows.js";
import {
  replicaSpread,
  schedulePageSize,
  scheduleJobId,
  SPREAD_MODULUS,
} from "../shared/schedules.js";
import type {
  ClaimedRun,
  DueQuery,
  DueSchedules,
  ScheduleAdvance,
  ScheduleCountFilter,
  SchedulePage,
  ScheduleQuery,
  ScheduleRecord,
} from "../store.js";
import { newRunId, RUN_COLUMN_LIST as RUN_COLUMNS, runValues } from "../sql/shared.js";
import { insertManualRun } from "./claim.js";
import { MY_NOW, affected, readNow, type MysqlDb } from "./connection.js";
import { advancedNextAtCase, jobsWhere, likePrefix } from "./schedule-sql.js";

/**
 * `ScheduleRecords` on `MysqlStore`: a runtime schedule is a jobs row whose `task` is set (code
 * jobs keep it NULL), so claims, pause and history treat it as any job. `due_at` is generated
 * by the server from `next_at` and `triggered_at` (migration 0002) and indexed with `task` and
 * `spread` for the due query. Writes go in chunks: one transaction of a few multi-row
 * statements per few hundred items (`putSchedules` is in `schedule-put.ts`). There is no
 * `onScheduleChange`: the scheduler polls.
 */

/** The schedule under `jobId`; null also for a code-defined job. @throws `CORRUPT_ROW`. */
export async function getSchedule(db: MysqlDb, jobId: string): Promise<ScheduleRecord | null> {
  const [row] = await db.run(
    "getSchedule",
    `SELECT * FROM ${db.tables.jobs} WHERE job_id = ? AND task IS NOT NULL`,
    [jobId],
  );
  return row ? parseScheduleRow(row, jobsWhere(db)) : null;
}

/**
 * `listSchedules`: a walk of the primary key from `after` (job ids compare byte-wise: the
 * table is `utf8mb4_bin`), the task and key prefix as a `LIKE` prefix of the job id, one row
 * more than the page to know whether another follows.
 */
export async function listSchedules(db: MysqlDb, query: ScheduleQuery = {}): Promise<SchedulePage> {
  const limit = schedulePageSize(query.limit);
  const conditions = ["task IS NOT NULL"];
  const params: unknown[] = [];
  if (query.task !== undefined) {
    conditions.push("job_id LIKE ? ESCAPE '|'");
    params.push(likePrefix(scheduleJobId(query.task, query.keyPrefix ?? "")));
  }
  if (query.paused !== undefined) {
    conditions.push("paused = ?");
    params.push(query.paused ? 1 : 0);
  }
  if (query.after !== undefined) {
    conditions.push("job_id > ?");
    params.push(query.after);
  }
  const rows = await db.run(
    "listSchedules",
    `SELECT * FROM ${db.tables.jobs} FORCE INDEX (PRIMARY) WHERE ${conditions.join(" AND ")}
     ORDER BY job_id LIMIT ?`,
    [...params, limit + 1],
  );
  const page = rows.slice(0, limit);
  const { schedules, unreadable } = parseScheduleListing(page, () => jobsWhere(db));
  const last = page[page.length - 1];
  return { schedules, unreadable, next: rows.length > limit ? String(last?.job_id) : null };
}

/**
 * `removeSchedules`: per chunk, the schedule rows among the ids locked, then deleted; true for
 * the first mention of each id that was a schedule.
 */
export async function removeSchedules(db: MysqlDb, jobIds: readonly string[]): Promise<boolean[]> {
  const unique = [...new Set(jobIds)];
  const removed = new Set<string>();
  for (const chunk of registrationChunks(unique.map((jobId) => ({ jobId })))) {
    const ids = chunk.map((item) => item.jobId);
    await db.transaction("removeSchedules", async (query) => {
      const rows = await query(
        `SELECT job_id FROM ${db.tables.jobs} WHERE job_id IN (?) AND task IS NOT NULL
         ORDER BY job_id FOR UPDATE`,
        [ids],
      );
      // Only exact matches: the key compares with PAD SPACE, so "a " finds the row "a".
      const found = rows.map((row) => String(row.job_id)).filter((id) => ids.includes(id));
      if (found.length > 0) {
        await query(`DELETE FROM ${db.tables.jobs} WHERE job_id IN (?)`, [found]);
      }
      for (const id of found) removed.add(id);
    });
  }
  return jobIds.map((jobId) => removed.delete(jobId));
}

/**
 * `dueSchedules` in one statement: the next due instant (per task the first `due_at` after
 * `until`, a loose index scan of `jobs_due`), the due rows chosen on the index alone (`task`
 * range, `due_at`, `spread`: no table row is read to order them), then only those rows read.
 */
export async function dueSchedules(db: MysqlDb, query: DueQuery): Promise<DueSchedules> {
  if (query.tasks.length === 0) return { schedules: [], unreadable: [], nextDueAt: null };
  const { jobs } = db.tables;
  const tasks = [...new Set(query.tasks)];
  const offset = replicaSpread(query.replicaId);
  const rows = await db.run(
    "dueSchedules",
    `SELECT n.next_due, j.*
     FROM (SELECT MIN(first_due) AS next_due FROM (
             SELECT MIN(due_at) AS first_due FROM ${jobs}
             WHERE task IN (?) AND due_at > ? GROUP BY task) f) n
     LEFT JOIN (
       SELECT job_id AS due_id, due_at AS due_key, (spread + ?) % ${SPREAD_MODULUS} AS due_rank
       FROM ${jobs} WHERE task IN (?) AND due_at <= ?
       ORDER BY due_at, due_rank LIMIT ?) d ON 1 = 1
     LEFT JOIN ${jobs} j ON j.job_id = d.due_id
     ORDER BY d.due_key, d.due_rank`,
    [tasks, query.until, offset, tasks, query.until, Math.max(0, Math.floor(query.limit))],
  );
  const found = rows.filter((row) => row.job_id !== null && row.job_id !== undefined);
  const { schedules, unreadable } = parseScheduleListing(found, () => jobsWhere(db));
  const nextDueAt = parseEpochOrNull(rows[0]?.next_due, "due_at", jobsWhere(db));
  return { schedules, unreadable, nextDueAt };
}

/** `scheduleTasks`: a loose index scan of the due index (one read per task). */
export async function scheduleTasks(db: MysqlDb): Promise<string[]> {
  const rows = await db.run(
    "scheduleTasks",
    `SELECT DISTINCT task FROM ${db.tables.jobs}
     WHERE task IS NOT NULL AND due_at IS NOT NULL ORDER BY task`,
    [],
  );
  // Sorted here, by code unit: the server's collation may order names otherwise.
  return rows.map((row) => String(row.task)).sort();
}

/**
 * `countSchedules`: a count of the due index `(task, due_at, spread)` alone, whose leading
 * column is `task` (MySQL indexes every row, finished series included).
 */
export async function countSchedules(
  db: MysqlDb,
  filter: ScheduleCountFilter = {},
): Promise<number> {
  const where = filter.task === undefined ? "task IS NOT NULL" : "task = ?";
  const params = filter.task === undefined ? [] : [filter.task];
  const [row] = await db.run(
    "countSchedules",
    `SELECT COUNT(*) AS n FROM ${db.tables.jobs} WHERE ${where}`,
    params,
  );
  return Number(row?.n ?? 0);
}

/**
 * `advanceSchedules`: per chunk one `UPDATE` under the current hash, moving `next_at` forward
 * only (`due_at` follows). A job id named twice starts a new chunk, so the second sees the first.
 */
export async function advanceSchedules(
  db: MysqlDb,
  items: readonly ScheduleAdvance[],
): Promise<void> {
  for (const chunk of registrationChunks(items)) {
    const nextAt = advancedNextAtCase(chunk.map((item) => [item.jobId, [item.nextAt]]));
    if (!nextAt) continue;
    const hash = `CASE job_id ${chunk.map(() => "WHEN ? THEN ?").join(" ")} END`;
    await db.transaction("advanceSchedules", (query) =>
      query(
        `UPDATE ${db.tables.jobs} SET next_at = ${nextAt.sql}
         WHERE job_id IN (?) AND task IS NOT NULL AND hash = ${hash}`,
        [
          ...nextAt.params,
          chunk.map((item) => item.jobId),
          ...chunk.flatMap((item) => [item.jobId, item.hash]),
        ],
      ),
    );
  }
}

/** `triggerSchedule`: a pending trigger at store now, unless one is pending. */
export async function triggerSchedule(db: MysqlDb, jobId: string): Promise<boolean> {
  const result = await db.run(
    "triggerSchedule",
    `UPDATE ${db.tables.jobs} SET triggered_at = COALESCE(triggered_at, ${MY_NOW})
     WHERE job_id = ? AND task IS NOT NULL`,
    [jobId],
  );
  // mysql2 reports matched rows, so a trigger already pending still counts.
  return affected(result) > 0;
}

/**
 * `claimTriggered`: in one transaction, the pending trigger cleared (the `UPDATE` locks the
 * row, so of racing replicas only the first matches) and the manual run created as
 * `claimManual` creates it.
 */
export async function claimTriggered(
  db: MysqlDb,
  jobId: string,
  replicaId: string,
  leaseMs: number,
): Promise<ClaimedRun | null> {
  return db.transaction("claimTriggered", async (query) => {
    const taken = await query(
      `UPDATE ${db.tables.jobs} SET triggered_at = NULL
       WHERE job_id = ? AND task IS NOT NULL AND triggered_at IS NOT NULL`,
      [jobId],
    );
    if (affected(taken) === 0) return null;
    return insertManualRun(db, query, jobId, replicaId, leaseMs);
  });
}

/**
 * `claimBackfill`: one transaction locks the schedule's row (`FOR UPDATE`, as every step that
 * makes a run of the job active), reads store now and the instants already backfilled (every
 * backfill of the job holds the same lock, so none can slip in between), and inserts a
 * `backfill` run for each other instant not after now, in one statement. Null when `jobId` is
 * no schedule.
 */
export async function claimBackfill(
  db: MysqlDb,
  jobId: string,
  instants: readonly number[],
  replicaId: string,
  leaseMs: number,
): Promise<ClaimedRun[] | null> {
  const { jobs, runs } = db.tables;
  return db.transaction("claimBackfill", async (query) => {
    const [job] = await query(
      `SELECT job_id FROM ${jobs} WHERE job_id = ? AND task IS NOT NULL FOR UPDATE`,
      [jobId],
    );
    if (!job) return null;
    const now = await readNow(db, query);
    const wanted = writes.backfillInstants(instants, now);
    if (wanted.length === 0) return [];
    const done = await query(
      `SELECT scheduled_at FROM ${runs}
       WHERE job_id = ? AND trigger_kind = 'backfill' AND scheduled_at IN (?)`,
      [jobId, wanted],
    );
    const taken = new Set(
      done.map((row) => parseEpochOrNull(row.scheduled_at, "scheduled_at", db.where)),
    );
    const rows = wanted
      .filter((at) => !taken.has(at))
      .map((at) => writes.backfillRow(jobId, at, replicaId, now, leaseMs, newRunId()));
    if (rows.length > 0) {
      await query(`INSERT INTO ${runs} (${RUN_COLUMNS}) VALUES ?`, [rows.map(runValues)]);
    }
    return rows.map(writes.toClaimedRun);
  });
}
