import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { JobSeries } from "../coordination/series.js";
import { toJobConfig } from "../options.js";
import type { ReplicaArgs, ReplicaReport } from "./replica.js";
import { scenarioJobs, type ScenarioName, type ScenarioParams } from "./scenarios.js";

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

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));

/** Starts `belfry replica` in a child process; `onReport` sees each line as it arrives. */
export function spawnReplica(
  args: ReplicaArgs,
  onReport: (report: ReplicaReport) => void = () => {},
): ReplicaProcess {
  const child = spawn(process.execPath, [MAIN, "replica", JSON.stringify(args)], {
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

/** Occurrences of each scenario job inside the window, as every replica computes them. */
export function dueInWindow(scenario: ScenarioName, params: ScenarioParams): Map<string, number[]> {
  const due = new Map<string, number[]>();
  for (const job of scenarioJobs(scenario, params)) {
    const series = new JobSeries(toJobConfig(job.id, job.schedule, job.work, job.options), "UTC");
    due.set(job.id, series.due(params.startAt - 1, params.stopAt).at);
  }
  return due;
}
