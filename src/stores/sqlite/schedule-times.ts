import { parseEpochOrNull, type RawRow } from "../shared/rows.js";
import { advancedNextAt, dueAtOf } from "../shared/schedules.js";
import type { SqliteConnection } from "./connection.js";

/**
 * The instants of a schedule row (`next_at`, `triggered_at`) and the one derived from them
 * (`due_at`). {@link writeTimes} writes `due_at = dueAtOf(next_at, triggered_at)` in the same
 * statement as the instants (as the insert and update of `putSchedules` do), so the due index
 * never disagrees with the row. Called inside the store's write transactions only.
 */

/** What a write of the instants needs to know about the stored row. */
export interface ScheduleTimes {
  readonly hash: string;
  readonly nextAt: number | null;
  readonly triggeredAt: number | null;
}

/** The schedule's hash and instants, or null when `jobId` is no schedule. @throws `CORRUPT_ROW`. */
export function readTimes(c: SqliteConnection, jobId: string): ScheduleTimes | null {
  const raw = c.sql.scheduleTimes.get(jobId) as RawRow | undefined;
  if (!raw) return null;
  const where = c.table("jobs");
  return {
    hash: String(raw.hash),
    nextAt: parseEpochOrNull(raw.next_at, "next_at", where),
    triggeredAt: parseEpochOrNull(raw.triggered_at, "triggered_at", where),
  };
}

/** Writes both instants and the `due_at` they make. */
export function writeTimes(
  c: SqliteConnection,
  jobId: string,
  nextAt: number | null,
  triggeredAt: number | null,
): void {
  c.sql.scheduleSetTimes.run(nextAt, triggeredAt, dueAtOf(nextAt, triggeredAt), jobId);
}

/**
 * Moves a schedule's `next_at` forward to `nextAt` (never back; null, the end of the series, is
 * the furthest; see `advancedNextAt`). Nothing for a job that is no schedule, for `nextAt`
 * undefined, or, given `hash`, while the stored hash is another.
 */
export function advanceNextAt(
  c: SqliteConnection,
  jobId: string,
  nextAt: number | null | undefined,
  hash?: string,
): void {
  if (nextAt === undefined) return;
  const times = readTimes(c, jobId);
  if (!times || (hash !== undefined && times.hash !== hash)) return;
  const next = advancedNextAt(times.nextAt, nextAt);
  if (next !== times.nextAt) writeTimes(c, jobId, next, times.triggeredAt);
}
