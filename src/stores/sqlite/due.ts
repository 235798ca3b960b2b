import { parseEpochOrNull, parseScheduleListing, type RawRow } from "../shared/rows.js";
import { replicaSpread, SPREAD_MODULUS, spreadRank } from "../shared/schedules.js";
import type { DueQuery, DueSchedules } from "../store.js";
import type { SqliteConnection } from "./connection.js";

/**
 * `dueSchedules` on SQLite. The order asked for is `ORDER BY due_at, (spread + offset) % 2^31`
 * (`spreadRank`); run as written, SQLite would read and sort every row of the last `due_at`
 * it reaches — a million rows when a million per-user schedules fall due at 09:00. So the query
 * walks the partial index `jobs_due (task, due_at, spread)` instead, per task:
 *
 * 1. the first `limit` rows by `(due_at, spread)`: index order, no sort. Every `due_at` below
 *    the last one read is complete in it;
 * 2. the rest of the page comes from the last `due_at` in rank order, which on the index is two
 *    ranges of `spread`: `[2^31 − offset, 2^31)` (ranks 0 … offset − 1), then `[0, 2^31 − offset)`.
 *
 * Each step is an index seek plus at most `limit` entries; the tasks' candidates are then put
 * in `(due_at, rank)` order and cut to `limit`. `nextDueAt` is one `MIN` seek per task.
 */

/** A candidate row with the keys it is ordered by. */
interface Candidate {
  readonly raw: RawRow;
  readonly dueAt: number;
  readonly rank: number;
}

/** The due rows of `query`'s tasks, read in one snapshot. */
export async function dueSchedules(c: SqliteConnection, query: DueQuery): Promise<DueSchedules> {
  const offset = replicaSpread(query.replicaId);
  const limit = Math.max(0, Math.floor(query.limit));
  const { candidates, nextDueAt } = await c.read("dueSchedules", () => {
    const found: Candidate[] = [];
    let next: number | null = null;
    for (const task of new Set(query.tasks)) {
      found.push(...taskCandidates(c, task, query.until, limit, offset));
      const raw = c.sql.dueNext.get(task, query.until) as RawRow | undefined;
      const at = parseEpochOrNull(raw?.at, "due_at", c.table("jobs"));
      if (at !== null && (next === null || at < next)) next = at;
    }
    return { candidates: found, nextDueAt: next };
  });
  candidates.sort((a, b) => a.dueAt - b.dueAt || a.rank - b.rank);
  const rows = candidates.slice(0, limit).map((candidate) => candidate.raw);
  const { schedules, unreadable } = parseScheduleListing(rows, () => c.table("jobs"));
  return { schedules, unreadable, nextDueAt };
}

/** A task's first `limit` due rows in `(due_at, rank)` order (steps 1 and 2 above). */
function taskCandidates(
  c: SqliteConnection,
  task: string,
  until: number,
  limit: number,
  offset: number,
): Candidate[] {
  if (limit === 0) return [];
  const first = (c.sql.dueFirst.all(task, until, limit) as RawRow[]).map((raw) =>
    candidate(raw, offset),
  );
  if (first.length < limit) return first;
  const lastDueAt = first[first.length - 1]!.dueAt;
  const complete = first.filter((row) => row.dueAt < lastDueAt);
  let left = limit - complete.length;
  const cut = SPREAD_MODULUS - offset;
  const group: Candidate[] = [];
  for (const [from, to] of [
    [cut, SPREAD_MODULUS],
    [0, cut],
  ] as const) {
    if (left === 0) break;
    const raws = c.sql.dueGroup.all(task, lastDueAt, from, to, left) as RawRow[];
    group.push(...raws.map((raw) => candidate(raw, offset)));
    left -= raws.length;
  }
  return [...complete, ...group];
}

/** The row with its order keys (both columns are STRICT integers, never null here). */
function candidate(raw: RawRow, offset: number): Candidate {
  return { raw, dueAt: Number(raw.due_at), rank: spreadRank(Number(raw.spread), offset) };
}
