import { hostname } from "node:os";
import type { Clock, OffsetClock } from "../clock.js";
import type { EventHub } from "../observe/events.js";
import type { Logger } from "../observe/logger.js";
import type { ClaimedRun, Store } from "../stores/store.js";
import { measureOffset } from "./clock-sync.js";

/** What the periodic tasks need from their scheduler. */
export interface MaintenanceDeps {
  readonly store: Store;
  readonly hub: EventHub;
  readonly logger: Logger;
  readonly replicaId: string;
  /** The replica's own clock, measured against the store's. */
  readonly localClock: Clock;
  /** The scheduler's store-time clock; its offset is set here. */
  readonly clock: OffsetClock;
  readonly leaseMs: number;
  readonly skewThresholdMs: number;
  readonly startedAt: number;
  /** Starts executing a run taken over here; false when this replica does not define the job. */
  readonly execute: (run: ClaimedRun, origin: "claimed" | "recovered") => boolean;
  readonly reportStoreError: (operation: string, error: unknown) => void;
}

const RECOVER_BATCH = 100;

/**
 * The scheduler's periodic tasks: recovering runs whose lease expired, keeping the offset to
 * the store clock, and the replica's row for audit. Each swallows store errors after reporting
 * them, so the dispatch loop never dies of one.
 */
export class Maintenance {
  private skewed = false;

  constructor(private readonly deps: MaintenanceDeps) {}

  /** Takes over expired runs (exactly one replica wins each) per the job's `onAbandoned`. */
  async recover(): Promise<void> {
    const { store, hub, logger, replicaId, leaseMs } = this.deps;
    try {
      for (const item of await store.recoverExpired(replicaId, leaseMs, RECOVER_BATCH)) {
        if (item.action === "abandoned") {
          const { jobId, runId } = item;
          logger.warn({ jobId, runId }, "belfry: run abandoned after its lease expired");
          hub.emit("run:abandoned", {
            jobId,
            runId,
            scheduledAt: new Date(item.scheduledAt),
            replicaId,
          });
        } else if (
          !this.deps.execute(item.run, item.action === "retried" ? "recovered" : "claimed")
        ) {
          // Another replica defines this job: hand the run back at once.
          await store.releaseRun(item.run.runId, item.run.token);
        }
      }
    } catch (error) {
      this.deps.reportStoreError("recoverExpired", error);
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
        await store.addWarning({ replicaId, kind: "clock-skew", message });
      }
      this.skewed = skewed;
    } catch (error) {
      this.deps.reportStoreError("now", error);
    }
  }

  /** Upserts this replica's row (host, pid, clock offset). */
  async touchReplica(): Promise<void> {
    try {
      await this.deps.store.touchReplica({
        replicaId: this.deps.replicaId,
        host: hostname(),
        pid: process.pid,
        startedAt: this.deps.startedAt,
        clockOffsetMs: this.deps.clock.offset,
      });
    } catch (error) {
      this.deps.reportStoreError("touchReplica", error);
    }
  }
}
