import { OffsetClock, settle, type Clock, type Timer } from "./clock.js";
import { claimDue, type JobState } from "./coordination/claimer.js";
import { unrecordedLedger } from "./coordination/lease.js";
import { Maintenance } from "./coordination/maintenance.js";
import { gatedPass, gateFor, type Gate } from "./coordination/modes.js";
import { Runner } from "./coordination/runner.js";
import { JobSeries } from "./coordination/series.js";
import { toMs, type Duration } from "./duration.js";
import { toSchedulerConfig, type SchedulerOptions } from "./scheduler-options.js";
import { BelfryError, wrapError } from "./errors.js";
import { EventHub, type Listener, type SchedulerEventName } from "./observe/events.js";
import type { Logger } from "./observe/logger.js";
import { toJobConfig, type Handler, type JobConfig, type JobOptions } from "./options.js";
import { DueQueue } from "./queue.js";
import type { Schedule, ScheduleSpec } from "./schedules/schedule.js";
import { MemoryStore } from "./stores/memory/index.js";
import type {
  ClaimedRun,
  HistoryQuery,
  JobRecord,
  ReplicaRecord,
  RunRecord,
  Store,
  WarningRecord,
} from "./stores/store.js";

/** A job as `jobs()` lists it. */
export interface JobInfo {
  readonly id: string;
  readonly schedule: ScheduleSpec;
  readonly tags: readonly string[];
  /** Next occurrence this replica will try to claim, or null. */
  readonly nextRun: Date | null;
}

/** A manual run started by {@link Scheduler.runNow}. */
export interface ManualRun {
  readonly runId: string;
  /** Settles when the run has finished on this replica. */
  readonly finished: Promise<void>;
}

/** Everything an auditor wants in one call. */
export interface AuditReport {
  readonly jobs: JobRecord[];
  readonly replicas: ReplicaRecord[];
  readonly warnings: WarningRecord[];
}

interface Entry {
  readonly config: JobConfig;
  readonly options: JobOptions;
  readonly state: JobState;
  registered: boolean;
  nextAt: number | null;
}

const MAX_TIMER_WAIT_MS = 30_000;
const REPLICA_TOUCH_MS = 30_000;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;
const SYS = { recover: "\u0000recover", clock: "\u0000clock", replica: "\u0000replica" };

/**
 * The scheduler: define jobs, `start()`, and every occurrence of every job runs exactly once
 * across all replicas that share the store.
 *
 * @example
 * ```ts
 * const scheduler = new Scheduler({ store: new SqliteStore({ path: "belfry.db" }) });
 * scheduler.job("nightly-report", cron("0 3 * * *", { timezone: "Europe/Berlin" }),
 *   async (run) => sendReport(run.idempotencyKey, run.signal), { overlap: "skip" });
 * await scheduler.start();
 * ```
 */
export class Scheduler {
  /** This replica's id, as written in run records. */
  readonly replicaId: string;
  private readonly store: Store;
  private readonly ownsStore: boolean;
  private readonly localClock: Clock;
  private readonly clock: OffsetClock;
  private readonly timezone: string;
  private readonly logger: Logger;
  private readonly hub: EventHub;
  private readonly runner: Runner;
  private readonly entries = new Map<string, Entry>();
  private readonly queue = new DueQueue();
  private readonly concurrency: number;
  private readonly stopTimeoutMs: number;
  private readonly leaseMs: number;
  private readonly recoveryMs: number;
  private readonly clockSyncMs: number;
  private readonly maintenance: Maintenance;
  /** Set in gocron-style modes: who may run, instead of the occurrence claim. */
  private readonly gate: Gate | null;
  private timer: Timer | null = null;
  private started = false;
  private stopping = false;
  private ticking: Promise<void> | null = null;
  private storeFailures = 0;

