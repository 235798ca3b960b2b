import { ACTIVE_STATES_SQL, TERMINAL_STATES } from "../../protocol/vocabulary.js";
import { BelfryError } from "../../errors.js";
import { claimBatch } from "./claim.js";
import {
  MY_NOW,
  MysqlDb,
  affected,
  connectError,
  describeTarget,
  checkSettings,
  migrate,
  type MysqlPoolLike,
  type MysqlTables,
} from "./connection.js";
import { recoverExpired } from "./recovery.js";
import * as lifecycle from "./runs.js";
import {
  parseEpochOrNull,
  parseJobRow,
  parseReplicaRow,
  parseRunRow,
  parseWarningRow,
} from "../rows.js";
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

export type { MysqlConnectionLike, MysqlPoolLike } from "./connection.js";

/** Options for {@link MysqlStore}. Give `uri` or `pool`. */
export interface MysqlStoreOptions {
  /** `mysql://user:password@host:3306/database`; the store opens and closes its own pool. */
  readonly uri?: string;
  /**
   * An existing `mysql2/promise` pool (or look-alike); the store never ends it. Create it with
   * `supportBigNumbers: true` so that 64-bit values outside the safe range are not rounded.
   */
  readonly pool?: MysqlPoolLike;
  /** Table-name prefix (default `belfry_`). */
  readonly tablePrefix?: string;
  /** Pool size when the store opens its own pool (default 10). */
  readonly maxConnections?: number;
  /** Connect timeout of the store's own pool, ms (default 10 000). */
  readonly connectTimeoutMs?: number;
}

const WHERE = "MysqlStore";

/**
 * A {@link Store} on MySQL 8 or MariaDB 10.11+ (InnoDB). Each claim batch is one READ
 * COMMITTED transaction that locks the job rows and decides with the shared claim rules (see
 * `mysql-claim.ts`); time is the server's `UTC_TIMESTAMP(6)`.
 *
 * @example
 * ```ts
 * import { MysqlStore } from "belfry/mysql";
 * const store = new MysqlStore({ uri: "mysql://app:secret@db:3306/app" });
 * ```
 */
export class MysqlStore implements Store {
  readonly kind = "mysql";
  private readonly prefix: string;
  private readonly tables: MysqlTables;
  /** Risky server settings found by `init` (also persisted with `addWarning`, replica "store"). */
  readonly settingsWarnings: string[] = [];
  private db: MysqlDb | null = null;
  private ownPool = false;

  /** @throws BelfryError `INVALID_PREFIX` for a prefix that is not a plain identifier. */
  constructor(private readonly options: MysqlStoreOptions = {}) {
    this.prefix = options.tablePrefix ?? "belfry_";
    assertPrefix(this.prefix, WHERE);
    if (!options.pool && !options.uri) {
      throw new BelfryError("INVALID_OPTION", `${WHERE}: give uri or pool`);
    }
    this.tables = sqlTables((name) => `${this.prefix}${name}`);
  }

  /**
   * Connects, then migrates under `GET_LOCK`.
   * @throws BelfryError `STORE_CONNECT` when the server cannot be reached, `MIGRATION` when the
   *   schema cannot be brought up to date.
   */
  async init(): Promise<void> {
    const db = this.db ?? (await this.openDb());
    let conn;
    try {
      conn = await db.pool.getConnection();
    } catch (error) {
      throw connectError(WHERE, describeTarget(this.options.pool, this.options.uri), error);
    }
    try {
      await migrate(conn, this.tables, this.prefix, WHERE);
    } finally {
      conn.release();
    }
    await keepSettingsWarnings(this, this.settingsWarnings, await checkSettings(db));
  }

  private async openDb(): Promise<MysqlDb> {
    let pool = this.options.pool;
    if (!pool) {
      const mysql = await import("mysql2/promise");
      pool = mysql.createPool({
        uri: this.options.uri,
        connectionLimit: this.options.maxConnections ?? 10,
        connectTimeout: this.options.connectTimeoutMs ?? 10_000,
        supportBigNumbers: true,
        enableKeepAlive: true,
      }) as unknown as MysqlPoolLike;
      this.ownPool = true;
    }
    this.db = new MysqlDb(pool, this.tables, WHERE);
    return this.db;
  }

  /** Ends the pool the store opened; a pool passed in is left open. */
  async close(): Promise<void> {
    const db = this.db;
    this.db = null;
    if (db && this.ownPool) await db.pool.end();
  }

  private get conn(): MysqlDb {
    if (!this.db) throw new BelfryError("NOT_STARTED", `${WHERE}: call init() first`);
    return this.db;
  }

  async now(): Promise<number> {
    const [row] = await this.conn.run("now", `SELECT ${MY_NOW} AS now_ms`);
    return parseEpochOrNull(row?.now_ms, "now_ms", WHERE) ?? 0;
  }

