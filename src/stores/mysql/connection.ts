import { createHash } from "node:crypto";
import { importPeer } from "../shared/peer.js";
import { BelfryError, wrapError } from "../../errors.js";
import { MIGRATIONS } from "../sql/migrations.js";
import { parseEpochOrNull, type RawRow } from "../shared/rows.js";
import { ledgerDdl, renderSql, splitSqlStatements, type SqlTables } from "../sql/shared.js";

/**
 * The MySQL / MariaDB plumbing under `MysqlStore`: structural driver types (so the core never
 * imports `mysql2`), the store's own pool, error mapping, READ COMMITTED transactions retried on
 * deadlock, the settings check and migrations under `GET_LOCK`.
 */

/** A pooled connection (`mysql2/promise` `PoolConnection` fits). */
export interface MysqlConnectionLike {
  query(sql: string, values?: unknown): Promise<[unknown, unknown]>;
  release(): void;
  destroy(): void;
  /**
   * The driver's connection under this handle (mysql2 wraps it anew on each `getConnection`):
   * identifies the server session. Without it the handle itself does.
   */
  readonly connection?: object;
}

/** A connection pool (`mysql2/promise` `Pool` fits). */
export interface MysqlPoolLike {
  query(sql: string, values?: unknown): Promise<[unknown, unknown]>;
  getConnection(): Promise<MysqlConnectionLike>;
  end(): Promise<void>;
  /** mysql2 keeps its settings under `pool.config`; read only to name the server in errors. */
  readonly pool?: unknown;
}

/** Table names with the prefix applied. */
export type MysqlTables = SqlTables;

/**
 * The server clock as integer epoch ms, independent of the session time zone (UNIX_TIMESTAMP of
 * a local time is ambiguous in a DST overlap) and never a DECIMAL.
 */
export const MY_NOW =
  "CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000 AS SIGNED)";

/** Set once per server session, before the store's first statement on it. */
const SESSION_ISOLATION = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";

/** Deadlock, lock wait timeout: the transaction was rolled back and may run again. */
const RETRYABLE = new Set([1213, 1205]);
const ATTEMPTS = 6;

/**
 * Duplicate column name, duplicate key name: a migration statement that adds a column or an
 * index the table already has (MySQL 8 has no `ADD COLUMN IF NOT EXISTS`) already ran.
 */
const ALREADY_DONE = new Set([1060, 1061]);

/** Runs one statement; returns the rows of a SELECT or the result header of a write. */
export type MysqlQuery = (sql: string, values?: unknown) => Promise<RawRow[]>;

/** Options of the pool a store opens for itself. */
export interface OwnPoolOptions {
  readonly uri?: string;
  readonly maxConnections?: number;
  readonly connectTimeoutMs?: number;
}

/**
 * Opens a `mysql2/promise` pool (imported on demand: `mysql2` is an optional peer), with
 * `supportBigNumbers` so that 64-bit values outside the safe range are never rounded.
 */
export async function openPool(options: OwnPoolOptions, where: string): Promise<MysqlPoolLike> {
  const mysql = await importPeer("mysql2", () => import("mysql2/promise"));
  try {
    return mysql.createPool({
      uri: options.uri,
      connectionLimit: options.maxConnections ?? 10,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      supportBigNumbers: true,
      enableKeepAlive: true,
    }) as unknown as MysqlPoolLike;
  } catch (error) {
    // mysql2 reads the URL's parameters here: `?ssl=bogus` throws "Unknown SSL profile".
    const detail = error instanceof Error ? error.message : String(error);
    throw new BelfryError("INVALID_STORE_URL", `${where}: the URI is not usable: ${detail}`, {
      cause: error,
    });
  }
}

/** Store now as epoch ms, read with `query` (inside a transaction, or alone). */
export async function readNow(db: MysqlDb, query: MysqlQuery): Promise<number> {
  const [row] = await query(`SELECT ${MY_NOW} AS now_ms`);
  return parseEpochOrNull(row?.now_ms, "now_ms", db.where) ?? 0;
}

