import { randomUUID } from "node:crypto";
import { BelfryError } from "../../errors.js";
import type { HistoryQuery, JobRegistration, RunRecord, WarningRecords } from "../store.js";

/**
 * SQL text and helpers every SQL store would otherwise repeat: the table-prefix rule and its
 * substitution, the migrations ledger, run ids and the history filter. Column names are in
 * `rows.ts`.
 */

/** Table-name prefixes must be plain SQL identifiers: letters, digits, underscores. */
export const PREFIX_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,40}$/;

/** Throws `INVALID_PREFIX` unless `prefix` matches {@link PREFIX_PATTERN}. */
export function assertPrefix(prefix: string, where: string): void {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new BelfryError(
      "INVALID_PREFIX",
      `${where}: table prefix ${JSON.stringify(prefix)} is not allowed; use letters, digits and underscores, starting with a letter or underscore (at most 41 characters)`,
    );
  }
}

/** The table names of one SQL store (prefix, and schema where there is one, applied). */
export interface SqlTables {
  readonly jobs: string;
  readonly runs: string;
  readonly replicas: string;
  readonly warnings: string;
  readonly migrations: string;
}

/** Names every table with `qualify` (e.g. `name => \`public.belfry_${name}\``). */
export function sqlTables(qualify: (name: string) => string): SqlTables {
  const [jobs, runs, replicas, warnings, migrations] = [
    "jobs",
    "runs",
    "replicas",
    "warnings",
    "migrations",
  ].map(qualify) as [string, string, string, string, string];
  return { jobs, runs, replicas, warnings, migrations };
}

/**
 * Replaces `kept` (a store's `settingsWarnings`) with `warnings` and persists each one with
 * `addWarning` (replica `store`, kind `store-settings`), as every server store does at `init`.
 */
export async function keepSettingsWarnings(
  store: Pick<WarningRecords, "addWarning">,
  kept: string[],
  warnings: readonly string[],
): Promise<void> {
  kept.splice(0, kept.length, ...warnings);
  for (const message of warnings) {
    await store.addWarning({ replicaId: "store", kind: "store-settings", message });
  }
}

/** Number of rows {@link buildHistoryQuery} returns when the query sets no limit. */
export const HISTORY_DEFAULT_LIMIT = 100;

/** A fresh, globally unique run id. */
export function newRunId(): string {
  return randomUUID();
}

/**
 * Replaces every `{{prefix}}` in `sql` with `prefix` after checking it is a plain identifier.
 * @throws BelfryError `INVALID_PREFIX` for anything else.
 */
export function renderSql(sql: string, prefix: string, where: string): string {
  assertPrefix(prefix, where);
  return sql.replaceAll("{{prefix}}", prefix);
}

/**
 * Splits a migration file into statements at `;` ending a line, for drivers that run one
 * statement per call (MySQL without `multipleStatements`). Lines starting with `--` are dropped.
 */
export function splitSqlStatements(sql: string): string[] {
  return sql
    .split("\n")
    .filter((line) => !line.trim().startsWith("--"))
    .join("\n")
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.trim())
    .filter((statement) => statement.length > 0);
}

/**
 * DDL of the migrations ledger, valid in SQLite, PostgreSQL and MySQL. Created before the
 * migrations run (inside the same lock) so that the ledger row of each migration commits with it.
 */
export function ledgerDdl(prefix: string, where: string): string {
  return renderSql(
    "CREATE TABLE IF NOT EXISTS {{prefix}}migrations (version INTEGER PRIMARY KEY, " +
      "name VARCHAR(200) NOT NULL, applied_at BIGINT NOT NULL)",
    prefix,
    where,
  );
}

/** A WHERE clause with its parameters, in placeholder order. */
export interface SqlFragment {
  readonly sql: string;
  readonly params: unknown[];
}

/**
 * The `SELECT … FROM <runs>` tail for {@link HistoryQuery}: filters, newest `scheduled_at` first
 * (ties by run id descending, so the order is stable), and the limit.
 *
 * @param placeholder renders the n-th parameter (1-based): `?` by default, `$n` for PostgreSQL.
 * @example
 * ```ts
 * const q = buildHistoryQuery({ jobId: "a", limit: 5 });
 * db.prepare(`SELECT * FROM belfry_runs ${q.sql}`).all(...q.params);
 * ```
 */
export function buildHistoryQuery(
  query: HistoryQuery = {},
  placeholder: (n: number) => string = () => "?",
): SqlFragment {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown): string => {
    params.push(value);
    return placeholder(params.length);
  };
  if (query.jobId !== undefined) conditions.push(`job_id = ${param(query.jobId)}`);
  if (query.states !== undefined) {
    if (query.states.length === 0) conditions.push("1 = 0");
    else conditions.push(`state IN (${query.states.map((s) => param(s)).join(", ")})`);
  }
  if (query.from !== undefined) conditions.push(`scheduled_at >= ${param(query.from)}`);
  if (query.to !== undefined) conditions.push(`scheduled_at < ${param(query.to)}`);
  const where = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")} ` : "";
  const limit = historyLimit(query.limit);
  return {
    sql: `${where}ORDER BY scheduled_at DESC, run_id DESC LIMIT ${param(limit)}`,
    params,
  };
}

