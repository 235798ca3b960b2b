import type { Clock } from "../clock.js";
import type { Store } from "../stores/store.js";
import { attachClaimLog, claimLogEnabled, stderrLogger } from "./claim-log.js";
import { EventHub } from "./events.js";
import { PassTracker } from "./health.js";
import { childLogger, type Logger } from "./logger.js";
import { instrumentStore } from "./store-calls.js";
import { withStoreTimeouts } from "./store-timeouts.js";

/** What a scheduler is observed through, built once by {@link observed}. */
export interface Observed {
  /** The logger every line goes to; it adds `replicaId` to each. */
  readonly logger: Logger;
  readonly hub: EventHub;
  /**
   * The store behind a proxy that limits every call to `storeTimeout` and times it
   * (`store:call` events).
   */
  readonly store: Store;
  /** Tracks successful passes for `health()`. */
  readonly passes: PassTracker;
}

/**
 * Wires a scheduler's logger, event hub and store for observation. `DEBUG=belfry` (`debug`)
 * turns on the claim log, written to stderr when the application passed no logger.
 */
export function observed(input: {
  readonly store: Store;
  readonly logger: Logger;
  /** True when the application passed its own logger. */
  readonly loggerGiven: boolean;
  readonly localClock: Clock;
  /** Store time, for the pass tracker. */
  readonly clock: Clock;
  readonly replicaId: string;
  readonly debug: string | undefined;
  /** `storeTimeout`: the longest wait for one store call. */
  readonly storeTimeoutMs: number;
}): Observed {
  const { localClock, replicaId } = input;
  const debug = claimLogEnabled(input.debug);
  const base = debug && !input.loggerGiven ? stderrLogger(localClock) : input.logger;
  const logger = childLogger(base, { replicaId });
  const hub = new EventHub(logger);
  if (debug) attachClaimLog(hub, logger);
  const passes = new PassTracker(input.clock);
  const limited = withStoreTimeouts(input.store, localClock, input.storeTimeoutMs);
  const store = instrumentStore(limited, localClock, (call) => {
    passes.onCall(call);
    hub.emit("store:call", { replicaId, ...call });
  });
  return { logger, hub, store, passes };
}
