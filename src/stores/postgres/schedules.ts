import { BelfryError } from "../../errors.js";
import { REGISTER_CHUNK, registerInChunks, registrationChunks } from "../shared/batches.js";
import { parseScheduleListing, parseScheduleRow, type RawRow } from "../shared/rows.js";
import { RUN_COLUMN_LIST as RUN_COLUMNS } from "../sql/shared.js";
import {
  codeJobClash,
  replicaSpread,
  schedulePageSize,
  SPREAD_MODULUS,
  spreadOf,
} from "../shared/schedules.js";
import type {
  ClaimedRun,
  DueQuery,
  DueSchedules,
  PutScheduleOutcome,
  PutScheduleResult,
  PutScheduleReturning,
  ScheduleAdvance,
  ScheduleCountFilter,
  SchedulePage,
  ScheduleQuery,
  ScheduleRecord,
  ScheduleWrite,
} from "../store.js";
import { claimManualWith } from "./claim.js";
import { toClaimed } from "./runs.js";
import { PG_NOW, type PgDb } from "./connection.js";
import { notifyColumn, scheduleChannel } from "./notify.js";
import { advancedNextAtSql, dueAtSql, spreadRankSql } from "./schedule-sql.js";

/**
 * `ScheduleRecords` on PostgreSQL: a runtime schedule is a row of the jobs table whose `task`
 * is set (migration 0002), so claims, leases and history treat it as any job. Every write keeps
 * `due_at` equal to the earlier of `next_at` and `triggered_at`; the due query reads the partial
 * index on `(task, due_at)`. Writes that make a row due earlier notify the schedule channel in
 * the same statement (`notify.ts`), so other replicas' `onScheduleChange` listeners wake up.
 */

function where(db: PgDb): string {
  return `PostgresStore table ${db.tables.jobs}`;
}

/** The job columns a schedule write sets, in the order of the statement's arrays. */
const WRITE_COLUMNS = [
  ["job_id", "text"],
  ["hash", "text"],
  ["definition", "text"],
  ["anchor", "bigint"],
  ["overlap", "text"],
  ["on_abandoned", "text"],
  ["max_attempts", "bigint"],
  ["max_runs", "bigint"],
  ["task", "text"],
  ["schedule_key", "text"],
  ["data", "text"],
  ["next_at", "bigint"],
  ["spread", "bigint"],
] as const;

/** The values of `writes` as one array per {@link WRITE_COLUMNS} entry. */
function writeArrays(writes: readonly ScheduleWrite[]): unknown[][] {
  return [
    writes.map((w) => w.jobId),
    writes.map((w) => w.hash),
    writes.map((w) => w.definition),
    writes.map((w) => w.anchor),
    writes.map((w) => w.overlap),
    writes.map((w) => w.onAbandoned),
    writes.map((w) => w.maxAttempts),
    writes.map((w) => w.maxRuns),
    writes.map((w) => w.task),
    writes.map((w) => w.key),
    writes.map((w) => w.data),
    writes.map((w) => w.nextAt),
    writes.map((w) => spreadOf(w.jobId)),
  ];
}

/**
 * One statement per chunk (each job id at most once), built as `jobs.ts` registers jobs: rows
 * already holding the write (same hash and data) are answered `unchanged` from the snapshot,
 * unlocked; the others are locked in job id order and one multi-row upsert inserts the new
 * rows and, for `upsert` (`$14`), replaces the changed ones (version + 1 when the hash changed;
 * watermark, run count, pause and a pending trigger kept; `next_at` from the write). A row that
 * another replica created after the snapshot is left alone and asked again by the caller. A row
 * of a code-defined job under the same id is reported `codeJob` and left untouched.
 */
