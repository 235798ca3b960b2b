import { OffsetClock, type Clock } from "./clock.js";
import { coordinatorFor, type Coordinator, type ManualRun } from "./coordination/coordinator.js";
import { newJobState, type JobState } from "./coordination/job-state.js";
import { Runner } from "./coordination/runner.js";
import { BurstOrder } from "./coordination/spread.js";
import { toPositiveMs, type Duration } from "./duration.js";
import { toSchedulerConfig, type SchedulerOptions } from "./scheduler-options.js";
import { BelfryError } from "./errors.js";
import type { EventHub, Listener, SchedulerEventName } from "./observe/events.js";
import { pingStore, type HealthReport, type PassTracker } from "./observe/health.js";
import type { Logger } from "./observe/logger.js";
import { observed } from "./observe/observed.js";
import { defaultTracer } from "./observe/tracing.js";
import { toJobConfig, type Handler, type JobConfig, type JobOptions } from "./options.js";
import { ProcessHooks } from "./process-hooks.js";
import { DueTimer } from "./queue.js";
import type { Schedule, ScheduleSpec } from "./schedules/schedule.js";
import { capabilities } from "./stores/shared/capabilities.js";
import { MemoryStore } from "./stores/memory/index.js";
import type { HistoryQuery, RunRecord, Store } from "./stores/store.js";
import { auditStore, type AuditOptions, type AuditReport } from "./observe/audit.js";
import { Backfills } from "./runtime/backfill.js";
import { DuePoller } from "./runtime/poller.js";
import { Schedules } from "./runtime/schedules.js";
import { TaskRegistry, type TaskOptions } from "./runtime/tasks.js";

/** A job as `jobs()` lists it. */
export interface JobInfo {
  readonly id: string;
  readonly schedule: ScheduleSpec;
  readonly tags: readonly string[];
  /** Next occurrence this replica will try to claim, or null. */
  readonly nextRun: Date | null;
}

interface Entry {
  readonly options: JobOptions;
  readonly state: JobState;
}

/** A pass of at least this many due jobs (or of a full `concurrency`) is a burst. */
const BURST_JOBS = 50;
/** Least time between two listings of the replicas sharing the store. */
const REPLICAS_LIST_MS = 10_000;
/** A replica seen this recently is taken to be up (replica rows are touched every 30 s). */
const REPLICAS_SEEN_MS = 75_000;

