import type { Clock, Timer } from "../clock.js";
import type { Store } from "../stores/store.js";
import type { StoreCall } from "./store-calls.js";

/** What `scheduler.health()` reports, for readiness and liveness probes. */
export interface HealthReport {
  /** `start()` completed and `stop()` was not called. */
  readonly started: boolean;
  /** The store answered a `now()` within the health check's timeout. */
  readonly storeReachable: boolean;
  /**
   * When a dispatch pass last completed with no failed store call meanwhile (in the default
   * coordination also a lease-recovery pass with none failed since the previous one); null
   * before the first. In the default mode it moves at least every recovery interval while the
   * store answers, so a value that stops moving means the replica is stuck or cut off.
   */
  readonly lastSuccessfulPassAt: Date | null;
  /** Measured offset store − local clock, ms (0 before the first measurement). */
  readonly clockOffsetMs: number;
  /** Runs executing on this replica now. */
  readonly running: number;
  /** Jobs defined on this replica. */
  readonly jobs: number;
}

/**
 * Tracks the scheduler's successful passes from the store calls it makes: a pass counts only
 * when no store call failed while it ran.
 */
export class PassTracker {
  private failures = 0;
  private failuresAtRecovery = 0;
  private lastAt: number | null = null;

  constructor(private readonly clock: Clock) {}

  /** When the last successful pass ended (store time), or null. */
  get lastSuccessfulPassAt(): number | null {
    return this.lastAt;
  }

  /**
   * Notes one store call (see `instrumentStore`). A successful recovery pass counts as a pass
   * when no store call failed since the previous one (an idle replica still shows it is alive).
   */
  onCall(call: StoreCall): void {
    if (!call.ok) this.failures += 1;
    else if (call.operation === "recoverExpired") {
      if (this.failures === this.failuresAtRecovery) this.lastAt = this.clock.now();
      this.failuresAtRecovery = this.failures;
    }
  }

  /** Runs a dispatch pass and records it when no store call failed meanwhile. */
  async pass<T>(run: () => Promise<T>): Promise<T> {
    const before = this.failures;
    const result = await run();
    if (this.failures === before) this.lastAt = this.clock.now();
    return result;
  }
}

/** True when `store.now()` answers within `timeoutMs` of `clock` time. */
export async function pingStore(store: Store, clock: Clock, timeoutMs: number): Promise<boolean> {
  let timer: Timer | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = clock.setTimer(timeoutMs, () => resolve(false));
  });
  try {
    return await Promise.race([
      store.now().then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    timer?.cancel();
  }
}
