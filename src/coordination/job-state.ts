import type { JobConfig } from "../options.js";
import { JobSeries } from "./series.js";

/** What this replica knows of one job between passes (a cache of the store's job row). */
export interface JobState {
  readonly series: JobSeries;
  readonly hash: string;
  /** Newest occurrence this replica knows was claimed or recorded (the store's watermark). */
  cursor: number | null;
  /** Next occurrence this replica will try to claim, as the last pass found it; null: unknown. */
  nextAt: number | null;
  /**
   * Set once the store knows this definition; cleared when the store forgot the job or holds
   * another definition (the next pass registers it again).
   */
  registered: boolean;
  /** Set once the store refused with `exhausted` (maxRuns reached). */
  exhausted: boolean;
  /** Set when the job was removed or replaced here: a pass in flight starts no run for it. */
  retired: boolean;
  /**
   * Set for a runtime schedule (`src/runtime/`): a state built from its stored row for one
   * pass, never registered by the replica (the row is the definition).
   */
  readonly schedule?: ScheduleCursor;
}

/** What a pass knows of a runtime schedule's row besides the job's. */
export interface ScheduleCursor {
  /** The row's `nextAt` as the store holds it, kept in step by this pass's claims. */
  storedNextAt: number | null;
}

/** The state of a job defined here, continuing from `cursor` (null for a new job). */
export function newJobState(config: JobConfig, timezone: string, cursor: number | null): JobState {
  const series = new JobSeries(config, timezone);
  return {
    series,
    hash: series.registration().hash,
    cursor,
    nextAt: null,
    registered: false,
    exhausted: false,
    retired: false,
  };
}
