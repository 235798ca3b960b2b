import { systemClock, type Clock } from "../../clock.js";
import { TERMINAL_STATES } from "../../protocol/vocabulary.js";
import type {
  ClaimedRun,
  ClaimRequest,
  ClaimResult,
  FinishResult,
  HistoryQuery,
  JobListing,
  JobRecord,
  JobRegistration,
  Recovered,
  RegisterResult,
  ReplicaInfo,
  ReplicaRecord,
  RunOutcome,
  StartRequest,
  FinishRequest,
  RunRecord,
  Store,
  WarningRecord,
  ScheduleWrite,
  PutScheduleOutcome,
  PutScheduleResult,
  PutScheduleReturning,
  ScheduleRecord,
  ScheduleQuery,
  SchedulePage,
  DueQuery,
  DueSchedules,
  ScheduleAdvance,
  ScheduleCountFilter,
} from "../store.js";
import * as claims from "./claim.js";
import { MemoryDb } from "./connection.js";
import { recoverExpired } from "./recovery.js";
import { compareIds } from "./run-table.js";
import * as runs from "./runs.js";
import * as schedules from "./schedules.js";

/** Options for {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** The store's clock (default: the system clock). Tests pass a `FakeClock`. */
  readonly clock?: Clock;
}

/**
 * The reference {@link Store}: everything in one process's memory, nothing shared. It is the
 * default store (a single-process scheduler) and the executable specification the other stores
 * are checked against. Each method runs without awaiting, so it is atomic in JavaScript. Rows
 * are built by `protocol/transitions.ts`, as in every store that decides in JavaScript.
 *
 * @example
 * ```ts
 * const scheduler = new Scheduler({ store: new MemoryStore() });
 * ```
 */
export class MemoryStore implements Store {
  readonly kind = "memory";
  private readonly db: MemoryDb;

  constructor(options: MemoryStoreOptions = {}) {
    this.db = new MemoryDb(options.clock ?? systemClock);
  }

  async init(): Promise<void> {}

  async close(): Promise<void> {}

  async now(): Promise<number> {
    return this.db.now();
  }

  async registerJob(registration: JobRegistration): Promise<RegisterResult> {
    return this.registerOne(registration);
  }

  async registerJobs(registrations: readonly JobRegistration[]): Promise<RegisterResult[]> {
    return registrations.map((registration) => this.registerOne(registration));
  }

  /**
   * One registration. The job is returned as read back through `MemoryDb.readJob` (the row
   * checks of every store), never as the record just written, so a corrupt row is `CORRUPT_ROW`
   * here as it is on the other stores.
   */
  private registerOne(registration: JobRegistration): RegisterResult {
    const now = this.db.now();
    const existing = this.db.jobs.get(registration.jobId);
    const jobId = registration.jobId;
    if (!existing) {
      this.db.setJob({
        ...registration,
        watermark: null,
        paused: false,
        runCount: 0,
        version: 1,
        createdAt: now,
        updatedAt: now,
      });
      return { job: this.db.readJob(jobId) as JobRecord, outcome: "created", previousHash: null };
    }
    const previousHash = existing.hash;
    if (previousHash === registration.hash) {
      return { job: this.db.readJob(jobId) as JobRecord, outcome: "unchanged", previousHash };
    }
    // `Number()`: a row written behind the store's back may hold a bigint or a string here; the
    // read-back below then reports a value that is no version as CORRUPT_ROW, never a TypeError.
    const version = Number(existing.version) + 1;
    this.db.setJob({ ...existing, ...registration, version, updatedAt: now });
    return { job: this.db.readJob(jobId) as JobRecord, outcome: "updated", previousHash };
  }

  async getJob(jobId: string): Promise<JobRecord | null> {
    return this.db.readJob(jobId);
  }

  async listJobs(): Promise<JobListing> {
    return this.db.listJobs();
  }

  async setPaused(jobId: string, paused: boolean): Promise<boolean> {
    const job = this.db.jobs.get(jobId);
    if (!job) return false;
    this.db.setJob({ ...job, paused, updatedAt: this.db.now() });
    if (!paused && this.db.schedules.has(jobId)) this.db.scheduleChanged();
    return true;
  }

  async claim(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
    return claims.claim(this.db, requests);
  }

  async claimManual(jobId: string, replicaId: string, leaseMs: number): Promise<ClaimedRun | null> {
    return claims.claimManual(this.db, jobId, replicaId, leaseMs);
  }

  async recordMissed(jobId: string, hash: string, instants: readonly number[]): Promise<number[]> {
    return claims.recordMissed(this.db, jobId, hash, instants);
  }

