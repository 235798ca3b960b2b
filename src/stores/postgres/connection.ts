import { createHash } from "node:crypto";
import { BelfryError, wrapError } from "../../errors.js";
import { MIGRATIONS } from "../sql/migrations.js";
import type { RawRow } from "../rows.js";
import type { SqlTables } from "../sql/shared.js";

/**
 * The PostgreSQL plumbing under `PostgresStore`: the structural driver types (so the core never
 * imports `pg`), qualified table names, error mapping, transactions and migrations.
 */

/** What the store needs of a query result (`pg.QueryResult` fits). */
export interface PgResultLike {
  readonly rows: RawRow[];
  readonly rowCount: number | null;
}

/** A checked-out connection (`pg.PoolClient` fits). */
export interface PgClientLike {
  query(text: string, values?: unknown[]): Promise<PgResultLike>;
  release(error?: Error | boolean): void;
  on(event: "error", listener: (error: Error) => void): unknown;
  removeListener(event: "error", listener: (error: Error) => void): unknown;
}

/** A connection pool (`pg.Pool` fits). The store adds an `error` listener while it uses it. */
export interface PgPoolLike {
  query(text: string, values?: unknown[]): Promise<PgResultLike>;
  connect(): Promise<PgClientLike>;
  end(): Promise<void>;
  on(event: "error", listener: (error: Error) => void): unknown;
  removeListener(event: "error", listener: (error: Error) => void): unknown;
  /** `pg.Pool` exposes its settings here; used only to name the server in error messages. */
  readonly options?: {
    readonly host?: string;
    readonly port?: number;
    readonly database?: string;
    readonly connectionString?: string;
  };
}

/** Schema-qualified table names. */
export type PgTables = SqlTables;

/** The server clock as epoch ms. `clock_timestamp()` (not `now()`) so that it is read when evaluated. */
export const PG_NOW = "floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/** SQLSTATEs after which the whole statement or transaction was rolled back and may run again. */
const RETRYABLE = new Set(["40P01", "40001"]);
const ATTEMPTS = 5;

/** A runner for one statement or one transaction on a dedicated connection. */
export type PgQuery = (text: string, values?: unknown[]) => Promise<RawRow[]>;

/** Queries with error mapping (`STORE_ERROR`, cause kept) and retry of deadlocked statements. */
export class PgDb {
  constructor(
    readonly pool: PgPoolLike,
    readonly tables: PgTables,
    readonly where: string,
  ) {}

  /** Runs one statement (atomic on its own) and returns its rows. */
  async rows(op: string, text: string, values: unknown[] = []): Promise<RawRow[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.pool.query(text, values)).rows;
      } catch (error) {
        if (attempt < ATTEMPTS && isRetryable(error)) continue;
        throw wrapError("STORE_ERROR", `${this.where}.${op}`, error);
      }
    }
  }

  /** Runs `body` in one READ COMMITTED transaction on one connection, retried on deadlock. */
  async transaction<T>(op: string, body: (query: PgQuery) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(body);
      } catch (error) {
        if (attempt < ATTEMPTS && isRetryable(error)) continue;
        throw wrapError("STORE_ERROR", `${this.where}.${op}`, error);
      }
    }
  }

  private async once<T>(body: (query: PgQuery) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A connection dropped between statements emits `error` on the client; without a listener
    // that would crash the process. The failure surfaces through the next query instead.
    const ignore = () => undefined;
    client.on("error", ignore);
    let broken: Error | undefined;
    try {
      await client.query("BEGIN ISOLATION LEVEL READ COMMITTED");
      const result = await body(async (text, values) => (await client.query(text, values)).rows);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw error;
    } finally {
      client.removeListener("error", ignore);
      client.release(broken);
    }
  }
}

function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && RETRYABLE.has(code);
}

