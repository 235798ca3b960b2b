import { randomUUID } from "node:crypto";
import { systemClock, type Clock } from "../clock.js";
import { decideClaim, recoveryAction, type ClaimWrite } from "./claim-rules.js";
import {
  ACTIVE_STATES,
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
  type RunState,
  type RunTrigger,
  type Store,
  type WarningRecord,
} from "./store.js";

/** Options for {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** The store's clock (default: the system clock). Tests pass a `FakeClock`. */
  readonly clock?: Clock;
}

type MutableRun = { -readonly [K in keyof RunRecord]: RunRecord[K] };
type MutableJob = { -readonly [K in keyof JobRecord]: JobRecord[K] };

const TERMINAL: readonly RunState[] = ["succeeded", "failed", "abandoned", "missed", "skipped"];

/**
 * The reference {@link Store}: everything in one process's memory, nothing shared. It is the
 * default store (a single-process scheduler) and the executable specification the other stores
 * are checked against. Each method runs without awaiting, so it is atomic in JavaScript.
 *
 * @example
 * ```ts
 * const scheduler = new Scheduler({ store: new MemoryStore() });
 * ```
 */
export class MemoryStore implements Store {
  readonly kind = "memory";
  private readonly clock: Clock;
  private readonly jobs = new Map<string, MutableJob>();
  private readonly runs = new Map<string, MutableRun>();
  private readonly occurrences = new Map<string, string>();
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
      const job: MutableJob = {
        ...registration,
        watermark: null,
        paused: false,
        runCount: 0,
        version: 1,
        createdAt: now,
        updatedAt: now,
      };
      this.jobs.set(job.jobId, job);
      return { job: { ...job }, outcome: "created", previousHash: null };
    }
    if (existing.hash === registration.hash) {
      return { job: { ...existing }, outcome: "unchanged", previousHash: existing.hash };
    }
    const previousHash = existing.hash;
    Object.assign(existing, registration, { version: existing.version + 1, updatedAt: now });
    return { job: { ...existing }, outcome: "updated", previousHash };
  }

  async getJob(jobId: string): Promise<JobRecord | null> {
    const job = this.jobs.get(jobId);
    return job ? { ...job } : null;
  }

  async listJobs(): Promise<JobRecord[]> {
    return [...this.jobs.values()].map((job) => ({ ...job }));
  }

  async setPaused(jobId: string, paused: boolean): Promise<boolean> {
    const job = this.jobs.get(jobId);
    if (!job) return false;
    job.paused = paused;
    job.updatedAt = this.clock.now();
    return true;
  }

  async claim(requests: readonly ClaimRequest[]): Promise<ClaimResult[]> {
    return requests.map((request) => this.claimOne(request));
  }

  private claimOne(request: ClaimRequest): ClaimResult {
    const now = this.clock.now();
    const job = this.jobs.get(request.jobId) ?? null;
    const decision = decideClaim(request, {
      job,
      now,
      hasActiveRun: this.activeRuns(request.jobId, now).length > 0,
      hasQueuedRun: this.runsOf(request.jobId, ["queued"]).length > 0,
    });
    if (decision.kind === "refuse") return decision.result;
    return this.applyClaim(job as MutableJob, request, decision.write, now);
  }

  private applyClaim(
    job: MutableJob,
    request: ClaimRequest,
    write: ClaimWrite,
    now: number,
  ): ClaimResult {
    for (const at of write.missed) this.insertMissed(job.jobId, at);
    job.watermark = request.scheduledAt;
    if (write.countsAsRun) job.runCount += 1;
    const claimed = write.state === "claimed";
    const run = this.insertRun({
      jobId: job.jobId,
      scheduledAt: request.scheduledAt,
      trigger: "schedule",
      state: write.state,
      token: claimed ? 1 : 0,
      replicaId: request.replicaId,
      claimedAt: claimed ? now : null,
      finishedAt: write.state === "skipped" ? now : null,
      leaseExpiresAt: claimed ? now + request.leaseMs : null,
    });
    if (claimed) return { status: "won", run: toClaimed(run) };
    return { status: write.state, runId: run.runId };
  }

  async claimManual(jobId: string, replicaId: string, leaseMs: number): Promise<ClaimedRun | null> {
    if (!this.jobs.has(jobId)) return null;
    let at = this.clock.now();
    while (this.occurrences.has(occurrenceKey(jobId, at, "manual"))) at += 1;
    const run = this.insertRun({
      jobId,
      scheduledAt: at,
      trigger: "manual",
      state: "claimed",
      token: 1,
      replicaId,
      claimedAt: at,
      finishedAt: null,
      leaseExpiresAt: this.clock.now() + leaseMs,
    });
    return toClaimed(run);
  }

  async recordMissed(jobId: string, hash: string, instants: readonly number[]): Promise<number> {
    const job = this.jobs.get(jobId);
    if (!job || job.hash !== hash) return 0;
    const floor = job.watermark ?? Number.NEGATIVE_INFINITY;
    const fresh = [...new Set(instants)].filter((at) => at > floor).sort((a, b) => a - b);
    for (const at of fresh) this.insertMissed(jobId, at);
    if (fresh.length > 0) job.watermark = fresh[fresh.length - 1] as number;
    return fresh.length;
  }

  async startRun(runId: string, token: number, attempt: number): Promise<boolean> {
    const run = this.ownedRun(runId, token);
    if (!run) return false;
    run.state = "running";
    run.attempt = attempt;
    run.startedAt = this.clock.now();
    return true;
  }

  async heartbeat(runId: string, token: number, leaseMs: number): Promise<boolean> {
    const run = this.ownedRun(runId, token);
    if (!run) return false;
    run.leaseExpiresAt = this.clock.now() + leaseMs;
    return true;
  }

  async finishRun(
    runId: string,
    token: number,
    outcome: RunOutcome,
    leaseMs: number,
  ): Promise<FinishResult> {
    const run = this.ownedRun(runId, token);
    if (!run) return { ok: false, next: null };
    const now = this.clock.now();
    run.state = outcome.state;
    run.error = outcome.error ?? null;
    run.finishedAt = now;
    run.leaseExpiresAt = null;
    const queued = this.runsOf(run.jobId, ["queued"])[0];
    if (!queued) return { ok: true, next: null };
    return { ok: true, next: this.takeOver(queued, run.replicaId ?? "", leaseMs, now, false) };
  }

  async releaseRun(runId: string, token: number): Promise<boolean> {
    const run = this.ownedRun(runId, token);
    if (!run) return false;
    run.leaseExpiresAt = this.clock.now();
    return true;
  }

  async recoverExpired(replicaId: string, leaseMs: number, limit: number): Promise<Recovered[]> {
    const now = this.clock.now();
    const recovered: Recovered[] = [];
    for (const run of this.runs.values()) {
      if (recovered.length >= limit) break;
      if (!ACTIVE_STATES.includes(run.state) || (run.leaseExpiresAt ?? 0) > now) continue;
      recovered.push(this.recoverOne(run, replicaId, leaseMs, now));
    }
    for (const run of this.runs.values()) {
      if (recovered.length >= limit) break;
      if (run.state !== "queued" || this.activeRuns(run.jobId, now).length > 0) continue;
      const next = this.takeOver(run, replicaId, leaseMs, now, false);
      recovered.push({ action: "promoted", run: next });
    }
    return recovered;
  }

  private recoverOne(run: MutableRun, replicaId: string, leaseMs: number, now: number): Recovered {
    const action = recoveryAction(this.jobs.get(run.jobId) ?? null, run.attempt);
    const reason = `lease expired on replica ${run.replicaId ?? "?"} (attempt ${run.attempt})`;
    if (action === "retried") {
      const claimed = this.takeOver(run, replicaId, leaseMs, now, true);
      run.error = reason;
      return { action, run: claimed };
    }
    run.state = "abandoned";
    run.token += 1;
    run.finishedAt = now;
    run.leaseExpiresAt = null;
    run.error = reason;
    return { action, runId: run.runId, jobId: run.jobId, scheduledAt: run.scheduledAt };
  }

  /** Gives `run` to `replicaId` as a fresh claim with a new token (fencing the old owner). */
  private takeOver(
    run: MutableRun,
    replicaId: string,
    leaseMs: number,
    now: number,
    nextAttempt: boolean,
  ): ClaimedRun {
    run.state = "claimed";
    run.token += 1;
    if (nextAttempt) run.attempt += 1;
    run.replicaId = replicaId;
    run.claimedAt = now;
    run.startedAt = null;
    run.leaseExpiresAt = now + leaseMs;
    return toClaimed(run);
  }

  async history(query: HistoryQuery = {}): Promise<RunRecord[]> {
    const matches = [...this.runs.values()].filter(
      (run) =>
        (query.jobId === undefined || run.jobId === query.jobId) &&
        (query.states === undefined || query.states.includes(run.state)) &&
        (query.from === undefined || run.scheduledAt >= query.from) &&
        (query.to === undefined || run.scheduledAt < query.to),
    );
    matches.sort((a, b) => b.scheduledAt - a.scheduledAt || a.runId.localeCompare(b.runId));
    return matches.slice(0, query.limit ?? 100).map((run) => ({ ...run }));
  }

  async prune(before: number): Promise<number> {
    let removed = 0;
    for (const run of [...this.runs.values()]) {
      if (run.scheduledAt >= before || !TERMINAL.includes(run.state)) continue;
      this.runs.delete(run.runId);
      this.occurrences.delete(occurrenceKey(run.jobId, run.scheduledAt, run.trigger));
      removed += 1;
    }
    return removed;
  }

  async touchReplica(info: ReplicaInfo): Promise<void> {
    this.replicas.set(info.replicaId, { ...info, lastSeenAt: this.clock.now() });
  }

  async listReplicas(since: number): Promise<ReplicaRecord[]> {
    return [...this.replicas.values()].filter((replica) => replica.lastSeenAt >= since);
  }

  async addWarning(warning: Omit<WarningRecord, "at">): Promise<void> {
    this.warnings.push({ ...warning, at: this.clock.now() });
  }

  async listWarnings(limit = 100): Promise<WarningRecord[]> {
    return this.warnings.slice(-limit).reverse();
  }

  private ownedRun(runId: string, token: number): MutableRun | undefined {
    const run = this.runs.get(runId);
    if (!run || run.token !== token || !ACTIVE_STATES.includes(run.state)) return undefined;
    return run;
  }

  private runsOf(jobId: string, states: readonly RunState[]): MutableRun[] {
    return [...this.runs.values()]
      .filter((run) => run.jobId === jobId && states.includes(run.state))
      .sort((a, b) => a.scheduledAt - b.scheduledAt);
  }

  private activeRuns(jobId: string, now: number): MutableRun[] {
    return this.runsOf(jobId, ACTIVE_STATES).filter((run) => (run.leaseExpiresAt ?? 0) > now);
  }

  private insertMissed(jobId: string, scheduledAt: number): void {
    if (this.occurrences.has(occurrenceKey(jobId, scheduledAt, "schedule"))) return;
    const now = this.clock.now();
    this.insertRun({
      jobId,
      scheduledAt,
      trigger: "schedule",
      state: "missed",
      token: 0,
      replicaId: null,
      claimedAt: null,
      finishedAt: now,
      leaseExpiresAt: null,
    });
  }

  private insertRun(
    fields: Pick<
      MutableRun,
      | "jobId"
      | "scheduledAt"
      | "trigger"
      | "state"
      | "token"
      | "replicaId"
      | "claimedAt"
      | "finishedAt"
      | "leaseExpiresAt"
    >,
  ): MutableRun {
    const run: MutableRun = {
      ...fields,
      runId: randomUUID(),
      attempt: 1,
      startedAt: null,
      error: null,
    };
    this.runs.set(run.runId, run);
    this.occurrences.set(occurrenceKey(run.jobId, run.scheduledAt, run.trigger), run.runId);
    return run;
  }
}

function occurrenceKey(jobId: string, scheduledAt: number, trigger: RunTrigger): string {
  return `${jobId}\u0000${scheduledAt}\u0000${trigger}`;
}

function toClaimed(run: RunRecord): ClaimedRun {
  return {
    runId: run.runId,
    jobId: run.jobId,
    scheduledAt: run.scheduledAt,
    trigger: run.trigger,
    attempt: run.attempt,
    token: run.token,
    leaseExpiresAt: run.leaseExpiresAt ?? 0,
  };
}