  constructor(options: SchedulerOptions = {}) {
    const config = toSchedulerConfig(options);
    this.localClock = config.clock;
    this.clock = new OffsetClock(this.localClock);
    this.ownsStore = options.store === undefined;
    this.store = options.store ?? new MemoryStore({ clock: this.localClock });
    this.timezone = config.timezone;
    this.logger = config.logger;
    this.hub = new EventHub(this.logger);
    this.concurrency = config.concurrency;
    this.stopTimeoutMs = config.stopTimeoutMs;
    this.leaseMs = config.leaseMs;
    this.recoveryMs = config.recoveryMs;
    this.clockSyncMs = config.clockSyncMs;
    this.replicaId = config.replicaId;
    this.gate =
      config.coordination === "occurrence"
        ? null
        : gateFor(config.coordination, this.store, this.replicaId, config.leaderTermMs);
    this.runner = new Runner({
      store: this.store,
      clock: this.clock,
      hub: this.hub,
      logger: this.logger,
      replicaId: this.replicaId,
      leaseMs: this.leaseMs,
      onSettled: () => this.wake(),
    });
    this.maintenance = new Maintenance({
      store: this.store,
      hub: this.hub,
      logger: this.logger,
      replicaId: this.replicaId,
      localClock: this.localClock,
      clock: this.clock,
      leaseMs: this.leaseMs,
      skewThresholdMs: config.skewThresholdMs,
      startedAt: this.localClock.now(),
      execute: (run, origin) => this.executeTakenOver(run, origin),
      reportStoreError: (operation, error) => this.reportStoreError(operation, error),
    });
  }

  /** Subscribes to an event (see `SchedulerEvents`). */
  on<E extends SchedulerEventName>(event: E, listener: Listener<E>): this {
    this.hub.on(event, listener);
    return this;
  }

  /** Unsubscribes a listener. */
  off<E extends SchedulerEventName>(event: E, listener: Listener<E>): this {
    this.hub.off(event, listener);
    return this;
  }

  /**
   * Defines a job. Throws `DUPLICATE_JOB` for an id already defined here, and the schedule's or
   * options' validation errors. After `start()`, the job is registered in the background.
   */
  job(id: string, schedule: Schedule, handler: Handler, options?: JobOptions): JobInfo {
    if (this.entries.has(id)) {
      throw new BelfryError(
        "DUPLICATE_JOB",
        `job(${JSON.stringify(id)}): a job with this id is already defined; use update() to change it or remove() it first`,
      );
    }
    const config = toJobConfig(id, schedule, handler, options);
    this.addEntry(config, options ?? {}, null);
    return this.infoOf(id);
  }

  /** Replaces a job's schedule, handler or options, keeping its place in the series. */
  update(
    id: string,
    change: { schedule?: Schedule; handler?: Handler; options?: JobOptions },
  ): JobInfo {
    const entry = this.entryOf(id);
    const options = change.options ?? entry.options;
    const schedule = change.schedule ?? entry.config.schedule;
    const config = toJobConfig(id, schedule, change.handler ?? entry.config.handler, options);
    this.queue.delete(id);
    this.addEntry(config, options, entry.state.cursor);
    return this.infoOf(id);
  }

  /** Stops scheduling the job on this replica. Returns false if it was not defined. */
  remove(id: string): boolean {
    this.queue.delete(id);
    return this.entries.delete(id);
  }

  /** Removes every job carrying `tag`; returns their ids. */
  removeByTag(tag: string): string[] {
    const ids = [...this.entries.values()]
      .filter((e) => e.config.tags.includes(tag))
      .map((e) => e.config.id);
    for (const id of ids) this.remove(id);
    return ids;
  }

  /** The jobs defined on this replica. */
  jobs(): JobInfo[] {
    return [...this.entries.keys()].map((id) => this.infoOf(id));
  }

  /** The next occurrence of the job this replica will try to claim. */
  nextRun(id: string): Date | null {
    return this.infoOf(id).nextRun;
  }

  /** Runs the job now on this replica, outside its schedule (recorded as a `manual` run). */
  async runNow(id: string): Promise<ManualRun> {
    const entry = this.entryOf(id);
    this.assertStarted("runNow");
    await this.register(entry);
    const run = await this.store.claimManual(id, this.replicaId, this.leaseMs);
    if (!run)
      throw new BelfryError(
        "UNKNOWN_JOB",
        `runNow(${JSON.stringify(id)}): the store does not know this job`,
      );
    return { runId: run.runId, finished: this.runner.execute(entry.config, run) };
  }

  /** Pauses the job on every replica (claims are refused until `resume`). */
  async pause(id: string): Promise<void> {
    this.entryOf(id);
    this.assertStarted("pause");
    await this.store.setPaused(id, true);
  }

  /** Resumes a paused job on every replica. */
  async resume(id: string): Promise<void> {
    this.entryOf(id);
    this.assertStarted("resume");
    await this.store.setPaused(id, false);
  }

  /** Run records, newest first. */
  history(query?: HistoryQuery): Promise<RunRecord[]> {
    return this.store.history(query);
  }

  /** Stored job rows, replicas seen in the last `since` (default 1 h) and persisted warnings. */
  async audit(since: Duration = "1h"): Promise<AuditReport> {
    const cutoff = this.clock.now() - toMs(since, "audit(since)");
    const [jobs, replicas, warnings] = await Promise.all([
      this.store.listJobs(),
      this.store.listReplicas(cutoff),
      this.store.listWarnings(),
    ]);
    return { jobs, replicas, warnings };
  }

