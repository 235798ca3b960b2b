import { keepAlive, OffsetClock, systemClock } from "../clock.js";
import { BelfryError } from "../errors.js";
import type { Handler, JobOptions, RunContext } from "../options.js";
import { Scheduler } from "../scheduler.js";
import type { Schedule } from "../schedules/schedule.js";
import { openStore } from "../stores/open.js";
import type { Store } from "../stores/store.js";

/** Settings of one replica process. */
export interface ReplicaArgs {
  readonly storeUrl: string;
  readonly replicaId: string;
  /** Added to this process's clock: simulates a host whose clock is off. */
  readonly clockSkewMs: number;
  readonly leaseMs: number;
}

/** The window every replica of a run agrees on (epoch ms, both inclusive). */
export interface ReplicaWindow {
  readonly startAt: number;
  readonly stopAt: number;
}

/** One job a replica runs. */
export interface ReplicaJob {
  readonly id: string;
  readonly schedule: Schedule;
  readonly options: JobOptions;
  /** The job's work; it reports nothing itself (the replica reports starts and ends). */
  readonly work: (run: RunContext) => Promise<void>;
}

/** One task a replica defines (`scheduler.task`): it runs the runtime schedules naming it. */
export interface ReplicaTask {
  readonly name: string;
  /** The work of each run; as for {@link ReplicaJob}, the replica reports starts and ends. */
  readonly work: (run: RunContext) => Promise<void>;
}

/** One line a replica prints on stdout (JSON), read by the demo and the tests. */
export type ReplicaReport =
  | { type: "loaded"; replica: string }
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

/** The environment variable `spawnReplica` passes a replica's args in (JSON). */
export const REPLICA_ARGS_ENV = "BELFRY_REPLICA_ARGS";

/**
 * The args `spawnReplica` passed this process, removed from the environment once read so that
 * processes the jobs start do not inherit the store URL.
 * @throws BelfryError `INVALID_OPTION` when they are missing.
 */
export function replicaArgsFromEnv<T extends ReplicaArgs = ReplicaArgs>(): T {
  const json = process.env[REPLICA_ARGS_ENV];
  if (json === undefined) {
    throw new BelfryError(
      "INVALID_OPTION",
      `replica: ${REPLICA_ARGS_ENV} is not set; replicas are started by \`belfry demo\``,
    );
  }
  delete process.env[REPLICA_ARGS_ENV];
  return JSON.parse(json) as T;
}

function report(line: ReplicaReport): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** The window, sent as JSON on stdin once every replica has loaded (`startWindow`). */
async function readWindow(): Promise<ReplicaWindow> {
  let text = "";
  for await (const chunk of process.stdin) text += String(chunk);
  return JSON.parse(text) as ReplicaWindow;
}

/**
 * The handler of a job or task: reports the start (with the store's now, to tell an early run),
 * runs `work` and reports the end.
 */
function reportingHandler(
  store: Store,
  replica: string,
  work: (run: RunContext) => Promise<void>,
): Handler {
  return async (run) => {
    const storeNow = await store.now();
    const base = {
      replica,
      job: run.jobId,
      scheduledAt: run.scheduledAt.getTime(),
      attempt: run.attempt,
    };
    report({ type: "start", ...base, runId: run.runId, at: systemClock.now(), storeNow });
    try {
      await work(run);
      report({ type: "end", ...base, ok: true });
    } catch (error) {
      report({ type: "end", ...base, ok: false, error: String(error) });
      throw error;
    }
  };
}

/**
 * Runs one replica until SIGTERM/SIGINT: loads its store, reports `loaded`, waits for the
 * window on stdin, then runs `jobsFor(window)` and the runtime schedules of `tasks`, printing a
 * JSON line per run start and end. The demo starts several of these; so do the multi-process
 * tests, with their own jobs.
 */
export async function runReplica(
  args: ReplicaArgs,
  jobsFor: (window: ReplicaWindow) => readonly ReplicaJob[],
  tasks: readonly ReplicaTask[] = [],
): Promise<void> {
  const replica = args.replicaId;
  const store = await openStore(args.storeUrl);
  report({ type: "loaded", replica });
  const jobs = jobsFor(await readWindow());
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
  for (const job of jobs) {
    scheduler.job(job.id, job.schedule, reportingHandler(store, replica, job.work), job.options);
  }
  for (const task of tasks) scheduler.task(task.name, reportingHandler(store, replica, task.work));
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
