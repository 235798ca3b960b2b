import { systemClock, type Clock } from "../../clock.js";
import { BelfryError } from "../../errors.js";
import { recoveryAction } from "../../protocol/recovery.js";
import {
  parseEpochOrNull,
  parseJobRow,
  parseReplicaRow,
  parseWarningRow,
  unlessCorrupt,
  type RawRow,
} from "../rows.js";
import * as writes from "../../protocol/transitions.js";
import {
  assertPrefix,
  buildHistoryQuery,
  jobUpdateValues,
  jobValues,
  newRunId,
  runValues,
} from "../sql/shared.js";
import { SqliteConnection } from "./connection.js";
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

/** Options for {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file (created if missing; its directory must exist), or `":memory:"`. */
  readonly path: string;
  /** Prefix of every table name (default `belfry_`): letters, digits, underscores. */
  readonly tablePrefix?: string;
  /** The store's clock (default: the system clock). Every process on the host shares it. */
  readonly clock?: Clock;
  /** How long a write waits for another process's transaction, ms (default 5000). */
  readonly busyTimeoutMs?: number;
}

/**
 * A {@link Store} in one SQLite file, shared by several processes on one host. Every state
 * change runs in one `BEGIN IMMEDIATE` transaction (WAL mode, busy timeout), so processes racing
 * on an occurrence are serialised by SQLite's write lock and exactly one wins. Store time is the
 * injected clock, the same host clock in every process.
 *
 * @example
 * ```ts
 * const store = new SqliteStore({ path: "/var/lib/app/belfry.db" });
 * const scheduler = new Scheduler({ store });
 * ```
 */
export class SqliteStore implements Store {
  readonly kind = "sqlite";
  private readonly path: string;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly busyTimeoutMs: number;
  private readonly where: string;
  private connection: SqliteConnection | null = null;

  /** @throws BelfryError `INVALID_PREFIX` for a prefix that is not a plain identifier. */
  constructor(options: SqliteStoreOptions) {
    this.path = options.path;
    this.prefix = options.tablePrefix ?? "belfry_";
    this.where = `SqliteStore(${JSON.stringify(this.path)})`;
    assertPrefix(this.prefix, this.where);
    this.clock = options.clock ?? systemClock;
    this.busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  }

  /** Opens the file and applies migrations. @throws `STORE_CONNECT`, `MIGRATION`. */
  async init(): Promise<void> {
    if (this.connection) return;
    const { path, prefix, busyTimeoutMs, clock, where } = this;
    this.connection = SqliteConnection.open({ path, prefix, busyTimeoutMs, clock, where });
  }

  async close(): Promise<void> {
    this.connection?.close();
    this.connection = null;
  }

  async now(): Promise<number> {
    return this.clock.now();
  }

  async registerJob(registration: JobRegistration): Promise<RegisterResult> {
    const c = this.conn;
    return c.write("registerJob", (now) => {
      const existing = c.readJob(registration.jobId);
      if (!existing) c.sql.jobInsert.run(...jobValues(registration, now));
      else if (existing.hash !== registration.hash) {
        c.sql.jobUpdate.run(...jobUpdateValues(registration, now));
      }
      const job = c.readJob(registration.jobId) as JobRecord;
      if (!existing) return { job, outcome: "created", previousHash: null };
      const outcome = existing.hash === registration.hash ? "unchanged" : "updated";
      return { job, outcome, previousHash: existing.hash };
    });
  }

  async getJob(jobId: string): Promise<JobRecord | null> {
    const c = this.conn;
    return c.read("getJob", () => c.readJob(jobId));
  }

  async listJobs(): Promise<JobRecord[]> {
    const c = this.conn;
    const rows = c.read("listJobs", () => c.sql.jobList.all() as RawRow[]);
    return rows.map((row) => parseJobRow(row, c.table("jobs")));
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
    const c = this.conn;
    return c.write("claim", (now) => requests.map((request) => c.claimOne(request, now)));
  }

  async claimManual(jobId: string, replicaId: string, leaseMs: number): Promise<ClaimedRun | null> {
    const c = this.conn;
    return c.write("claimManual", (now) => {
      if (!c.readJob(jobId)) return null;
      const raw = c.sql.runLastManual.get(jobId, now) as RawRow | undefined;
      const last = parseEpochOrNull(raw?.at, "scheduled_at", c.table("runs"));
      const at = last === null ? now : last + 1;
      const row = writes.manualRow(jobId, at, replicaId, now, leaseMs, newRunId());
      c.sql.runInsert.run(...runValues(row));
      return writes.toClaimedRun(row);
    });
  }

