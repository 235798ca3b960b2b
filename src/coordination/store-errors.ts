import { wrapError } from "../errors.js";
import type { EventHub } from "../observe/events.js";
import type { Logger } from "../observe/logger.js";

/** Work that failed on a store error is tried again this soon. */
const RETRY_MS = 1_000;

/**
 * Reports failed store calls (`store:error` event, wrapped as `STORE_ERROR`) and counts
 * consecutive failures. Failed work is retried every second, so a replica whose store comes back
 * resumes within a second; what backs off is the log: the 1st, 2nd, 4th, 8th… failure in a row is
 * logged (each with its count), not every retry. Any successful store call (the hub's
 * `store:call` events) ends the run of failures, and that is logged once.
 */
export class StoreErrors {
  private failures = 0;

  constructor(
    private readonly deps: {
      readonly kind: string;
      readonly hub: EventHub;
      readonly logger: Logger;
      readonly replicaId: string;
    },
  ) {
    deps.hub.on("store:call", (call) => {
      if (call.ok) this.recovered();
    });
  }

  /** Reports one failed store call; `operation` names it (`claim`, `recoverExpired`, …). */
  report(operation: string, error: unknown): void {
    this.failures += 1;
    const { kind, hub, logger, replicaId } = this.deps;
    const wrapped = wrapError("STORE_ERROR", `store ${kind}: ${operation} failed`, error);
    const { failures } = this;
    if ((failures & (failures - 1)) === 0) {
      logger.error({ err: wrapped, operation, failures }, wrapped.message);
    }
    hub.emit("store:error", { replicaId, operation, error: wrapped });
  }

  /** A store call went through: the store is back. */
  recovered(): void {
    if (this.failures === 0) return;
    this.deps.logger.info(
      { failures: this.failures },
      `belfry: store ${this.deps.kind} answers again`,
    );
    this.failures = 0;
  }

  /** How long to wait before retrying work that failed. */
  retryDelay(): number {
    return RETRY_MS;
  }
}
