import { parseEpochOrNull, parseScheduleListing, type RawRow } from "../shared/rows.js";
import { replicaSpread, SPREAD_MODULUS, spreadRank } from "../shared/schedules.js";
import type { DueQuery, DueSchedules } from "../store.js";
import type { SqliteConnection } from "./connection.js";

/**
 * `dueSchedules` on SQLite. The order asked for is `ORDER BY due_at, (spread + offset) % 2^31`
 * (`spreadRank`); run as written, SQLite would read and sort every row of the last `due_at`
 * it reaches — a million rows when a million per-user schedules fall due at 09:00. So the query
 * walks the partial index `jobs_due (task, due_at, spread)` instead, per task, reading index
 * entries only (`row_id`, `due_at`, `spread`):
 *
 * 1. the first `limit` entries by `(due_at, spread)`: index order, no sort. Every `due_at`
 *    below the last one read is complete in it;
 * 2. the rest of the page comes from the last `due_at` in rank order, which on the index is two
 *    ranges of `spread`: `[2^31 − offset, 2^31)` (ranks 0 … offset − 1), then `[0, 2^31 − offset)`.
 *
 * Each step is an index seek plus at most `limit` entries. The tasks' candidates are put in
 * `(due_at, rank)` order and cut to `limit`, and only those rows are read from the table.
 * `nextDueAt` is one `MIN` seek per task. All of it runs in one read snapshot.
 */

/** An index entry of the due index, with the keys the page is ordered by. */
interface Candidate {
  readonly rowId: number;
  readonly dueAt: number;
  readonly rank: number;
}

/** The due rows of `query`'s tasks. */
export async function dueSchedules(c: SqliteConnection, query: DueQuery): Promise<DueSchedules> {
  const offset = replicaSpread(query.replicaId);
  const limit = Math.max(0, Math.floor(query.limit) || 0);
  const { rows, nextDueAt } = await c.read("dueSchedules", () => {
    const candidates: Candidate[] = [];
    let next: number | null = null;
    for (const task of new Set(query.tasks)) {
      candidates.push(...taskCandidates(c, task, query.until, limit, offset));
      const raw = c.sql.dueNext.get(task, query.until) as RawRow | undefined;
      const at = parseEpochOrNull(raw?.at, "due_at", c.table("jobs"));
      if (at !== null && (next === null || at < next)) next = at;
    }
    candidates.sort((a, b) => a.dueAt - b.dueAt || a.rank - b.rank);
    return { rows: pageRows(c, candidates.slice(0, limit)), nextDueAt: next };
  });
  const { schedules, unreadable } = parseScheduleListing(rows, () => c.table("jobs"));
  return { schedules, unreadable, nextDueAt };
}

/** The table rows of `page`'s entries, in the page's order. */
function pageRows(c: SqliteConnection, page: readonly Candidate[]): RawRow[] {
  if (page.length === 0) return [];
  const ids = JSON.stringify(page.map((entry) => entry.rowId));
  const byRowId = new Map<number, RawRow>();
  for (const raw of c.sql.dueRows.all(ids) as RawRow[]) byRowId.set(Number(raw.row_id), raw);
  return page.flatMap((entry) => {
    const raw = byRowId.get(entry.rowId);
    return raw ? [raw] : [];
  });
}

/** A task's first `limit` due entries in `(due_at, rank)` order (steps 1 and 2 above). */
function taskCandidates(
  c: SqliteConnection,
  task: string,
  until: number,
  limit: number,
  offset: number,
): Candidate[] {
  if (limit === 0) return [];
  const first = entries(c.sql.dueFirst.all(task, until, limit), offset);
  if (first.length < limit) return first;
  const lastDueAt = first[first.length - 1]!.dueAt;
  const complete = first.filter((entry) => entry.dueAt < lastDueAt);
  let left = limit - complete.length;
  const cut = SPREAD_MODULUS - offset;
  const group: Candidate[] = [];
  for (const [from, to] of [
    [cut, SPREAD_MODULUS],
    [0, cut],
  ] as const) {
    if (left === 0) break;
    const found = entries(c.sql.dueGroup.all(task, lastDueAt, from, to, left), offset);
    group.push(...found);
    left -= found.length;
  }
  return [...complete, ...group];
}

/** Index entries with their order keys (both STRICT integer columns, never null here). */
function entries(raws: unknown[], offset: number): Candidate[] {
  return (raws as RawRow[]).map((raw) => ({
    rowId: Number(raw.row_id),
    dueAt: Number(raw.due_at),
    rank: spreadRank(Number(raw.spread), offset),
  }));
}