  async recordMissed(jobId: string, hash: string, instants: readonly number[]): Promise<number> {
    const c = this.conn;
    return c.write("recordMissed", (now) => {
      const job = c.readJob(jobId);
      if (!job || job.hash !== hash) return 0;
      const fresh = writes.newMissedInstants(job.watermark, instants);
      for (const at of fresh) {
        c.sql.runInsertIgnore.run(...runValues(writes.missedRow(jobId, at, now, newRunId())));
      }
      const newest = fresh[fresh.length - 1];
      if (newest !== undefined) c.sql.jobAdvance.run(newest, 0, jobId);
      return fresh.length;
    });
  }

  async startRun(runId: string, token: number, attempt: number): Promise<boolean> {
    return this.updateOwned("startRun", runId, token, (run, now) =>
      writes.startedRow(run, attempt, now),
    );
  }

  async heartbeat(runId: string, token: number, leaseMs: number): Promise<boolean> {
    return this.updateOwned("heartbeat", runId, token, (run, now) => ({
      ...run,
      leaseExpiresAt: now + leaseMs,
    }));
  }

  async releaseRun(runId: string, token: number): Promise<boolean> {
    return this.updateOwned("releaseRun", runId, token, (run, now) => ({
      ...run,
      leaseExpiresAt: now,
    }));
  }

  async finishRun(
    runId: string,
    token: number,
    outcome: RunOutcome,
    leaseMs: number,
  ): Promise<FinishResult> {
    const c = this.conn;
    return c.write("finishRun", (now) => {
      const run = c.readRun(runId);
      if (!writes.isOwned(run, token, now)) return { ok: false, next: null };
      c.saveRun(writes.finishedRow(run, outcome, now), token);
      const queued = c.firstQueued(run.jobId);
      if (!queued) return { ok: true, next: null };
      return { ok: true, next: c.takeOver(queued, run.replicaId ?? "", leaseMs, now, false) };
    });
  }

  async recoverExpired(replicaId: string, leaseMs: number, limit: number): Promise<Recovered[]> {
    const c = this.conn;
    return c.write("recoverExpired", (now) => {
      const recovered: Recovered[] = [];
      for (const raw of c.sql.runExpired.all(now, limit) as RawRow[]) {
        const run = c.parseRun(raw);
        const job = unlessCorrupt(() => c.readJob(run.jobId));
        const action = recoveryAction(job, run.attempt, c.hasActiveRun(run.jobId, now));
        const { row, recovered: entry } = writes.recoveredRow(run, action, replicaId, leaseMs, now);
        c.saveRun(row, run.token);
        recovered.push(entry);
      }
      const room = limit - recovered.length;
      for (const raw of room > 0 ? (c.sql.runQueued.all(room) as RawRow[]) : []) {
        const run = c.parseRun(raw);
        if (c.hasActiveRun(run.jobId, now)) continue;
        recovered.push({
          action: "promoted",
          run: c.takeOver(run, replicaId, leaseMs, now, false),
        });
      }
      return recovered;
    });
  }

  async history(query: HistoryQuery = {}): Promise<RunRecord[]> {
    const c = this.conn;
    const { sql, params } = buildHistoryQuery(query);
    const rows = c.read("history", () => c.all(`SELECT * FROM ${this.prefix}runs ${sql}`, params));
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
    c.write("touchReplica", (now) =>
      c.sql.replicaUpsert.run(replicaId, host, pid, startedAt, offset, now),
    );
  }

  async listReplicas(since: number): Promise<ReplicaRecord[]> {
    const c = this.conn;
    const rows = c.read("listReplicas", () => c.sql.replicaList.all(since) as RawRow[]);
    return rows.map((row) => parseReplicaRow(row, c.table("replicas")));
  }

  async addWarning(warning: Omit<WarningRecord, "at">): Promise<void> {
    const c = this.conn;
    const { replicaId, kind, message } = warning;
    c.write("addWarning", (now) => c.sql.warningInsert.run(now, replicaId, kind, message));
  }

  async listWarnings(limit = 100): Promise<WarningRecord[]> {
    const c = this.conn;
    const n = Math.max(0, Math.floor(limit));
    const rows = c.read("listWarnings", () => c.sql.warningList.all(n) as RawRow[]);
    return rows.map((row) => parseWarningRow(row, c.table("warnings")));
  }

  /** Rewrites a run the caller owns (token current, lease not expired); false when fenced. */
  private async updateOwned(
    operation: string,
    runId: string,
    token: number,
    change: (run: RunRecord, now: number) => RunRecord,
  ): Promise<boolean> {
    const c = this.conn;
    return c.write(operation, (now) => {
      const run = c.readRun(runId);
      if (!writes.isOwned(run, token, now)) return false;
      c.saveRun(change(run, now), token);
      return true;
    });
  }

  private get conn(): SqliteConnection {
    if (!this.connection) {
      throw new BelfryError("NOT_STARTED", `${this.where}: call init() before using the store`);
    }
    return this.connection;
  }
}