  /**
   * Connects the store (throws `STORE_CONNECT` when it cannot), measures the clock offset,
   * registers the jobs and starts dispatching.
   */
  async start(): Promise<void> {
    if (this.started)
      throw new BelfryError("ALREADY_STARTED", "start(): the scheduler is already running");
    await this.store.init();
    for (const message of this.store.settingsWarnings ?? []) {
      this.logger.warn({ store: this.store.kind }, message);
      this.hub.emit("store:warning", { replicaId: this.replicaId, message });
    }
    this.started = true;
    this.stopping = false;
    this.runner.resume();
    // gocron-style modes decide on this replica's own clock, as gocron does.
    if (!this.gate) await this.maintenance.syncClock();
    await Promise.all(
      [...this.entries.values()].map((entry) =>
        this.register(entry).catch((error: unknown) => this.reportStoreError("registerJob", error)),
      ),
    );
    const now = this.clock.now();
    for (const entry of this.entries.values()) this.queue.set(entry.config.id, now);
    if (!this.gate) {
      this.queue.set(SYS.recover, now);
      this.queue.set(SYS.clock, now + this.clockSyncMs);
    }
    this.queue.set(SYS.replica, now);
    this.logger.info(
      { replicaId: this.replicaId, store: this.store.kind, jobs: this.entries.size },
      "belfry: scheduler started",
    );
    this.wake();
  }

