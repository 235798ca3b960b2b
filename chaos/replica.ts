// One chaos replica process (run from sources through tsx): a scheduler running the chaos jobs,
// whose handlers record each execution in a ledger the scheduler does not own. Its settings come
// in the environment (spawnReplica); the first line on stdin is the window (JSON), every later
// line a ClockCommand that changes its clock's offset at run time.
import { createInterface } from "node:readline";
import { replicaArgsFromEnv, type ReplicaArgs, type ReplicaWindow } from "../src/cli/replica.js";
import { keepAlive, OffsetClock, sleep, systemClock } from "../src/clock.js";
import type { RunContext } from "../src/options.js";
import { Scheduler } from "../src/scheduler.js";
import { openStore } from "../src/stores/open.js";
import { chaosJobs } from "./jobs.js";
import { FileLedger, insertExecution, type Execution } from "./ledger.js";
import type { StoreKind } from "./servers.js";

/** What the parent tells a chaos replica. */
export interface ChaosReplicaArgs extends ReplicaArgs {
  readonly kind: StoreKind;
  /** This replica's ledger file (appended to across restarts). */
  readonly ledgerFile: string;
  /** The ledger table in the store's database (SQL stores). */
  readonly ledgerTable: string;
  /** How long a handler works before its side effect. */
  readonly workMs: number;
}

/** A line on a chaos replica's stdin after the window: set its clock's offset (ms). */
export interface ClockCommand {
  readonly skewMs: number;
}

const args = replicaArgsFromEnv<ChaosReplicaArgs>();
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
const store = await openStore(args.storeUrl);
const ledger = new FileLedger(args.ledgerFile);
const clock = new OffsetClock(systemClock);
clock.offset = args.clockSkewMs;

/**
 * The documented rule: work (honouring the signal), then `assertLease()` right before the side
 * effect, which is a synchronous fsync'd append; on SQL stores the same execution is written to
 * the ledger table inside `run.transaction`, committed with the run's outcome.
 */
async function work(run: RunContext): Promise<void> {
  const startedAt = systemClock.now();
  await sleep(systemClock, args.workMs, run.signal);
  run.assertLease();
  const execution: Execution = {
    job: run.jobId,
    scheduledAt: run.scheduledAt.getTime(),
    attempt: run.attempt,
    token: run.fencingToken,
    replica: args.replicaId,
    startedAt,
    finishedAt: systemClock.now(),
  };
  ledger.append(execution);
  if (args.kind !== "redis") {
    await run.transaction((tx) => insertExecution(args.kind, tx, args.ledgerTable, execution));
  }
}

const scheduler = new Scheduler({
  store,
  clock,
  replicaId: args.replicaId,
  leaseDuration: args.leaseMs,
  recoveryInterval: Math.max(250, Math.floor(args.leaseMs / 3)),
  stopTimeout: "5s",
});
say({ type: "loaded", replica: args.replicaId });
const release = keepAlive();
const stdin = createInterface({ input: process.stdin });
const window = await new Promise<ReplicaWindow>((resolve) => {
  let first = true;
  stdin.on("line", (line) => {
    if (first) resolve(JSON.parse(line) as ReplicaWindow);
    else clock.offset = (JSON.parse(line) as ClockCommand).skewMs;
    first = false;
  });
});
for (const job of chaosJobs(window, work)) {
  scheduler.job(job.id, job.schedule, job.work, job.options);
}
for (const name of ["run:leaseLost", "run:recovered", "store:error", "clock:skew"] as const) {
  scheduler.on(name, () => say({ type: "event", replica: args.replicaId, name }));
}
await scheduler.start();
say({ type: "ready", replica: args.replicaId, offsetMs: clock.offset });
await new Promise<void>((resolve) => {
  process.once("SIGTERM", resolve);
  process.once("SIGINT", resolve);
});
stdin.close();
process.stdin.destroy();
await scheduler.stop({ drain: true });
await store.close();
ledger.close();
release();
