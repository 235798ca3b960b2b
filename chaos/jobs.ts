import type { ReplicaJob, ReplicaWindow } from "../src/cli/replica.js";
import type { RunContext } from "../src/options.js";
import { every } from "../src/schedules/index.js";

/** Intervals the chaos jobs cycle through: 36 jobs make about 121 occurrences a second. */
const INTERVALS_MS = [200, 250, 300, 400, 500];

/** How many jobs a chaos run defines (every replica defines all of them). */
export const CHAOS_JOBS = 36;

/**
 * The chaos run's jobs in `window`: {@link CHAOS_JOBS} interval jobs anchored at the window's
 * start, each running `work`. The parent computes what is due from the same list.
 */
export function chaosJobs(
  window: ReplicaWindow,
  work: (run: RunContext) => Promise<void>,
): ReplicaJob[] {
  return Array.from({ length: CHAOS_JOBS }, (_, i) => {
    const intervalMs = INTERVALS_MS[i % INTERVALS_MS.length]!;
    return {
      id: `chaos-${String(i).padStart(2, "0")}-${intervalMs}ms`,
      schedule: every(intervalMs),
      options: { startAt: window.startAt, stopAt: window.stopAt },
      work,
    };
  });
}

/** Occurrences a second the chaos jobs owe, all together. */
export function occurrencesPerSecond(): number {
  return Array.from(
    { length: CHAOS_JOBS },
    (_, i) => 1000 / INTERVALS_MS[i % INTERVALS_MS.length]!,
  ).reduce((a, b) => a + b, 0);
}
