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