  /**
   * Stops dispatching. With `drain`, running handlers get up to `stopTimeout` to finish; the
   * rest are aborted and their leases released so another replica recovers them.
   */
  async stop(options: { drain?: boolean } = {}): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    this.timer?.cancel();
    this.timer = null;
    await this.ticking;
    await this.runner.stop(options.drain ?? true, this.stopTimeoutMs);
    this.started = false;
    if (this.ownsStore) await this.store.close();
    this.logger.info({ replicaId: this.replicaId }, "belfry: scheduler stopped");
  }

  private addEntry(config: JobConfig, options: JobOptions, cursor: number | null): void {
    const series = new JobSeries(config, this.timezone);
    const hash = series.registration().hash;
    const state: JobState = {
      series,
      hash,
      cursor,
      exhausted: false,
      superseded: false,
      unregistered: false,
    };
    const entry: Entry = { config, options, state, registered: false, nextAt: null };
    this.entries.set(config.id, entry);
    if (this.started && !this.stopping) {
      this.queue.set(config.id, this.clock.now());
      this.wake();
    }
  }

  private entryOf(id: string): Entry {
    const entry = this.entries.get(id);
    if (!entry)
      throw new BelfryError(
        "UNKNOWN_JOB",
        `job ${JSON.stringify(id)} is not defined on this scheduler`,
      );
    return entry;
  }

  private infoOf(id: string): JobInfo {
    const entry = this.entryOf(id);
    const next = entry.nextAt ?? entry.state.series.next(entry.state.cursor ?? this.clock.now());
    return {
      id,
      schedule: entry.config.schedule.spec,
      tags: entry.config.tags,
      nextRun: next === null ? null : new Date(next),
    };
  }

  private assertStarted(where: string): void {
    if (!this.started) throw new BelfryError("NOT_STARTED", `${where}(): call start() first`);
  }

  private async register(entry: Entry): Promise<void> {
    if (entry.registered && !entry.state.unregistered) return;
    const result = await this.store.registerJob(entry.state.series.registration());
    entry.state.series.createdAt = result.job.createdAt;
    entry.state.cursor = maxOf(entry.state.cursor, result.job.watermark);
    entry.state.unregistered = false;
    entry.registered = true;
    if (result.outcome === "updated") {
      this.logger.info(
        { jobId: entry.config.id, previousHash: result.previousHash, hash: result.job.hash },
        "belfry: job definition changed; stored definition replaced",
      );
    }
  }

  /** Runs a pass now if something is due, else re-arms the one timer. */
  private wake(): void {
    if (!this.started || this.stopping) return;
    if (this.ticking) return;
    this.timer?.cancel();
    const next = this.queue.peek();
    if (next === null) return;
    const delay = Math.min(Math.max(0, next - this.clock.now()), MAX_TIMER_WAIT_MS);
    this.timer = this.clock.setTimer(delay, () => {
      this.timer = null;
      this.ticking = this.tick().finally(() => {
        this.ticking = null;
        this.wake();
      });
    });
  }

  private async tick(): Promise<void> {
    const now = this.clock.now();
    const keys = this.queue.popDue(now);
    const jobs: Entry[] = [];
    for (const key of keys) {
      if (key === SYS.recover) {
        this.queue.set(SYS.recover, now + this.recoveryMs);
        await this.maintenance.recover();
      } else if (key === SYS.clock) {
        this.queue.set(SYS.clock, now + this.clockSyncMs);
        // gocron-style modes decide on this replica's own clock, as gocron does.
        if (!this.gate) await this.maintenance.syncClock();
      } else if (key === SYS.replica) {
        this.queue.set(SYS.replica, now + REPLICA_TOUCH_MS);
        await this.maintenance.touchReplica();
      } else {
        const entry = this.entries.get(key);
        if (entry) jobs.push(entry);
      }
    }
    if (jobs.length > 0) await this.dispatch(jobs);
  }

  private async dispatch(entries: Entry[]): Promise<void> {
    const ready: Entry[] = [];
    for (const entry of entries) {
      try {
        await this.register(entry);
        ready.push(entry);
      } catch (error) {
        this.reportStoreError("registerJob", error);
        this.queue.set(entry.config.id, this.clock.now() + this.retryDelay());
      }
    }
    if (this.gate) return this.dispatchGated(this.gate, ready);
    const now = this.clock.now();
    const slots = Math.max(0, this.concurrency - this.runner.activeCount);
    const prefetch: JobState[] = [];
    try {
      const passes = await claimDue(
        this.claimDeps(),
        ready.map((e) => e.state),
        now,
        slots,
      );
      this.storeFailures = 0;
      for (const pass of passes) {
        const entry = this.entries.get(pass.state.series.config.id);
        if (!entry || entry.state !== pass.state) continue;
        for (const run of pass.won) {
          void this.runner.execute(entry.config, run);
        }
        entry.nextAt = pass.wakeAt;
        prefetch.push(entry.state);
        if (pass.state.unregistered) entry.registered = false;
        // With no free slot a due job would wake at once and spin: look again a second later.
        const full = slots === 0 && pass.wakeAt !== null && pass.wakeAt <= now;
        if (pass.wakeAt !== null)
          this.queue.set(entry.config.id, full ? now + RETRY_MIN_MS : pass.wakeAt);
      }
    } catch (error) {
      this.reportStoreError("claim", error);
      const retryAt = this.clock.now() + this.retryDelay();
      for (const entry of ready) this.queue.set(entry.config.id, retryAt);
    }
    // Once the won runs are under way, compute each job's occurrence after next while idle,
    // so the next pass finds it ready instead of computing it on the critical path.
    await settle(1);
    for (const state of prefetch) if (state.cursor !== null) state.series.prefetch(state.cursor);
  }

  /** gocron-style: run what the elector or locker allows, on this replica's clock. */
  private async dispatchGated(gate: Gate, entries: Entry[]): Promise<void> {
    for (const entry of entries) {
      const now = this.clock.now();
      try {
        for (const { run, release } of await gatedPass(gate, entry.state, now)) {
          void this.runner
            .execute(entry.config, run, "claimed", unrecordedLedger)
            .finally(() =>
              release().catch((error: unknown) => this.reportStoreError("unlock", error)),
            );
        }
      } catch (error) {
        this.reportStoreError("coordination", error);
      }
      entry.nextAt = entry.state.series.next(Math.max(entry.state.cursor ?? now, now));
      if (entry.nextAt !== null) this.queue.set(entry.config.id, entry.nextAt);
    }
  }

  private claimDeps() {
    return {
      store: this.store,
      hub: this.hub,
      logger: this.logger,
      replicaId: this.replicaId,
      leaseMs: this.leaseMs,
    };
  }

  private executeTakenOver(run: ClaimedRun, origin: "claimed" | "recovered"): boolean {
    const entry = this.entries.get(run.jobId);
    if (!entry) return false;
    void this.runner.execute(entry.config, run, origin);
    return true;
  }

  private reportStoreError(operation: string, error: unknown): void {
    this.storeFailures += 1;
    const wrapped = wrapError(
      "STORE_ERROR",
      `store ${this.store.kind}: ${operation} failed`,
      error,
    );
    this.logger.error({ err: wrapped, operation }, wrapped.message);
    this.hub.emit("store:error", { replicaId: this.replicaId, operation, error: wrapped });
  }

  private retryDelay(): number {
    return Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.max(0, this.storeFailures - 1));
  }
}

function maxOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
