import { registerInChunks, registrationChunks } from "../shared/batches.js";
import {
  parseEpochOrNull,
  parseJobRow,
  parseScheduleListing,
  parseScheduleRow,
  type RawRow,
} from "../shared/rows.js";
import {
  replicaSpread,
  sameSchedule,
  schedulePageSize,
  scheduleJobId,
  spreadOf,
  SPREAD_MODULUS,
} from "../shared/schedules.js";
import type {
  ClaimedRun,
  DueQuery,
  DueSchedules,
  JobRecord,
  PutScheduleResult,
  ScheduleAdvance,
  SchedulePage,
  ScheduleQuery,
  ScheduleRecord,
  ScheduleWrite,
} from "../store.js";
import { insertManualRun } from "./claim.js";
import { MY_NOW, affected, type MysqlDb, type MysqlQuery } from "./connection.js";
import { advancedNextAtCase, likePrefix } from "./schedule-sql.js";

/**
 * `ScheduleRecords` on `MysqlStore`: a runtime schedule is a jobs row whose `task` is set (code
 * jobs keep it NULL), so claims, pause and history treat it as any job. `due_at` is generated
 * by the server from `next_at` and `triggered_at` (migration 0002) and indexed with `task` and
 * `spread` for the due query. Writes go in chunks: one transaction of a few multi-row
 * statements per few hundred items. There is no `onScheduleChange`: the scheduler polls.
 */

const DUPLICATE_KEY = 1062;

function where(db: MysqlDb): string {
  return `${db.where} table ${db.tables.jobs}`;
}

/** Columns `putSchedules` writes, in the order of the values built below. */
const WRITE_COLUMNS = [
  "job_id",
  "hash",
  "definition",
  "anchor",
  "overlap",
  "on_abandoned",
  "max_attempts",
  "max_runs",
  "task",
  "schedule_key",
  "data",
  "next_at",
  "spread",
  "watermark",
  "paused",
  "run_count",
  "version",
  "triggered_at",
  "created_at",
  "updated_at",
] as const;

/** The columns set from the write itself (the first 13 of {@link WRITE_COLUMNS}). */
function writtenValues(write: ScheduleWrite): unknown[] {
  const w = write;
  return [
    ...[w.jobId, w.hash, w.definition, w.anchor, w.overlap, w.onAbandoned, w.maxAttempts],
    ...[w.maxRuns, w.task, w.key, w.data, w.nextAt, spreadOf(w.jobId)],
  ];
}

/** What a chunk found under a write's job id, locked. */
type Stored =
  | { readonly kind: "schedule"; readonly schedule: ScheduleRecord }
  /** A code-defined job under the same id: the write replaces it (as the memory store does). */
  | { readonly kind: "job"; readonly job: JobRecord };

/** How one write of a chunk is applied. */
type Step =
  | { readonly outcome: "unchanged" | "conflict"; readonly schedule: ScheduleRecord }
  | { readonly outcome: "created"; readonly insert: true }
  | { readonly outcome: "created" | "updated"; readonly rewrite: unknown[] };

function planWrite(
  write: ScheduleWrite,
  stored: Stored | undefined,
  mode: "create" | "upsert",
  now: number,
): Step {
  if (!stored) return { outcome: "created", insert: true };
  if (stored.kind === "job") {
    // A fresh schedule row over the code job's: no watermark, unpaused, version 1.
    return {
      outcome: "created",
      rewrite: [...writtenValues(write), null, 0, 0, 1, null, now, now],
    };
  }
  const old = stored.schedule;
  if (sameSchedule(old, write)) return { outcome: "unchanged", schedule: old };
  if (mode === "create") return { outcome: "conflict", schedule: old };
  const version = old.hash === write.hash ? old.version : old.version + 1;
  const kept = [old.watermark, old.paused ? 1 : 0, old.runCount, version, old.triggeredAt];
  return { outcome: "updated", rewrite: [...writtenValues(write), ...kept, old.createdAt, now] };
}

/** The placeholders of `count` rows of {@link WRITE_COLUMNS}; `fresh` rows are created now. */
function rowsSql(count: number, fresh: boolean): string {
  const row = fresh
    ? `(${new Array(13).fill("?").join(", ")}, NULL, 0, 0, 1, NULL, ${MY_NOW}, ${MY_NOW})`
    : `(${new Array(WRITE_COLUMNS.length).fill("?").join(", ")})`;
  return new Array<string>(count).fill(row).join(", ");
}

/**
 * One chunk of `putSchedules` (each job id at most once) in one transaction: the stored rows
 * locked (`FOR UPDATE`, with store now), the new rows inserted in one statement, the replaced
 * ones rewritten in another (rows in job id order, the order locks are taken in), the written
 * rows read back. Two replicas creating one key: the second insert fails on the key once the
 * first commits, and the retried transaction finds the row (`unchanged` or `conflict`).
 */
