import type { Clock } from "../../clock.js";
import { BelfryError, wrapError } from "../../errors.js";
import { ACTIVE_STATES_SQL, TERMINAL_STATES } from "../../protocol/vocabulary.js";
import { parseJobRow, parseRunRow, type RawRow } from "../rows.js";
import { MIGRATIONS } from "../sql/migrations.js";
import {
  jobInsertSql,
  jobUpdateSql,
  ledgerDdl,
  renderSql,
  runInsertSql,
  runUpdateSql,
} from "../sql/shared.js";
import type { JobRecord, RunRecord } from "../store.js";
import { openSqliteDriver, type SqliteDriver, type SqliteStatement } from "./driver.js";

/**
 * The SQLite connection of `SqliteStore`: opening the file (driver in `driver.ts`), migrations,
 * transactions, the prepared statements and typed row reads. What the store does with them lives
 * in `claim.ts`, `runs.ts` and `recovery.ts`. Table names come from a validated prefix only.
 */

/** What {@link SqliteConnection.open} needs. */
export interface SqliteConnectionOptions {
  readonly path: string;
  readonly prefix: string;
  readonly busyTimeoutMs: number;
  readonly clock: Clock;
  /** Names the store in every error, e.g. `SqliteStore("/var/lib/app.db")`. */
  readonly where: string;
}

/**
 * One open, migrated SQLite connection of `SqliteStore`: transactions, prepared statements and
 * typed row reads. Everything here is synchronous (node:sqlite or better-sqlite3), so one
 * transaction never interleaves with another in this process, and `BEGIN IMMEDIATE` serialises
 * it with other processes.
 */
export class SqliteConnection {
  private constructor(
    private readonly db: SqliteDriver,
    /** The prepared statements. */
    readonly sql: SqliteStatements,
    private readonly options: SqliteConnectionOptions,
  ) {}

  /**
   * Opens the file (WAL, busy timeout), applies migrations and prepares statements.
   * @throws BelfryError `STORE_CONNECT` or `MIGRATION`.
   */
  static open(options: SqliteConnectionOptions): SqliteConnection {
    const db = openSqlite(options.path, options.busyTimeoutMs, options.where);
    try {
      migrateSqlite(db, options.prefix, () => options.clock.now(), options.where);
      return new SqliteConnection(db, prepareStatements(db, options.prefix), options);
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
   * @throws BelfryError `STORE_ERROR` (or the `BelfryError` `fn` threw, e.g. `CORRUPT_ROW`).
   */
  write<T>(operation: string, fn: (now: number) => T): T {
    try {
      return this.db.immediate(() => fn(this.options.clock.now()));
    } catch (error) {
      throw wrapError("STORE_ERROR", `${this.options.where}.${operation}`, error);
    }
  }

  /** Runs reads in one deferred transaction (a consistent snapshot). */
  read<T>(operation: string, fn: () => T): T {
    try {
      return this.db.deferred(fn);
    } catch (error) {
      throw wrapError("STORE_ERROR", `${this.options.where}.${operation}`, error);
    }
  }

  /** Runs an ad-hoc query (history filters) and returns its rows. */
  all(text: string, params: readonly unknown[]): RawRow[] {
    return this.db.prepare(text).all(...params) as RawRow[];
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
 * Opens `path` in WAL mode with a busy timeout, so several processes on one host can share the
 * file and wait for each other's `BEGIN IMMEDIATE` instead of failing.
 * @throws BelfryError `STORE_CONNECT` naming the path when the file cannot be opened.
 */
function openSqlite(path: string, busyTimeoutMs: number, where: string): SqliteDriver {
  try {
    return openSqliteDriver(path, busyTimeoutMs);
  } catch (error) {
    if (error instanceof BelfryError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new BelfryError(
      "STORE_CONNECT",
      `${where}: cannot open SQLite database ${JSON.stringify(path)}: ${detail}`,
      { cause: error },
    );
  }
}

/**
 * Applies the bundled SQLite migrations not yet in the ledger, each inside `BEGIN IMMEDIATE`
 * together with its ledger row, so N processes starting at once migrate exactly once.
 * @throws BelfryError `MIGRATION` naming the migration that failed.
 */
function migrateSqlite(db: SqliteDriver, prefix: string, now: () => number, where: string): void {
  const ledger = `${prefix}migrations`;
  for (const migration of MIGRATIONS.sqlite ?? []) {
    try {
      db.immediate(() => {
        db.exec(ledgerDdl(prefix, where));
        const done = db.prepare(`SELECT 1 FROM ${ledger} WHERE version = ?`).get(migration.version);
        if (done) return;
        db.exec(renderSql(migration.sql, prefix, where));
        db.prepare(`INSERT INTO ${ledger} (version, name, applied_at) VALUES (?, ?, ?)`).run(
          migration.version,
          migration.name,
          now(),
        );
      });
    } catch (error) {
      throw wrapError("MIGRATION", `${where}: migration ${migration.name}`, error);
    }
  }
}

/** Every statement the store runs, prepared once after migrating. */
function prepareStatements(
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
    jobList: sql(`SELECT * FROM ${jobs} ORDER BY job_id`),
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
export type SqliteStatements = Record<StatementName, SqliteStatement>;
