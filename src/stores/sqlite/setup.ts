import { ACTIVE_STATES_SQL, TERMINAL_STATES } from "../../protocol/vocabulary.js";
import { BelfryError, wrapError } from "../../errors.js";
import { MIGRATIONS } from "../sql/migrations.js";
import {
  jobInsertSql,
  jobUpdateSql,
  ledgerDdl,
  renderSql,
  runInsertSql,
  runUpdateSql,
} from "../sql/shared.js";
import { openSqliteDriver, type SqliteDriver, type SqliteStatement } from "./driver.js";

/**
 * Opening, migrating and the prepared statements of `SqliteStore` (`sqlite.ts`), kept apart
 * from the store's methods. Table names come from a validated prefix only.
 */

/** An open SQLite connection (node:sqlite or better-sqlite3, see `driver.ts`). */
export type SqliteDatabase = SqliteDriver;

/**
 * Opens `path` in WAL mode with a busy timeout, so several processes on one host can share the
 * file and wait for each other's `BEGIN IMMEDIATE` instead of failing.
 * @throws BelfryError `STORE_CONNECT` naming the path when the file cannot be opened.
 */
export function openSqlite(path: string, busyTimeoutMs: number, where: string): SqliteDatabase {
  try {
    return openSqliteDriver(path, busyTimeoutMs);
  } catch (error) {
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
export function migrateSqlite(
  db: SqliteDatabase,
  prefix: string,
  now: () => number,
  where: string,
): void {
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

export type { SqliteStatement };

/** Every statement the store runs, prepared once after migrating. */
export function prepareStatements(
  db: SqliteDatabase,
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
