import { existsSync } from "node:fs";
import type { Clock } from "../../clock.js";
import { BelfryError, wrapError } from "../../errors.js";
import { ACTIVE_STATES_SQL, TERMINAL_STATES } from "../../protocol/vocabulary.js";
import { parseJobRow, parseRunRow, type RawRow } from "../shared/rows.js";
import { jobInsertSql, jobUpdateSql, runInsertSql, runUpdateSql } from "../sql/shared.js";
import type { JobRecord, RunRecord } from "../store.js";
import { BusyLane, SYNC_BUSY_WAIT_MS } from "./busy.js";
import { openSqliteDriver, type SqliteDriver, type SqliteStatement } from "./driver.js";
import { assertMigrated, schemaMissing } from "../shared/schema.js";
import { MIGRATIONS } from "../sql/migrations.js";
import { migrateSqlite, readLedger, type SqliteLanes } from "./migrate.js";
import { prepareScheduleStatements, type ScheduleStatementName } from "./schedule-statements.js";

/**
 * The SQLite connection of `SqliteStore`: opening the file (driver in `driver.ts`, migrations in
 * `migrate.ts`), transactions retried on a busy file (`busy.ts`), the prepared statements and
 * typed row reads. What the store does with them lives in `claim.ts`, `runs.ts`,
 * `recovery.ts` and `schedules.ts`. Table names come from a validated prefix only.
 */

/** What {@link SqliteConnection.open} needs. */
export interface SqliteConnectionOptions {
  readonly path: string;
  readonly prefix: string;
  /** How long one step may wait in total for another process's lock, ms (asynchronously). */
  readonly busyTimeoutMs: number;
  readonly clock: Clock;
  /** Names the store in every error, e.g. `SqliteStore("/var/lib/app.db")`. */
  readonly where: string;
  /** Migrate (default), or only check the schema, creating no file and writing nothing. */
  readonly autoMigrate?: boolean;
}

/**
 * One open, migrated SQLite connection of `SqliteStore`: transactions, prepared statements and
 * typed row reads. Each transaction is synchronous from `BEGIN` to `COMMIT` (node:sqlite or
 * better-sqlite3), so it never interleaves with another in this process nor holds the lock
 * across an await, and `BEGIN IMMEDIATE` serialises it with other processes. A transaction that
 * finds the file locked is run again later, asynchronously, never by blocking the event loop.
 */
export class SqliteConnection {
  private constructor(
    private readonly db: SqliteDriver,
    /** The prepared statements. */
    readonly sql: SqliteStatements,
    private readonly lanes: SqliteLanes,
    private readonly options: SqliteConnectionOptions,
  ) {}