function putSql(jobs: string): string {
  const arrays = WRITE_COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(", ");
  const names = WRITE_COLUMNS.map(([name]) => name).join(", ");
  const replaced = ["hash", "definition", "anchor", "overlap", "on_abandoned", "max_attempts"]
    .concat(["max_runs", "data", "next_at"])
    .map((column) => `${column} = EXCLUDED.${column}`)
    .join(", ");
  return `
WITH input AS (SELECT * FROM unnest(${arrays}) AS i(${names})),
same AS MATERIALIZED (
  SELECT j.* FROM ${jobs} j JOIN input i ON i.job_id = j.job_id
  WHERE j.task IS NOT NULL AND j.hash = i.hash AND j.data IS NOT DISTINCT FROM i.data),
todo AS (SELECT * FROM input WHERE job_id NOT IN (SELECT job_id FROM same)),
old AS MATERIALIZED (
  SELECT * FROM ${jobs} WHERE job_id IN (SELECT job_id FROM todo) ORDER BY job_id FOR UPDATE),
up AS (
  INSERT INTO ${jobs} AS j (${names}, watermark, paused, run_count, version, created_at,
    updated_at, triggered_at, due_at)
  SELECT ${names}, NULL, FALSE, 0, 1, ${PG_NOW}, ${PG_NOW}, NULL, next_at FROM todo ORDER BY job_id
  ON CONFLICT (job_id) DO UPDATE SET ${replaced},
    due_at = ${dueAtSql("EXCLUDED.next_at", "j.triggered_at")},
    version = j.version + CASE WHEN j.hash = EXCLUDED.hash THEN 0 ELSE 1 END,
    updated_at = ${PG_NOW}
  WHERE $14::text = 'upsert' AND j.task IS NOT NULL AND j.job_id IN (SELECT job_id FROM old)
    AND (j.hash <> EXCLUDED.hash OR j.data IS DISTINCT FROM EXCLUDED.data)
  RETURNING j.*),
res AS (
  SELECT u.*, CASE WHEN o.job_id IS NULL THEN 'created' ELSE 'updated' END AS outcome,
    o.due_at AS previous_due_at
  FROM up u LEFT JOIN old o ON o.job_id = u.job_id
  UNION ALL
  SELECT o.*, CASE WHEN o.task IS NULL THEN 'codeJob'
      WHEN o.hash = t.hash AND o.data IS NOT DISTINCT FROM t.data THEN 'unchanged'
      ELSE 'conflict' END, o.due_at
  FROM old o JOIN todo t ON t.job_id = o.job_id
  WHERE NOT EXISTS (SELECT 1 FROM up u WHERE u.job_id = o.job_id)
  UNION ALL
  SELECT s.*, 'unchanged', s.due_at FROM same s)
SELECT r.*, ${notifyColumn(
    "$15::text",
    `EXISTS (SELECT 1 FROM res WHERE outcome IN ('created', 'updated') AND due_at IS NOT NULL
       AND (previous_due_at IS NULL OR due_at < previous_due_at))`,
  )}
FROM res r`;
}

/**
 * `putSchedules`: chunk after chunk (see {@link putSql}); results in request order. The rows
 * come back with the outcomes; `outcomes` leaves them unparsed.
 */
export async function putSchedules(
  db: PgDb,
  writes: readonly ScheduleWrite[],
  mode: "create" | "upsert",
  returning: PutScheduleReturning,
): Promise<PutScheduleOutcome[]> {
  return registerInChunks(writes, (chunk) => putChunk(db, chunk, mode, returning));
}

async function putChunk(
  db: PgDb,
  writes: readonly ScheduleWrite[],
  mode: "create" | "upsert",
  returning: PutScheduleReturning,
): Promise<PutScheduleOutcome[]> {
  const results = new Map<string, PutScheduleOutcome>();
  const channel = scheduleChannel(db.tables);
  let pending = writes;
  while (pending.length > 0) {
    const rows = await db.rows("putSchedules", putSql(db.tables.jobs), [
      ...writeArrays(pending),
      mode,
      channel,
    ]);
    for (const row of rows) results.set(String(row.job_id), toPutResult(db, row, returning));
    pending = pending.filter((w) => !results.has(w.jobId));
  }
  return writes.map((w) => results.get(w.jobId) as PutScheduleOutcome);
}

function toPutResult(
  db: PgDb,
  row: RawRow,
  returning: PutScheduleReturning,
): PutScheduleOutcome | PutScheduleResult {
  const outcome = String(row.outcome);
  if (outcome === "codeJob") throw codeJobClash("PostgresStore", String(row.job_id));
  const known = outcome as PutScheduleOutcome["outcome"];
  if (returning === "outcomes") return { outcome: known };
  return { schedule: parseScheduleRow(row, where(db)), outcome: known };
}

/** The schedule stored under `jobId`, or null (also for a code-defined job). */
export async function getSchedule(db: PgDb, jobId: string): Promise<ScheduleRecord | null> {
  const rows = await db.rows(
    "getSchedule",
    `SELECT * FROM ${db.tables.jobs} WHERE job_id = $1 AND task IS NOT NULL`,
    [jobId],
  );
  return rows[0] ? parseScheduleRow(rows[0], where(db)) : null;
}

