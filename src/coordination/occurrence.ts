import { settle } from "../clock.js";
import { claimDue } from "./claimer.js";
import type { CoordinatorDeps, Wake } from "./coordinator.js";
import type { JobState } from "./job-state.js";
import { StoreCoordinator } from "./store-coordinator.js";

/**
 * The default coordination: every due occurrence is claimed in the store by one atomic
 * conditional write (DESIGN §2b), on store time, and expired leases are recovered.
 */
export class OccurrenceCoordinator extends StoreCoordinator {
  constructor(deps: CoordinatorDeps) {
    super(deps, true);
  }

  protected async passReady(jobs: readonly JobState[], room: () => number): Promise<Wake[]> {
    const { clock, runner } = this.deps;
    const now = clock.now();
    const wakes: Wake[] = [];
    try {
      // Each won run starts as its chunk returns, not when the whole pass is decided.
      const passes = await claimDue(this.deps, jobs, now, {
        room,
        start: (job, run) => {
          if (!job.retired) void runner.execute(job.series.config, run);
        },
      });
      this.errors.recovered();
      for (const { state: job, wakeAt } of passes) {
        if (job.retired) continue;
        job.nextAt = wakeAt;
        // A job deferred for lack of a free slot wakes at `now`: the dispatch loop holds it
        // until a run ends here (DueTimer's room check), and other replicas may take it first.
        wakes.push({ job, at: wakeAt });
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