/** The effective history limit: a non-negative integer, {@link HISTORY_DEFAULT_LIMIT} if unset. */
export function historyLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return HISTORY_DEFAULT_LIMIT;
  return Math.max(0, Math.floor(limit));
}

/** Renders the n-th (1-based) parameter; `?` for SQLite and MySQL, `$n` for PostgreSQL. */
export type Placeholder = (n: number) => string;

const questionMark: Placeholder = () => "?";

/** Columns of the runs table, in the order of {@link runValues}. */
export const RUN_COLUMNS = [
  "run_id",
  "job_id",
  "scheduled_at",
  "trigger_kind",
  "state",
  "attempt",
  "token",
  "replica_id",
  "claimed_at",
  "started_at",
  "finished_at",
  "lease_expires_at",
  "error",
] as const;

/** {@link RUN_COLUMNS} as a column list for SQL text. */
export const RUN_COLUMN_LIST = RUN_COLUMNS.join(", ");

/** Values of `run` in {@link RUN_COLUMNS} order. */
export function runValues(run: RunRecord): (string | number | null)[] {
  return [
    run.runId,
    run.jobId,
    run.scheduledAt,
    run.trigger,
    run.state,
    run.attempt,
    run.token,
    run.replicaId,
    run.claimedAt,
    run.startedAt,
    run.finishedAt,
    run.leaseExpiresAt,
    run.error,
  ];
}

/** `INSERT INTO <table> (<RUN_COLUMNS>) VALUES (…)`, parameters from {@link runValues}. */
export function runInsertSql(table: string, placeholder: Placeholder = questionMark): string {
  const values = RUN_COLUMNS.map((_, i) => placeholder(i + 1)).join(", ");
  return `INSERT INTO ${table} (${RUN_COLUMNS.join(", ")}) VALUES (${values})`;
}

/**
 * A fenced write of a whole run row: `UPDATE <table> SET … WHERE run_id = ? AND token = ?`,
 * parameters from {@link runUpdateValues}. It changes nothing when another step replaced the
 * token since the row was read.
 */
export function runUpdateSql(table: string, placeholder: Placeholder = questionMark): string {
  const set = RUN_COLUMNS.slice(2).map((column, i) => `${column} = ${placeholder(i + 1)}`);
  const n = set.length;
  return `UPDATE ${table} SET ${set.join(", ")} WHERE run_id = ${placeholder(n + 1)} AND token = ${placeholder(n + 2)}`;
}

/** Parameters of {@link runUpdateSql}: the new row, then its id and the token read before. */
export function runUpdateValues(after: RunRecord, tokenBefore: number): (string | number | null)[] {
  const [runId, , ...rest] = runValues(after);
  return [...rest, runId ?? null, tokenBefore];
}

/** Columns of the jobs table, in the order of {@link jobValues}. */
export const JOB_COLUMNS = [
  "job_id",
  "hash",
  "definition",
  "anchor",
  "overlap",
  "on_abandoned",
  "max_attempts",
  "max_runs",
  "watermark",
  "paused",
  "run_count",
  "version",
  "created_at",
  "updated_at",
] as const;

/** Values of a new job row (version 1, no watermark, not paused) in {@link JOB_COLUMNS} order. */
export function jobValues(registration: JobRegistration, now: number): (string | number | null)[] {
  const r = registration;
  return [
    ...[r.jobId, r.hash, r.definition, r.anchor, r.overlap, r.onAbandoned, r.maxAttempts],
    ...[r.maxRuns, null, 0, 0, 1, now, now],
  ];
}

/** `INSERT INTO <table> (<JOB_COLUMNS>) VALUES (…)`, parameters from {@link jobValues}. */
export function jobInsertSql(table: string, placeholder: Placeholder = questionMark): string {
  const values = JOB_COLUMNS.map((_, i) => placeholder(i + 1)).join(", ");
  return `INSERT INTO ${table} (${JOB_COLUMNS.join(", ")}) VALUES (${values})`;
}

/**
 * Replaces a job's definition, keeping watermark, run count and pause:
 * parameters from {@link jobUpdateValues}.
 */
export function jobUpdateSql(table: string, placeholder: Placeholder = questionMark): string {
  const set = ["hash", "definition", "anchor", "overlap", "on_abandoned", "max_attempts"]
    .concat(["max_runs", "updated_at"])
    .map((column, i) => `${column} = ${placeholder(i + 1)}`);
  return `UPDATE ${table} SET ${set.join(", ")}, version = version + 1 WHERE job_id = ${placeholder(9)}`;
}

/** Parameters of {@link jobUpdateSql}. */
export function jobUpdateValues(
  registration: JobRegistration,
  now: number,
): (string | number | null)[] {
  const r = registration;
  return [
    r.hash,
    r.definition,
    r.anchor,
    r.overlap,
    r.onAbandoned,
    r.maxAttempts,
    r.maxRuns,
    now,
    r.jobId,
  ];
}
