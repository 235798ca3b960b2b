import type { Runner } from "../coordination/runner.js";
import { BelfryError, quote } from "../errors.js";
import type { Logger } from "../observe/logger.js";
import type { JobConfig } from "../options.js";
import { INSTANT_HINT, readInstant } from "../schedules/instant.js";
import type { ScheduleRecord, ScheduleRecords } from "../stores/store.js";
import { runtimeConfig, runtimeState } from "./definition.js";
import type { TaskEntry } from "./tasks.js";

/**
 * `schedules.backfill`: a runtime schedule's past occurrences claimed again, each once ever, as
 * `backfill` runs executed on the replica that asked (Temporal's schedule backfill). The store
 * decides what was already backfilled (`ScheduleRecords.claimBackfill`); this module computes
 * the window's occurrences and feeds the claims to the runner as run slots free up, so a long
 * window never holds more leases than the replica can run at once.
 */

/** Most occurrences one `schedules.backfill` call takes. */
export const MAX_BACKFILL = 10_000;
/** Most instants one `claimBackfill` store call gets. */
export const BACKFILL_CHUNK = 500;

/** What a finished backfill did. */
export interface BackfillResult {
  /** Occurrences claimed and run here (each recorded with trigger `backfill`). */
  readonly claimed: number;
  /** Occurrences an earlier backfill had claimed already (on any replica): not run again. */
  readonly alreadyClaimed: number;
}

/** What `schedules.backfill` answers once the window is checked and its occurrences known. */
export interface Backfill {
  /** The series' occurrences in `[from, to)`. */
  readonly occurrences: number;
  /**
   * Settles when each occurrence was claimed here or found already backfilled and every run
   * claimed here has ended (a failed run is a `failed` row, not a rejection). Rejects `ABORTED`
   * when the scheduler stops first, `UNKNOWN_SCHEDULE` when the schedule is removed meanwhile,
   * or with the store's error: what was claimed stays claimed, and a later backfill of the
   * same window claims the rest.
   */
  readonly finished: Promise<BackfillResult>;
}

/** A checked window, epoch ms. */
export interface BackfillWindow {
  readonly from: number;
  readonly to: number;
}

/**
 * Reads `from` and `to` (`Date`s, epoch ms or ISO 8601 with an offset). Throws
 * `INVALID_DATE` for a value that is no instant and `INVALID_RANGE` unless `from < to`.
 */
export function backfillWindow(from: unknown, to: unknown, where: string): BackfillWindow {
  const window = { from: instant(from, "from", where), to: instant(to, "to", where) };
  if (window.from >= window.to) {
    throw new BelfryError(
      "INVALID_RANGE",
      `${where}: from (${iso(window.from)}) must be before to (${iso(window.to)})`,
    );
  }
  return window;
}

/** Throws `INVALID_RANGE` when the window ends after store `now`: only the past is backfilled. */
export function checkPastWindow(window: BackfillWindow, now: number, where: string): void {
  if (window.to > now) {
    throw new BelfryError(
      "INVALID_RANGE",
      `${where}: to (${iso(window.to)}) is after store now (${iso(now)}); a backfill takes past occurrences only`,
    );
  }
}

/**
 * The job config `row` runs with here and the occurrences of its series in the window, oldest
 * first, computed from its stored definition as a claim would (zone, `startAt`, `stopAt`,
 * `startImmediately`). Throws `INVALID_RANGE` past {@link MAX_BACKFILL} occurrences, naming
 * the instant where the first {@link MAX_BACKFILL} end.
 */
export function backfillPlan(
  row: ScheduleRecord,
  task: TaskEntry,
  window: BackfillWindow,
  where: string,
): { readonly config: JobConfig; readonly instants: number[] } {
  const config = runtimeConfig(row, task);
  const { series } = runtimeState(row, config);
  const instants: number[] = [];
  for (let at = series.next(window.from - 1); at !== null && at < window.to; at = series.next(at)) {
    if (instants.length === MAX_BACKFILL) {
      throw new BelfryError(
        "INVALID_RANGE",
        `${where}: the window holds more than ${MAX_BACKFILL.toLocaleString("en-US")} occurrences, the most one backfill takes; backfill [${iso(window.from)}, ${iso(at)}) first, then go on from there`,
      );
    }
    instants.push(at);
  }
  return { config, instants };
}

