import { inspect } from "node:util";
import { BelfryError } from "../../errors.js";
import { claimBatch, claimManual, recordMissed } from "./claim.js";
import {
  MysqlDb,
  appliedMigrations,
  connectError,
  describeTarget,
  checkSettings,
  migrate,
  openPool,
  readNow,
  type MysqlPoolLike,
  type MysqlTables,
} from "./connection.js";
import { registerInChunks, registerOne } from "../shared/batches.js";
import * as jobs from "./jobs.js";
import * as records from "./records.js";
import { recoverExpired } from "./recovery.js";
import * as runs from "./runs.js";
import { putSchedules } from "./schedule-put.js";
import * as schedules from "./schedules.js";
import { transactional, type MysqlTransaction } from "./transaction.js";
import { assertMigrated, type SchemaOptions } from "../shared/schema.js";
import { MIGRATIONS } from "../sql/migrations.js";
import { assertPrefix, keepSettingsWarnings, sqlTables } from "../sql/shared.js";
import { inspectStore } from "../shared/url.js";
import {
  type ClaimedRun,
  type ClaimRequest,
  type ClaimResult,
  type DueQuery,
  type DueSchedules,
  type FinishResult,
  type HistoryQuery,
  type JobListing,
  type JobRecord,
  type JobRegistration,
  type PutScheduleOutcome,
  type PutScheduleResult,
  type PutScheduleReturning,
  type Recovered,
  type RegisterResult,
  type ReplicaInfo,
  type ReplicaRecord,
  type RunOutcome,
  type StartRequest,
  type FinishRequest,
  type RunRecord,
  type ScheduleAdvance,
  type ScheduleCountFilter,
  type SchedulePage,
  type ScheduleQuery,
  type ScheduleRecord,
  type ScheduleRecords,
  type ScheduleWrite,
  type Store,
  type TransactionResult,
  type WarningRecord,
} from "../store.js";

export type { MysqlConnectionLike, MysqlPoolLike } from "./connection.js";
export type { MysqlTransaction } from "./transaction.js";

/** Options for {@link MysqlStore}. Give `uri` or `pool`. */
export interface MysqlStoreOptions extends SchemaOptions {
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
 * `claim.ts`); time is the server's `UTC_TIMESTAMP(6)`. The class only wires the steps:
 * `claim.ts`, `runs.ts`, `recovery.ts`, `jobs.ts`, `records.ts`, `schedules.ts` and
 * `schedule-put.ts` hold the SQL.
 * Runtime schedules have no `onScheduleChange` here: schedulers on MySQL poll.
 *
 * @example
 * ```ts
 * import { MysqlStore } from "belfry/mysql";
 * const store = new MysqlStore({ uri: "mysql://app:secret@db:3306/app" });
 * ```
 */
export class MysqlStore implements Store, ScheduleRecords {
  readonly kind = "mysql";
  private readonly prefix: string;
  private readonly tables: MysqlTables;
  /** Risky server settings found by `init` (also persisted with `addWarning`, replica "store"). */
  readonly settingsWarnings: string[] = [];
  private db: MysqlDb | null = null;
  private ownPool = false;
  /** `host:port/db (tables prefix*)`, for messages and `inspect`; never credentials. */
  private readonly target: string;

  /** @throws BelfryError `INVALID_PREFIX` for a prefix that is not a plain identifier. */
  constructor(private readonly options: MysqlStoreOptions = {}) {
    this.prefix = options.tablePrefix ?? "belfry_";
    assertPrefix(this.prefix, WHERE);
    if (!options.pool && !options.uri) {
      throw new BelfryError("INVALID_OPTION", `${WHERE}: give uri or pool`);
    }
    this.tables = sqlTables((name) => `${this.prefix}${name}`);
    const server = describeTarget(options.pool, options.uri);
    this.target = `${server} (tables ${this.prefix}*)`;
  }

