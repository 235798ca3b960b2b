import { hostname } from "node:os";
import { monotonicNow, type Timer } from "../clock.js";
import type { ClaimedRun } from "../stores/store.js";
import { capabilities, type Capabilities } from "../stores/shared/capabilities.js";
import { measureOffset } from "./clock-sync.js";
import type { CoordinatorDeps } from "./coordinator.js";
import { Periodic } from "./periodic.js";
import type { StoreErrors } from "./store-errors.js";

/** What the periodic tasks need from their coordinator. */
export interface MaintenanceDeps extends Omit<CoordinatorDeps, "runner" | "job"> {
  /** Starts executing a run taken over here; false when this replica does not define the job. */
  readonly execute: (run: ClaimedRun, origin: "claimed" | "recovered") => Promise<boolean>;
  readonly errors: StoreErrors;
}

const RECOVER_BATCH = 100;
const REPLICA_TOUCH_MS = 30_000;
/** How often the local wall clock is compared with the monotonic clock. */
const STEP_CHECK_MS = 1_000;
/** A wall-clock step larger than this re-measures the store offset at once. */
const STEP_THRESHOLD_MS = 1_000;

/**
 * The periodic tasks: recovering runs whose lease expired, keeping the offset to the store
 * clock, the replica's row for audit, and pruning old run records (`historyRetention`). Each runs on its own timer, so a slow store call in
 * one of them never delays a claim, and each swallows store errors after reporting them.
 */
