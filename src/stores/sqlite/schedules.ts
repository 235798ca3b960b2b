import { chunksOf } from "../shared/batches.js";
import { parseScheduleListing, parseScheduleRow, type RawRow } from "../shared/rows.js";
import {
  codeJobClash,
  dueAtOf,
  sameSchedule,
  schedulePageSize,
  scheduleJobId,
  spreadOf,
} from "../shared/schedules.js";
import * as writes from "../../protocol/transitions.js";
import { jobValues, newRunId, runValues } from "../sql/shared.js";
import type {
  ClaimedRun,
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
import { claimManualLocked } from "./claim.js";
import type { SqliteConnection } from "./connection.js";
import { advanceNextAt, readTimes, writeTimes } from "./schedule-times.js";

/**
 * `ScheduleRecords` on SQLite (the due query is in `due.ts`). A schedule is a `jobs` row with
 * the schedule columns of migration 0002 set; every statement that writes `next_at` or
 * `triggered_at` writes `due_at = dueAtOf(next_at, triggered_at)` with it (the insert and update
 * below, `schedule-times.ts` for the instants alone). Every write is one synchronous `BEGIN IMMEDIATE` transaction per chunk
 * of a few hundred items (`c.write`), so no write holds the file's lock across an await and a
 * key named twice in one call is simply written twice, in order.
 */

/** The schedule under `jobId` inside a transaction, or null. @throws `CORRUPT_ROW`. */
function readSchedule(c: SqliteConnection, jobId: string): ScheduleRecord | null {
  const raw = c.sql.scheduleGet.get(jobId) as RawRow | undefined;
  return raw ? parseScheduleRow(raw, c.table("jobs")) : null;
}

/** `getSchedule`. @throws BelfryError `CORRUPT_ROW`, `STORE_ERROR`. */
export function getSchedule(c: SqliteConnection, jobId: string): Promise<ScheduleRecord | null> {
  return c.read("getSchedule", () => readSchedule(c, jobId));
}

/** `scheduleTasks`: the tasks with a row still due, sorted (a skip scan of the due index). */
export function scheduleTasks(c: SqliteConnection): Promise<string[]> {
  return c.read("scheduleTasks", () =>
    (c.sql.scheduleTasks.all() as RawRow[]).map((row) => String(row.task)).sort(),
  );
}

/** `countSchedules`: a count of the index on `(task, job_id)`. */
export function countSchedules(
  c: SqliteConnection,
  filter: ScheduleCountFilter = {},
): Promise<number> {
  return c.read("countSchedules", () => {
    const row = (
      filter.task === undefined
        ? c.sql.scheduleCount.get()
        : c.sql.scheduleCountTask.get(filter.task)
    ) as RawRow;
    return Number(row.n);
  });
}

/**
 * `putSchedules`: one transaction per chunk; each write applied on its own, in order (its row
 * read right after it).
 */
export async function putSchedules(
  c: SqliteConnection,
  writes: readonly ScheduleWrite[],
  mode: "create" | "upsert",
  returning: PutScheduleReturning,
): Promise<PutScheduleOutcome[]> {
  const results: PutScheduleOutcome[] = [];
  const put = (w: ScheduleWrite, now: number): PutScheduleOutcome | PutScheduleResult => {
    const outcome = putOne(c, w, mode, now);
    return returning === "rows" ? { schedule: readSchedule(c, w.jobId)!, outcome } : { outcome };
  };
  for (const chunk of chunksOf(writes)) {
    results.push(...(await c.write("putSchedules", (now) => chunk.map((w) => put(w, now)))));
  }
  return results;
}

function putOne(
  c: SqliteConnection,
  write: ScheduleWrite,
  mode: "create" | "upsert",
  now: number,
): PutScheduleOutcome["outcome"] {
  const stored = readSchedule(c, write.jobId);
  if (!stored && c.sql.jobGet.get(write.jobId)) throw codeJobClash("SqliteStore", write.jobId);
  if (!stored) {
    const { task, key, data, nextAt } = write;
    const schedule = [task, key, data, nextAt, null, dueAtOf(nextAt, null)];
    c.sql.scheduleInsert.run(...jobValues(write, now), ...schedule, spreadOf(write.jobId));
    return "created";
  }
  if (sameSchedule(stored, write)) return "unchanged";
  if (mode === "create") return "conflict";
  const version = stored.hash === write.hash ? stored.version : stored.version + 1;
  const w = write;
  c.sql.scheduleUpdate.run(
    ...[w.hash, w.definition, w.anchor, w.overlap, w.onAbandoned, w.maxAttempts, w.maxRuns],
    ...[version, now, w.task, w.key, w.data, w.nextAt],
    // A pending trigger stays owed: due at the earlier of it and the new next instant.
    dueAtOf(w.nextAt, stored.triggeredAt),
    w.jobId,
  );
  return "updated";
}

/** `listSchedules`: by job id, filtered, one page (one more row read to know if one follows). */
export async function listSchedules(
  c: SqliteConnection,
  query: ScheduleQuery = {},
): Promise<SchedulePage> {
  const limit = schedulePageSize(query.limit);
  const { sql, params } = listingFilter(query);
  const text = `SELECT * FROM ${c.tableName("jobs")} WHERE ${sql} ORDER BY job_id LIMIT ?`;
  const rows = await c.read("listSchedules", () => c.all(text, [...params, limit + 1]));
  const page = rows.slice(0, limit);
  const { schedules, unreadable } = parseScheduleListing(page, () => c.table("jobs"));
  const last = page[page.length - 1];
  return { schedules, unreadable, next: rows.length > limit ? String(last?.job_id) : null };
}

/**
 * The WHERE clause of a listing. A task (and key prefix) is a prefix of the job id, matched by
 * comparing the id's first characters (so `%`, `_` and `\` are literal, and case counts) and
 * bounded as one range of the primary key, so a page reads only the rows it returns (plus
 * filtered-out paused ones), however deep the `after` cursor: the range starts at the greater of
 * the prefix and the cursor, `max()` comparing as the index does.
 */
function listingFilter(query: ScheduleQuery): { sql: string; params: unknown[] } {
  const conditions = ["task IS NOT NULL"];
  const params: unknown[] = [];
  const { task, after } = query;
  if (task !== undefined) {
    const prefix = scheduleJobId(task, query.keyPrefix ?? "");
    conditions.push("task = ?", "substr(job_id, 1, length(?)) = ?");
    params.push(task, prefix, prefix);
    if (after === undefined) {
      conditions.push("job_id >= ?");
      params.push(prefix);
    } else {
      conditions.push("job_id >= max(?, ?)", "job_id <> ?");
      params.push(prefix, after, after);
    }
    const end = prefixEnd(prefix);
    if (end !== null) {
      conditions.push("job_id < ?");
      params.push(end);
    }
  } else if (after !== undefined) {
    conditions.push("job_id > ?");
    params.push(after);
  }
  if (query.paused !== undefined) {
    conditions.push("paused = ?");
    params.push(query.paused ? 1 : 0);
  }
  return { sql: conditions.join(" AND "), params };
}

/**
 * The least string above every string that starts with `prefix` in SQLite's BINARY order (UTF-8
 * bytes, which is code point order): `prefix` with its last code point incremented (a trailing
 * U+10FFFF dropped first). Null when there is none, or when `prefix` holds a lone surrogate
 * (no UTF-8 form); the listing then has only the lower bound.
 */
export function prefixEnd(prefix: string): string | null {
  const points = [...prefix].map((char) => char.codePointAt(0)!);
  if (points.some((point) => point >= 0xd800 && point <= 0xdfff)) return null;
  while (points.length > 0) {
    const last = points.pop()! + 1;
    if (last > 0x10ffff) continue;
    points.push(last === 0xd800 ? 0xe000 : last);
    return String.fromCodePoint(...points);
  }
  return null;
}

/** `removeSchedules`: deletes the job rows that are schedules; run rows stay. */
export async function removeSchedules(
  c: SqliteConnection,
  jobIds: readonly string[],
): Promise<boolean[]> {
  const removed: boolean[] = [];
  for (const chunk of chunksOf(jobIds)) {
    removed.push(
      ...(await c.write("removeSchedules", () =>
        chunk.map((jobId) => Number(c.sql.scheduleDelete.run(jobId).changes) > 0),
      )),
    );
  }
  return removed;
}

/** `advanceSchedules`: forward only, for the current hash; one transaction per chunk. */
export async function advanceSchedules(
  c: SqliteConnection,
  items: readonly ScheduleAdvance[],
): Promise<void> {
  for (const chunk of chunksOf(items)) {
    await c.write("advanceSchedules", () => {
      for (const item of chunk) advanceNextAt(c, item.jobId, item.nextAt, item.hash);
    });
  }
}

/** `triggerSchedule`: a pending trigger at store now, unless one is pending. */
export function triggerSchedule(c: SqliteConnection, jobId: string): Promise<boolean> {
  return c.write("triggerSchedule", (now) => {
    const times = readTimes(c, jobId);
    if (!times) return false;
    if (times.triggeredAt === null) writeTimes(c, jobId, times.nextAt, now);
    return true;
  });
}

/** `claimTriggered`: clears the pending trigger and creates the manual run, in one transaction. */
export function claimTriggered(
  c: SqliteConnection,
  jobId: string,
  replicaId: string,
  leaseMs: number,
): Promise<ClaimedRun | null> {
  return c.write("claimTriggered", (now) => {
    const times = readTimes(c, jobId);
    if (!times || times.triggeredAt === null) return null;
    writeTimes(c, jobId, times.nextAt, null);
    return claimManualLocked(c, jobId, replicaId, leaseMs, now);
  });
}

/**
 * `claimBackfill`: in one transaction, a `backfill` run per instant (not after now) that has
 * none yet; `INSERT OR IGNORE` on the unique occurrence key skips the others. Null when `jobId`
 * is no schedule.
 */
export function claimBackfill(
  c: SqliteConnection,
  jobId: string,
  instants: readonly number[],
  replicaId: string,
  leaseMs: number,
): Promise<ClaimedRun[] | null> {
  return c.write("claimBackfill", (now) => {
    if (!c.sql.scheduleTimes.get(jobId)) return null;
    return writes.backfillInstants(instants, now).flatMap((at) => {
      const row = writes.backfillRow(jobId, at, replicaId, now, leaseMs, newRunId());
      const inserted = Number(c.sql.runInsertIgnore.run(...runValues(row)).changes) > 0;
      return inserted ? [writes.toClaimedRun(row)] : [];
    });
  });
}
