import type { JobRegistration, Store } from "../stores/store.js";

/**
 * gocron-style coordination, for parity and migration. gocron's `Elector` lets one replica run
 * every job; its `Locker` takes a per-job lock around each run. Both decide on each replica's
 * own clock and keep no per-occurrence record, so they are weaker than belfry's default
 * occurrence claim (docs/coordination.md shows how a lagging clock runs an occurrence twice
 * under a lock). The interfaces are shaped like gocron's so existing implementations port 1:1.
 */

/** gocron's `Elector`: answers whether this replica is the leader right now. */
export interface Elector {
  isLeader(): Promise<boolean>;
}

/** A held lock (gocron's `Lock`). */
export interface Lock {
  unlock(): Promise<void>;
}

/** gocron's `Locker`: a lock per key (the job id), or null when another replica holds it. */
export interface Locker {
  lock(key: string): Promise<Lock | null>;
}

/**
 * How replicas coordinate: `occurrence` (default, the claim protocol), `leader` (a leader
 * elected through the store runs everything), or your own {@link Elector} / {@link Locker}.
 */
export type Coordination = "occurrence" | "leader" | { elector: Elector } | { locker: Locker };

const LEADER_JOB = "belfry:leader";

/**
 * Leader election through any {@link Store}: time is cut into terms of `termMs`, each term is an
 * occurrence of a reserved job, and the replica whose claim of the current term wins leads for
 * that term. The run rows left behind are an audit trail of who led when.
 */
export class StoreElector implements Elector {
  private term: { at: number; leader: boolean } | null = null;
  private registered = false;
  private readonly registration: JobRegistration;

  constructor(
    private readonly store: Store,
    private readonly replicaId: string,
    private readonly termMs: number,
  ) {
    const definition = JSON.stringify({ leaderTermMs: termMs });
    this.registration = {
      jobId: LEADER_JOB,
      hash: `leader-${termMs}`,
      definition,
      anchor: 0,
      overlap: "allow",
      onAbandoned: "abandon",
      maxAttempts: 1,
      maxRuns: null,
    };
  }

  async isLeader(): Promise<boolean> {
    const at = Math.floor((await this.store.now()) / this.termMs) * this.termMs;
    if (this.term?.at === at) return this.term.leader;
    if (!this.registered) {
      await this.store.registerJob(this.registration);
      this.registered = true;
    }
    const [result] = await this.store.claim([
      {
        jobId: LEADER_JOB,
        scheduledAt: at,
        hash: this.registration.hash,
        replicaId: this.replicaId,
        leaseMs: this.termMs,
      },
    ]);
    const leader = result?.status === "won";
    if (result?.status === "won") {
      await this.store.finishRun(
        result.run.runId,
        result.run.token,
        { state: "succeeded" },
        this.termMs,
      );
    }
    this.term = { at, leader };
    return leader;
  }
}

/**
 * A {@link Locker} inside one process (tests, examples, several schedulers in one process). For
 * replicas on several hosts, plug a lock on your database or Redis.
 */
export class MemoryLocker implements Locker {
  private readonly held = new Set<string>();

  async lock(key: string): Promise<Lock | null> {
    if (this.held.has(key)) return null;
    this.held.add(key);
    return { unlock: async () => void this.held.delete(key) };
  }
}
