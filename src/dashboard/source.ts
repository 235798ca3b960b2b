import type { Clock } from "../clock.js";
import { BelfryError, isBelfryError } from "../errors.js";
import type { Scheduler } from "../scheduler.js";
import { redactUrlsIn } from "../stores/url.js";
import type {
  HistoryQuery,
  JobRecord,
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
  /** Jobs in the store (`{ store }`) or defined on the scheduler (`{ scheduler }`). */
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
  /** The store itself when the dashboard was given one (the audit reads it). */
  readonly store: Store | null;
  now(): Promise<number>;
  jobs(): Promise<JobRecord[]>;
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
    history: (query) => store.history(query),
    replicas: (since) => store.listReplicas(since),
    warnings: (limit) => store.listWarnings(limit),
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
        return { jobs: jobs.length, running: active.length };
      }),
  };
}

/**
 * Reads through a running scheduler's public API and triggers with `runNow`. When `store` is
 * given too (the same store the scheduler uses), reads go to it directly and the audit can run.
 */
export function schedulerSource(
  scheduler: Scheduler,
  clock: Clock,
  store: Store | null,
): DashboardSource {
  const base = store ? storeSource(store) : null;
  /** `audit(ago)` reads replicas seen in the last `ago` ms of the scheduler's clock. */
  const ago = (cutoff: number): number => Math.max(0, clock.now() - cutoff);
  return {
    canTrigger: true,
    store,
    now: base?.now ?? (() => Promise.resolve(clock.now())),
    jobs: base?.jobs ?? (async () => (await scheduler.audit(0)).jobs),
    history: (query) => scheduler.history(query),
    replicas: base?.replicas ?? (async (cutoff) => (await scheduler.audit(ago(cutoff))).replicas),
    warnings:
      base?.warnings ?? (async (limit) => (await scheduler.audit(0)).warnings.slice(0, limit)),
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
        const active = await scheduler.history({ states: [...ACTIVE], limit: ACTIVE_LIMIT });
        return {
          jobs: scheduler.jobs().length,
          running: active.filter((run) => run.replicaId === scheduler.replicaId).length,
          replicaId: scheduler.replicaId,
        };
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
