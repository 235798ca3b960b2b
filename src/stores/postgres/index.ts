import { inspect } from "node:util";
import { systemClock } from "../../clock.js";
import { BelfryError } from "../../errors.js";
import { claimBatch, claimManual, recordMissed } from "./claim.js";
import {
  PgDb,
  checkSettings,
  connectError,
  describeTarget,
  listenSettings,
  openListenClient,
  openPool,
  serverNow,
  type PgPoolLike,
  type PgTables,
} from "./connection.js";
import { registerInChunks, registerOne } from "../shared/batches.js";
import * as jobs from "./jobs.js";
import { ScheduleListener } from "./listener.js";
import { appliedMigrations, migrate } from "./migrate.js";
import * as records from "./records.js";
import { scheduleChannel } from "./notify.js";
import { recoverExpired } from "./recovery.js";
import * as runs from "./runs.js";
import * as schedules from "./schedules.js";
import { transactional, type PgTransaction } from "./transaction.js";
import { assertMigrated, type SchemaOptions } from "../shared/schema.js";
import { MIGRATIONS } from "../sql/migrations.js";
import { assertPrefix, keepSettingsWarnings, sqlTables } from "../sql/shared.js";
import { inspectStore } from "../shared/url.js";
import {
  type ClaimedRun,
  type ClaimRequest,
  type ClaimResult,
  type CompleteStore,
  type DueQuery,
  type DueSchedules,
  type FinishResult,
  type HistoryQuery,
  type JobListing,
  type JobRecord,
  type JobRegistration,
  type Recovered,
  type RegisterResult,
  type ReplicaInfo,
  type ReplicaRecord,
  type RunOutcome,
  type StartRequest,
  type FinishRequest,
  type RunRecord,
  type PutScheduleOutcome,
  type PutScheduleResult,
  type PutScheduleReturning,
  type ScheduleAdvance,
  type ScheduleCountFilter,
  type SchedulePage,
  type ScheduleQuery,
  type ScheduleRecord,
  type ScheduleWrite,
  type TransactionResult,
  type WarningRecord,
} from "../store.js";

export type { PgClientLike, PgPoolLike, PgResultLike } from "./connection.js";
export type { PgTransaction } from "./transaction.js";

/** Options for {@link PostgresStore}. Give `connectionString` or `pool`. */
export interface PostgresStoreOptions extends SchemaOptions {
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
 * A {@link Store} on PostgreSQL 13+. Each claim batch is one SQL statement (see `claim.ts`);
 * time is the server's `clock_timestamp()`. Tables live in `schema` with names
 * `<tablePrefix>jobs`, `…runs`, `…replicas`, `…warnings` and `…migrations`.
 *
 * This class wires the folder's parts: `connection.ts` (pool, queries, errors), `migrate.ts`,
 * `jobs.ts`, `claim.ts`, `runs.ts` (every write to a claimed run), `recovery.ts`,
 * `records.ts` (history, retention, replicas, warnings), `schedules.ts` (runtime schedules,
 * with `schedule-sql.ts`) and `notify.ts` / `listener.ts` (`NOTIFY` and `LISTEN` of
 * `onScheduleChange`).
 *
 * @example
 * ```ts
 * import { PostgresStore } from "belfry/postgres";
 * const store = new PostgresStore({ connectionString: process.env.DATABASE_URL });
 * const scheduler = new Scheduler({ store });
 * ```
 */
export class PostgresStore implements CompleteStore {
  readonly kind = "postgres";
  private readonly schema: string;
  private readonly prefix: string;
  private readonly tables: PgTables;
  /** Risky server settings found by `init` (also persisted with `addWarning`, replica "store"). */
  readonly settingsWarnings: string[] = [];
  private db: PgDb | null = null;
  private ownPool = false;
  private readonly onPoolError: (error: Error) => void;
  /** `host:port/db (tables schema.prefix*)`, for messages and `inspect`; never credentials. */
  private readonly target: string;
  /** The `LISTEN` connection of `onScheduleChange`, made by its first call. */
  private scheduleListener: ScheduleListener | null = null;

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
    const server = describeTarget(options.pool, options.connectionString);
    this.target = `${server} (tables ${this.schema}.${this.prefix}*)`;
  }