  /**
   * Opens the file (WAL, a busy wait of a few ms), applies migrations and prepares statements,
   * retrying each step on a busy file until `busyTimeoutMs`.
   * @throws BelfryError `STORE_CONNECT` or `MIGRATION`.
   */
  static async open(options: SqliteConnectionOptions): Promise<SqliteConnection> {
    const { clock, busyTimeoutMs, where, prefix } = options;
    const checkOnly = options.autoMigrate === false;
    const lanes = {
      reads: new BusyLane(clock, busyTimeoutMs),
      writes: new BusyLane(clock, busyTimeoutMs),
    };
    if (checkOnly && options.path !== ":memory:" && !existsSync(options.path)) {
      throw schemaMissing(where, "the file", "does not exist");
    }
    const db = openSqlite(options.path, where);
    try {
      if (checkOnly) {
        const ledger = await connecting(
          where,
          lanes.reads.run(() => readLedger(db, `${prefix}migrations`)),
        );
        assertMigrated(where, `tables ${prefix}*`, ledger, MIGRATIONS.sqlite ?? []);
      } else {
        await connecting(
          where,
          lanes.writes.run(() => db.exec("PRAGMA journal_mode = WAL")),
        );
        await migrateSqlite(db, lanes, prefix, () => clock.now(), where);
      }
      const sql = await connecting(
        where,
        lanes.reads.run(() => prepareStatements(db, prefix)),
      );
      return new SqliteConnection(db, sql, lanes, options);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Closes the database handle. */
  close(): void {
    this.db.close();
  }

  /**
   * Runs `fn` inside `BEGIN IMMEDIATE … COMMIT`, with store now read once the write lock is held.
   * `fn` must be synchronous. While another process holds the lock, the whole transaction is
   * tried again with backoff until `busyTimeoutMs`; later writes of this connection queue behind.
   * @throws BelfryError `STORE_ERROR` (or the `BelfryError` `fn` threw, e.g. `CORRUPT_ROW`).
   */
  async write<T>(operation: string, fn: (now: number) => T): Promise<T> {
    const transaction = () => this.db.immediate(() => fn(this.options.clock.now()));
    return this.lanes.writes
      .run(transaction)
      .catch((error: unknown) => this.fail(operation, error));
  }

  /** Runs synchronous reads in one deferred transaction (a consistent snapshot). */
  async read<T>(operation: string, fn: () => T): Promise<T> {
    const transaction = () => this.db.deferred(fn);
    return this.lanes.reads.run(transaction).catch((error: unknown) => this.fail(operation, error));
  }

  /** The prepared (and cached) statement for `text`, for `run.transaction`'s handle. */
  statement(text: string): SqliteStatement {
    return this.db.prepare(text);
  }

  /** Runs an ad-hoc query (history filters) and returns its rows. */
  all(text: string, params: readonly unknown[]): RawRow[] {
    return this.db.prepare(text).all(...params) as RawRow[];
  }

  private fail(operation: string, error: unknown): never {
    throw wrapError("STORE_ERROR", `${this.options.where}.${operation}`, error);
  }

  /** A table's name in SQL text (the validated prefix and `name`), for ad-hoc queries. */
  tableName(name: string): string {
    return `${this.options.prefix}${name}`;
  }

  /** Names a table for error messages: `SqliteStore("…") table belfry_jobs`. */
  table(name: string): string {
    return `${this.options.where} table ${this.options.prefix}${name}`;
  }

  /** The job row, or null. @throws `CORRUPT_ROW`. */
  readJob(jobId: string): JobRecord | null {
    const row = this.sql.jobGet.get(jobId) as RawRow | undefined;
    return row ? parseJobRow(row, this.table("jobs")) : null;
  }

  /** The run row, or null. @throws `CORRUPT_ROW`. */
  readRun(runId: string): RunRecord | null {
    const row = this.sql.runGet.get(runId) as RawRow | undefined;
    return row ? this.parseRun(row) : null;
  }

  /** Parses a runs row. @throws `CORRUPT_ROW`. */
  parseRun(row: RawRow): RunRecord {
    return parseRunRow(row, this.table("runs"));
  }

  /** True when the job has a `claimed`/`running` run whose lease has not expired at `now`. */
  hasActiveRun(jobId: string, now: number): boolean {
    return this.sql.runHasActive.get(jobId, now) !== undefined;
  }

  /** The job's oldest `queued` run, or null. */
  firstQueued(jobId: string): RunRecord | null {
    const row = this.sql.runFirstQueued.get(jobId) as RawRow | undefined;
    return row ? this.parseRun(row) : null;
  }
}

/**
 * Opens `path` with a synchronous busy wait of a few ms only ({@link SYNC_BUSY_WAIT_MS}).
 * @throws BelfryError `STORE_CONNECT` naming the path when the file cannot be opened.
 */
function openSqlite(path: string, where: string): SqliteDriver {
  try {
    return openSqliteDriver(path, SYNC_BUSY_WAIT_MS);
  } catch (error) {
    throw connectError(path, where, error);
  }
}

/** Awaits one step of opening the file. @throws BelfryError `STORE_CONNECT`. */
async function connecting<T>(where: string, step: Promise<T>): Promise<T> {
  try {
    return await step;
  } catch (error) {
    throw connectError(null, where, error);
  }
}

function connectError(path: string | null, where: string, error: unknown): BelfryError {
  if (error instanceof BelfryError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  const file = path === null ? "" : ` ${JSON.stringify(path)}`;
  const message = `${where}: cannot open SQLite database${file}: ${detail}`;
  return new BelfryError("STORE_CONNECT", message, { cause: error });
}

/**
 * `listJobs`: the code-defined jobs only, a range of the index jobs_task (task, job_id) of
 * migration 0003 (exported for the query-plan test).
 */
export function jobListSql(jobs: string): string {
  return `SELECT * FROM ${jobs} WHERE task IS NULL ORDER BY job_id`;
}

/** Every statement the store runs, prepared once after migrating. */
function prepareStatements(db: SqliteDriver, prefix: string): SqliteStatements {
  return { ...prepareCoreStatements(db, prefix), ...prepareScheduleStatements(db, prefix) };
}

/** The statements of jobs, runs, replicas and warnings. */
function prepareCoreStatements(
  db: SqliteDriver,
  prefix: string,
): Record<StatementName, SqliteStatement> {
  const jobs = `${prefix}jobs`;
  const runs = `${prefix}runs`;
  const active = `state IN ${ACTIVE_STATES_SQL}`;
  const terminal = TERMINAL_STATES.map((state) => `'${state}'`).join(", ");
  const sql = (text: string): SqliteStatement => db.prepare(text);
  return {
    jobGet: sql(`SELECT * FROM ${jobs} WHERE job_id = ?`),
    jobList: sql(jobListSql(jobs)),
    jobInsert: sql(jobInsertSql(jobs)),
    jobUpdate: sql(jobUpdateSql(jobs)),
    jobPause: sql(`UPDATE ${jobs} SET paused = ?, updated_at = ? WHERE job_id = ?`),
    jobAdvance: sql(`UPDATE ${jobs} SET watermark = ?, run_count = run_count + ? WHERE job_id = ?`),
    runGet: sql(`SELECT * FROM ${runs} WHERE run_id = ?`),
    runInsert: sql(runInsertSql(runs)),
    runInsertIgnore: sql(runInsertSql(runs).replace(/^INSERT/, "INSERT OR IGNORE")),
    runUpdate: sql(runUpdateSql(runs)),
    runHasActive: sql(
      `SELECT 1 FROM ${runs} WHERE job_id = ? AND ${active} AND lease_expires_at > ? LIMIT 1`,
    ),
    runFirstQueued: sql(
      `SELECT * FROM ${runs} WHERE job_id = ? AND state = 'queued' ORDER BY scheduled_at LIMIT 1`,
    ),
    runExpired: sql(
      `SELECT * FROM ${runs} WHERE ${active} AND lease_expires_at <= ? ORDER BY lease_expires_at, run_id LIMIT ?`,
    ),
    runQueued: sql(
      `SELECT * FROM ${runs} WHERE state = 'queued' ORDER BY scheduled_at, run_id LIMIT ?`,
    ),
    runLastManual: sql(
      `SELECT MAX(scheduled_at) AS at FROM ${runs} WHERE job_id = ? AND trigger_kind = 'manual' AND scheduled_at >= ?`,
    ),
    runPrune: sql(`DELETE FROM ${runs} WHERE scheduled_at < ? AND state IN (${terminal})`),
    replicaUpsert: sql(
      `INSERT INTO ${prefix}replicas (replica_id, host, pid, started_at, clock_offset_ms, last_seen_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (replica_id) DO UPDATE SET host = excluded.host,
       pid = excluded.pid, started_at = excluded.started_at,
       clock_offset_ms = excluded.clock_offset_ms, last_seen_at = excluded.last_seen_at`,
    ),
    replicaList: sql(`SELECT * FROM ${prefix}replicas WHERE last_seen_at >= ? ORDER BY replica_id`),
    warningInsert: sql(
      `INSERT INTO ${prefix}warnings (at, replica_id, kind, message) VALUES (?, ?, ?, ?)`,
    ),
    warningList: sql(`SELECT * FROM ${prefix}warnings ORDER BY at DESC, id DESC LIMIT ?`),
  };
}

/** Names of the prepared statements. */
type StatementName =
  | "jobGet"
  | "jobList"
  | "jobInsert"
  | "jobUpdate"
  | "jobPause"
  | "jobAdvance"
  | "runGet"
  | "runInsert"
  | "runInsertIgnore"
  | "runUpdate"
  | "runHasActive"
  | "runFirstQueued"
  | "runExpired"
  | "runQueued"
  | "runLastManual"
  | "runPrune"
  | "replicaUpsert"
  | "replicaList"
  | "warningInsert"
  | "warningList";

/** The prepared statements of one store. */
export type SqliteStatements = Record<StatementName | ScheduleStatementName, SqliteStatement>;
