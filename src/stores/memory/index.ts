import { randomUUID } from "node:crypto";
import { systemClock, type Clock } from "../../clock.js";
import { decideOrRefuse } from "../../protocol/claim.js";
import { recoveryAction } from "../../protocol/recovery.js";
import { compareIds, RunTable } from "./runs.js";
import { jobRowOf, parseJobRow, unlessCorrupt } from "../rows.js";
import * as writes from "../../protocol/transitions.js";
import { TERMINAL_STATES } from "../../protocol/vocabulary.js";
import type {
  ClaimedRun,
  ClaimRequest,
  ClaimResult,
  FinishResult,
  HistoryQuery,
  JobRecord,
  JobRegistration,
  Recovered,
  RegisterResult,
  ReplicaInfo,
  ReplicaRecord,
  RunOutcome,
  RunRecord,
  Store,
  WarningRecord,
} from "../store.js";

/** Options for {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** The store's clock (default: the system clock). Tests pass a `FakeClock`. */
  readonly clock?: Clock;
}

const WHERE = "MemoryStore jobs";

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
  private readonly clock: Clock;
  private readonly jobs = new Map<string, JobRecord>();
  private readonly runs = new RunTable();
  private readonly replicas = new Map<string, ReplicaRecord>();
  private readonly warnings: WarningRecord[] = [];

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  async init(): Promise<void> {}

  async close(): Promise<void> {}

  async now(): Promise<number> {
    return this.clock.now();
  }

  async registerJob(registration: JobRegistration): Promise<RegisterResult> {
    const now = this.clock.now();
    const existing = this.jobs.get(registration.jobId);
    if (!existing) {
      const job: JobRecord = {
        ...registration,
        watermark: null,
        paused: false,
        runCount: 0,
        version: 1,
        createdAt: now,
        updatedAt: now,
      };
      this.jobs.set(job.jobId, job);
      return { job, outcome: "created", previousHash: null };
    }
    const previousHash = existing.hash;
    if (previousHash === registration.hash) {
      return { job: existing, outcome: "unchanged", previousHash };
    }
    const version = existing.version + 1;
    const job = this.setJob({ ...existing, ...registration, version, updatedAt: now });
    return { job, outcome: "updated", previousHash };
  }

  async getJob(jobId: string): Promise<JobRecord | null> {
    return this.readJob(jobId);
  }

  async listJobs(): Promise<JobRecord[]> {
    return [...this.jobs.keys()].sort().map((jobId) => this.readJob(jobId) as JobRecord);
  }

  async setPaused(jobId: string, paused: boolean): Promise<boolean> {
    const job = this.jobs.get(jobId);
    if (!job) return false;
    this.setJob({ ...job, paused, updatedAt: this.clock.now() });
    return true;
  }

  async claim(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
    return requests.map((request) => this.claimOne(request, this.clock.now()));
  }

  private claimOne(request: ClaimRequest, now: number): ClaimResult {
    const jobId = request.jobId;
    const decision = decideOrRefuse(request, () => ({
      job: this.readJob(jobId),
      now,
      hasActiveRun: this.hasActiveRun(jobId, now),
      hasQueuedRun: this.runs.open(jobId).some((run) => run.state === "queued"),
    }));
    if (decision.kind === "refuse") return decision.result;
    const { rows, result } = writes.claimRows(request, decision.write, now, randomUUID);
    for (const row of rows) this.runs.insert(row);
    const job = this.jobs.get(jobId) as JobRecord;
    const runCount = job.runCount + (decision.write.countsAsRun ? 1 : 0);
    this.setJob({ ...job, watermark: request.scheduledAt, runCount });
    return result;
  }

  async claimManual(jobId: string, replicaId: string, leaseMs: number): Promise<ClaimedRun | null> {
    if (!this.jobs.has(jobId)) return null;
    const now = this.clock.now();
    let at = now;
    for (const run of this.runs.all(jobId)) {
      if (run.trigger === "manual" && run.scheduledAt >= at) at = run.scheduledAt + 1;
    }
    const row = writes.manualRow(jobId, at, replicaId, now, leaseMs, randomUUID());
    this.runs.insert(row);
    return writes.toClaimedRun(row);
  }

  async recordMissed(jobId: string, hash: string, instants: readonly number[]): Promise<number> {
    const job = this.readJob(jobId);
    if (!job || job.hash !== hash) return 0;
    const now = this.clock.now();
    const fresh = writes.newMissedInstants(job.watermark, instants);
    for (const at of fresh) this.runs.insert(writes.missedRow(jobId, at, now, randomUUID()));
    const newest = fresh[fresh.length - 1];
    if (newest !== undefined) this.setJob({ ...job, watermark: newest });
    return fresh.length;
  }

  async startRun(runId: string, token: number, attempt: number): Promise<boolean> {
    return this.updateOwned(runId, token, (run, now) => writes.startedRow(run, attempt, now));
  }

  async heartbeat(runId: string, token: number, leaseMs: number): Promise<boolean> {
    return this.updateOwned(runId, token, (run, now) => ({
      ...run,
      leaseExpiresAt: now + leaseMs,
    }));
  }

  async releaseRun(runId: string, token: number): Promise<boolean> {
    return this.updateOwned(runId, token, (run, now) => ({ ...run, leaseExpiresAt: now }));
  }

  async finishRun(
    runId: string,
    token: number,
    outcome: RunOutcome,
    leaseMs: number,
  ): Promise<FinishResult> {
    const now = this.clock.now();
    const run = this.runs.get(runId);
    if (!writes.isOwned(run, token, now)) return { ok: false, next: null };
    this.runs.put(writes.finishedRow(run, outcome, now));
    const queued = this.runs.open(run.jobId).find((r) => r.state === "queued");
    if (!queued) return { ok: true, next: null };
    const next = writes.takenOverRow(queued, run.replicaId ?? "", leaseMs, now, false);
    this.runs.put(next);
    return { ok: true, next: writes.toClaimedRun(next) };
  }

  async recoverExpired(replicaId: string, leaseMs: number, limit: number): Promise<Recovered[]> {
    const now = this.clock.now();
    const recovered: Recovered[] = [];
    const expired = this.runs
      .open()
      .filter((run) => run.state !== "queued" && !writes.isActive(run, now))
      .sort((a, b) => (a.leaseExpiresAt ?? 0) - (b.leaseExpiresAt ?? 0) || compareIds(a, b));
    for (const run of expired.slice(0, Math.max(0, limit))) {
      const job = unlessCorrupt(() => this.readJob(run.jobId));
      const action = recoveryAction(job, run.attempt, this.hasActiveRun(run.jobId, now));
      const { row, recovered: entry } = writes.recoveredRow(run, action, replicaId, leaseMs, now);
      this.runs.put(row);
      recovered.push(entry);
    }
    for (const run of this.runs.open().filter((r) => r.state === "queued")) {
      if (recovered.length >= limit) break;
      if (this.hasActiveRun(run.jobId, now)) continue;
      const next = writes.takenOverRow(run, replicaId, leaseMs, now, false);
      this.runs.put(next);
      recovered.push({ action: "promoted", run: writes.toClaimedRun(next) });
    }
    return recovered;
  }

  async history(query: HistoryQuery = {}): Promise<RunRecord[]> {
    const matches = this.runs
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

  async prune(before: number): Promise<number> {
    let removed = 0;
    for (const run of this.runs.all()) {
      if (run.scheduledAt >= before || !TERMINAL_STATES.includes(run.state)) continue;
      this.runs.delete(run);
      removed += 1;
    }
    return removed;
  }

  async touchReplica(info: ReplicaInfo): Promise<void> {
    const clockOffsetMs = Math.round(info.clockOffsetMs);
    this.replicas.set(info.replicaId, { ...info, clockOffsetMs, lastSeenAt: this.clock.now() });
  }

  async listReplicas(since: number): Promise<ReplicaRecord[]> {
    return [...this.replicas.values()].filter((replica) => replica.lastSeenAt >= since);
  }

  async addWarning(warning: Omit<WarningRecord, "at">): Promise<void> {
    this.warnings.push({ ...warning, at: this.clock.now() });
  }

  async listWarnings(limit = 100): Promise<WarningRecord[]> {
    const n = Math.max(0, Math.floor(limit));
    return n === 0 ? [] : this.warnings.slice(-n).reverse();
  }

  /** The job, checked with the rules of every store's row parsing. @throws `CORRUPT_ROW`. */
  private readJob(jobId: string): JobRecord | null {
    const job = this.jobs.get(jobId);
    return job ? parseJobRow(jobRowOf(job), WHERE) : null;
  }

  private setJob(job: JobRecord): JobRecord {
    this.jobs.set(job.jobId, job);
    return job;
  }

  private hasActiveRun(jobId: string, now: number): boolean {
    return this.runs.open(jobId).some((run) => writes.isActive(run, now));
  }

  /** Rewrites a run the caller owns (token current, lease not expired); false when fenced. */
  private updateOwned(
    runId: string,
    token: number,
    change: (run: RunRecord, now: number) => RunRecord,
  ): boolean {
    const now = this.clock.now();
    const run = this.runs.get(runId);
    if (!writes.isOwned(run, token, now)) return false;
    this.runs.put(change(run, now));
    return true;
  }
}