  /**
   * Connects, then migrates under an advisory lock; with `autoMigrate: false`, checks the
   * schema instead and writes nothing.
   * @throws BelfryError `STORE_CONNECT` when the server cannot be reached, `MIGRATION` when the
   *   schema cannot be brought up to date, `SCHEMA_MISSING` (`autoMigrate: false`) when it is
   *   not.
   */
  async init(): Promise<void> {
    const db = this.db ?? (await this.openDb());
    try {
      const client = await db.pool.connect();
      client.release();
    } catch (error) {
      throw connectError(
        WHERE,
        describeTarget(this.options.pool, this.options.connectionString),
        error,
      );
    }
    if (this.options.autoMigrate === false) {
      const applied = await appliedMigrations(db, this.schema, this.prefix);
      assertMigrated(WHERE, this.target, applied, MIGRATIONS.postgres ?? []);
      this.settingsWarnings.splice(0, Infinity, ...(await checkSettings(db)));
      return;
    }
    await migrate(db, this.schema, this.prefix);
    await keepSettingsWarnings(this, this.settingsWarnings, await checkSettings(db));
  }

  /** Shows the server and tables, never the connection string (it may hold a password). */
  [inspect.custom](): string {
    return inspectStore("PostgresStore", this.target);
  }

  private async openDb(): Promise<PgDb> {
    let pool = this.options.pool;
    if (!pool) {
      pool = await openPool(this.options);
      this.ownPool = true;
    }
    pool.on("error", this.onPoolError);
    this.db = new PgDb(pool, this.tables, WHERE);
    return this.db;
  }

  /** Ends the `LISTEN` connection and the pool the store opened; a pool passed in is left open. */
  async close(): Promise<void> {
    const listener = this.scheduleListener;
    this.scheduleListener = null;
    await listener?.close();
    const db = this.db;
    this.db = null;
    if (!db) return;
    // The listener stays until the pool has ended: ending can still report a client's error.
    if (this.ownPool) await db.pool.end();
    db.pool.removeListener("error", this.onPoolError);
  }

  private get conn(): PgDb {
    if (!this.db) throw new BelfryError("NOT_STARTED", `${WHERE}: call init() first`);
    return this.db;
  }

  async now(): Promise<number> {
    return serverNow(this.conn);
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

  /** `run.transaction` on PostgreSQL: `fn` gets the `pg` client inside `BEGIN` (see `transaction.ts`). */
  async transactional<T>(
    runId: string,
    token: number,
    outcome: RunOutcome,
    leaseMs: number,
    fn: (tx: PgTransaction) => T | Promise<T>,
  ): Promise<TransactionResult<T>> {
    return transactional(this.conn, runId, token, outcome, leaseMs, fn);
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
    return schedules.putSchedules(this.conn, writes, mode, returning);
  }

  async getSchedule(jobId: string): Promise<ScheduleRecord | null> {
    return schedules.getSchedule(this.conn, jobId);
  }

  async listSchedules(query?: ScheduleQuery): Promise<SchedulePage> {
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

  /**
   * `LISTEN`s on the schedule channel of this schema and prefix, on one connection of its own
   * (outside the pool) that `close()` ends and that is reopened after a server restart (see
   * `listener.ts`).
   * @throws BelfryError `UNSUPPORTED` when the store was given a pool that exposes no
   *   connection settings (`pool.options`), `STORE_ERROR` when the connection cannot be opened.
   */
  async onScheduleChange(listener: () => void): Promise<() => Promise<void>> {
    const db = this.conn;
    if (!this.scheduleListener) {
      const settings = listenSettings(this.options);
      if (!settings) {
        throw new BelfryError(
          "UNSUPPORTED",
          `${WHERE}.onScheduleChange: the pool passed in exposes no connection settings (pool.options) to open a LISTEN connection with`,
        );
      }
      const open = () => openListenClient(settings);
      const channel = scheduleChannel(db.tables);
      this.scheduleListener = new ScheduleListener(open, channel, systemClock, WHERE);
    }
    return this.scheduleListener.subscribe(listener);
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
}