  /**
   * Connects, then migrates under `GET_LOCK`; with `autoMigrate: false`, checks the schema
   * instead and writes nothing.
   * @throws BelfryError `STORE_CONNECT` when the server cannot be reached, `MIGRATION` when the
   *   schema cannot be brought up to date, `SCHEMA_MISSING` (`autoMigrate: false`) when it is
   *   not.
   */
  async init(): Promise<void> {
    const db = this.db ?? (await this.openDb());
    let conn;
    try {
      conn = await db.pool.getConnection();
    } catch (error) {
      throw connectError(WHERE, describeTarget(this.options.pool, this.options.uri), error);
    }
    if (this.options.autoMigrate === false) {
      conn.release();
      assertMigrated(WHERE, this.target, await appliedMigrations(db), MIGRATIONS.mysql ?? []);
      this.settingsWarnings.splice(0, Infinity, ...(await checkSettings(db)));
      return;
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
      pool = await openPool(this.options, WHERE);
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

  /** Shows the server and tables, never the URI (it may hold a password). */
  [inspect.custom](): string {
    return inspectStore("MysqlStore", this.target);
  }

  private get conn(): MysqlDb {
    if (!this.db) throw new BelfryError("NOT_STARTED", `${WHERE}: call init() first`);
    return this.db;
  }

  async now(): Promise<number> {
    const db = this.conn;
    return readNow(db, (sql) => db.run("now", sql));
  }

  async registerJob(registration: JobRegistration): Promise<RegisterResult> {
    return registerOne(this, registration);
  }

  async registerJobs(registrations: readonly JobRegistration[]): Promise<RegisterResult[]> {
    const db = this.conn;
    return registerInChunks(registrations, (chunk) => jobs.registerJobs(db, chunk));
  }

  async getJob(jobId: string): Promise<JobRecord | null> {
    return jobs.getJob(this.conn, jobId);
  }

  async listJobs(): Promise<JobListing> {
    return jobs.listJobs(this.conn);
  }

  async setPaused(jobId: string, paused: boolean): Promise<boolean> {
    return jobs.setPaused(this.conn, jobId, paused);
  }

  async claim(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
    return requests.length === 0 ? [] : claimBatch(this.conn, requests);
  }

  async claimManual(jobId: string, replicaId: string, leaseMs: number): Promise<ClaimedRun | null> {
    return claimManual(this.conn, jobId, replicaId, leaseMs);
  }

  async recordMissed(jobId: string, hash: string, instants: readonly number[]): Promise<number[]> {
    return recordMissed(this.conn, jobId, hash, instants);
  }

  async startRun(runId: string, token: number, attempt: number): Promise<boolean> {
    return runs.startRun(this.conn, runId, token, attempt);
  }

  async heartbeat(runId: string, token: number, leaseMs: number): Promise<boolean> {
    return runs.heartbeat(this.conn, runId, token, leaseMs);
  }

  async finishRun(
    runId: string,
    token: number,
    outcome: RunOutcome,
    leaseMs: number,
  ): Promise<FinishResult> {
    return runs.finishRun(this.conn, runId, token, outcome, leaseMs);
  }
  async startRuns(requests: readonly StartRequest[]): Promise<boolean[]> {
    return runs.startRuns(this.conn, requests);
  }

  async finishRuns(requests: readonly FinishRequest[]): Promise<FinishResult[]> {
    return runs.finishRuns(this.conn, requests);
  }

  async releaseRun(runId: string, token: number): Promise<boolean> {
    return runs.releaseRun(this.conn, runId, token);
  }

  async recoverExpired(replicaId: string, leaseMs: number, limit: number): Promise<Recovered[]> {
    return recoverExpired(this.conn, replicaId, leaseMs, limit);
  }

  /** `run.transaction` on MySQL: `fn` gets the `mysql2` connection inside `START TRANSACTION`. */
  async transactional<T>(
    runId: string,
    token: number,
    outcome: RunOutcome,
    leaseMs: number,
    fn: (tx: MysqlTransaction) => T | Promise<T>,
  ): Promise<TransactionResult<T>> {
    return transactional(this.conn, runId, token, outcome, leaseMs, fn);
  }

  async history(query: HistoryQuery = {}): Promise<RunRecord[]> {
    return records.history(this.conn, query);
  }

  async prune(before: number): Promise<number> {
    return records.prune(this.conn, before);
  }

  async touchReplica(info: ReplicaInfo): Promise<void> {
    return records.touchReplica(this.conn, info);
  }

  async listReplicas(since: number): Promise<ReplicaRecord[]> {
    return records.listReplicas(this.conn, since);
  }

  async addWarning(warning: Omit<WarningRecord, "at">): Promise<void> {
    return records.addWarning(this.conn, warning);
  }

  async listWarnings(limit = 100): Promise<WarningRecord[]> {
    return records.listWarnings(this.conn, limit);
  }

  putSchedules(
    writes: readonly ScheduleWrite[],
    mode: "create" | "upsert",
    returning?: "rows",
  ): Promise<PutScheduleResult[]>;
  putSchedules(
    writes: readonly ScheduleWrite[],
    mode: "create" | "upsert",
    returning: "outcomes",
  ): Promise<PutScheduleOutcome[]>;
  async putSchedules(
    writes: readonly ScheduleWrite[],
    mode: "create" | "upsert",
    returning: PutScheduleReturning = "rows",
  ): Promise<PutScheduleOutcome[]> {
    return putSchedules(this.conn, writes, mode, returning);
  }

  async getSchedule(jobId: string): Promise<ScheduleRecord | null> {
    return schedules.getSchedule(this.conn, jobId);
  }

  async listSchedules(query: ScheduleQuery = {}): Promise<SchedulePage> {
    return schedules.listSchedules(this.conn, query);
  }

  async removeSchedules(jobIds: readonly string[]): Promise<boolean[]> {
    return schedules.removeSchedules(this.conn, jobIds);
  }

  async dueSchedules(query: DueQuery): Promise<DueSchedules> {
    return schedules.dueSchedules(this.conn, query);
  }

  async scheduleTasks(): Promise<string[]> {
    return schedules.scheduleTasks(this.conn);
  }

  async countSchedules(filter?: ScheduleCountFilter): Promise<number> {
    return schedules.countSchedules(this.conn, filter);
  }

  async advanceSchedules(items: readonly ScheduleAdvance[]): Promise<void> {
    return schedules.advanceSchedules(this.conn, items);
  }

  async triggerSchedule(jobId: string): Promise<boolean> {
    return schedules.triggerSchedule(this.conn, jobId);
  }

  async claimTriggered(
    jobId: string,
    replicaId: string,
    leaseMs: number,
  ): Promise<ClaimedRun | null> {
    return schedules.claimTriggered(this.conn, jobId, replicaId, leaseMs);
  }

  async claimBackfill(
    jobId: string,
    instants: readonly number[],
    replicaId: string,
    leaseMs: number,
  ): Promise<ClaimedRun[] | null> {
    return schedules.claimBackfill(this.conn, jobId, instants, replicaId, leaseMs);
  }
}
