import { inspect } from "node:util";
import { systemClock, type Clock } from "../../clock.js";
import { BelfryError } from "../../errors.js";
import { parseJobListing, parseReplicaRow, parseWarningRow, type RawRow } from "../shared/rows.js";
import type { SchemaOptions } from "../shared/schema.js";
import { inspectStore } from "../shared/url.js";
import { assertPrefix, buildHistoryQuery, jobUpdateValues, jobValues } from "../sql/shared.js";
import type {
  ClaimedRun,
  ClaimRequest,
  CompleteStore,
  DueQuery,
  DueSchedules,
  ClaimResult,
  FinishResult,
  HistoryQuery,
  JobListing,
  JobRecord,
  JobRegistration,
  PutScheduleOutcome,
  PutScheduleResult,
  PutScheduleReturning,
  Recovered,
  RegisterResult,
  ReplicaInfo,
  ReplicaRecord,
  RunOutcome,
  StartRequest,
  FinishRequest,
  RunRecord,
  ScheduleAdvance,
  ScheduleCountFilter,
  SchedulePage,
  ScheduleQuery,
  ScheduleRecord,
  ScheduleWrite,
  TransactionResult,
  WarningRecord,
} from "../store.js";
import { registerInChunks, registerOne } from "../shared/batches.js";
import * as claims from "./claim.js";
import { SqliteConnection } from "./connection.js";
import { dueSchedules } from "./due.js";
import { recoverExpired } from "./recovery.js";
import * as runs from "./runs.js";
import * as schedules from "./schedules.js";
import { transactional, type SqliteTransaction } from "./transaction.js";

export type { SqliteTransaction } from "./transaction.js";

/** Options for {@link SqliteStore}. */
export interface SqliteStoreOptions extends SchemaOptions {
  /** Database file (created if missing; its directory must exist), or `":memory:"`. */
  readonly path: string;
  /** Prefix of every table name (default `belfry_`): letters, digits, underscores. */
  readonly tablePrefix?: string;
  /** The store's clock (default: the system clock). Every process on the host shares it. */
  readonly clock?: Clock;
  /**
   * How long one store call waits in total for another process's lock, ms (default 5000); then
   * it fails with `STORE_ERROR`. The wait is asynchronous (retries with backoff): the event loop
   * is never blocked for more than a few ms.
   */
  readonly busyTimeoutMs?: number;
}

/**
 * A {@link Store} in one SQLite file, shared by several processes on one host. Every state
 * change runs in one synchronous `BEGIN IMMEDIATE` transaction (WAL mode), so processes racing
 * on an occurrence are serialised by SQLite's write lock and exactly one wins; a transaction
 * that finds the lock taken is retried asynchronously (`busy.ts`) instead of blocking. Store time is the
 * injected clock, the same host clock in every process.
 *
 * @example
 * ```ts
 * const store = new SqliteStore({ path: "/var/lib/app/belfry.db" });
 * const scheduler = new Scheduler({ store });
 * ```
 */
export class SqliteStore implements CompleteStore {
  readonly kind = "sqlite";
  private readonly path: string;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly busyTimeoutMs: number;
  private readonly where: string;
  private readonly autoMigrate: boolean;
  private connection: SqliteConnection | null = null;
  private opening: Promise<SqliteConnection> | null = null;

  /** @throws BelfryError `INVALID_PREFIX` for a prefix that is not a plain identifier. */
  constructor(options: SqliteStoreOptions) {
    this.path = options.path;
    this.prefix = options.tablePrefix ?? "belfry_";
    this.where = `SqliteStore(${JSON.stringify(this.path)})`;
    assertPrefix(this.prefix, this.where);
    this.clock = options.clock ?? systemClock;
    this.busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.autoMigrate = options.autoMigrate ?? true;
  }

  /**
   * Opens the file and applies migrations; with `autoMigrate: false`, checks the schema
   * instead, creating no file and writing nothing.
   * @throws `STORE_CONNECT`, `MIGRATION`, `SCHEMA_MISSING` (`autoMigrate: false`).
   */
  async init(): Promise<void> {
    if (this.connection) return;
    const { path, prefix, busyTimeoutMs, clock, where, autoMigrate } = this;
    const settings = { path, prefix, busyTimeoutMs, clock, where, autoMigrate };
    this.opening ??= SqliteConnection.open(settings);
    try {
      this.connection = await this.opening;
    } finally {
      this.opening = null;
    }
  }

  /** Shows the file and table prefix. */
  [inspect.custom](): string {
    return inspectStore("SqliteStore", `${this.path} (tables ${this.prefix}*)`);
  }

  async close(): Promise<void> {
    this.connection?.close();
    this.connection = null;
  }

  async now(): Promise<number> {
    return this.clock.now();
  }

  async registerJob(registration: JobRegistration): Promise<RegisterResult> {
    return registerOne(this, registration);
  }