export class Maintenance {
  private skewed = false;
  private readonly startedAt: number;
  private readonly capabilities: Capabilities;
  private timers: Periodic[] = [];
  private stepTimer: Timer | null = null;
  private stepCheck: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly deps: MaintenanceDeps) {
    this.startedAt = deps.localClock.now();
    this.capabilities = capabilities(deps.store);
  }

  /**
   * Starts the timers: the replica row (when the store keeps replica rows), the prune (with
   * `historyRetention`, when the store can prune) and, with
   * `occurrence` (the claim protocol), lease recovery at once and clock sync after an interval.
   */
  start(occurrence: boolean): void {
    const { localClock, recoveryMs, clockSyncMs } = this.deps;
    const every = (intervalMs: number, firstDelayMs: number, task: () => Promise<void>) =>
      this.timers.push(new Periodic(localClock, intervalMs, task, firstDelayMs));
    if (occurrence) {
      every(recoveryMs, 0, () => this.recover());
      every(clockSyncMs, clockSyncMs, () => this.syncClock());
      this.watchClockSteps(this.wallAhead());
    }
    if (this.capabilities.replicas) every(REPLICA_TOUCH_MS, 0, () => this.touchReplica());
    const { retention } = this.deps;
    if (retention && this.capabilities.retention) {
      every(retention.intervalMs, 0, () => this.prune(retention.maxAgeMs));
    }
  }

  /** Stops the timers and waits for a task in flight. */
  async stop(): Promise<void> {
    const timers = this.timers;
    this.timers = [];
    this.stopped = true;
    this.stepTimer?.cancel();
    this.stepTimer = null;
    await Promise.all([...timers.map((timer) => timer.stop()), this.stepCheck]);
  }

  /** Local wall time minus monotonic time: constant until the wall clock is stepped. */
  private wallAhead(): number {
    const { localClock } = this.deps;
    return localClock.now() - monotonicNow(localClock);
  }

  /**
   * Every second, compares the wall clock with the monotonic clock. When the wall clock was
   * stepped (NTP step, an operator's `date -s`, a VM restored from a snapshot), the offset to the
   * store clock is stale by the size of the step: re-measure it at once and wake the dispatch,
   * instead of running on the wrong time until the next clock sync (minutes). The check runs on a
   * relative timer, so a backward step does not delay it.
   */
  private watchClockSteps(before: number): void {
    this.stepTimer = this.deps.localClock.setTimer(STEP_CHECK_MS, () => {
      const now = this.wallAhead();
      if (Math.abs(now - before) <= STEP_THRESHOLD_MS) return this.watchClockSteps(now);
      this.deps.logger.warn(
        { stepMs: now - before },
        "belfry: the local wall clock was stepped; measuring the store clock again",
      );
      this.stepCheck = this.syncClock().then(() => {
        this.stepCheck = null;
        this.deps.onClockStep?.();
        if (!this.stopped) this.watchClockSteps(this.wallAhead());
      });
    });
  }

  /**
   * Takes over expired runs (exactly one replica wins each) per the job's `onAbandoned`. A
   * replica that defines no job and no task (one that only writes runtime schedules) takes
   * none: it could run none, and a take-over it handed back would have spent one of the run's
   * attempts, so the replica that then recovers it would find none left and abandon it.
   */
  async recover(): Promise<void> {
    const { store, hub, logger, replicaId, leaseMs } = this.deps;
    if (!this.deps.runsAnything()) return;
    try {
      for (const item of await store.recoverExpired(replicaId, leaseMs, RECOVER_BATCH)) {
        if (item.action === "abandoned") {
          const { jobId, runId } = item;
          const scheduledAt = new Date(item.scheduledAt).toISOString();
          logger.warn(
            { jobId, runId, scheduledAt },
            "belfry: run abandoned after its lease expired",
          );
          hub.emit("run:abandoned", {
            jobId,
            runId,
            scheduledAt: new Date(item.scheduledAt),
            replicaId,
          });
        } else if (
          !(await this.deps.execute(item.run, item.action === "retried" ? "recovered" : "claimed"))
        ) {
          // Another replica defines this job: hand the run back at once.
          await store.releaseRun(item.run.runId, item.run.token);
        }
      }
    } catch (error) {
      this.deps.errors.report("recoverExpired", error);
    }
  }

  /** Re-measures the offset to the store clock; reports skew above the threshold once. */
  async syncClock(): Promise<void> {
    const { store, hub, logger, replicaId, skewThresholdMs } = this.deps;
    try {
      const sample = await measureOffset(store, this.deps.localClock);
      this.deps.clock.offset = sample.offsetMs;
      const skewed = Math.abs(sample.offsetMs) > skewThresholdMs;
      if (skewed && !this.skewed) {
        const message = `replica ${replicaId}: clock differs from the store clock by ${sample.offsetMs} ms (threshold ${skewThresholdMs} ms); belfry runs on store time, but check NTP on this host`;
        logger.warn({ offsetMs: sample.offsetMs, rttMs: sample.rttMs }, message);
        hub.emit("clock:skew", {
          replicaId,
          offsetMs: sample.offsetMs,
          thresholdMs: skewThresholdMs,
        });
        await this.capabilities.warnings?.addWarning({ replicaId, kind: "clock-skew", message });
      }
      this.skewed = skewed;
    } catch (error) {
      this.deps.errors.report("now", error);
    }
  }

  /** Deletes terminal run records scheduled more than `maxAgeMs` ago (store time). */
  private async prune(maxAgeMs: number): Promise<void> {
    const before = this.deps.clock.now() - maxAgeMs;
    try {
      const deleted = (await this.capabilities.retention?.prune(before)) ?? 0;
      if (deleted > 0) {
        this.deps.logger.info(
          { deleted, before: new Date(before).toISOString() },
          "belfry: pruned old run records",
        );
      }
    } catch (error) {
      this.deps.errors.report("prune", error);
    }
  }

  /** Upserts this replica's row (host, pid, clock offset). */
  private async touchReplica(): Promise<void> {
    try {
      await this.capabilities.replicas?.touchReplica({
        replicaId: this.deps.replicaId,
        host: hostname(),
        pid: process.pid,
        startedAt: this.startedAt,
        clockOffsetMs: this.deps.clock.offset,
      });
    } catch (error) {
      this.deps.errors.report("touchReplica", error);
    }
  }
}
