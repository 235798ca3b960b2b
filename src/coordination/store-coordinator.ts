import { BelfryError } from "../errors.js";
import { REGISTER_CHUNK } from "../stores/shared/batches.js";
import type { ClaimedRun, RegisterResult } from "../stores/store.js";
import type { Coordinator, CoordinatorDeps, ManualRun, Wake } from "./coordinator.js";
import type { JobState } from "./job-state.js";
import { reportDefinitionChange } from "./definition-changes.js";
import { Maintenance } from "./maintenance.js";
import { StoreErrors } from "./store-errors.js";

/**
 * What every coordination mode shares: jobs are registered in the store, manual runs and pauses
 * go through the store, and maintenance runs on its own timers. A mode says how a pass decides
 * which due occurrences run here ({@link passReady}) and whether it claims occurrences.
 */
export abstract class StoreCoordinator implements Coordinator {
  protected readonly errors: StoreErrors;
  private readonly maintenance: Maintenance;

  constructor(
    protected readonly deps: CoordinatorDeps,
    /**
     * True for the occurrence claim (store time, lease recovery); false for the gocron-style
     * modes, which decide on this replica's own clock, as gocron does.
     */
    private readonly claimsOccurrences: boolean,
  ) {
    const { store, hub, logger, replicaId } = deps;
    this.errors = new StoreErrors({ kind: store.kind, hub, logger, replicaId });
    this.maintenance = new Maintenance({
      ...deps,
      errors: this.errors,
      execute: (run, origin) => this.executeTakenOver(run, origin),
    });
  }

  async start(jobs: readonly JobState[]): Promise<void> {
    if (this.claimsOccurrences) await this.maintenance.syncClock();
    await this.registerAll(jobs);
    this.maintenance.start(this.claimsOccurrences);
  }

  stop(): Promise<void> {
    return this.maintenance.stop();
  }

  async pass(jobs: readonly JobState[], room: () => number): Promise<Wake[]> {
    const ready: JobState[] = [];
    const wakes: Wake[] = [];
    for (const job of jobs) {
      try {
        await this.register(job);
        ready.push(job);
      } catch (error) {
        this.errors.report("registerJob", error);
        wakes.push({ job, at: this.deps.clock.now() + this.errors.retryDelay() });
      }
    }
    return [...wakes, ...(await this.passReady(ready, room))];
  }

  async runNow(job: JobState): Promise<ManualRun> {
    const { store, replicaId, leaseMs, runner } = this.deps;
    const { config } = job.series;
    await this.register(job);
    const run = await store.claimManual(config.id, replicaId, leaseMs);
    if (!run)
      throw new BelfryError(
        "UNKNOWN_JOB",
        `runNow(${JSON.stringify(config.id)}): the store does not know this job`,
      );
    return { runId: run.runId, finished: runner.execute(config, run) };
  }

  async setPaused(job: JobState, paused: boolean): Promise<void> {
    await this.deps.store.setPaused(job.series.config.id, paused);
  }

  /** The mode's part of a pass, over jobs the store knows; never rejects. */
  protected abstract passReady(jobs: readonly JobState[], room: () => number): Promise<Wake[]>;

  /**
   * Registers the jobs the store does not hold yet, one `registerJobs` call per chunk; a chunk
   * that fails is reported and registered again by the next pass.
   */
  private async registerAll(jobs: readonly JobState[]): Promise<void> {
    const pending = jobs.filter((job) => !job.registered);
    for (let i = 0; i < pending.length; i += REGISTER_CHUNK) {
      const chunk = pending.slice(i, i + REGISTER_CHUNK);
      try {
        const results = await this.deps.store.registerJobs(
          chunk.map((job) => job.series.registration()),
        );
        for (const [k, result] of results.entries()) {
          await this.applyRegistration(chunk[k] as JobState, result);
        }
      } catch (error) {
        this.errors.report("registerJob", error);
      }
    }
  }

  /**
   * Upserts the job's definition unless the store already holds it. A runtime schedule's state
   * is never registered: its row is the definition, and a refused claim drops the state.
   */
  private async register(job: JobState): Promise<void> {
    if (job.registered || job.schedule) return;
    await this.applyRegistration(job, await this.deps.store.registerJob(job.series.registration()));
  }

  /** Takes the stored row into the job's state. */
  private async applyRegistration(job: JobState, result: RegisterResult): Promise<void> {
    job.series.createdAt = result.job.createdAt;
    job.cursor = maxOf(job.cursor, result.job.watermark);
    job.registered = true;
    if (result.outcome === "updated") {
      await reportDefinitionChange(this.deps, {
        jobId: job.series.config.id,
        hash: job.hash,
        storedHash: result.previousHash ?? "",
        change: "replaced",
      });
    }
  }

  private async executeTakenOver(
    run: ClaimedRun,
    origin: "claimed" | "recovered",
  ): Promise<boolean> {
    const job = await this.deps.job(run.jobId);
    if (!job) return false;
    void this.deps.runner.execute(job.series.config, run, origin);
    return true;
  }
}

function maxOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