/** What {@link Backfills} needs from its scheduler. */
export interface BackfillDeps {
  readonly runner: Runner;
  readonly logger: Logger;
  readonly replicaId: string;
  readonly leaseMs: number;
  /** Runs this replica can start now. */
  readonly room: () => number;
}

/** One backfill in progress. */
interface Job {
  readonly records: ScheduleRecords;
  readonly jobId: string;
  readonly config: JobConfig;
  readonly where: string;
}

/**
 * The backfills running on this replica. Each claims its occurrences in order, at most the
 * replica's free run slots at a time, and waits for a slot to free up ({@link roomFreed})
 * before claiming more; its runs take slots as any run does.
 */
export class Backfills {
  /** Bumped by {@link stop}: a backfill started before it claims nothing more. */
  private generation = 0;
  private waiters: (() => void)[] = [];
  /** The claim loops in progress (a loop ends before its runs do). */
  private readonly claiming = new Set<Promise<unknown>>();

  constructor(private readonly deps: BackfillDeps) {}

  /** Starts backfilling `instants` of the schedule `jobId` (see {@link Backfill}). */
  start(
    records: ScheduleRecords,
    jobId: string,
    config: JobConfig,
    instants: readonly number[],
    where: string,
  ): Backfill {
    const finished = this.run({ records, jobId, config, where }, instants);
    // Reported here, so a caller that does not wait for `finished` gets no unhandled rejection.
    finished.catch((error: unknown) =>
      this.deps.logger.warn({ err: error, jobId }, `belfry: ${where} ended early`),
    );
    return { occurrences: instants.length, finished };
  }

  /** A run slot was freed: backfills waiting for one claim again. */
  roomFreed(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * The scheduler is stopping: backfills claim nothing more. Resolves once no claim is in
   * flight, so every run claimed here is in the runner, which then drains or releases it.
   */
  async stop(): Promise<void> {
    this.generation += 1;
    this.roomFreed();
    await Promise.allSettled([...this.claiming]);
  }

  private async run(job: Job, instants: readonly number[]): Promise<BackfillResult> {
    const runs: Promise<void>[] = [];
    const claiming = this.claim(job, instants, runs);
    this.claiming.add(claiming);
    try {
      const claimed = await claiming;
      return { claimed, alreadyClaimed: instants.length - claimed };
    } finally {
      this.claiming.delete(claiming);
      // Never rejects: the runner records each run's outcome itself.
      await Promise.all(runs);
    }
  }

  /** Claims `instants` as room allows, pushing each run started to `runs`; returns how many. */
  private async claim(
    job: Job,
    instants: readonly number[],
    runs: Promise<void>[],
  ): Promise<number> {
    const { runner, replicaId, leaseMs } = this.deps;
    const generation = this.generation;
    let claimed = 0;
    let next = 0;
    while (next < instants.length) {
      if (this.generation !== generation) throw stoppedError(job.where, instants.length - next);
      const room = Math.min(this.deps.room(), BACKFILL_CHUNK);
      if (room <= 0) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
        continue;
      }
      const chunk = instants.slice(next, next + room);
      const taken = await job.records.claimBackfill(job.jobId, chunk, replicaId, leaseMs);
      if (taken === null) {
        throw new BelfryError("UNKNOWN_SCHEDULE", `${job.where}: the schedule was removed`);
      }
      next += chunk.length;
      claimed += taken.length;
      for (const run of taken) runs.push(runner.execute(job.config, run));
    }
    return claimed;
  }
}

function stoppedError(where: string, left: number): BelfryError {
  return new BelfryError(
    "ABORTED",
    `${where}: the scheduler is stopping; ${left} occurrence(s) not claimed: backfill the same window again to claim them`,
  );
}

function instant(value: unknown, name: string, where: string): number {
  const ms = readInstant(value);
  if (ms === null) {
    throw new BelfryError(
      "INVALID_DATE",
      `${where}: ${name} ${quote(value)} is not a valid instant; ${INSTANT_HINT}`,
    );
  }
  return ms;
}

function iso(at: number): string {
  return new Date(at).toISOString();
}
