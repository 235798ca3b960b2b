import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { ReplicaArgs, ReplicaReport } from "./replica.js";

/** A replica running as a separate Node process. */
export interface ReplicaProcess {
  readonly id: string;
  readonly child: ChildProcess;
  /** Every JSON line it printed so far. */
  readonly reports: ReplicaReport[];
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Resolves once the replica's scheduler has started. */
  readonly ready: Promise<void>;
}

/**
 * Starts a replica in a child Node process: `node <...command> <args as JSON>`, where `command`
 * runs `runReplica` (the demo passes `belfry replica`). `onReport` sees each line as it
 * arrives.
 */
export function spawnReplica(
  command: readonly string[],
  args: ReplicaArgs,
  onReport: (report: ReplicaReport) => void = () => {},
): ReplicaProcess {
  const child = spawn(process.execPath, [...command, JSON.stringify(args)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const reports: ReplicaReport[] = [];
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (!line.startsWith("{")) return;
    const report = JSON.parse(line) as ReplicaReport;
    reports.push(report);
    if (report.type === "ready") markReady();
    onReport(report);
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      if (code !== 0 && code !== null) process.stderr.write(`replica ${args.replicaId}: ${stderr}`);
      resolve(code);
    }),
  );
  return { id: args.replicaId, child, reports, exited, ready };
}