/** `host:port/database` of the configured server, never the user's password. */
export function describeTarget(pool: PgPoolLike | undefined, connectionString?: string): string {
  const url = connectionString ?? pool?.options?.connectionString;
  if (url) {
    try {
      const parsed = new URL(url);
      const db = decodeURIComponent(parsed.pathname.replace(/^\//, "")) || "(default database)";
      return `${parsed.hostname || "localhost"}:${parsed.port || "5432"}/${db}`;
    } catch {
      return "the server in the connection string (unparsable URL)";
    }
  }
  const o = pool?.options;
  if (o?.host || o?.database) {
    return `${o.host ?? "localhost"}:${o.port ?? 5432}/${o.database ?? "(default database)"}`;
  }
  return "the server configured by the PG* environment variables";
}

/** Wraps a failure to reach the server at `init()`. */
export function connectError(where: string, target: string, cause: unknown): BelfryError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new BelfryError(
    "STORE_CONNECT",
    `${where}: cannot connect to PostgreSQL at ${target}: ${detail}; check that the server is running and that the host, port, database, user and password are right`,
    { cause },
  );
}

/**
 * Applies the bundled `postgres` migrations that the ledger does not list, all in one
 * transaction under a transaction-level advisory lock keyed on schema and prefix, so that N
 * replicas starting at once migrate once and the others wait, then find nothing to do.
 */
export async function migrate(db: PgDb, schema: string, prefix: string): Promise<void> {
  const key = advisoryKey(`${schema}.${prefix}`);
  try {
    await db.transaction("init", async (query) => {
      await query("SELECT pg_advisory_xact_lock($1::bigint)", [key]);
      const found = await query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
      if (found.length === 0) await query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await query(
        `CREATE TABLE IF NOT EXISTS ${db.tables.migrations} (version INTEGER PRIMARY KEY, ` +
          "name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
      );
      const applied = new Set(
        (await query(`SELECT version FROM ${db.tables.migrations}`)).map((r) => Number(r.version)),
      );
      for (const migration of MIGRATIONS.postgres ?? []) {
        if (applied.has(migration.version)) continue;
        await query(
          migration.sql.replaceAll("{{schema}}", schema).replaceAll("{{prefix}}", prefix),
        );
        await query(
          `INSERT INTO ${db.tables.migrations} (version, name, applied_at) VALUES ($1, $2, ${PG_NOW})`,
          [migration.version, migration.name],
        );
      }
    });
  } catch (error) {
    const cause = error instanceof BelfryError && error.cause ? error.cause : error;
    throw wrapError("MIGRATION", `${db.where}.init: migrating ${schema}.${prefix}*`, cause);
  }
}

/**
 * Server settings that can lose committed claims (so an occurrence could run twice after a
 * crash) or make the store's statements fail; reported as `settingsWarnings`.
 */
export async function checkSettings(db: PgDb): Promise<string[]> {
  const [row] = await db.rows(
    "init",
    "SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sync, " +
      "current_setting('default_transaction_isolation') AS isolation",
  );
  const warnings: string[] = [];
  if (row?.fsync === "off") {
    warnings.push("PostgreSQL fsync is off: a server crash can lose or corrupt committed claims");
  }
  if (row?.sync === "off") {
    warnings.push(
      "PostgreSQL synchronous_commit is off: a server crash can lose the last committed claims, and those occurrences can then run again; set synchronous_commit = on for belfry's connections",
    );
  }
  if (row?.isolation !== undefined && row.isolation !== "read committed") {
    warnings.push(
      `PostgreSQL default_transaction_isolation is ${String(row.isolation)}: belfry's claims are designed for read committed and will retry on serialization failures; set it to read committed for belfry's connections`,
    );
  }
  return warnings;
}

/** A stable signed 64-bit advisory-lock key (decimal string) for `name`. */
function advisoryKey(name: string): string {
  const digest = createHash("sha256").update(`belfry:migrate:${name}`).digest();
  return digest.readBigInt64BE(0).toString();
}