  async startRun(runId: string, token: number, attempt: number): Promise<boolean> {
    return runs.startRun(this.db, runId, token, attempt);
  }

  async heartbeat(runId: string, token: number, leaseMs: number): Promise<boolean> {
    return runs.heartbeat(this.db, runId, token, leaseMs);
  }

  async releaseRun(runId: string, token: number): Promise<boolean> {
    return runs.releaseRun(this.db, runId, token);
  }

  async finishRun(
    runId: string,
    token: number,
    outcome: RunOutcome,
    leaseMs: number,
  ): Promise<FinishResult> {
    return runs.finishRun(this.db, runId, token, outcome, leaseMs);
  }
  async startRuns(requests: readonly StartRequest[]): Promise<boolean[]> {
    return runs.startRuns(this.db, requests);
  }

  async finishRuns(requests: readonly FinishRequest[]): Promise<FinishResult[]> {
    return runs.finishRuns(this.db, requests);
  }

  async recoverExpired(replicaId: string, leaseMs: number, limit: number): Promise<Recovered[]> {
    return recoverExpired(this.db, replicaId, leaseMs, limit);
  }

  async history(query: HistoryQuery = {}): Promise<RunRecord[]> {
    const matches = this.db.runs
      .all(query.jobId)
      .filter(
        (run) =>
          (query.states === undefined || query.states.includes(run.state)) &&
          (query.from === undefined || run.scheduledAt >= query.from) &&
          (query.to === undefined || run.scheduledAt < query.to),
      );
    matches.sort((a, b) => b.scheduledAt - a.scheduledAt || compareIds(b, a));
    return matches.slice(0, Math.max(0, query.limit ?? 100));
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
    return schedules.putSchedules(this.db, writes, mode, returning);
  }

  async getSchedule(jobId: string): Promise<ScheduleRecord | null> {
    return schedules.getSchedule(this.db, jobId);
  }

  async listSchedules(query?: ScheduleQuery): Promise<SchedulePage> {
    return schedules.listSchedules(this.db, query);
  }

  async removeSchedules(jobIds: readonly string[]): Promise<boolean[]> {
    return schedules.removeSchedules(this.db, jobIds);
  }

  async dueSchedules(query: DueQuery): Promise<DueSchedules> {
    return schedules.dueSchedules(this.db, query);
  }

  async scheduleTasks(): Promise<string[]> {
    return schedules.scheduleTasks(this.db);
  }

  async countSchedules(filter?: ScheduleCountFilter): Promise<number> {
    return schedules.countSchedules(this.db, filter);
  }

  async advanceSchedules(items: readonly ScheduleAdvance[]): Promise<void> {
    schedules.advanceSchedules(this.db, items);
  }

  async triggerSchedule(jobId: string): Promise<boolean> {
    return schedules.triggerSchedule(this.db, jobId);
  }

  async claimTriggered(
    jobId: string,
    replicaId: string,
    leaseMs: number,
  ): Promise<ClaimedRun | null> {
    return schedules.claimTriggered(this.db, jobId, replicaId, leaseMs);
  }

  async claimBackfill(
    jobId: string,
    instants: readonly number[],
    replicaId: string,
    leaseMs: number,
  ): Promise<ClaimedRun[] | null> {
    return schedules.claimBackfill(this.db, jobId, instants, replicaId, leaseMs);
  }

  async onScheduleChange(listener: () => void): Promise<() => Promise<void>> {
    return schedules.onScheduleChange(this.db, listener);
  }

  async prune(before: number): Promise<number> {
    let removed = 0;
    for (const run of this.db.runs.all()) {
      if (run.scheduledAt >= before || !TERMINAL_STATES.includes(run.state)) continue;
      this.db.runs.delete(run);
      removed += 1;
    }
    return removed;
  }

  async touchReplica(info: ReplicaInfo): Promise<void> {
    const clockOffsetMs = Math.round(info.clockOffsetMs);
    this.db.replicas.set(info.replicaId, { ...info, clockOffsetMs, lastSeenAt: this.db.now() });
  }

  async listReplicas(since: number): Promise<ReplicaRecord[]> {
    return [...this.db.replicas.values()].filter((replica) => replica.lastSeenAt >= since);
  }

  async addWarning(warning: Omit<WarningRecord, "at">): Promise<void> {
    this.db.warnings.push({ ...warning, at: this.db.now() });
  }

  async listWarnings(limit = 100): Promise<WarningRecord[]> {
    const n = Math.max(0, Math.floor(limit));
    return n === 0 ? [] : this.db.warnings.slice(-n).reverse();
  }
}