/** Rows changed (matched) by a write, from mysql2's result header. */
export function affected(result: unknown): number {
  const n = (result as { affectedRows?: unknown } | null)?.affectedRows;
  return typeof n === "number" ? n : 0;
}

/**
 * Queries with error mapping (`STORE_ERROR`, cause kept) and transactions. Every connection the
 * store takes is READ COMMITTED for its whole session (no gap locks; each read after a
 * `FOR UPDATE` sees every commit before it): set once, on the store's first use of the
 * connection, so that a transaction costs `START TRANSACTION` and `COMMIT` and nothing more.
 */
export class MysqlDb {
  /** Sessions (driver connections) already set to READ COMMITTED. */
  private readonly prepared = new WeakSet<object>();

  constructor(
    readonly pool: MysqlPoolLike,
    readonly tables: MysqlTables,
    readonly where: string,
  ) {}

  /** Runs one statement outside a transaction. */
  async run(op: string, sql: string, values: unknown[] = []): Promise<RawRow[]> {
    try {
      const conn = await this.connect();
      try {
        return (await conn.query(sql, values))[0] as RawRow[];
      } finally {
        conn.release();
      }
    } catch (error) {
      throw wrapError("STORE_ERROR", `${this.where}.${op}`, error);
    }
  }

  /**
   * Runs `body` in one transaction, retried from the start on deadlock or lock wait timeout,
   * and on the error codes in `alsoRetry`.
   */
  async transaction<T>(
    op: string,
    body: (query: MysqlQuery) => Promise<T>,
    alsoRetry: readonly number[] = [],
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(body);
      } catch (error) {
        const errno = (error as { errno?: unknown } | null)?.errno;
        const retry =
          typeof errno === "number" && (RETRYABLE.has(errno) || alsoRetry.includes(errno));
        if (attempt < ATTEMPTS && retry) continue;
        throw wrapError("STORE_ERROR", `${this.where}.${op}`, error);
      }
    }
  }

  /** A pooled connection whose session is READ COMMITTED (the caller releases it). */
  async connect(): Promise<MysqlConnectionLike> {
    const conn = await this.pool.getConnection();
    const session = conn.connection ?? conn;
    if (this.prepared.has(session)) return conn;
    try {
      await conn.query(SESSION_ISOLATION);
    } catch (error) {
      conn.destroy();
      throw error;
    }
    this.prepared.add(session);
    return conn;
  }

  private async once<T>(body: (query: MysqlQuery) => Promise<T>): Promise<T> {
    const conn = await this.connect();
    let broken = false;
    try {
      await conn.query("START TRANSACTION");
      const result = await body(
        async (sql, values) => (await conn.query(sql, values))[0] as RawRow[],
      );
      await conn.query("COMMIT");
      return result;
    } catch (error) {
      await conn.query("ROLLBACK").catch(() => (broken = true));
      throw error;
    } finally {
      if (broken) conn.destroy();
      else conn.release();
    }
  }
}

