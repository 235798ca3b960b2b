import type { Duration } from "../duration.js";

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
