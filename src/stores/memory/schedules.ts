import { randomUUID } from "node:crypto";
import * as writes from "../../protocol/transitions.js";
import {
  codeJobClash,
  dueAtOf,
  replicaSpread,
  sameSchedule,
  schedulePageSize,
  spreadOf,
  spreadRank,
} from "../shared/schedules.js";
import { parseScheduleListing, parseScheduleRow, scheduleRowOf } from "../shared/rows.js";
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
import { claimManual } from "./claim.js";
import type { MemoryDb, ScheduleParts } from "./connection.js";

/**
 * `ScheduleRecords` on the memory store: a schedule's job row lives in `db.jobs` like any job's,
 * its schedule columns beside it in `db.schedules`.
 */

const WHERE = "MemoryStore jobs";

/** The schedule stored under `jobId` (unchecked), or null. */
function rawSchedule(db: MemoryDb, jobId: string): ScheduleRecord | null {
  const job = db.jobs.get(jobId);
  const parts = db.schedules.get(jobId);
  if (!job || !parts) return null;
  return { ...job, ...parts, dueAt: dueAtOf(parts.nextAt, parts.triggeredAt) };
}

/** The schedules of `jobIds` checked by the row rules of every store; corrupt ones apart. */
function readSchedules(db: MemoryDb, jobIds: readonly string[]) {
  const rows = jobIds.flatMap((jobId) => {
    const schedule = rawSchedule(db, jobId);
    return schedule ? [scheduleRowOf(schedule)] : [];
  });
  return parseScheduleListing(rows, () => WHERE);
}

/** The checked schedule under `jobId`, or null. @throws BelfryError `CORRUPT_ROW`. */
export function getSchedule(db: MemoryDb, jobId: string): ScheduleRecord | null {
  const schedule = rawSchedule(db, jobId);
  return schedule ? parseScheduleRow(scheduleRowOf(schedule), WHERE) : null;
}

/** `putSchedules`: each write applied on its own, in order (its row read right after it). */
export function putSchedules(
  db: MemoryDb,
  writes: readonly ScheduleWrite[],
  mode: "create" | "upsert",
  returning: PutScheduleReturning,
): PutScheduleOutcome[] {
  const results = writes.map((write): PutScheduleOutcome | PutScheduleResult => {
    const outcome = putOne(db, write, mode);
    return returning === "rows"
      ? { schedule: getSchedule(db, write.jobId)!, outcome }
      : { outcome };
  });
  if (results.some((r) => r.outcome === "created" || r.outcome === "updated")) db.scheduleChanged();
  return results;
}

function putOne(
  db: MemoryDb,
  write: ScheduleWrite,
  mode: "create" | "upsert",
): PutScheduleOutcome["outcome"] {
  const { task, key, data, nextAt, ...registration } = write;
  const parts: ScheduleParts = {
    task,
    key,
    data,
    nextAt,
    triggeredAt: null,
    spread: spreadOf(write.jobId),
  };
  const now = db.now();
  const stored = rawSchedule(db, write.jobId);
  if (!stored && db.jobs.has(write.jobId)) throw codeJobClash("MemoryStore", write.jobId);
  if (!stored) {
    db.setJob({
      ...registration,
      watermark: null,
      paused: false,
      runCount: 0,
      version: 1,
      createdAt: now,
      updatedAt: now,
    });
    db.schedules.set(write.jobId, parts);
    return "created";
  }
  if (sameSchedule(stored, write)) return "unchanged";
  if (mode === "create") return "conflict";
  const version = stored.hash === write.hash ? stored.version : Number(stored.version) + 1;
  const job = db.jobs.get(write.jobId)!;
  db.setJob({ ...job, ...registration, version, updatedAt: now });
  db.schedules.set(write.jobId, { ...parts, triggeredAt: stored.triggeredAt });
  return "updated";
}

/** `listSchedules`: by job id, filtered, one page. */
export function listSchedules(db: MemoryDb, query: ScheduleQuery = {}): SchedulePage {
  const limit = schedulePageSize(query.limit);
  const prefix = query.task === undefined ? null : `${query.task}:${query.keyPrefix ?? ""}`;
  const ids = [...db.schedules.keys()]
    .filter((jobId) => prefix === null || jobId.startsWith(prefix))
    .filter((jobId) => query.after === undefined || jobId > query.after)
    .filter((jobId) => query.paused === undefined || db.jobs.get(jobId)?.paused === query.paused)
    .sort();
  const page = ids.slice(0, limit);
  const { schedules, unreadable } = readSchedules(db, page);
  return { schedules, unreadable, next: ids.length > limit ? page[page.length - 1]! : null };
}

