import { sleep, systemClock } from "../../../src/clock.js";
import type { ReplicaArgs, ReplicaJob, ReplicaWindow } from "../../../src/cli/replica.js";
import type { RunContext } from "../../../src/options.js";
import { cron, every, once } from "../../../src/schedules/index.js";

/** The multi-process tests' scenarios. */
export type ScenarioName = "stress" | "crash" | "burst";

/** Jobs of the `burst` scenario, all due at the window's start. */
export const BURST_JOBS = 2_000;

/** What a test replica process is told: the replica's settings and its scenario's knobs. */
export interface TestReplicaArgs extends ReplicaArgs {
  readonly scenario: ScenarioName;
  /** For `crash`: what recovery does with the killed replica's run. */
  readonly onAbandoned: "retry" | "abandon";
  /** For `crash`: how long the first attempt holds its run. */
  readonly holdMs: number;
}

const pause = (ms: number, run: RunContext) => sleep(systemClock, ms, run.signal);

/**
 * The jobs of a scenario in `window`:
 * - `stress`: a 1-second cron and a 250 ms interval between `startAt` and `stopAt`;
 * - `crash`: one run at `startAt` whose first attempt is long, for kill -9 recovery tests;
 * - `burst`: {@link BURST_JOBS} jobs due once, all at `startAt`, with instant handlers.
 */
export function scenarioJobs(args: TestReplicaArgs, window: ReplicaWindow): ReplicaJob[] {
  switch (args.scenario) {
    case "stress":
      return [
        {
          id: "cron-1s",
          schedule: cron("* * * * * *"),
          options: window,
          work: (run) => pause(20, run),
        },
        {
          id: "every-250ms",
          schedule: every("250ms"),
          options: window,
          work: (run) => pause(20, run),
        },
      ];
    case "crash":
      return [
        {
          id: "long-run",
          schedule: once(window.startAt),
          options: { onAbandoned: args.onAbandoned },
          // The first attempt holds the run long enough to be killed; a recovered one is quick.
          work: (run) => pause(run.attempt === 1 ? args.holdMs : 200, run),
        },
      ];
    case "burst":
      return Array.from({ length: BURST_JOBS }, (_, i) => ({
        id: `burst-${String(i).padStart(4, "0")}`,
        schedule: once(window.startAt),
        options: {},
        work: () => Promise.resolve(),
      }));
  }
}
