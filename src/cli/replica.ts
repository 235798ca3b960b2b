import { keepAlive, OffsetClock, systemClock } from "../clock.js";
import type { JobOptions, RunContext } from "../options.js";
import { Scheduler } from "../scheduler.js";
import type { Schedule } from "../schedules/schedule.js";
import { openStore } from "../stores/open.js";

/** Settings of one replica process. */
export interface ReplicaArgs {
  readonly storeUrl: string;
  readonly replicaId: string;
  /** The window every replica of a run agrees on (epoch ms, both inclusive). */
  readonly startAt: number;
  readonly stopAt: number;
  /** Added to this process's clock: simulates a host whose clock is off. */
  readonly clockSkewMs: number;
  readonly leaseMs: number;
}

/** One job a replica runs. */
export interface ReplicaJob {
  readonly id: string;
  readonly schedule: Schedule;
  readonly options: JobOptions;
  /** The job's work; it reports nothing itself (the replica reports starts and ends). */
  readonly work: (run: RunContext) => Promise<void>;
}

/** One line a replica prints on stdout (JSON), read by the demo and the tests. */
export type ReplicaReport =
  | { type: "ready"; replica: string; offsetMs: number }
  | {
      type: "start";
      replica: string;
      job: string;
      scheduledAt: number;
      attempt: number;
      runId: string;
      /** Host time when the handler started (ms). */
      at: number;
      /** Store time when the handler started (ms), read from the store. */
      storeNow: number;
    }
  | {
      type: "end";
      replica: string;
      job: string;
      scheduledAt: number;
      attempt: number;
      ok: boolean;
      error?: string;
    }
  | { type: "event"; replica: string; name: string; job?: string; detail?: string };

function report(line: ReplicaReport): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/**
 * Runs `jobs` as one replica until SIGTERM/SIGINT, printing a JSON line per run start and end.
 * The demo starts several of these; so do the multi-process tests, with their own jobs.
 */
export async function runReplica(args: ReplicaArgs, jobs: readonly ReplicaJob[]): Promise<void> {
  const store = await openStore(args.storeUrl);
  const clock = new OffsetClock(systemClock);
  clock.offset = args.clockSkewMs;
  const scheduler = new Scheduler({
    store,
    clock,
    replicaId: args.replicaId,
    leaseDuration: args.leaseMs,
    recoveryInterval: Math.max(250, Math.floor(args.leaseMs / 3)),
    stopTimeout: "5s",
  });
  const replica = args.replicaId;
  for (const job of jobs) {
    scheduler.job(
      job.id,
      job.schedule,
      async (run) => {
        const storeNow = await store.now();
        const base = {
          replica,
          job: run.jobId,
          scheduledAt: run.scheduledAt.getTime(),
          attempt: run.attempt,
        };
        report({ type: "start", ...base, runId: run.runId, at: systemClock.now(), storeNow });
        try {
          await job.work(run);
          report({ type: "end", ...base, ok: true });
        } catch (error) {
          report({ type: "end", ...base, ok: false, error: String(error) });
          throw error;
        }
      },
      job.options,
    );
  }
  for (const name of [
    "run:recovered",
    "run:abandoned",
    "run:leaseLost",
    "clock:skew",
    "store:error",
  ] as const) {
    scheduler.on(name, (payload) =>
      report({ type: "event", replica, name, job: "jobId" in payload ? payload.jobId : undefined }),
    );
  }
  await scheduler.start();
  report({ type: "ready", replica, offsetMs: clock.offset });
  const release = keepAlive();
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  await scheduler.stop({ drain: true });
  await store.close();
  release();
}
