import { toPositiveMs, type Duration } from "../duration.js";
import { BelfryError } from "../errors.js";

/** The `historyRetention` scheduler option: how long run records are kept. */
export interface HistoryRetention {
  /**
   * Terminal run rows (`succeeded`, `failed`, `abandoned`, `missed`, `skipped`) whose scheduled
   * instant is older than this are deleted; active and queued runs are never touched.
   */
  readonly maxAge: Duration;
  /** How often this replica prunes (default 1 h; the first prune runs at `start()`). */
  readonly interval?: Duration;
}

/** {@link HistoryRetention} validated, in ms. */
export interface RetentionConfig {
  readonly maxAgeMs: number;
  readonly intervalMs: number;
}

/** Validates `historyRetention`; null when it is not set (keep every run record). */
export function toRetentionConfig(retention: HistoryRetention | undefined): RetentionConfig | null {
  if (retention === undefined) return null;
  const unknown = Object.keys(retention).filter((key) => key !== "maxAge" && key !== "interval");
  if (retention.maxAge === undefined || unknown.length > 0) {
    throw new BelfryError(
      "INVALID_OPTION",
      `Scheduler({ historyRetention }): expected { maxAge, interval? }, got ${JSON.stringify(retention)}`,
    );
  }
  return {
    maxAgeMs: toPositiveMs(retention.maxAge, "Scheduler({ historyRetention.maxAge })"),
    intervalMs: toPositiveMs(
      retention.interval ?? "1h",
      "Scheduler({ historyRetention.interval })",
    ),
  };
}
