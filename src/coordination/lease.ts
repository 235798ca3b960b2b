import type { Clock, Timer } from "../clock.js";
import { BelfryError } from "../errors.js";
import type { ClaimedRun, Store } from "../stores/store.js";

/** Where a run's progress is written: the store, or nowhere (gocron-style modes). */
export type RunLedger = Pick<Store, "startRun" | "heartbeat" | "finishRun" | "releaseRun">;

/** The ledger of runs that are not recorded (leader and lock modes): every write succeeds. */
export const unrecordedLedger: RunLedger = {
  startRun: async () => true,
  heartbeat: async () => true,
  finishRun: async () => ({ ok: true, next: null }),
  releaseRun: async () => true,
};

/** Callbacks a {@link Lease} reports through. */
export interface LeaseEvents {
  /** The lease is gone (token refused, or heartbeats failed past its expiry). */
  onLost(reason: BelfryError): void;
  /** A heartbeat call failed; the lease is kept while its expiry has not passed. */
  onStoreError(error: unknown): void;
}

/**
 * Holds the lease of one run: renews it every third of its length and aborts `signal` when it
 * is lost, so the handler stops and the replica stops writing about the run.
 */
export class Lease {
  private readonly controller = new AbortController();
  private timer: Timer | null = null;
  private expiresAt: number;
  private stopped = false;
  private isLost = false;

  constructor(
    /** Where this run's writes go. */
    readonly ledger: RunLedger,
    private readonly clock: Clock,
    readonly run: ClaimedRun,
    private readonly leaseMs: number,
    private readonly events: LeaseEvents,
  ) {
    this.expiresAt = run.leaseExpiresAt;
    this.schedule();
  }

  /** Aborted when the lease is lost or {@link abort} is called. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once the lease was lost: no more writes about this run. */
  get lost(): boolean {
    return this.isLost;
  }

  /** Aborts the handler's signal with `reason` (timeout, stop) without giving up the lease. */
  abort(reason: BelfryError): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** Stops renewing. */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimer(Math.max(1, Math.floor(this.leaseMs / 3)), () => {
      void this.renew();
    });
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    try {
      const kept = await this.ledger.heartbeat(this.run.runId, this.run.token, this.leaseMs);
      // Stopped meanwhile (the run's outcome committed): a refusal now is not a lost lease.
      if (this.stopped) return;
      if (!kept) return this.lose("the store refused the heartbeat: another replica took the run");
      this.expiresAt = this.clock.now() + this.leaseMs;
    } catch (error) {
      this.events.onStoreError(error);
      if (this.clock.now() >= this.expiresAt) {
        return this.lose("heartbeats failed until the lease expired");
      }
    }
    this.schedule();
  }

  /** Gives the lease up as lost (the store refused a write about the run). */
  lose(why: string): void {
    this.stop();
    this.isLost = true;
    const reason = new BelfryError(
      "LEASE_LOST",
      `run ${this.run.runId} of job ${JSON.stringify(this.run.jobId)}: lease lost (${why})`,
    );
    if (!this.controller.signal.aborted) this.controller.abort(reason);
    this.events.onLost(reason);
  }
}
