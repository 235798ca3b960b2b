import { ACTIVE_STATES_SQL, TERMINAL_STATES } from "../../protocol/vocabulary.js";
import { BelfryError } from "../../errors.js";
import { claimBatch } from "./claim.js";
import {
  PG_NOW,
  PgDb,
  connectError,
  describeTarget,
  checkSettings,
  migrate,
  type PgPoolLike,
  type PgTables,
} from "./connection.js";
import { recoverExpired } from "./recovery.js";
import * as lifecycle from "./runs.js";
import { parseJobRow, parseReplicaRow, parseRunRow, parseWarningRow } from "../rows.js";
import { assertPrefix, buildHistoryQuery, keepSettingsWarnings, sqlTables } from "../sql/shared.js";
import {
  type ClaimedRun,
  type ClaimRequest,
  type ClaimResult,
  type FinishResult,
  type HistoryQuery,
  type JobRecord,
  type JobRegistration,
  type Recovered,
  type RegisterResult,
  type ReplicaInfo,
  type ReplicaRecord,
  type RunOutcome,
  type RunRecord,
  type Store,
  type WarningRecord,
} from "../store.js";

export type { PgClientLike, PgPoolLike, PgResultLike } from "./connection.js";

/** Options for {@link PostgresStore}. Give `connectionString` or `pool`. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/database`; the store opens and closes its own pool. */
  readonly connectionString?: string;
  /** An existing `pg.Pool` (or look-alike); the store never ends it. */
  readonly pool?: PgPoolLike;
  /** Schema of the tables, created if missing (default `public`). */
  readonly schema?: string;
  /** Table-name prefix (default `belfry_`). */
  readonly tablePrefix?: string;
  /** Pool size when the store opens its own pool (default 10). */
  readonly maxConnections?: number;
  /** Connect timeout of the store's own pool, ms (default 10 000). */
  readonly connectTimeoutMs?: number;
  /** `application_name` of the store's own connections, shown in `pg_stat_activity` (default `belfry`). */
  readonly applicationName?: string;
  /** Called with errors of idle pooled connections (default: ignored; the next query reports). */
  readonly onPoolError?: (error: Error) => void;
}

const WHERE = "PostgresStore";

/**
 * A {@link Store} on PostgreSQL 13+. Each claim batch is one SQL statement (see
 * `postgres-claim.ts`); time is the server's `clock_timestamp()`. Tables live in `schema` with
 * names `<tablePrefix>jobs`, `…runs`, `…replicas`, `…warnings` and `…migrations`.
 *
 * @example
 * ```ts
 * import { PostgresStore } from "belfry/postgres";
 * const store = new PostgresStore({ connectionString: process.env.DATABASE_URL });
 * const scheduler = new Scheduler({ store });
 * ```
 */
export class PostgresStore implements Store {
  readonly kind = "postgres";
  private readonly schema: string;
  private readonly prefix: string;
  private readonly tables: PgTables;
  /** Risky server settings found by `init` (also persisted with `addWarning`, replica "store"). */
  readonly settingsWarnings: string[] = [];
  private db: PgDb | null = null;
  private ownPool = false;
  private readonly onPoolError: (error: Error) => void;

  /** @throws BelfryError `INVALID_PREFIX` for a schema or prefix that is not a plain identifier. */
  constructor(private readonly options: PostgresStoreOptions = {}) {
    const schema = options.schema ?? "public";
    const prefix = options.tablePrefix ?? "belfry_";
    assertPrefix(schema, `${WHERE} schema`);
    assertPrefix(prefix, WHERE);
    if (!options.pool && !options.connectionString) {
      throw new BelfryError("INVALID_OPTION", `${WHERE}: give connectionString or pool`);
    }
    // Unquoted identifiers fold to lower case; folding here keeps the lock key and lookups exact.
    this.schema = schema.toLowerCase();
    this.prefix = prefix.toLowerCase();
    this.tables = sqlTables((name) => `${this.schema}.${this.prefix}${name}`);
    this.onPoolError = (error) => options.onPoolError?.(error);
  }