/**
 * `listSchedules`: one page by job id, one row more than asked to tell whether a next page
 * exists. The key prefix is matched with `starts_with`, so `%`, `_` and `\` in it are literal.
 */
export async function listSchedules(db: PgDb, query: ScheduleQuery = {}): Promise<SchedulePage> {
  const limit = schedulePageSize(query.limit);
  const params: unknown[] = [];
  const param = (value: unknown, type: string) => `$${params.push(value)}::${type}`;
  const conditions = ["task IS NOT NULL"];
  if (query.task !== undefined) {
    conditions.push(`task = ${param(query.task, "text")}`);
    if (query.keyPrefix) {
      conditions.push(`starts_with(schedule_key, ${param(query.keyPrefix, "text")})`);
    }
  }
  if (query.paused !== undefined) conditions.push(`paused = ${param(query.paused, "boolean")}`);
  if (query.after !== undefined) conditions.push(`job_id > ${param(query.after, "text")}`);
  const rows = await db.rows(
    "listSchedules",
    `SELECT * FROM ${db.tables.jobs} WHERE ${conditions.join(" AND ")}
     ORDER BY job_id LIMIT ${param(limit + 1, "int")}`,
    params,
  );
  const page = rows.slice(0, limit);
  const { schedules, unreadable } = parseScheduleListing(page, () => where(db));
  const last = page[page.length - 1];
  return { schedules, unreadable, next: rows.length > limit && last ? String(last.job_id) : null };
}

/** `removeSchedules`: deletes schedule rows (locked in job id order), keeps their runs. */
export async function removeSchedules(db: PgDb, jobIds: readonly string[]): Promise<boolean[]> {
  const removed = new Set<string>();
  for (let i = 0; i < jobIds.length; i += REGISTER_CHUNK) {
    const rows = await db.rows(
      "removeSchedules",
      `WITH doomed AS MATERIALIZED (
  SELECT job_id FROM ${db.tables.jobs} WHERE job_id = ANY($1::text[]) AND task IS NOT NULL
  ORDER BY job_id FOR UPDATE)
DELETE FROM ${db.tables.jobs} j USING doomed d WHERE j.job_id = d.job_id RETURNING j.job_id`,
      [jobIds.slice(i, i + REGISTER_CHUNK)],
    );
    for (const row of rows) removed.add(String(row.job_id));
  }
  // An id named twice was removed once: true for its first mention only, as one by one.
  return jobIds.map((jobId) => removed.delete(jobId));
}

/**
 * The due query, one statement, cheap however many rows there are and however many of them
 * are due at one instant (a burst: every user's digest at 09:00). Per task it reads only index
 * ranges of the partial index on `(task, due_at, spread, job_id)`, about `limit` (`$4`) entries
 * each:
 *
 * - `edge`: the `due_at` of the task's `limit`-th row due by `until` (`$2`), or NULL when fewer
 *   are due. Rows due before it (fewer than `limit`) all belong to the page.
 * - `due`: those rows, plus the first `limit` rows of the edge instant in this replica's order.
 *   `(spread + offset) mod 2^31` is a rotation of the spread order: first the spreads from
 *   `2^31 - offset` (`$3`) up, then those below it, so each half is one index range already in
 *   order, and a burst costs what the page holds, not the size of the burst (ordering the
 *   whole instant by rank would read all of it on every pass). Then all tasks, cut to `limit`.
 * - `following`: per task, the first index entry after `until` (the next due instant).
 */
