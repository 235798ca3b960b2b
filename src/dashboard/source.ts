import { BelfryError, isBelfryError } from "../errors.js";
import type { Scheduler } from "../scheduler.js";
import { taskCounts, type TaskCount } from "../observe/task-counts.js";
import { capabilities } from "../stores/shared/capabilities.js";
import { redactUrlsIn } from "../stores/shared/url.js";
import type {
  HistoryQuery,
  JobListing,
  ReplicaRecord,
  RunRecord,
  Store,
  WarningRecord,
} from "../stores/store.js";

/** What `/health` answers. */
export interface DashboardHealth {
  /** True when the store answered. */
  readonly ok: boolean;
  readonly storeReachable: boolean;
  /**
   * Jobs defined in code: in the store (`{ store }`; runtime schedules are not counted, so the
   * probe never reads them) or on the scheduler (`{ scheduler }`).
   */
  readonly jobs: number;
  /** Active (`claimed`/`running`) runs: of every replica, or of this scheduler's replica. */
  readonly running: number | null;
  /** The scheduler's replica id, with `{ scheduler }`. */
  readonly replicaId?: string;
  /** The store's error, when it did not answer. */
  readonly error?: string;
}

/**
 * Everything the dashboard reads and does, whether it sits on a store or on a running scheduler.
 * Every read is one call the caller could make itself; nothing is cached.
 */
export interface DashboardSource {
  /** Trigger needs a scheduler (a run executes on a replica that has the handler). */
  readonly canTrigger: boolean;
  /** The store read (the audit reads it directly). */
  readonly store: Store;
  now(): Promise<number>;
  /** The jobs defined in code (`listJobs`). */
  jobs(): Promise<JobListing>;
  /** The runtime schedules, one count per task (none on a store without them). */
  scheduleCounts(): Promise<TaskCount[]>;
  history(query: HistoryQuery): Promise<RunRecord[]>;
  replicas(since: number): Promise<ReplicaRecord[]>;
  warnings(limit: number): Promise<WarningRecord[]>;
  /** False when the job is unknown. */
  setPaused(jobId: string, paused: boolean): Promise<boolean>;
  /** Starts a manual run and returns its run id. */
  trigger(jobId: string): Promise<string>;
  health(): Promise<DashboardHealth>;
}

const ACTIVE = ["claimed", "running"] as const;
const ACTIVE_LIMIT = 10_000;

/** Reads a store directly (`belfry dashboard --store`); pause/resume through `setPaused`. */
export function storeSource(store: Store): DashboardSource {
  return {
    canTrigger: false,
    store,
    now: () => store.now(),
    jobs: () => store.listJobs(),
    scheduleCounts: () => taskCounts(store),
    history: (query) => store.history(query),
    replicas: async (since) => (await capabilities(store).replicas?.listReplicas(since)) ?? [],
    warnings: async (limit) => (await capabilities(store).warnings?.listWarnings(limit)) ?? [],
    setPaused: (jobId, paused) => store.setPaused(jobId, paused),
    trigger: (jobId) =>
      Promise.reject(
        new BelfryError(
          "NOT_STARTED",
          `trigger ${JSON.stringify(jobId)}: a run needs a scheduler that has the handler; mount the dashboard with { scheduler }`,
        ),
      ),
    health: () =>
      probe(async () => {
        const [jobs, active] = await Promise.all([
          store.listJobs(),
          store.history({ states: [...ACTIVE], limit: ACTIVE_LIMIT }),
        ]);
        return { jobs: jobs.jobs.length + jobs.unreadable.length, running: active.length };
      }),
  };
}

/**
 * A running scheduler: reads go to its store (or to `store` when given), and trigger starts a
 * manual run with `runNow` on this scheduler, which has the handler.
 */
export function schedulerSource(scheduler: Scheduler, store: Store | null): DashboardSource {
  const base = storeSource(store ?? scheduler.store);
  return {
    ...base,
    canTrigger: true,
    setPaused: async (jobId, paused) => {
      try {
        await (paused ? scheduler.pause(jobId) : scheduler.resume(jobId));
        return true;
      } catch (error) {
        if (isBelfryError(error, "UNKNOWN_JOB")) return false;
        throw error;
      }
    },
    trigger: async (jobId) => (await scheduler.runNow(jobId)).runId,
    health: () =>
      probe(async () => {
        const health = await scheduler.health();
        if (!health.storeReachable) {
          throw new BelfryError("STORE_ERROR", `the ${base.store.kind} store did not answer`);
        }
        return { jobs: health.jobs, running: health.running, replicaId: scheduler.replicaId };
      }),
  };
}

async function probe(
  read: () => Promise<Omit<DashboardHealth, "ok" | "storeReachable">>,
): Promise<DashboardHealth> {
  try {
    return { ok: true, storeReachable: true, ...(await read()) };
  } catch (error) {
    const message = redactUrlsIn(error instanceof Error ? error.message : String(error));
    return { ok: false, storeReachable: false, jobs: 0, running: null, error: message };
  }
}
