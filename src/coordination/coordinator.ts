import type { OffsetClock, Clock } from "../clock.js";
import type { EventHub } from "../observe/events.js";
import type { Logger } from "../observe/logger.js";
import type { RetentionConfig } from "../observe/retention.js";
import type { Store } from "../stores/store.js";
import { GatedCoordinator } from "./gated.js";
import type { JobState } from "./job-state.js";
import type { Coordination } from "./modes.js";
import { OccurrenceCoordinator } from "./occurrence.js";
import type { Runner } from "./runner.js";

/** A manual run started by `Scheduler.runNow`. */
export interface ManualRun {
  readonly runId: string;
  /** Settles when the run has finished on this replica. */
  readonly finished: Promise<void>;
}

/** When to look at a job again after a pass (store time), or null when its series is over. */
export interface Wake {
  readonly job: JobState;
  readonly at: number | null;
}

/**
 * The seam between the scheduler and how replicas agree on who runs what. The scheduler keeps
 * the jobs, the due queue and the lifecycle; a coordinator registers jobs, decides in a pass
 * which due occurrences this replica runs and starts them, starts manual runs, pauses jobs and
 * keeps its own maintenance (lease recovery, clock sync, replica row) on its own timers.
 *
 * Two implementations: the occurrence claim (default, `occurrence.ts`) and the gocron-style
 * gated modes, leader / elector / locker (`gated.ts`).
 */
export interface Coordinator {
  /**
   * Begins coordinating: measures the store clock (occurrence claim), registers `jobs` (a
   * failure is reported and retried by the first pass) and starts the maintenance timers.
   */
  start(jobs: readonly JobState[]): Promise<void>;
  /** Stops the maintenance timers and waits for a maintenance task in flight. */
  stop(): Promise<void>;
  /**
   * One pass over due jobs: registers those the store does not know yet, starts the runs this
   * replica may run now (at most `room()` new ones at any moment, where the mode honours it) and
   * says when to look at each job again. Never rejects: store failures are reported and retried
   * later.
   */
  pass(jobs: readonly JobState[], room: () => number): Promise<Wake[]>;
  /** Starts a `manual` run of the job on this replica, outside its schedule. */
  runNow(job: JobState): Promise<ManualRun>;
  /** Pauses or resumes the job on every replica. */
  setPaused(job: JobState, paused: boolean): Promise<void>;
}

/** What a coordinator needs from its scheduler. */
export interface CoordinatorDeps {
  readonly store: Store;
  readonly hub: EventHub;
  readonly logger: Logger;
  readonly replicaId: string;
  /** The replica's own clock; maintenance timers run on it. */
  readonly localClock: Clock;
  /** Store time: the local clock plus the offset the clock sync measures. */
  readonly clock: OffsetClock;
  readonly runner: Runner;
  readonly leaseMs: number;
  readonly recoveryMs: number;
  readonly clockSyncMs: number;
  readonly skewThresholdMs: number;
  /** `historyRetention`: the periodic prune of old run records, or null for none. */
  readonly retention: RetentionConfig | null;
  /** Called after the store offset was re-measured because the local wall clock stepped. */
  readonly onClockStep?: () => void;
  /**
   * The job this replica defines under `jobId` (a `job()` or a runtime schedule of a task
   * defined here, read from the store), for runs taken over by recovery.
   */
  readonly job: (jobId: string) => JobState | undefined | Promise<JobState | undefined>;
  /** True while this replica defines a job or a task, so it could run a run it takes over. */
  readonly runsAnything: () => boolean;
}

/** The coordinator for a coordination mode; `leaderTermMs` is the `leader` mode's term. */
export function coordinatorFor(
  mode: Coordination,
  leaderTermMs: number,
  deps: CoordinatorDeps,
): Coordinator {
  if (mode === "occurrence") return new OccurrenceCoordinator(deps);
  return new GatedCoordinator(deps, mode, leaderTermMs);
}