/**
 * The scheduler: define jobs, `start()`, and every occurrence of every job runs exactly once
 * across all replicas that share the store. It keeps the lifecycle, the jobs defined here and
 * the dispatch loop (one timer on a queue of due times); how replicas agree on who runs an
 * occurrence is its {@link Coordinator}'s business.
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
  /** The store this scheduler coordinates through (reads for dashboards and audits). */
  readonly store: Store;
  /**
   * Runtime schedules: created, changed and removed at run time by any replica, stored as rows,
   * run by the replicas that define their task (see {@link task}).
   */
  readonly schedules: Schedules;
  private readonly ownsStore: boolean;
  private readonly clock: OffsetClock;
  private readonly timezone: string;
  private readonly logger: Logger;
  private readonly hub: EventHub;
  private readonly runner: Runner;
  private readonly coordinator: Coordinator;
  private readonly entries = new Map<string, Entry>();
  private readonly tasks = new TaskRegistry();
  /** The due path of runtime schedules; null on a store that cannot keep them. */
  private readonly poller: DuePoller | null;
  /** `schedules.backfill` runs on this replica. */
  private readonly backfills: Backfills;
  private readonly due: DueTimer;
  private readonly concurrency: number;
  private readonly stopTimeoutMs: number;
  private readonly hooks: ProcessHooks;
  private readonly passes: PassTracker;
  /** The order of jobs due at one instant (see `spread.ts`). */
  private readonly order: BurstOrder;
  /** When the replicas sharing the store were last listed (store time). */
  private replicasListedAt = Number.NEGATIVE_INFINITY;
  private started = false;
  private stopping: Promise<void> | null = null;

  constructor(options: SchedulerOptions = {}) {
    const config = toSchedulerConfig(options);
    const localClock: Clock = config.clock;
    this.clock = new OffsetClock(localClock);
    this.replicaId = config.replicaId;
    this.ownsStore = options.store === undefined;
    ({
      logger: this.logger,
      hub: this.hub,
      store: this.store,
      passes: this.passes,
    } = observed({
      store: options.store ?? new MemoryStore({ clock: localClock }),
      logger: config.logger,
      loggerGiven: options.logger !== undefined,
      localClock,
      clock: this.clock,
      replicaId: this.replicaId,
      debug: process.env.DEBUG,
      storeTimeoutMs: config.storeTimeoutMs,
    }));
    this.timezone = config.timezone;
    this.concurrency = config.concurrency;
    this.stopTimeoutMs = config.stopTimeoutMs;
    this.order = new BurstOrder(this.replicaId);
    this.due = new DueTimer(
      this.clock,
      (ids) => this.dispatch(ids),
      () => this.room(),
      (id) => this.order.rank(id),
    );
    this.hooks = new ProcessHooks({
      keepAlive: !config.unref,
      signals: config.shutdownSignals,
      logger: this.logger,
      drain: () => this.stop({ drain: true }),
    });
    const shared = {
      store: this.store,
      clock: this.clock,
      hub: this.hub,
      logger: this.logger,
      replicaId: this.replicaId,
      leaseMs: config.leaseMs,
    };
    this.runner = new Runner({
      ...shared,
      tracer: defaultTracer(),
      onSettled: () => {
        this.due.wake();
        this.poller?.roomFreed();
        this.backfills.roomFreed();
      },
    });
    this.coordinator = coordinatorFor(config.coordination, config.leaderTermMs, {
      ...shared,
      localClock,
      runner: this.runner,
      recoveryMs: config.recoveryMs,
      clockSyncMs: config.clockSyncMs,
      skewThresholdMs: config.skewThresholdMs,
      retention: config.retention,
      // Wake-ups planned on the stepped clock are off by the step: plan every job again.
      onClockStep: () => {
        this.lookAtEveryJobNow();
        this.due.wake();
      },
      job: (jobId) => this.entries.get(jobId)?.state ?? this.poller?.stateOf(jobId),
      runsAnything: () => this.entries.size > 0 || this.tasks.names().length > 0,
    });
    this.poller = this.store.dueSchedules
      ? new DuePoller({
          ...shared,
          records: this.store as Required<Store>,
          warnings: capabilities(this.store).warnings,
          tasks: this.tasks,
          coordinator: this.coordinator,
          runner: this.runner,
          room: () => this.room(),
          pass: (states) =>
            this.passes.pass(() => this.coordinator.pass(states, () => this.room())),
        })
      : null;
    this.backfills = new Backfills({ ...shared, runner: this.runner, room: () => this.room() });
    this.schedules = new Schedules({
      store: this.store,
      clock: this.clock,
      timezone: this.timezone,
      assertStarted: (where) => this.assertStarted(where),
      wake: () => this.poller?.wake(),
      tasks: this.tasks,
      backfills: this.backfills,
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
    const config = toJobConfig(id, schedule, handler, options, this.timezone);
    this.addEntry(config, options ?? {}, null);
    return this.infoOf(id);
  }

  /**
   * Defines a task: the handler that runtime schedules naming it run (`schedules.create({ task,
   * … })`). A replica claims only schedules of tasks it defines, so during a rolling deploy the
   * replicas without the handler leave them to the others. Throws `DUPLICATE_TASK` for a name
   * defined here already.
   */
  task(name: string, handler: Handler, options?: TaskOptions): void {
    this.tasks.define(name, handler, options);
    if (this.started) this.poller?.wake();
  }

  /** Replaces a job's schedule, handler or options, keeping its place in the series. */
  update(
    id: string,
    change: { schedule?: Schedule; handler?: Handler; options?: JobOptions },
  ): JobInfo {
    const entry = this.entryOf(id);
    const { schedule, handler } = entry.state.series.config;
    const options = change.options ?? entry.options;
    const config = toJobConfig(
      id,
      change.schedule ?? schedule,
      change.handler ?? handler,
      options,
      this.timezone,
    );
    this.remove(id);
    this.addEntry(config, options, entry.state.cursor);
    return this.infoOf(id);
  }

  /** Stops scheduling the job on this replica. Returns false if it was not defined. */
  remove(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    entry.state.retired = true;
    this.due.delete(id);
    return this.entries.delete(id);
  }

  /** Removes every job carrying `tag`; returns their ids. */
  removeByTag(tag: string): string[] {
    const ids = [...this.entries.values()]
      .map((e) => e.state.series.config)
      .filter((config) => config.tags.includes(tag))
      .map((config) => config.id);
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
    return await this.coordinator.runNow(entry.state);
  }

  /**
   * Pauses the job on every replica: until `resume`, each occurrence that falls due is recorded
   * as a `skipped` row (error `paused`) instead of running.
   */
  pause(id: string): Promise<void> {
    return this.setPaused(id, true, "pause");
  }

  /** Resumes a paused job on every replica. */
  resume(id: string): Promise<void> {
    return this.setPaused(id, false, "resume");
  }

  /** Run records, newest first. */
  history(query?: HistoryQuery): Promise<RunRecord[]> {
    return this.store.history(query);
  }

  /**
   * Recomputes from each job's stored definition what was due in the window (default: the last
   * 24 h) and compares it with the run records: duplicates, unexplained misses, late starts,
   * failures, overlaps, clock skew and the replicas seen (see `auditStore`).
   */
  audit(options: AuditOptions = {}): Promise<AuditReport> {
    return auditStore(this.store, { now: this.clock.now(), ...options });
  }

  /**
   * Deletes terminal run records (`succeeded`, `failed`, `abandoned`, `missed`, `skipped`)
   * scheduled before `before`, never active or queued ones and never a job's watermark, so a
   * pruned occurrence can never be claimed again. Returns how many were deleted. Throws
   * `UNSUPPORTED` on a store without the `prune` capability. See also `historyRetention`.
   */
  async prune(before: Date | number): Promise<number> {
    const { retention } = capabilities(this.store);
    if (!retention) {
      throw new BelfryError(
        "UNSUPPORTED",
        `prune(): the ${this.store.kind} store cannot delete run records (no prune capability)`,
      );
    }
    return await retention.prune(typeof before === "number" ? before : before.getTime());
  }

  /**
   * A snapshot for readiness and liveness probes; `storeReachable` pings the store, waiting at
   * most `timeout` (default 5 s).
   */
  async health(options: { timeout?: Duration } = {}): Promise<HealthReport> {
    const timeoutMs = toPositiveMs(options.timeout ?? "5s", "health({ timeout })");
    const lastPass = this.passes.lastSuccessfulPassAt;
    return {
      started: this.started,
      storeReachable: await pingStore(this.store, this.clock, timeoutMs),
      lastSuccessfulPassAt: lastPass === null ? null : new Date(lastPass),
      clockOffsetMs: this.clock.offset,
      running: this.runner.activeCount,
      jobs: this.entries.size,
    };
  }

  /**
   * Connects the store (throws `STORE_CONNECT` when it cannot), measures the clock offset,
   * registers the jobs and starts dispatching. From then on the scheduler keeps the Node
   * process alive until `stop()` (unless `unref: true`) and, with `shutdownSignals`, stops with
   * `{ drain: true }` on those signals.
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
    this.hooks.attach();
    this.runner.resume();
    await this.coordinator.start([...this.entries.values()].map((entry) => entry.state));
    await this.poller?.start();
    this.lookAtEveryJobNow();
    this.logger.info(
      { store: this.store.kind, jobs: this.entries.size },
      "belfry: scheduler started",
    );
    this.due.start();
  }

  /**
   * Stops dispatching. With `drain`, running handlers get up to `stopTimeout` to finish; the
   * rest are aborted and their leases released so another replica recovers them. The process
   * is no longer held open.
   */
  stop(options: { drain?: boolean } = {}): Promise<void> {
    if (!this.started) return Promise.resolve();
    // A second stop() (a shutdown signal and the application's own) waits for the first.
    this.stopping ??= this.stopNow(options.drain ?? true).finally(() => (this.stopping = null));
    return this.stopping;
  }

  private async stopNow(drain: boolean): Promise<void> {
    await this.backfills.stop();
    await this.due.stop();
    await this.poller?.stop();
    await this.coordinator.stop();
    await this.runner.stop(drain, this.stopTimeoutMs);
    this.started = false;
    this.hooks.detach();
    if (this.ownsStore) await this.store.close();
    this.logger.info({}, "belfry: scheduler stopped");
  }

  private addEntry(config: JobConfig, options: JobOptions, cursor: number | null): void {
    const state = newJobState(config, this.timezone, cursor);
    this.entries.set(config.id, { options, state });
    // Before start() this is overwritten; while stopped the timer stays disarmed.
    this.due.set(config.id, this.clock.now());
    this.due.wake();
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
    const { state } = this.entryOf(id);
    const clock = this.clock;
    let nextRun: Date | null | undefined;
    return {
      id,
      schedule: state.series.config.schedule.spec,
      tags: state.series.config.tags,
      // Computed on first read: job() returns this for every job defined, and a schedule's next
      // instant (cron, calendar maths) was most of the cost of defining one.
      get nextRun(): Date | null {
        if (nextRun === undefined) {
          const next = state.nextAt ?? state.series.next(state.cursor ?? clock.now());
          nextRun = next === null ? null : new Date(next);
        }
        return nextRun;
      },
    };
  }

  private assertStarted(where: string): void {
    if (!this.started) throw new BelfryError("NOT_STARTED", `${where}(): call start() first`);
  }

  private async setPaused(id: string, paused: boolean, where: string): Promise<void> {
    const entry = this.entryOf(id);
    this.assertStarted(where);
    await this.coordinator.setPaused(entry.state, paused);
  }

  /**
   * On a burst, learns which replicas share the store (at most once per
   * {@link REPLICAS_LIST_MS}), so that the jobs still queued split by owner (`BurstOrder`). A
   * failure only leaves the order as it was.
   */
  private async listReplicas(): Promise<void> {
    const records = capabilities(this.store).replicas;
    const now = this.clock.now();
    if (!records || now - this.replicasListedAt < REPLICAS_LIST_MS) return;
    this.replicasListedAt = now;
    try {
      const seen = await records.listReplicas(now - REPLICAS_SEEN_MS);
      if (this.order.setReplicas(seen.map((replica) => replica.replicaId))) this.due.rerank();
    } catch (error) {
      this.hub.emit("store:error", { replicaId: this.replicaId, operation: "listReplicas", error });
    }
  }

  /** Queues every job for a pass at store now (each pass then says when to look again). */
  private lookAtEveryJobNow(): void {
    const now = this.clock.now();
    for (const id of this.entries.keys()) this.due.set(id, now);
  }

  /** Runs this replica can start now (`concurrency` minus the run slots in use here). */
  private room(): number {
    return Math.max(0, this.concurrency - this.runner.slotsInUse(this.concurrency));
  }

  /** One pass over the jobs that are due: the coordinator runs them, the queue learns when next. */
  private async dispatch(ids: readonly string[]): Promise<void> {
    const jobs = ids.flatMap((id) => this.entries.get(id)?.state ?? []);
    if (jobs.length === 0) return;
    if (jobs.length >= Math.min(BURST_JOBS, this.concurrency)) await this.listReplicas();
    const wakes = await this.passes.pass(() => this.coordinator.pass(jobs, () => this.room()));
    for (const { job, at } of wakes) {
      if (!job.retired && at !== null) this.due.set(job.series.config.id, at);
    }
  }
}
