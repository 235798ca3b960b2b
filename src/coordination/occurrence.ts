import { settle } from "../clock.js";
import { claimDue } from "./claimer.js";
import type { CoordinatorDeps, Wake } from "./coordinator.js";
import type { JobState } from "./job-state.js";
import { StoreCoordinator } from "./store-coordinator.js";

/** With no free run slot, how long a due job waits before it is looked at again. */
const NO_SLOT_RETRY_MS = 1_000;

/**
 * The default coordination: every due occurrence is claimed in the store by one atomic
 * conditional write (DESIGN §2b), on store time, and expired leases are recovered.
 */
export class OccurrenceCoordinator extends StoreCoordinator {
  constructor(deps: CoordinatorDeps) {
    super(deps, true);
  }

  protected async passReady(jobs: readonly JobState[], slots: number): Promise<Wake[]> {
    const { clock, runner } = this.deps;
    const now = clock.now();
    const wakes: Wake[] = [];
    try {
      const passes = await claimDue(this.deps, jobs, now, slots);
      this.errors.recovered();
      for (const { state: job, won, wakeAt } of passes) {
        if (job.retired) continue;
        for (const run of won) void runner.execute(job.series.config, run);
        job.nextAt = wakeAt;
        // With no free slot a due job would wake at once and spin: look again a bit later.
        const full = slots === 0 && wakeAt !== null && wakeAt <= now;
        wakes.push({ job, at: full ? now + NO_SLOT_RETRY_MS : wakeAt });
      }
    } catch (error) {
      this.errors.report("claim", error);
      const retryAt = clock.now() + this.errors.retryDelay();
      return jobs.map((job) => ({ job, at: retryAt }));
    }
    // Once the won runs are under way, compute each job's occurrence after next while idle,
    // so the next pass finds it ready instead of computing it on the critical path.
    await settle(1);
    for (const { job } of wakes) if (job.cursor !== null) job.series.prefetch(job.cursor);
    return wakes;
  }
}