  /**
   * Connects, then migrates under an advisory lock.
   * @throws BelfryError `STORE_CONNECT` when the server cannot be reached, `MIGRATION` when the
   *   schema cannot be brought up to date.
   */
  async init(): Promise<void> {
    const db = this.db ?? (await this.openDb());
    const target = describeTarget(this.options.pool, this.options.connectionString);
    try {
      const client = await db.pool.connect();
      client.release();
    } catch (error) {
      throw connectError(WHERE, target, error);
    }
    await migrate(db, this.schema, this.prefix);
    await keepSettingsWarnings(this, this.settingsWarnings, await checkSettings(db));
  }

  private async openDb(): Promise<PgDb> {
    let pool = this.options.pool;
    if (!pool) {
      const pg = await import("pg");
      pool = new pg.default.Pool({
        connectionString: this.options.connectionString,
        max: this.options.maxConnections ?? 10,
        connectionTimeoutMillis: this.options.connectTimeoutMs ?? 10_000,
        application_name: this.options.applicationName ?? "belfry",
        // Keep connections across minute-scale gaps between occurrences: a claim on a fresh
        // connection pays the connection setup on the critical path (pg's default is 10 s).
        idleTimeoutMillis: 5 * 60_000,
        allowExitOnIdle: true,
      }) as unknown as PgPoolLike;
      this.ownPool = true;
    }
    pool.on("error", this.onPoolError);
    this.db = new PgDb(pool, this.tables, WHERE);
    return this.db;
  }

  /** Ends the pool the store opened; a pool passed in is left open. */
  async close(): Promise<void> {
    const db = this.db;
    this.db = null;
    if (!db) return;
    db.pool.removeListener("error", this.onPoolError);
    if (this.ownPool) await db.pool.end();
  }

  private get conn(): PgDb {
    if (!this.db) throw new BelfryError("NOT_STARTED", `${WHERE}: call init() first`);
    return this.db;
  }

  async now(): Promise<number> {
    const [row] = await this.conn.rows("now", `SELECT ${PG_NOW} AS now_ms`);
    return Number(row?.now_ms);
  }

  async registerJob(registration: JobRegistration): Promise<RegisterResult> {
    return lifecycle.registerJob(this.conn, registration);
  }

  async getJob(jobId: string): Promise<JobRecord | null> {
    const rows = await this.conn.rows(
      "getJob",
      `SELECT * FROM ${this.tables.jobs} WHERE job_id = $1`,
      [jobId],
    );
    return rows[0] ? this.job(rows[0]) : null;
  }

  async listJobs(): Promise<JobRecord[]> {
    const rows = await this.conn.rows(
      "listJobs",
      `SELECT * FROM ${this.tables.jobs} ORDER BY job_id`,
    );
    return rows.map((row) => this.job(row));
  }

  async setPaused(jobId: string, paused: boolean): Promise<boolean> {
    const rows = await this.conn.rows(
      "setPaused",
      `UPDATE ${this.tables.jobs} SET paused = $2, updated_at = ${PG_NOW} WHERE job_id = $1 RETURNING 1`,
      [jobId, paused],
    );
    return rows.length > 0;
  }

  async claim(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
    return requests.length === 0 ? [] : claimBatch(this.conn, requests);
  }

  async claimManual(jobId: string, replicaId: string, leaseMs: number): Promise<ClaimedRun | null> {
    return lifecycle.claimManual(this.conn, jobId, replicaId, leaseMs);
  }

  async recordMissed(jobId: string, hash: string, instants: readonly number[]): Promise<number> {
    return lifecycle.recordMissed(this.conn, jobId, hash, instants);
  }

  async startRun(runId: string, token: number, attempt: number): Promise<boolean> {
    const set = `state = 'running', attempt = $3, started_at = ${PG_NOW}`;
    return this.fenced("startRun", set, [runId, token, attempt]);
  }

  async heartbeat(runId: string, token: number, leaseMs: number): Promise<boolean> {
    return this.fenced("heartbeat", `lease_expires_at = ${PG_NOW} + $3`, [runId, token, leaseMs]);
  }