async function putChunk(
  db: MysqlDb,
  writes: readonly ScheduleWrite[],
  mode: "create" | "upsert",
): Promise<PutScheduleResult[]> {
  const { jobs } = db.tables;
  const byId = <T extends { readonly jobId: string }>(list: readonly T[]): T[] =>
    [...list].sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
  const body = async (query: MysqlQuery): Promise<PutScheduleResult[]> => {
    const rows = await query(
      `SELECT *, ${MY_NOW} AS now_ms FROM ${jobs} WHERE job_id IN (?) ORDER BY job_id FOR UPDATE`,
      [writes.map((w) => w.jobId)],
    );
    const stored = new Map(rows.map((row) => [String(row.job_id), storedRow(db, row)]));
    // Store now, for the rows rewritten below (they exist, so a row carried it).
    const now = parseEpochOrNull(rows[0]?.now_ms, "now_ms", db.where) ?? 0;
    const steps = writes.map((w) => planWrite(w, stored.get(w.jobId), mode, now));
    const inserts = byId(writes.filter((_, i) => "insert" in steps[i]!));
    if (inserts.length > 0) {
      await query(
        `INSERT INTO ${jobs} (${WRITE_COLUMNS.join(", ")}) VALUES ${rowsSql(inserts.length, true)}`,
        inserts.flatMap(writtenValues),
      );
    }
    const rewrites = byId(
      steps.flatMap((step, i) =>
        "rewrite" in step ? [{ jobId: writes[i]!.jobId, values: step.rewrite }] : [],
      ),
    );
    if (rewrites.length > 0) {
      const replace = WRITE_COLUMNS.slice(1).map((column) => `${column} = VALUES(${column})`);
      await query(
        `INSERT INTO ${jobs} (${WRITE_COLUMNS.join(", ")}) VALUES ${rowsSql(rewrites.length, false)}
         ON DUPLICATE KEY UPDATE ${replace.join(", ")}`,
        rewrites.flatMap((r) => r.values),
      );
    }
    const written = [...inserts, ...rewrites].map((w) => w.jobId);
    const fresh =
      written.length > 0 ? await readSchedules(db, query, written) : new Map<string, never>();
    return steps.map((step, i) => {
      if ("schedule" in step) return { outcome: step.outcome, schedule: step.schedule };
      return { outcome: step.outcome, schedule: fresh.get(writes[i]!.jobId) as ScheduleRecord };
    });
  };
  return db.transaction("putSchedules", body, [DUPLICATE_KEY]);
}

/** A locked jobs row: a schedule, or a code-defined job. @throws `CORRUPT_ROW`. */
function storedRow(db: MysqlDb, row: RawRow): Stored {
  if (row.task === null || row.task === undefined) {
    return { kind: "job", job: parseJobRow(row, where(db)) };
  }
  return { kind: "schedule", schedule: parseScheduleRow(row, where(db)) };
}

/** The schedules under `jobIds`, by job id. @throws `CORRUPT_ROW`. */
async function readSchedules(
  db: MysqlDb,
  query: MysqlQuery,
  jobIds: readonly string[],
): Promise<Map<string, ScheduleRecord>> {
  const rows = await query(`SELECT * FROM ${db.tables.jobs} WHERE job_id IN (?)`, [jobIds]);
  return new Map(rows.map((row) => [String(row.job_id), parseScheduleRow(row, where(db))]));
}

/** `putSchedules`: chunk after chunk (a repeated key starts a new one); results in order. */
export function putSchedules(
  db: MysqlDb,
  writes: readonly ScheduleWrite[],
  mode: "create" | "upsert",
): Promise<PutScheduleResult[]> {
  return registerInChunks(writes, (chunk) => putChunk(db, chunk, mode));
}

/** The schedule under `jobId`; null also for a code-defined job. @throws `CORRUPT_ROW`. */
export async function getSchedule(db: MysqlDb, jobId: string): Promise<ScheduleRecord | null> {
  const [row] = await db.run(
    "getSchedule",
    `SELECT * FROM ${db.tables.jobs} WHERE job_id = ? AND task IS NOT NULL`,
    [jobId],
  );
  return row ? parseScheduleRow(row, where(db)) : null;
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
  const { schedules, unreadable } = parseScheduleListing(page, () => where(db));
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
    [tasks, query.until, replicaSpread(query.replicaId), tasks, query.until, query.limit],
  );
  const found = rows.filter((row) => row.job_id !== null && row.job_id !== undefined);
  const { schedules, unreadable } = parseScheduleListing(found, () => where(db));
  const next = rows[0]?.next_due;
  return {
    schedules,
    unreadable,
    nextDueAt: next === null || next === undefined ? null : Number(next),
  };
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
