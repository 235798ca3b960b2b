import { createHash } from "node:crypto";
import { sleep, systemClock } from "../clock.js";
import type { JobOptions, RunContext } from "../options.js";
import { cron, every, once } from "../schedules/index.js";
import type { Schedule } from "../schedules/schedule.js";

/** One job of a scenario: what the demo and the multi-process tests run in each replica. */
export interface ScenarioJob {
  readonly id: string;
  readonly schedule: Schedule;
  readonly options: JobOptions;
  /** The job's work; it reports nothing itself (the replica reports starts and ends). */
  readonly work: (run: RunContext) => Promise<void>;
}

/** The window every replica of a run agrees on, and scenario knobs. */
export interface ScenarioParams {
  readonly startAt: number;
  readonly stopAt: number;
  /** For `crash`: what recovery does with the killed replica's run. */
  readonly onAbandoned?: "retry" | "abandon";
  /** For `crash`: how long the handler holds its run. */
  readonly holdMs?: number;
}

/** Names of the built-in scenarios. */
export const SCENARIOS = ["demo", "stress", "crash"] as const;
/** A built-in scenario name. */
export type ScenarioName = (typeof SCENARIOS)[number];

const pause = (ms: number, run: RunContext) => sleep(systemClock, ms, run.signal);

/** Fails the first attempt of about one occurrence in three, the same on every replica. */
function firstAttemptFails(run: RunContext): boolean {
  const digest = createHash("sha256").update(run.idempotencyKey).digest();
  return run.attempt === 1 && (digest[0] as number) % 3 === 0;
}

/**
 * The jobs of scenario `name`:
 * - `demo`: every second, a cron with seconds (every 2 s), and a job that sometimes fails once
 *   and succeeds on retry;
 * - `stress`: a 1-second cron and a 250 ms interval (the multi-process test);
 * - `crash`: one run at `startAt` whose first attempt is long, for kill -9 recovery tests.
 */
export function scenarioJobs(name: ScenarioName, params: ScenarioParams): ScenarioJob[] {
  const window = { startAt: params.startAt, stopAt: params.stopAt };
  switch (name) {
    case "demo":
      return [
        { id: "heartbeat", schedule: every("1s"), options: window, work: (run) => pause(40, run) },
        {
          id: "cron-seconds",
          schedule: cron("*/2 * * * * *"),
          options: window,
          work: (run) => pause(80, run),
        },
        {
          id: "flaky-report",
          schedule: every("3s"),
          options: { ...window, retries: { max: 2, delay: "200ms", backoff: "fixed" } },
          work: async (run) => {
            await pause(60, run);
            if (firstAttemptFails(run)) throw new Error("upstream returned 503");
          },
        },
      ];
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
          schedule: once(params.startAt),
          options: { onAbandoned: params.onAbandoned ?? "retry" },
          // The first attempt holds the run long enough to be killed; a recovered one is quick.
          work: (run) => pause(run.attempt === 1 ? (params.holdMs ?? 5_000) : 200, run),
        },
      ];
  }
}
