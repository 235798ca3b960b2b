// One process of the runtime-schedules multi-process test, run from sources (`node --import
// tsx`); its ScheduleReplicaArgs come in the environment (spawnReplica).
// - runner: defines the task, starts at once and appends each attempt it runs to its ledger;
// - creator: defines no task; once it reads the window on stdin it creates the scenario's
//   schedules with one createMany, then obeys the test's commands (remove, trigger), one JSON
//   line each, reporting each step's store times on stdout.
import { appendFileSync } from "node:fs";
import { createInterface } from "node:readline";
import {
  replicaArgsFromEnv,
  type ReplicaReport,
  type ReplicaWindow,
} from "../../../src/cli/replica.js";
import { keepAlive, sleep, systemClock } from "../../../src/clock.js";
import { Scheduler } from "../../../src/scheduler.js";
import { openStore } from "../../../src/stores/open.js";
import type { Store } from "../../../src/stores/store.js";
import type { RunContext } from "../../../src/options.js";
import {
  HANDLER_MS,
  REMOVED_KEYS,
  scheduleInputs,
  TASK,
  TRIGGERED_KEY,
  type CreatorCommand,
  type CreatorStep,
  type LedgerEntry,
  type ScheduleReplicaArgs,
} from "./schedule-scenario.js";

const args = replicaArgsFromEnv<ScheduleReplicaArgs>();
const replica = args.replicaId;

function report(line: ReplicaReport): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function record(phase: LedgerEntry["phase"], run: RunContext): void {
  const entry: LedgerEntry = {
    phase,
    replica,
    jobId: run.jobId,
    scheduledAt: run.scheduledAt.getTime(),
    attempt: run.attempt,
    trigger: run.trigger,
    runId: run.runId,
  };
  // Synchronous: a line written before a SIGKILL is in the file.
  appendFileSync(args.ledger, `${JSON.stringify(entry)}\n`);
}

/** Runs `call` and reports it as the event `name` with its store times. */
async function step(store: Store, name: string, call: () => Promise<number>): Promise<void> {
  const before = await store.now();
  const count = await call();
  const after = await store.now();
  const detail: CreatorStep = { count, before, after };
  report({ type: "event", replica, name, detail: JSON.stringify(detail) });
}

const store = await openStore(args.storeUrl);
const scheduler = new Scheduler({
  store,
  replicaId: replica,
  leaseDuration: args.leaseMs,
  recoveryInterval: Math.max(250, Math.floor(args.leaseMs / 3)),
  stopTimeout: "5s",
});
if (args.role === "runner") {
  scheduler.task(TASK, async (run) => {
    record("start", run);
    await sleep(systemClock, HANDLER_MS, run.signal);
    record("end", run);
  });
}
await scheduler.start();
report({ type: "loaded", replica });
const release = keepAlive();
const stopped = new Promise<void>((resolve) => {
  process.once("SIGTERM", resolve);
  process.once("SIGINT", resolve);
});

if (args.role === "creator") {
  // Commands run one after another, in the order they arrive.
  let queue = Promise.resolve();
  let window: ReplicaWindow | null = null;
  const lines = createInterface({ input: process.stdin }).on("line", (line) => {
    queue = queue.then(() => obey(line));
  });
  // An open stdin would keep this process alive after SIGTERM.
  void stopped.then(() => {
    lines.close();
    process.stdin.destroy();
  });
  const obey = async (line: string): Promise<void> => {
    if (window === null) {
      window = JSON.parse(line) as ReplicaWindow;
      const inputs = scheduleInputs(window);
      await step(
        store,
        "created",
        async () => (await scheduler.schedules.createMany(inputs)).created,
      );
      return;
    }
    const command = JSON.parse(line) as CreatorCommand;
    if (command.op === "remove") {
      const refs = [...REMOVED_KEYS].map((key) => ({ task: TASK, key }));
      await step(store, "removed", () => scheduler.schedules.removeMany(refs));
    } else {
      await step(store, "triggered", async () => {
        await scheduler.schedules.trigger(TASK, TRIGGERED_KEY);
        return 1;
      });
    }
  };
}

await stopped;
await scheduler.stop({ drain: true });
await store.close();
release();
