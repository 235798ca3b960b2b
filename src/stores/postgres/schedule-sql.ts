/**
 * SQL fragments for the schedule columns of a job row, shared by the claim step (`claim.ts`)
 * and the schedule writes (`schedules.ts`) so that both apply the rules of
 * `stores/shared/schedules.ts` the same way.
 */

/**
 * `advancedNextAt` in SQL: the stored `next_at` moved forward to `requested`, never back; a
 * NULL request (the series is over) is the furthest. Both arguments are SQL expressions.
 */
export function advancedNextAtSql(stored: string, requested: string): string {
  return `CASE WHEN ${requested} IS NULL OR ${stored} IS NULL THEN ${requested} ELSE greatest(${stored}, ${requested}) END`;
}

/** `dueAtOf` in SQL: the earlier of the two instants (PostgreSQL's `least` skips NULLs). */
export function dueAtSql(nextAt: string, triggeredAt: string): string {
  return `least(${nextAt}, ${triggeredAt})`;
}

/** The `(spread + offset) mod 2^31` order of `spreadRank`; `offset` is `replicaSpread(...)`. */
export function spreadRankSql(spread: string, offset: string): string {
  return `(${spread} + ${offset}) % 2147483648`;
}
