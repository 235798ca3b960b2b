import { monotonicNow, type Clock, type Timer } from "../clock.js";
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
  /** The lease is gone (token refused, local deadline passed, heartbeats failed). */
  onLost(reason: BelfryError): void;
  /** A heartbeat call failed; the lease is kept while its local deadline has not passed. */
  onStoreError(error: unknown): void;
}

/**
 * How much earlier than the store's lease expiry the local fence trips: covers the error of the
 * measured store clock offset (half a round trip of its best sample) and a reply delayed in
 * transit. A tenth of the lease, at most one second.
 */
export function leaseMarginMs(leaseMs: number): number {
  return Math.min(1_000, Math.floor(leaseMs / 10));
}

/**
 * Holds the lease of one run: renews it every third of its length and aborts `signal` when it
 * is lost, so the handler stops and the replica stops writing about the run.
 *
 * The lease is also fenced locally, on the monotonic clock: its deadline is the store's expiry
 * less {@link leaseMarginMs}, moved on by each heartbeat the store accepted (from the moment the
 * heartbeat was sent, so a slow reply only shortens it). Once the deadline passes the lease is
 * lost, even when no heartbeat answered (a paused process, a hung connection): {@link held}
 * says so synchronously, before any timer had a chance to fire.
 */
export class Lease {
  private readonly controller = new AbortController();
  private timer: Timer | null = null;
  private deadlineTimer: Timer | null = null;
  /** Local deadline, on the monotonic clock. */
  private deadline: number;
  private stopped = false;
  private lostReason: BelfryError | null = null;

  constructor(
    /** Where this run's writes go. */
    readonly ledger: RunLedger,
    private readonly clock: Clock,
    readonly run: ClaimedRun,
    private readonly leaseMs: number,
    private readonly events: LeaseEvents,
  ) {
    // The store's expiry read on store time, never more than a full lease from now (a wall
    // clock that jumped back since the offset was measured must not lengthen it).
    // A run without a lease in the store (leader and lock modes: expiry Infinity) has none here.
    const left = Math.min(run.leaseExpiresAt - clock.now(), leaseMs);
    this.deadline = Number.isFinite(run.leaseExpiresAt)
      ? monotonicNow(clock) + left - leaseMarginMs(leaseMs)
      : Number.POSITIVE_INFINITY;
    this.armDeadline();
    this.schedule();
  }

  /** Aborted when the lease is lost or {@link abort} is called. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once the lease was lost: no more writes about this run. */
  get lost(): boolean {
    return this.lostReason !== null;
  }

  /** The run's fencing token: grows with every take-over of the occurrence. */
  get token(): number {
    return this.run.token;
  }

  /** When the local fence trips, on the scheduler's (store) clock. */
  get expiresAt(): number {
    return this.clock.now() + (this.deadline - monotonicNow(this.clock));
  }

  /**
   * True while the lease holds. Checks the local deadline first, so a process that was paused
   * past it learns it here (and loses the lease) before an overdue timer could tell it.
   */
  held(): boolean {
    if (this.lostReason !== null) return false;
    if (monotonicNow(this.clock) < this.deadline) return true;
    // A lease stopped by its finished run stays quiet: no loss reported after its outcome.
    if (!this.stopped) this.lose("its local deadline passed before a heartbeat renewed it");
    return false;
  }

  /** Throws `LEASE_LOST` unless the lease {@link held | holds}. */
  assertHeld(): void {
    if (!this.held()) throw this.lostReason ?? this.lostError("its local deadline passed");
  }

  /** Aborts the handler's signal with `reason` (timeout, stop) without giving up the lease. */
  abort(reason: BelfryError): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** Stops renewing and watching the deadline. */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    this.deadlineTimer?.cancel();
    this.deadlineTimer = null;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimer(Math.max(1, Math.floor(this.leaseMs / 3)), () => {
      void this.renew();
    });
  }

  private armDeadline(): void {
    this.deadlineTimer?.cancel();
    if (!Number.isFinite(this.deadline)) return;
    const left = Math.max(0, this.deadline - monotonicNow(this.clock));
    this.deadlineTimer = this.clock.setTimer(left, () => {
      this.deadlineTimer = null;
      this.held();
    });
  }

  private async renew(): Promise<void> {
    if (this.stopped || !this.held()) return;
    const sentAt = monotonicNow(this.clock);
    try {
      const kept = await this.ledger.heartbeat(this.run.runId, this.run.token, this.leaseMs);
      // Stopped meanwhile (the run's outcome committed): a refusal now is not a lost lease.
      if (this.stopped || !this.held()) return;
      if (!kept) return this.lose("the store refused the heartbeat: another replica took the run");
      // The store extended the lease from its own now, which is no earlier than `sentAt`.
      if (Number.isFinite(this.deadline)) {
        this.deadline = sentAt + this.leaseMs - leaseMarginMs(this.leaseMs);
        this.armDeadline();
      }
    } catch (error) {
      if (this.stopped) return;
      this.events.onStoreError(error);
      if (!this.held()) return;
    }
    this.schedule();
  }

  /** Gives the lease up as lost (the store refused a write about the run). */
  lose(why: string): void {
    if (this.lostReason !== null) return;
    this.stop();
    const reason = this.lostError(why);
    this.lostReason = reason;
    if (!this.controller.signal.aborted) this.controller.abort(reason);
    this.events.onLost(reason);
  }

  private lostError(why: string): BelfryError {
    const { runId, jobId } = this.run;
    return new BelfryError(
      "LEASE_LOST",
      `run ${runId} of job ${JSON.stringify(jobId)}: lease lost (${why})`,
    );
  }
}
