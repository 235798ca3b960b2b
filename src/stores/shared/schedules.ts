import { BelfryError } from "../../errors.js";
import type { ScheduleRecord, ScheduleWrite } from "../store.js";

/**
 * What every store shares about runtime schedules (`ScheduleRecords`): the job id of a
 * schedule, the per-replica order of rows due at one instant, and the rules of a write and a
 * claim that every backend applies the same way.
 */

/** Separates task and key in a schedule's job id; a task name never contains it. */
export const TASK_KEY_SEPARATOR = ":";

/** The job id a schedule's rows and runs are stored under: `<task>:<key>`. */
export function scheduleJobId(task: string, key: string): string {
  return `${task}${TASK_KEY_SEPARATOR}${key}`;
}

/** Most rows `listSchedules` returns in one page. */
export const MAX_SCHEDULE_PAGE = 1_000;

/** The page size `listSchedules` uses for a query without (or with a bad) `limit`. */
export function schedulePageSize(limit: number | undefined): number {
  if (limit === undefined) return 100;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new BelfryError(
      "INVALID_OPTION",
      `listSchedules({ limit }): expected a positive integer, got ${limit}`,
    );
  }
  return Math.min(limit, MAX_SCHEDULE_PAGE);
}

/** Modulus of the spread values (2^31, so sums stay exact in every dialect's BIGINT). */
export const SPREAD_MODULUS = 2 ** 31;

/**
 * FNV-1a over the string's UTF-16 code units, then murmur3's final mix (FNV alone leaves ids
 * that differ in their last character, `r1` and `r2`, close together), reduced to
 * [0, {@link SPREAD_MODULUS}).
 */
function hash31(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % SPREAD_MODULUS;
}

/** A schedule's spread value (stored in the row's `spread` column at creation). */
export function spreadOf(jobId: string): number {
  return hash31(jobId);
}

/** The offset a replica adds to spread values (see {@link spreadRank}). */
export function replicaSpread(replicaId: string): number {
  return hash31(`replica:${replicaId}`);
}

/**
 * Where a row due at the same instant as others comes for this replica:
 * `(spread + replicaSpread) mod 2^31`, ascending. Each replica walks the same rows from a
 * different point, so replicas racing for one burst start on different rows. In SQL:
 * `ORDER BY due_at, (spread + $offset) % 2147483648`.
 */
export function spreadRank(spread: number, replicaOffset: number): number {
  return (spread + replicaOffset) % SPREAD_MODULUS;
}

/** `dueAt` of a row: the earlier of its next instant and a pending trigger. */
export function dueAtOf(nextAt: number | null, triggeredAt: number | null): number | null {
  if (nextAt === null) return triggeredAt;
  if (triggeredAt === null) return nextAt;
  return Math.min(nextAt, triggeredAt);
}

/**
 * The `nextAt` after a claim that advanced the watermark: moved forward to the request's value,
 * never back; null (the series is over) is the furthest. `requested` undefined: unchanged.
 */
export function advancedNextAt(
  stored: number | null,
  requested: number | null | undefined,
): number | null {
  if (requested === undefined) return stored;
  if (requested === null || stored === null) return requested;
  return Math.max(stored, requested);
}

/**
 * The error of a schedule write naming the id of a job defined in code (`putSchedules` never
 * turns a code-defined job into a schedule, nor the other way round).
 */
export function codeJobClash(store: string, jobId: string): BelfryError {
  return new BelfryError(
    "DUPLICATE_JOB",
    `${store}.putSchedules: job id ${JSON.stringify(jobId)} belongs to a job defined in code, not to a schedule; it was left untouched`,
  );
}

/** Whether a stored schedule already holds what `write` would write (`unchanged`). */
export function sameSchedule(stored: ScheduleRecord, write: ScheduleWrite): boolean {
  return stored.hash === write.hash && stored.data === write.data;
}
