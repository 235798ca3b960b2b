import type { MysqlDb } from "./connection.js";

/**
 * SQL fragments of `MysqlStore`'s runtime schedules shared by the claim step (`claim.ts`) and
 * the schedule writes (`schedules.ts`). `due_at` is a generated column (migration 0002), so a
 * write sets `next_at` or `triggered_at` and the server keeps `due_at` in step.
 */

/** A SQL expression with its parameters, in placeholder order. */
export interface SqlExpression {
  readonly sql: string;
  readonly params: unknown[];
}

/**
 * `advancedNextAt` (`stores/shared/schedules.ts`) applied to `base` for each of `requested`
 * in order: `GREATEST` is NULL when the stored value is, so the `COALESCE` takes the request
 * then, and a requested null ends the series whatever came before.
 */
function advancedExpression(base: string, requested: readonly (number | null)[]): SqlExpression {
  let sql = base;
  let params: unknown[] = [];
  for (const nextAt of requested) {
    if (nextAt === null) {
      sql = "NULL";
      params = [];
    } else {
      sql = `COALESCE(GREATEST(${sql}, ?), ?)`;
      params = [...params, nextAt, nextAt];
    }
  }
  return { sql, params };
}

/**
 * The new `next_at` of an `UPDATE` of the jobs table that moves schedules forward: for each
 * job id, its requested instants applied in order (see `advancedExpression`); other rows and
 * code-defined jobs (`task` NULL) keep theirs. Null when there is nothing to move.
 */
export function advancedNextAtCase(
  perJob: readonly (readonly [string, readonly (number | null)[]])[],
): SqlExpression | null {
  const moved = perJob.filter(([, requested]) => requested.length > 0);
  if (moved.length === 0) return null;
  const branches = moved.map(([jobId, requested]) => {
    const value = advancedExpression("next_at", requested);
    return { sql: `WHEN ? THEN ${value.sql}`, params: [jobId, ...value.params] };
  });
  return {
    sql: `CASE WHEN task IS NULL THEN next_at ELSE CASE job_id ${branches
      .map((b) => b.sql)
      .join(" ")} ELSE next_at END END`,
    params: branches.flatMap((b) => b.params),
  };
}

/** Escapes `text` for a `LIKE … ESCAPE '|'` pattern, so that `%`, `_` and `\` match literally. */
export function likePrefix(text: string): string {
  // `|` needs no escaping inside a string literal whatever the sql_mode (a backslash would
  // under NO_BACKSLASH_ESCAPES), so it is the escape character instead of `\`.
  return `${text.replace(/[|%_]/g, "|$&")}%`;
}

/** Names the jobs table in `CORRUPT_ROW` messages. */
export function jobsWhere(db: MysqlDb): string {
  return `${db.where} table ${db.tables.jobs}`;
}