  /** One `BEGIN IMMEDIATE` transaction per chunk. */
  async registerJobs(registrations: readonly JobRegistration[]): Promise<RegisterResult[]> {
    const c = this.conn;
    return registerInChunks(registrations, async (chunk) =>
      c.write("registerJobs", (now) =>
        chunk.map((registration): RegisterResult => {
          const existing = c.readJob(registration.jobId);
          if (!existing) c.sql.jobInsert.run(...jobValues(registration, now));
          else if (existing.hash !== registration.hash) {
            c.sql.jobUpdate.run(...jobUpdateValues(registration, now));
          }
          const job = c.readJob(registration.jobId) as JobRecord;
          if (!existing) return { job, outcome: "created", previousHash: null };
          const outcome = existing.hash === registration.hash ? "unchanged" : "updated";
          return { job, outcome, previousHash: existing.hash };
        }),
      ),
    );
  }

  async getJob(jobId: string): Promise<JobRecord | null> {
    const c = this.conn;
    return c.read("getJob", () => c.readJob(jobId));
  }

  async listJobs(): Promise<JobListing> {
    const c = this.conn;
    const rows = await c.read("listJobs", () => c.sql.jobList.all() as RawRow[]);
    return parseJobListing(rows, () => c.table("jobs"));
  }

  async setPaused(jobId: string, paused: boolean): Promise<boolean> {
    const c = this.conn;
    return c.write(
      "setPaused",
      (now) => c.sql.jobPause.run(paused ? 1 : 0, now, jobId).changes > 0,
    );
  }

  async claim(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
    if (requests.length === 0) return [];
    return claims.claim(this.conn, requests);
  }

  async claimManual(jobId: string, replicaId: string, leaseMs: number): Promise<ClaimedRun | null> {
    return claims.claimManual(this.conn, jobId, replicaId, leaseMs);
  }

  async recordMissed(jobId: string, hash: string, instants: readonly number[]): Promise<number[]> {
    return claims.recordMissed(this.conn, jobId, hash, instants);
  }

  async startRun(runId: string, token: number, attempt: number): Promise<boolean> {
    return runs.startRun(this.conn, runId, token, attempt);
  }

  async heartbeat(runId: string, token: number, leaseMs: number): Promise<boolean> {
    return runs.heartbeat(this.conn, runId, token, leaseMs);
  }

  async releaseRun(runId: string, token: number): Promise<boolean> {
    return runs.releaseRun(this.conn, runId, token);
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

  async recoverExpired(replicaId: string, leaseMs: number, limit: number): Promise<Recovered[]> {
    return recoverExpired(this.conn, replicaId, leaseMs, limit);
  }

  /**
   * `run.transaction` on SQLite: `fn` gets synchronous statements inside the store's
   * `BEGIN IMMEDIATE` and must itself be synchronous (see `transaction.ts`).
   */
  async transactional<T>(
    runId: string,
    token: number,
    outcome: RunOutcome,
    leaseMs: number,
    fn: (tx: SqliteTransaction) => T | Promise<T>,
  ): Promise<TransactionResult<T>> {
    return transactional(this.conn, this.clock, runId, token, outcome, leaseMs, fn);
  }

  async history(query: HistoryQuery = {}): Promise<RunRecord[]> {
    const c = this.conn;
    const { sql, params } = buildHistoryQuery(query);
    const rows = await c.read("history", () =>
      c.all(`SELECT * FROM ${this.prefix}runs ${sql}`, params),
    );
    return rows.map((row) => c.parseRun(row));
  }

  async prune(before: number): Promise<number> {
    const c = this.conn;
    return c.write("prune", () => Number(c.sql.runPrune.run(before).changes));
  }

  async touchReplica(info: ReplicaInfo): Promise<void> {
    const c = this.conn;
    const { replicaId, host, pid, startedAt } = info;
    const offset = Math.round(info.clockOffsetMs);
    await c.write("touchReplica", (now) =>
      c.sql.replicaUpsert.run(replicaId, host, pid, startedAt, offset, now),
    );
  }

  async listReplicas(since: number): Promise<ReplicaRecord[]> {
    const c = this.conn;
    const rows = await c.read("listReplicas", () => c.sql.replicaList.all(since) as RawRow[]);
    return rows.map((row) => parseReplicaRow(row, c.table("replicas")));
  }

  async addWarning(warning: Omit<WarningRecord, "at">): Promise<void> {
    const c = this.conn;
    const { replicaId, kind, message } = warning;
    await c.write("addWarning", (now) => c.sql.warningInsert.run(now, replicaId, kind, message));
  }

  async listWarnings(limit = 100): Promise<WarningRecord[]> {
    const c = this.conn;
    const n = Math.max(0, Math.floor(limit));
    const rows = await c.read("listWarnings", () => c.sql.warningList.all(n) as RawRow[]);
    return rows.map((row) => parseWarningRow(row, c.table("warnings")));
  }

  /** One `BEGIN IMMEDIATE` transaction per chunk of a few hundred writes. */
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

  /** Index seeks on `jobs_due`, whatever the number of rows (see `due.ts`). */
  async dueSchedules(query: DueQuery): Promise<DueSchedules> {
    return dueSchedules(this.conn, query);
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

  private get conn(): SqliteConnection {
    if (!this.connection) {
      throw new BelfryError("NOT_STARTED", `${this.where}: call init() before using the store`);
    }
    return this.connection;
  }
}