/** `host:port/database` of the configured server, never the password. */
export function describeTarget(pool: MysqlPoolLike | undefined, uri?: string): string {
  if (uri) {
    try {
      const parsed = new URL(uri);
      const db = decodeURIComponent(parsed.pathname.replace(/^\//, "")) || "(no database)";
      return `${parsed.hostname || "localhost"}:${parsed.port || "3306"}/${db}`;
    } catch {
      return "the server in the URI (unparsable URL)";
    }
  }
  type Settings = { host?: string; port?: number; database?: string };
  const config = (pool?.pool as { config?: { connectionConfig?: Settings } } | undefined)?.config;
  const c = config?.connectionConfig;
  if (c) return `${c.host ?? "localhost"}:${c.port ?? 3306}/${c.database ?? "(no database)"}`;
  return "the server of the given pool";
}

/** Wraps a failure to reach the server at `init()`. */
export function connectError(where: string, target: string, cause: unknown): BelfryError {
  const detail = cause instanceof Error ? cause.message || String(cause) : String(cause);
  const code = (cause as { code?: unknown } | null)?.code;
  return new BelfryError(
    "STORE_CONNECT",
    `${where}: cannot connect to MySQL/MariaDB at ${target}: ${detail}${typeof code === "string" ? ` (${code})` : ""}; check that the server is running and that the host, port, database, user and password are right`,
    { cause },
  );
}

/**
 * Server settings that can lose committed claims (so an occurrence could run twice after a
 * crash) or make the store's transactions fail; reported as `settingsWarnings`.
 */
export async function checkSettings(db: MysqlDb): Promise<string[]> {
  const [row] = await db.run(
    "init",
    "SELECT @@innodb_flush_log_at_trx_commit AS flush, @@binlog_format AS binlog, @@log_bin AS log_bin",
  );
  const warnings: string[] = [];
  if (row && Number(row.flush) !== 1) {
    warnings.push(
      `innodb_flush_log_at_trx_commit is ${String(row.flush)}: a server crash can lose about a second of committed claims, and those occurrences can then run again; set it to 1`,
    );
  }
  if (row && Number(row.log_bin) === 1 && String(row.binlog).toUpperCase() === "STATEMENT") {
    warnings.push(
      "binlog_format is STATEMENT: InnoDB refuses writes in READ COMMITTED transactions, which belfry uses; set binlog_format to ROW or MIXED",
    );
  }
  return warnings;
}

/**
 * The versions in the migration ledger, read without writing; null when the current database
 * has no ledger table for `prefix`.
 */
export async function appliedMigrations(db: MysqlDb): Promise<Set<number> | null> {
  const [found] = await db.run(
    "init",
    "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?",
    [db.tables.migrations],
  );
  if (Number(found?.n) === 0) return null;
  const rows = await db.run("init", `SELECT version FROM ${db.tables.migrations}`);
  return new Set(rows.map((r) => Number(r.version)));
}

/**
 * Applies the bundled `mysql` migrations the ledger does not list, holding `GET_LOCK` (named
 * after database and prefix) so that N replicas starting at once migrate once. MySQL commits
 * DDL implicitly, so each statement of a migration is idempotent (`IF NOT EXISTS`, or one
 * `ADD COLUMN` / `CREATE INDEX` per statement whose "already there" error counts as done) and
 * its ledger row is inserted right after it; a migration interrupted half-way is completed by
 * the next run.
 */
export async function migrate(
  conn: MysqlConnectionLike,
  tables: MysqlTables,
  prefix: string,
  where: string,
): Promise<void> {
  const query = async (sql: string, values?: unknown) =>
    (await conn.query(sql, values))[0] as RawRow[];
  let lockName = "";
  try {
    const [db] = await query("SELECT DATABASE() AS db");
    const digest = createHash("sha256")
      .update(`${String(db?.db)}.${prefix}`)
      .digest("hex");
    lockName = `belfry:${digest.slice(0, 40)}`;
    const [got] = await query("SELECT GET_LOCK(?, 120) AS got", [lockName]);
    if (Number(got?.got) !== 1) {
      lockName = "";
      throw new Error("timed out after 120 s waiting for the migration lock");
    }
    await query(ledgerDdl(prefix, where));
    const applied = new Set(
      (await query(`SELECT version FROM ${tables.migrations}`)).map((r) => Number(r.version)),
    );
    for (const migration of MIGRATIONS.mysql ?? []) {
      if (applied.has(migration.version)) continue;
      for (const statement of splitSqlStatements(renderSql(migration.sql, prefix, where))) {
        await query(statement).catch((error: unknown) => {
          if (!ALREADY_DONE.has((error as { errno?: unknown } | null)?.errno as number))
            throw error;
        });
      }
      await query(
        `INSERT INTO ${tables.migrations} (version, name, applied_at) VALUES (?, ?, ${MY_NOW})`,
        [migration.version, migration.name],
      );
    }
  } catch (error) {
    throw wrapError("MIGRATION", `${where}.init: migrating ${prefix}*`, error);
  } finally {
    if (lockName) await query("SELECT RELEASE_LOCK(?)", [lockName]).catch(() => undefined);
  }
}
