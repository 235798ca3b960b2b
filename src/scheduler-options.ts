import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { systemClock, type Clock } from "./clock.js";
import { z } from "zod";
import type { Duration } from "./duration.js";
import { quote } from "./errors.js";
import { silentLogger, type Logger } from "./observe/logger.js";
import {
  durationField,
  parseOptions,
  refuse,
  strictOptions,
  timezoneField,
  withMethods,
} from "./validation.js";
import type { HistoryRetention, RetentionConfig } from "./observe/retention.js";
import type { Coordination } from "./coordination/modes.js";
import { toShutdownSignals } from "./process-hooks.js";
import type { Store } from "./stores/store.js";

/**
 * Default of `concurrency`: enough runs in flight to keep a store's round trips busy, few enough
 * that their heartbeats and outcome writes fit a 10-connection pool without queueing past a
 * lease, and that a burst spreads over the replicas instead of landing on the fastest one.
 */
export const DEFAULT_CONCURRENCY = 100;

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
  /**
   * Most handlers running at once on this replica (default {@link DEFAULT_CONCURRENCY}, 100;
   * `Infinity` for no limit); runs whose handler returned and that wait for their outcome write
   * count only beyond this many of them. A replica claims only occurrences it can start now, so when many
   * jobs fall due at once a replica at its limit leaves the rest to the other replicas (or takes
   * them as its runs end), and no run it claimed waits locally while its lease runs down.
   */
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
   * Let the process exit while the scheduler runs (default false: a started scheduler keeps
   * the Node process alive until `stop()`, as a server does).
   */
  readonly unref?: boolean;
  /**
   * Signals on which the scheduler stops with `{ drain: true }` (running handlers get up to
   * `stopTimeout`) and then lets the process end by raising the signal again; `true` means
   * `["SIGTERM", "SIGINT"]` (default: none). The listeners are removed on `stop()`.
   */
  readonly shutdownSignals?: boolean | readonly NodeJS.Signals[];
  /**
   * Deletes old terminal run records periodically, on stores with the `prune` capability (all
   * bundled stores); default: keep every record. Watermarks are never touched.
   */
  readonly historyRetention?: HistoryRetention;
  /**
   * Longest wait for one store call (default 10 s; `init` is not limited): a call still pending
   * then rejects with `STORE_ERROR` (cause `TIMEOUT`) and the scheduler carries on, so a
   * blackholed connection cannot hang a replica. A timed-out write may still land in the store.
   */
  readonly storeTimeout?: Duration;
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
  readonly unref: boolean;
  readonly shutdownSignals: readonly NodeJS.Signals[];
  readonly retention: RetentionConfig | null;
  readonly storeTimeoutMs: number;
}

/** The shortest lease: a run's heartbeat goes every third of it, so it must cover a round trip. */
const MIN_LEASE_MS = 1_000;
/** The most characters of a replica id (it is stored in every run record). */
const MAX_REPLICA_ID = 200;

const schedulerOptions = strictOptions({
  store: withMethods<Store>("a Store such as new PostgresStore(…)", [
    "claim",
    "registerJob",
  ]).optional(),
  clock: withMethods<Clock>("a Clock", ["now", "setTimer"]).default(systemClock),
  timezone: timezoneField().default("UTC"),
  logger: withMethods<Logger>("a pino-compatible logger", [
    "debug",
    "info",
    "warn",
    "error",
  ]).default(silentLogger),
  concurrency: z
    .unknown()
    .transform((value, ctx): number =>
      value === Number.POSITIVE_INFINITY || (Number.isSafeInteger(value) && (value as number) >= 1)
        ? (value as number)
        : refuse(
            ctx,
            "INVALID_OPTION",
            `must be a whole number ≥ 1 or Infinity, got ${quote(value)}`,
          ),
    )
    .default(DEFAULT_CONCURRENCY),
  stopTimeout: durationField(0).default(30_000),
  replicaId: z
    .string()
    .refine((id) => id.trim() !== "", "must not be empty")
    .refine((id) => id.length <= MAX_REPLICA_ID, `must be at most ${MAX_REPLICA_ID} characters`)
    .optional(),
  leaseDuration: durationField(MIN_LEASE_MS).default(30_000),
  recoveryInterval: durationField(100).optional(),
  clockSyncInterval: durationField(MIN_LEASE_MS).default(300_000),
  skewThreshold: durationField(1).default(2_000),
  coordination: z
    .unknown()
    .transform((value, ctx): Coordination =>
      isCoordination(value)
        ? value
        : refuse(
            ctx,
            "INVALID_OPTION",
            `must be "occurrence", "leader", { elector } or { locker }, got ${quote(value)}`,
          ),
    )
    .default("occurrence"),
  leaderTerm: durationField(MIN_LEASE_MS).default(10_000),
  unref: z.boolean().default(false),
  // Checked by toShutdownSignals, which names the signal that is wrong.
  shutdownSignals: z.unknown().optional(),
  historyRetention: strictOptions({
    maxAge: durationField(1),
    interval: durationField(1_000).default(3_600_000),
  }).optional(),
  storeTimeout: durationField(1).default(10_000),
} satisfies Record<keyof SchedulerOptions, z.ZodType>);

function isCoordination(value: unknown): value is Coordination {
  if (value === "occurrence" || value === "leader") return true;
  if (typeof value !== "object" || value === null) return false;
  const mode = value as { elector?: { isLeader?: unknown }; locker?: { lock?: unknown } };
  return typeof mode.elector?.isLeader === "function" || typeof mode.locker?.lock === "function";
}

/**
 * Validates scheduler options in one place: unknown keys are `UNKNOWN_OPTION` (naming the nearest
 * option), bad values `INVALID_OPTION`, `INVALID_INTERVAL` or `INVALID_TIMEZONE`, each naming the
 * option and the value.
 */
export function toSchedulerConfig(options: SchedulerOptions): SchedulerConfig {
  const parsed = parseOptions(schedulerOptions, options, "Scheduler");
  return {
    clock: parsed.clock,
    timezone: parsed.timezone,
    logger: parsed.logger,
    concurrency: parsed.concurrency,
    stopTimeoutMs: parsed.stopTimeout,
    leaseMs: parsed.leaseDuration,
    recoveryMs: parsed.recoveryInterval ?? parsed.leaseDuration / 2,
    clockSyncMs: parsed.clockSyncInterval,
    skewThresholdMs: parsed.skewThreshold,
    coordination: parsed.coordination,
    leaderTermMs: parsed.leaderTerm,
    replicaId: parsed.replicaId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`,
    unref: parsed.unref,
    shutdownSignals: toShutdownSignals(
      parsed.shutdownSignals as SchedulerOptions["shutdownSignals"],
    ),
    retention: parsed.historyRetention
      ? {
          maxAgeMs: parsed.historyRetention.maxAge,
          intervalMs: parsed.historyRetention.interval,
        }
      : null,
    storeTimeoutMs: parsed.storeTimeout,
  };
}
