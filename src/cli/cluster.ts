import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { systemClock } from "../clock.js";
import {
  REPLICA_ARGS_ENV,
  type ReplicaArgs,
  type ReplicaReport,
  type ReplicaWindow,
} from "./replica.js";

/** A replica running as a separate Node process. */
export interface ReplicaProcess {
  readonly id: string;
  readonly child: ChildProcess;
  /** Every JSON line it printed so far. */
  readonly reports: ReplicaReport[];
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Resolves once the replica loaded its code and waits for its window; rejects if it exits first. */
  readonly loaded: Promise<void>;
}

/**
 * Starts a replica in a child Node process: `node <...command>`, where `command` runs
 * `runReplica` (the demo passes `belfry replica`) with the args it reads by
 * `replicaArgsFromEnv`. The args travel in the environment, not in argv: the store URL may hold
 * a password, and any user on the host can read a process's argv (`ps`). The replica waits for
 * its window (see {@link startWindow}). `onReport` sees each line as it arrives.
 */
export function spawnReplica(
  command: readonly string[],
  args: ReplicaArgs,
  onReport: (report: ReplicaReport) => void = () => {},
): ReplicaProcess {
  const child = spawn(process.execPath, [...command], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, [REPLICA_ARGS_ENV]: JSON.stringify(args) },
  });
  const reports: ReplicaReport[] = [];
  let markLoaded: () => void = () => {};
  let failLoading: (error: Error) => void = () => {};
  const loaded = new Promise<void>((resolve, reject) => {
    markLoaded = resolve;
    failLoading = reject;
  });
  // `startWindow` awaits `loaded`; a replica that dies first must not crash this process.
  loaded.catch(() => {});
  child.stdin!.on("error", () => {});
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (!line.startsWith("{")) return;
    const report = JSON.parse(line) as ReplicaReport;
    reports.push(report);
    if (report.type === "loaded") markLoaded();
    onReport(report);
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      if (code !== 0 && code !== null) process.stderr.write(`replica ${args.replicaId}: ${stderr}`);
      failLoading(new Error(`replica ${args.replicaId} exited (${code}) before it loaded`));
      resolve(code);
    }),
  );
  return { id: args.replicaId, child, reports, exited, loaded };
}

/**
 * Waits until every replica has loaded, then sends them one window: from `leadMs` after now
 * (rounded up to a whole second), lasting `durationMs`. A slow start (a loaded machine, code
 * run from sources) so delays the window instead of eating into it. `prepare` runs with the
 * window before the replicas get it (the demo creates its runtime schedules there).
 */
export async function startWindow(
  replicas: readonly ReplicaProcess[],
  leadMs: number,
  durationMs: number,
  prepare: (window: ReplicaWindow) => Promise<void> = async () => {},
): Promise<ReplicaWindow> {
  await Promise.all(replicas.map((replica) => replica.loaded));
  const startAt = Math.ceil((systemClock.now() + leadMs) / 1000) * 1000;
  const window: ReplicaWindow = { startAt, stopAt: startAt + durationMs - 1 };
  await prepare(window);
  for (const replica of replicas) replica.child.stdin!.end(`${JSON.stringify(window)}\n`);
  return window;
}
