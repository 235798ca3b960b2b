import { randomUUID } from "node:crypto";
import type { ClaimedRun, Store } from "../stores/store.js";
import type { CoordinatorDeps, Wake } from "./coordinator.js";
import type { JobState } from "./job-state.js";
import { unrecordedLedger } from "./lease.js";
import { StoreElector, type Coordination } from "./modes.js";
import { StoreCoordinator } from "./store-coordinator.js";

/** Asks the elector or locker whether this replica may run `jobId` now; the release, or null. */
type Gate = (jobId: string) => Promise<(() => Promise<void>) | null>;

/**
 * gocron-style coordination (`leader`, `{ elector }`, `{ locker }`): the one place that consults
 * the Elector or Locker, as gocron's executor does. A due job runs its newest occurrence due by
 * this replica's own clock when the gate allows; older ones are dropped and nothing is claimed
 * or recorded per occurrence (see docs/coordination.md for why this is weaker).
 */
export class GatedCoordinator extends StoreCoordinator {
  private readonly gate: Gate;

  constructor(
    deps: CoordinatorDeps,
    mode: Exclude<Coordination, "occurrence">,
    leaderTermMs: number,
  ) {
    super(deps, false);
    this.gate = gateFor(mode, deps.store, deps.replicaId, leaderTermMs);
  }

  protected async passReady(jobs: readonly JobState[]): Promise<Wake[]> {
    const { clock, runner } = this.deps;
    const wakes: Wake[] = [];
    for (const job of jobs) {
      const now = clock.now();
      try {
        const granted = await this.gatedRun(job, now);
        if (granted) {
          void runner
            .execute(job.series.config, granted.run, "claimed", unrecordedLedger)
            .finally(() =>
              granted.release().catch((error: unknown) => this.errors.report("unlock", error)),
            );
        }
      } catch (error) {
        this.errors.report("coordination", error);
      }
      job.nextAt = job.series.next(Math.max(job.cursor ?? now, now));
      wakes.push({ job, at: job.nextAt });
    }
    return wakes;
  }

  /** The newest occurrence due by `now`, when the gate lets this replica run it. */
  private async gatedRun(
    job: JobState,
    now: number,
  ): Promise<{ run: ClaimedRun; release: () => Promise<void> } | null> {
    const { series } = job;
    const due = series.due(job.cursor ?? series.initialCursor(now), now).at;
    const newest = due[due.length - 1];
    if (newest === undefined) return null;
    job.cursor = newest;
    const release = await this.gate(series.config.id);
    if (!release) return null;
    const run: ClaimedRun = {
      runId: randomUUID(),
      jobId: series.config.id,
      scheduledAt: newest,
      trigger: "schedule",
      attempt: 1,
      token: 0,
      leaseExpiresAt: Number.POSITIVE_INFINITY,
    };
    return { run, release };
  }
}

function gateFor(
  mode: Exclude<Coordination, "occurrence">,
  store: Store,
  replicaId: string,
  termMs: number,
): Gate {
  if (mode === "leader" || "elector" in mode) {
    const elector = mode === "leader" ? new StoreElector(store, replicaId, termMs) : mode.elector;
    return async () => ((await elector.isLeader()) ? async () => {} : null);
  }
  return async (jobId) => {
    const lock = await mode.locker.lock(jobId);
    return lock ? () => lock.unlock() : null;
  };
}
