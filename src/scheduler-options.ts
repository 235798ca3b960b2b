import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { systemClock, type Clock } from "./clock.js";
import { toMs, toPositiveMs, type Duration } from "./duration.js";
import { BelfryError } from "./errors.js";
import { silentLogger, type Logger } from "./observe/logger.js";
import {
  toRetentionConfig,
  type HistoryRetention,
  type RetentionConfig,
} from "./observe/retention.js";
import { assertTimezone } from "./schedules/schedule.js";
import type { Coordination } from "./coordination/modes.js";
import type { Store } from "./stores/store.js";

/** Options of {@link Scheduler}; every field is optional. */
export interface SchedulerOptions {
  /** Where claims and run records live (default: a new `MemoryStore`, nothing shared). */
  readonly store?: Store;
  /** Local clock (default: the system clock). The scheduler runs on store time derived from it. */
  readonly clock?: Clock;
  /** IANA zone for schedules that do not name one (default `UTC`). */
  readonly timezone?: string;
  /** pino-compatible logger (default: silent). */
  readonly logger?: Logger;
  /** Most runs executing at once on this replica (default: unlimited). */
  readonly concurrency?: number;
  /** How long `stop({ drain: true })` waits for running handlers (default 30 s). */
  readonly stopTimeout?: Duration;
  /** This replica's id in run records (default `<host>-<pid>-<random>`). */
  readonly replicaId?: string;
  /** Lease of a running run, renewed every third (default 30 s). */
  readonly leaseDuration?: Duration;
  /** How often to look for runs whose lease expired (default: half the lease). */
  readonly recoveryInterval?: Duration;
  /** How often to re-measure the offset to the store clock (default 5 min). */
  readonly clockSyncInterval?: Duration;
  /** Offset to the store clock above which `clock:skew` is raised (default 2 s). */
  readonly skewThreshold?: Duration;
  /**
   * How replicas coordinate (default `occurrence`: each occurrence is claimed in the store).
   * `leader`, `{ elector }` and `{ locker }` behave like gocron's Elector and Locker, for
   * migration; they are weaker (see docs/coordination.md).
   */
  readonly coordination?: Coordination;
  /** Term of the `leader` mode's election (default 10 s). */
  readonly leaderTerm?: Duration;
  /**
   * Deletes old terminal run records periodically, on stores with the `prune` capability (all
   * bundled stores); default: keep every record. Watermarks are never touched.
   */
  readonly historyRetention?: HistoryRetention;
}

/** {@link SchedulerOptions} validated, with defaults applied. */
export interface SchedulerConfig {
  readonly clock: Clock;
  readonly timezone: string;
  readonly logger: Logger;
  readonly concurrency: number;
  readonly stopTimeoutMs: number;
  readonly leaseMs: number;
  readonly recoveryMs: number;
  readonly clockSyncMs: number;
  readonly skewThresholdMs: number;
  readonly replicaId: string;
  readonly coordination: Coordination;
  readonly leaderTermMs: number;
  readonly retention: RetentionConfig | null;
}

/** Validates scheduler options in one place; throws `BelfryError` naming the option. */
export function toSchedulerConfig(options: SchedulerOptions): SchedulerConfig {
  const timezone = options.timezone ?? "UTC";
  assertTimezone(timezone, "Scheduler({ timezone })");
  const concurrency = options.concurrency ?? Number.POSITIVE_INFINITY;
  if (!(concurrency >= 1)) {
    throw new BelfryError(
      "INVALID_OPTION",
      `Scheduler({ concurrency }): must be ≥ 1, got ${options.concurrency}`,
    );
  }
  const leaseMs = toPositiveMs(options.leaseDuration ?? "30s", "Scheduler({ leaseDuration })");
  return {
    clock: options.clock ?? systemClock,
    timezone,
    logger: options.logger ?? silentLogger,
    concurrency,
    stopTimeoutMs: toMs(options.stopTimeout ?? "30s", "Scheduler({ stopTimeout })"),
    leaseMs,
    recoveryMs: toPositiveMs(
      options.recoveryInterval ?? leaseMs / 2,
      "Scheduler({ recoveryInterval })",
    ),
    clockSyncMs: toPositiveMs(
      options.clockSyncInterval ?? "5m",
      "Scheduler({ clockSyncInterval })",
    ),
    skewThresholdMs: toPositiveMs(options.skewThreshold ?? "2s", "Scheduler({ skewThreshold })"),
    coordination: options.coordination ?? "occurrence",
    leaderTermMs: toPositiveMs(options.leaderTerm ?? "10s", "Scheduler({ leaderTerm })"),
    retention: toRetentionConfig(options.historyRetention),
    replicaId:
      options.replicaId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`,
  };
}