/** `removeSchedules`: deletes job row and schedule columns; run rows stay. */
export function removeSchedules(db: MemoryDb, jobIds: readonly string[]): boolean[] {
  return jobIds.map((jobId) => {
    if (!db.schedules.delete(jobId)) return false;
    db.jobs.delete(jobId);
    return true;
  });
}

/** `dueSchedules`: a scan of the schedules (the memory store has no index to keep). */
export function dueSchedules(db: MemoryDb, query: DueQuery): DueSchedules {
  const tasks = new Set(query.tasks);
  const offset = replicaSpread(query.replicaId);
  const due: { jobId: string; dueAt: number; rank: number }[] = [];
  let nextDueAt: number | null = null;
  for (const [jobId, parts] of db.schedules) {
    const dueAt = dueAtOf(parts.nextAt, parts.triggeredAt);
    if (!tasks.has(parts.task) || dueAt === null) continue;
    if (dueAt <= query.until) due.push({ jobId, dueAt, rank: spreadRank(parts.spread, offset) });
    else if (nextDueAt === null || dueAt < nextDueAt) nextDueAt = dueAt;
  }
  due.sort((a, b) => a.dueAt - b.dueAt || a.rank - b.rank);
  const { schedules, unreadable } = readSchedules(
    db,
    due.slice(0, query.limit).map((row) => row.jobId),
  );
  return { schedules, unreadable, nextDueAt };
}

/** `onScheduleChange`: listeners called after each write that can make a schedule due sooner. */
export function onScheduleChange(db: MemoryDb, listener: () => void): () => Promise<void> {
  const once = () => listener();
  db.scheduleListeners.add(once);
  return async () => void db.scheduleListeners.delete(once);
}

/** `scheduleTasks`: the tasks with a row still due, sorted. */
export function scheduleTasks(db: MemoryDb): string[] {
  const tasks = new Set<string>();
  for (const parts of db.schedules.values()) {
    if (dueAtOf(parts.nextAt, parts.triggeredAt) !== null) tasks.add(parts.task);
  }
  return [...tasks].sort();
}

/** `countSchedules`: the schedules of `filter.task`, or all of them. */
export function countSchedules(db: MemoryDb, filter: ScheduleCountFilter = {}): number {
  if (filter.task === undefined) return db.schedules.size;
  let count = 0;
  for (const parts of db.schedules.values()) if (parts.task === filter.task) count += 1;
  return count;
}

/** `advanceSchedules`: forward only, for the current hash. */
export function advanceSchedules(db: MemoryDb, items: readonly ScheduleAdvance[]): void {
  for (const item of items) {
    const parts = db.schedules.get(item.jobId);
    if (!parts || db.jobs.get(item.jobId)?.hash !== item.hash) continue;
    db.advanceNextAt(item.jobId, item.nextAt);
  }
}

/** `triggerSchedule`: a pending trigger at store now, unless one is pending. */
export function triggerSchedule(db: MemoryDb, jobId: string): boolean {
  const parts = db.schedules.get(jobId);
  if (!parts) return false;
  if (parts.triggeredAt === null) db.schedules.set(jobId, { ...parts, triggeredAt: db.now() });
  db.scheduleChanged();
  return true;
}

/** `claimTriggered`: clears the pending trigger and creates the manual run, in one step. */
export function claimTriggered(
  db: MemoryDb,
  jobId: string,
  replicaId: string,
  leaseMs: number,
): ClaimedRun | null {
  const parts = db.schedules.get(jobId);
  if (!parts || parts.triggeredAt === null) return null;
  db.schedules.set(jobId, { ...parts, triggeredAt: null });
  return claimManual(db, jobId, replicaId, leaseMs);
}

/**
 * `claimBackfill`: the `backfill` runs of `instants` (not after now) with no `backfill` row
 * yet, oldest first (the run table's unique occurrence key skips the others), in one step;
 * null for no schedule.
 */
export function claimBackfill(
  db: MemoryDb,
  jobId: string,
  instants: readonly number[],
  replicaId: string,
  leaseMs: number,
): ClaimedRun[] | null {
  if (!db.schedules.has(jobId)) return null;
  const now = db.now();
  return writes.backfillInstants(instants, now).flatMap((at) => {
    const row = writes.backfillRow(jobId, at, replicaId, now, leaseMs, randomUUID());
    return db.runs.insert(row) ? [writes.toClaimedRun(row)] : [];
  });
}
