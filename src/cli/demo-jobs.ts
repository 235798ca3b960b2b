import { createHash } from "node:crypto";
import { sleep, systemClock } from "../clock.js";
import type { RunContext } from "../options.js";
import { cron, every } from "../schedules/index.js";
import type { ReplicaJob, ReplicaTask, ReplicaWindow } from "./replica.js";

/** Waits `ms` on the system clock, or until the run is aborted: a job's stand-in for work. */
const pause = (ms: number, run: RunContext) => sleep(systemClock, ms, run.signal);

/** Fails the first attempt of about one occurrence in three, the same on every replica. */
function firstAttemptFails(run: RunContext): boolean {
  const digest = createHash("sha256").update(run.idempotencyKey).digest();
  return run.attempt === 1 && (digest[0] as number) % 3 === 0;
}

/**
 * The jobs of `belfry demo`, between `startAt` and `stopAt`: every second, a cron with seconds
 * (every 2 s), and a job that sometimes fails once and succeeds on retry.
 */
export function demoJobs(window: ReplicaWindow): ReplicaJob[] {
  const options = { startAt: window.startAt, stopAt: window.stopAt };
  return [
    { id: "heartbeat", schedule: every("1s"), options, work: (run) => pause(40, run) },
    {
      id: "cron-seconds",
      schedule: cron("*/2 * * * * *"),
      options,
      work: (run) => pause(80, run),
    },
    {
      id: "flaky-report",
      schedule: every("3s"),
      options: { ...options, retries: { max: 2, delay: "200ms", backoff: "fixed" } },
      work: async (run) => {
        await pause(60, run);
        if (firstAttemptFails(run)) throw new Error("upstream returned 503");
      },
    },
  ];
}

/** The task of the runtime schedules `belfry demo --schedules` creates (one per user). */
export const DEMO_TASK = "demo-reminder";

/** The replicas' handler of {@link DEMO_TASK}: a short stand-in for sending a reminder. */
export const demoTask: ReplicaTask = { name: DEMO_TASK, work: (run) => pause(20, run) };