  async finishRun(
    runId: string,
    token: number,
    outcome: RunOutcome,
    leaseMs: number,
  ): Promise<FinishResult> {
    return lifecycle.finishRun(this.conn, runId, token, outcome, leaseMs);
  }

  async releaseRun(runId: string, token: number): Promise<boolean> {
    return this.fenced("releaseRun", `lease_expires_at = ${PG_NOW}`, [runId, token]);
  }

  /** One fenced write to an unexpired run: `$1` run id, `$2` token, further parameters from `$3`. */
  private async fenced(op: string, set: string, values: unknown[]): Promise<boolean> {
    const rows = await this.conn.rows(
      op,
      `UPDATE ${this.tables.runs} SET ${set} WHERE run_id = $1 AND token = $2
         AND state IN ${ACTIVE_STATES_SQL} AND lease_expires_at > ${PG_NOW} RETURNING 1`,
      values,
    );
    return rows.length > 0;
  }

  async recoverExpired(replicaId: string, leaseMs: number, limit: number): Promise<Recovered[]> {
    return recoverExpired(this.conn, replicaId, leaseMs, limit);
  }

  async history(query: HistoryQuery = {}): Promise<RunRecord[]> {
    const q = buildHistoryQuery(query, (n) => `$${n}`);
    const rows = await this.conn.rows(
      "history",
      `SELECT * FROM ${this.tables.runs} ${q.sql}`,
      q.params,
    );
    return rows.map((row) => parseRunRow(row, `${WHERE} table ${this.tables.runs}`));
  }

  async prune(before: number): Promise<number> {
    const rows = await this.conn.rows(
      "prune",
      `WITH gone AS (DELETE FROM ${this.tables.runs}
         WHERE scheduled_at < $1 AND state = ANY($2::text[]) RETURNING 1)
       SELECT count(*) AS removed FROM gone`,
      [before, TERMINAL_STATES],
    );
    return Number(rows[0]?.removed ?? 0);
  }

  async touchReplica(info: ReplicaInfo): Promise<void> {
    await this.conn.rows(
      "touchReplica",
      `INSERT INTO ${this.tables.replicas}
         (replica_id, host, pid, started_at, clock_offset_ms, last_seen_at)
       VALUES ($1, $2, $3, $4, $5, ${PG_NOW})
       ON CONFLICT (replica_id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid,
         started_at = EXCLUDED.started_at, clock_offset_ms = EXCLUDED.clock_offset_ms,
         last_seen_at = EXCLUDED.last_seen_at`,
      [info.replicaId, info.host, info.pid, info.startedAt, Math.round(info.clockOffsetMs)],
    );
  }

  async listReplicas(since: number): Promise<ReplicaRecord[]> {
    const rows = await this.conn.rows(
      "listReplicas",
      `SELECT * FROM ${this.tables.replicas} WHERE last_seen_at >= $1 ORDER BY replica_id`,
      [since],
    );
    return rows.map((row) => parseReplicaRow(row, `${WHERE} table ${this.tables.replicas}`));
  }

  async addWarning(warning: Omit<WarningRecord, "at">): Promise<void> {
    await this.conn.rows(
      "addWarning",
      `INSERT INTO ${this.tables.warnings} (at, replica_id, kind, message)
       VALUES (${PG_NOW}, $1, $2, $3)`,
      [warning.replicaId, warning.kind, warning.message],
    );
  }

  async listWarnings(limit = 100): Promise<WarningRecord[]> {
    const rows = await this.conn.rows(
      "listWarnings",
      `SELECT * FROM ${this.tables.warnings} ORDER BY id DESC LIMIT $1`,
      [Math.max(0, Math.floor(limit))],
    );
    return rows.map((row) => parseWarningRow(row, `${WHERE} table ${this.tables.warnings}`));
  }

  private job(row: Record<string, unknown>): JobRecord {
    return parseJobRow(row, `${WHERE} table ${this.tables.jobs}`);
  }
}
