import { userInfo } from "node:os";
import { importPeer } from "../shared/peer.js";
import { BelfryError, wrapError } from "../../errors.js";
import type { RawRow } from "../shared/rows.js";
import type { SqlTables } from "../sql/shared.js";

/**
 * The PostgreSQL plumbing under `PostgresStore`: the structural driver types (so the core never
 * imports `pg`), the store's own pool, qualified table names, the server clock, error mapping,
 * transactions and the server settings checked at `init` (migrations are in `migrate.ts`).
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
  /**
   * `pg.Pool` exposes its settings here: they name the server in error messages, and the
   * dedicated `LISTEN` connection of `onScheduleChange` connects with them.
   */
  readonly options?: PgPoolOptionsLike;
}

/** The settings a `pg.Pool` was built with (`pg.PoolConfig` fits). */
export interface PgPoolOptionsLike {
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  readonly connectionString?: string;
  readonly application_name?: string;
}

/** Settings of a `pg.Client` (`pg.ClientConfig` fits), passed on as they are. */
export type PgClientSettings = Readonly<Record<string, unknown>>;

/** The dedicated connection that `LISTEN`s for schedule changes (`pg.Client` fits). */
export interface PgListenClientLike {
  query(text: string): Promise<unknown>;
  end(): Promise<unknown>;
  on(event: "notification", listener: (message: { readonly channel: string }) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  on(event: "end", listener: () => void): unknown;
}

/** Schema-qualified table names. */
export type PgTables = SqlTables;

/** The server clock as epoch ms. `clock_timestamp()` (not `now()`) so that it is read when evaluated. */
export const PG_NOW = "floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/** Settings of the pool the store opens itself (see `PostgresStoreOptions`). */
export interface PgPoolSettings {
  readonly connectionString?: string;
  readonly maxConnections?: number;
  readonly connectTimeoutMs?: number;
  readonly applicationName?: string;
}

/** Opens a `pg.Pool`, loading `pg` (a peer dependency) only now. */
export async function openPool(settings: PgPoolSettings): Promise<PgPoolLike> {
  const pg = await importPeer("pg", () => import("pg"));
  const pool = new pg.default.Pool({
    connectionString: withDefaultUser(settings.connectionString),
    max: settings.maxConnections ?? 10,
    connectionTimeoutMillis: settings.connectTimeoutMs ?? 10_000,
    application_name: settings.applicationName ?? "belfry",
    // Keep connections across minute-scale gaps between occurrences: a claim on a fresh
    // connection pays the connection setup on the critical path (pg's default is 10 s).
    idleTimeoutMillis: 5 * 60_000,
    allowExitOnIdle: true,
  });
  // A server that terminates its connections (restart, kill -9, failover) sends an error to every
  // client; one that arrives on a client no listener watches at that moment (checked out, or
  // being discarded after a failed query) would be an uncaught `error` event that kills the
  // process. Every client of our own pool gets a permanent listener; the failure surfaces through
  // the next query instead. Idle clients still report through the pool's `error` event.
  pool.on("connect", (client) => client.on("error", ignoreClientError));
  return pool as unknown as PgPoolLike;
}

function ignoreClientError(): void {}

/**
 * The settings of the dedicated `LISTEN` connection: the store's own connection string, or the
 * settings of the pool passed in (a pool that exposes none gives null), with `:listen` added to
 * the application name so the connection is told apart in `pg_stat_activity`.
 */
export function listenSettings(
  options: PgPoolSettings & { readonly pool?: PgPoolLike },
): PgClientSettings | null {
  if (options.pool) {
    const pooled = options.pool.options;
    if (!pooled) return null;
    return { ...pooled, application_name: `${pooled.application_name ?? "belfry"}:listen` };
  }
  return {
    connectionString: withDefaultUser(options.connectionString),
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: `${options.applicationName ?? "belfry"}:listen`,
  };
}

/**
 * Opens one `pg.Client` outside any pool, for `LISTEN`: a pooled connection would be handed to
 * other queries between notifications, and the pool may close it when idle. TCP keep-alive
 * makes a silently dropped connection fail (and be reopened) instead of waiting forever.
 */
export async function openListenClient(settings: PgClientSettings): Promise<PgListenClientLike> {
  const pg = await importPeer("pg", () => import("pg"));
  const client = new pg.default.Client({ ...settings, keepAlive: true });
  // As for pooled clients: an `error` event nobody listens to would kill the process.
  client.on("error", ignoreClientError);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(ignoreClientError);
    throw error;
  }
  return client as unknown as PgListenClientLike;
}

/**
 * The connection string with libpq's default user filled in when it names none: `PGUSER`, else
 * the OS user, as `psql` does (`pg` falls back to `$USER` only, unset under cron or systemd, and
 * the server then refuses "no PostgreSQL user name specified in startup packet").
 */
export function withDefaultUser(connectionString: string | undefined): string | undefined {
  if (connectionString === undefined || process.env.PGUSER) return connectionString;
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    return connectionString;
  }
  if (url.username !== "" || url.searchParams.has("user") || url.hostname === "") {
    return connectionString;
  }
  url.username = encodeURIComponent(userInfo().username);
  return url.href;
}

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

/** The server clock (`PG_NOW`) in epoch ms. */
export async function serverNow(db: PgDb): Promise<number> {
  const [row] = await db.rows("now", `SELECT ${PG_NOW} AS now_ms`);
  return Number(row?.now_ms);
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
