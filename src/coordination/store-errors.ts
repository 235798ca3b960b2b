import { wrapError } from "../errors.js";
import type { EventHub } from "../observe/events.js";
import type { Logger } from "../observe/logger.js";

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/**
 * Reports failed store calls (log line and `store:error` event, wrapped as `STORE_ERROR`) and
 * counts consecutive failures, so work that failed is retried with a growing delay.
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
  ) {}

  /** Reports one failed store call; `operation` names it (`claim`, `recoverExpired`, …). */
  report(operation: string, error: unknown): void {
    this.failures += 1;
    const { kind, hub, logger, replicaId } = this.deps;
    const wrapped = wrapError("STORE_ERROR", `store ${kind}: ${operation} failed`, error);
    logger.error({ err: wrapped, operation }, wrapped.message);
    hub.emit("store:error", { replicaId, operation, error: wrapped });
  }

  /** A claim pass went through: the store is back. */
  recovered(): void {
    this.failures = 0;
  }

  /** How long to wait before retrying work that failed: 1 s, doubling per failure, up to 30 s. */
  retryDelay(): number {
    return Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.max(0, this.failures - 1));
  }
}