function dueSql(jobs: string): string {
  const edgePart = (op: ">=" | "<") => `
    (SELECT j.* FROM ${jobs} j WHERE j.task = e.task AND j.due_at = e.at AND j.spread ${op} $3::bigint
     ORDER BY j.spread, j.job_id LIMIT $4::int)`;
  return `
WITH tasks AS (SELECT DISTINCT unnest($1::text[]) AS task),
edge AS MATERIALIZED (
  SELECT t.task, (
    SELECT j.due_at FROM ${jobs} j WHERE j.task = t.task AND j.due_at <= $2::bigint
    ORDER BY j.due_at OFFSET greatest($4::int - 1, 0) LIMIT 1) AS at
  FROM tasks t WHERE $4::int > 0),
due AS (
  SELECT r.*, ${spreadRankSql("r.spread", "$5::bigint")} AS spread_rank FROM edge e
  CROSS JOIN LATERAL (
    (SELECT j.* FROM ${jobs} j WHERE j.task = e.task AND j.due_at <= $2::bigint
       AND j.due_at < coalesce(e.at, $2::bigint + 1))
    UNION ALL ${edgePart(">=")}
    UNION ALL ${edgePart("<")}) r
  ORDER BY r.due_at, spread_rank, r.job_id LIMIT $4::int),
following AS (
  SELECT min(n.due_at) AS next_due_at FROM tasks t CROSS JOIN LATERAL (
    SELECT j.due_at FROM ${jobs} j WHERE j.task = t.task AND j.due_at > $2::bigint
    ORDER BY j.due_at LIMIT 1) n)
SELECT d.*, f.next_due_at FROM following f LEFT JOIN due d ON true
ORDER BY d.due_at, d.spread_rank, d.job_id`;
}

/** `dueSchedules` (see {@link dueSql}). */
export async function dueSchedules(db: PgDb, query: DueQuery): Promise<DueSchedules> {
  if (query.tasks.length === 0) return { schedules: [], unreadable: [], nextDueAt: null };
  const offset = replicaSpread(query.replicaId);
  const rows = await db.rows("dueSchedules", dueSql(db.tables.jobs), [
    query.tasks,
    query.until,
    (SPREAD_MODULUS - offset) % SPREAD_MODULUS,
    Math.max(0, Math.floor(query.limit)),
    offset,
  ]);
  const next = rows[0]?.next_due_at;
  const due = rows.filter((row) => row.job_id !== null && row.job_id !== undefined);
  const { schedules, unreadable } = parseScheduleListing(due, () => where(db));
  const nextDueAt = next === null || next === undefined ? null : Number(next);
  return { schedules, unreadable, nextDueAt };
}

/**
 * `scheduleTasks`: a skip scan of the due index (one index descent per task, not a read of
 * every row), through a recursive query, as PostgreSQL has no loose index scan of its own.
 */
export async function scheduleTasks(db: PgDb): Promise<string[]> {
  const jobs = db.tables.jobs;
  const rows = await db.rows(
    "scheduleTasks",
    `WITH RECURSIVE t(task) AS (
  (SELECT task FROM ${jobs} WHERE due_at IS NOT NULL ORDER BY task LIMIT 1)
  UNION ALL
  SELECT (SELECT j.task FROM ${jobs} j WHERE j.due_at IS NOT NULL AND j.task > t.task
          ORDER BY j.task LIMIT 1)
  FROM t WHERE t.task IS NOT NULL)
SELECT task FROM t WHERE task IS NOT NULL`,
    [],
  );
  // Sorted here, by code unit: the server's collation may order names otherwise.
  return rows.map((row) => String(row.task)).sort();
}

/** `countSchedules`: an index-only count of the index on `(task, job_id)` (migration 3). */
export async function countSchedules(db: PgDb, filter: ScheduleCountFilter = {}): Promise<number> {
  const [sql, params] =
    filter.task === undefined
      ? [`SELECT count(*) AS n FROM ${db.tables.jobs} WHERE task IS NOT NULL`, []]
      : [`SELECT count(*) AS n FROM ${db.tables.jobs} WHERE task = $1::text`, [filter.task]];
  const rows = await db.rows("countSchedules", sql, params);
  return Number(rows[0]?.n ?? 0);
}

/** `advanceSchedules`: one statement per chunk, rows locked in job id order. */
export async function advanceSchedules(db: PgDb, items: readonly ScheduleAdvance[]): Promise<void> {
  const next = advancedNextAtSql("j.next_at", "a.next_at");
  const sql = `
WITH a AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) AS a(job_id, hash, next_at)),
locked AS MATERIALIZED (
  SELECT job_id FROM ${db.tables.jobs} WHERE job_id IN (SELECT job_id FROM a) AND task IS NOT NULL
  ORDER BY job_id FOR UPDATE)
UPDATE ${db.tables.jobs} j SET next_at = ${next}, due_at = ${dueAtSql(next, "j.triggered_at")}
FROM a JOIN locked l ON l.job_id = a.job_id
WHERE j.job_id = a.job_id AND j.hash = a.hash AND j.next_at IS DISTINCT FROM ${next}`;
  for (const chunk of registrationChunks(items)) {
    await db.rows("advanceSchedules", sql, [
      chunk.map((item) => item.jobId),
      chunk.map((item) => item.hash),
      chunk.map((item) => item.nextAt),
    ]);
  }
}