  async registerJob(registration: JobRegistration): Promise<RegisterResult> {
    return lifecycle.registerJob(this.conn, registration);
  }

  async getJob(jobId: string): Promise<JobRecord | null> {
    const [row] = await this.conn.run(
      "getJob",
      `SELECT * FROM ${this.tables.jobs} WHERE job_id = ?`,
      [jobId],
    );
    return row ? this.job(row) : null;
  }

  async listJobs(): Promise<JobRecord[]> {
    const rows = await this.conn.run(
      "listJobs",
      `SELECT * FROM ${this.tables.jobs} ORDER BY job_id`,
    );
    return rows.map((row) => this.job(row));
  }

  async setPaused(jobId: string, paused: boolean): Promise<boolean> {
    const result = await this.conn.run(
      "setPaused",
      `UPDATE ${this.tables.jobs} SET paused = ?, updated_at = ${MY_NOW} WHERE job_id = ?`,
      [paused ? 1 : 0, jobId],
    );
    return affected(result) > 0;
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
    const set = `state = 'running', attempt = ?, started_at = ${MY_NOW}`;
    return this.fenced("startRun", set, runId, token, attempt);
  }

  async heartbeat(runId: string, token: number, leaseMs: number): Promise<boolean> {
    return this.fenced("heartbeat", `lease_expires_at = ${MY_NOW} + ?`, runId, token, leaseMs);
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
    return this.fenced("releaseRun", `lease_expires_at = ${MY_NOW}`, runId, token);
  }

  /** One fenced write to an unexpired run (mysql2 reports matched rows: a no-op still counts). */
  private async fenced(
    op: string,
    set: string,
    runId: string,
    token: number,
    ...values: unknown[]
  ) {
    const result = await this.conn.run(
      op,
      `UPDATE ${this.tables.runs} SET ${set} WHERE run_id = ? AND token = ?
         AND state IN ${ACTIVE_STATES_SQL} AND lease_expires_at > ${MY_NOW}`,
      [...values, runId, token],
    );
    return affected(result) > 0;
  }

  async recoverExpired(replicaId: string, leaseMs: number, limit: number): Promise<Recovered[]> {
    return recoverExpired(this.conn, replicaId, leaseMs, limit);
  }

  async history(query: HistoryQuery = {}): Promise<RunRecord[]> {
    const q = buildHistoryQuery(query);
    const rows = await this.conn.run(
      "history",
      `SELECT * FROM ${this.tables.runs} ${q.sql}`,
      q.params,
    );
    return rows.map((row) => parseRunRow(row, `${WHERE} table ${this.tables.runs}`));
  }

  async prune(before: number): Promise<number> {
    const result = await this.conn.run(
      "prune",
      `DELETE FROM ${this.tables.runs} WHERE scheduled_at < ? AND state IN (?)`,
      [before, TERMINAL_STATES],
    );
    return affected(result);
  }

  async touchReplica(info: ReplicaInfo): Promise<void> {
    const fields = [info.host, info.pid, info.startedAt, Math.round(info.clockOffsetMs)];
    await this.conn.run(
      "touchReplica",
      `INSERT INTO ${this.tables.replicas}
         (replica_id, host, pid, started_at, clock_offset_ms, last_seen_at)
       VALUES (?, ?, ?, ?, ?, ${MY_NOW})
       ON DUPLICATE KEY UPDATE host = ?, pid = ?, started_at = ?, clock_offset_ms = ?,
         last_seen_at = ${MY_NOW}`,
      [info.replicaId, ...fields, ...fields],
    );
  }

  async listReplicas(since: number): Promise<ReplicaRecord[]> {
    const rows = await this.conn.run(
      "listReplicas",
      `SELECT * FROM ${this.tables.replicas} WHERE last_seen_at >= ? ORDER BY replica_id`,
      [since],
    );
    return rows.map((row) => parseReplicaRow(row, `${WHERE} table ${this.tables.replicas}`));
  }

  async addWarning(warning: Omit<WarningRecord, "at">): Promise<void> {
    await this.conn.run(
      "addWarning",
      `INSERT INTO ${this.tables.warnings} (at, replica_id, kind, message) VALUES (${MY_NOW}, ?, ?, ?)`,
      [warning.replicaId, warning.kind, warning.message],
    );
  }

  async listWarnings(limit = 100): Promise<WarningRecord[]> {
    const rows = await this.conn.run(
      "listWarnings",
      `SELECT * FROM ${this.tables.warnings} ORDER BY id DESC LIMIT ?`,
      [Math.max(0, Math.floor(limit))],
    );
    return rows.map((row) => parseWarningRow(row, `${WHERE} table ${this.tables.warnings}`));
  }

  private job(row: Record<string, unknown>): JobRecord {
    return parseJobRow(row, `${WHERE} table ${this.tables.jobs}`);
  }
}