/**
 * `triggerSchedule`: sets `triggered_at` to store now unless a trigger is pending (the row's
 * newest version decides), and notifies when it did. False when no schedule has the id.
 */
export async function triggerSchedule(db: PgDb, jobId: string): Promise<boolean> {
  const { jobs } = db.tables;
  const [row] = await db.rows(
    "triggerSchedule",
    `WITH clock AS MATERIALIZED (SELECT ${PG_NOW} AS now_ms),
upd AS (
  UPDATE ${jobs} j SET triggered_at = c.now_ms, due_at = ${dueAtSql("j.next_at", "c.now_ms")}
  FROM clock c WHERE j.job_id = $1 AND j.task IS NOT NULL AND j.triggered_at IS NULL
  RETURNING j.job_id)
SELECT EXISTS (SELECT 1 FROM upd)
    OR EXISTS (SELECT 1 FROM ${jobs} WHERE job_id = $1 AND task IS NOT NULL) AS known,
  ${notifyColumn("$2::text", "EXISTS (SELECT 1 FROM upd)")}`,
    [jobId, scheduleChannel(db.tables)],
  );
  return row?.known === true;
}

/**
 * `claimTriggered`: one transaction clears the pending trigger (locking the row, so exactly one
 * replica takes it) and creates the manual run with `claimManual`'s statement, which then sees
 * every manual run committed before the lock. Null when no trigger is pending.
 */
export async function claimTriggered(
  db: PgDb,
  jobId: string,
  replicaId: string,
  leaseMs: number,
): Promise<ClaimedRun | null> {
  return db.transaction("claimTriggered", async (query) => {
    const taken = await query(
      `UPDATE ${db.tables.jobs} SET triggered_at = NULL, due_at = next_at
       WHERE job_id = $1 AND task IS NOT NULL AND triggered_at IS NOT NULL RETURNING 1`,
      [jobId],
    );
    if (taken.length === 0) return null;
    const run = await claimManualWith(db, query, jobId, replicaId, leaseMs);
    // Cannot happen with the row locked; throwing rolls the trigger back rather than lose it.
    if (!run) throw new BelfryError("STORE_ERROR", "PostgresStore.claimTriggered: no manual run");
    return run;
  });
}

/**
 * `claimBackfill`: one statement. It locks the schedule's row (`run_count = run_count`, as
 * every step that makes a run active, so a racing claim sees all of its runs or none, see
 * `claim.ts`), reads store now after the lock and inserts a `backfill` run per distinct instant
 * not after it; `ON CONFLICT DO NOTHING` on the unique occurrence key skips the instants already
 * backfilled. Null when `jobId` is no schedule.
 */
export async function claimBackfill(
  db: PgDb,
  jobId: string,
  instants: readonly number[],
  replicaId: string,
  leaseMs: number,
): Promise<ClaimedRun[] | null> {
  const { jobs, runs } = db.tables;
  const sql = `
WITH job AS (
  UPDATE ${jobs} SET run_count = run_count WHERE job_id = $1 AND task IS NOT NULL RETURNING job_id
),
clock AS MATERIALIZED (SELECT ${PG_NOW} AS now_ms FROM (SELECT count(*) FROM job) AS after_lock),
ins AS (
  INSERT INTO ${runs} (${RUN_COLUMNS})
  SELECT gen_random_uuid()::text, j.job_id, m.at, 'backfill', 'claimed', 1, 1, $3, c.now_ms,
         NULL, NULL, c.now_ms + $4, NULL
  FROM (SELECT DISTINCT at FROM unnest($2::bigint[]) AS u(at)) m
  CROSS JOIN job j CROSS JOIN clock c
  WHERE m.at <= c.now_ms
  ON CONFLICT (job_id, scheduled_at, trigger_kind) DO NOTHING
  RETURNING *
)
SELECT (SELECT count(*) FROM job) AS known, ins.*
FROM (SELECT 1) AS one LEFT JOIN ins ON true ORDER BY ins.scheduled_at`;
  const rows = await db.rows("claimBackfill", sql, [jobId, instants, replicaId, leaseMs]);
  if (Number(rows[0]?.known ?? 0) === 0) return null;
  return rows.filter((row) => typeof row.run_id === "string").map((row) => toClaimed(db, row));
}
