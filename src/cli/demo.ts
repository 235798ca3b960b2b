import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { keepAlive, sleep, systemClock } from "../clock.js";
import { redact } from "../stores/open.js";
import { spawnReplica, startWindow } from "./cluster.js";
import { demoJobs } from "./demo-jobs.js";
import { migrateStore } from "./output.js";
import type { ReplicaReport } from "./replica.js";
import { dueInWindow, summarize, type Summary } from "./summary.js";

/** Options of `belfry demo`. */
export interface DemoOptions {
  readonly replicas: number;
  readonly durationS: number;
  /** Give each replica its own memory store: gocron's multi-replica bug, reproduced. */
  readonly uncoordinated: boolean;
  readonly json: boolean;
  /** Store URL; default: a SQLite file in a new temp folder. */
  readonly store?: string;
}

/** From the moment every replica has loaded to the window's start: connect and register. */
const LEAD_MS = 2_000;
const DRAIN_MS = 1_500;
/** `belfry replica`: the command each demo replica process runs. */
const REPLICA_COMMAND = [fileURLToPath(new URL("./main.js", import.meta.url)), "replica"];

/**
 * Starts `replicas` processes running the demo jobs for `durationS` seconds, shows live which
 * replica ran each occurrence and ends with a summary. Resolves to the exit code: 0 only when
 * the run had no duplicates and no misses.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const storeUrl =
    options.store ?? `sqlite:${join(mkdtempSync(join(tmpdir(), "belfry-demo-")), "belfry.db")}`;
  const mode = options.uncoordinated
    ? "uncoordinated: each replica has its own memory store"
    : `coordinated through ${redact(storeUrl)}`;
  const say = (text: string) => void (options.json || process.stdout.write(`${text}\n`));
  // Reach and migrate the shared store once, before any replica starts: a store that cannot be
  // reached stops the demo at once with its STORE_CONNECT error.
  if (!options.uncoordinated) await migrateStore(storeUrl);
  say(`belfry demo: ${options.replicas} replicas for ${options.durationS} s, ${mode}`);
  say("  occurrence    job            replica     attempt  lag");
  const replicas = Array.from({ length: options.replicas }, (_, i) =>
    spawnReplica(
      REPLICA_COMMAND,
      {
        storeUrl: options.uncoordinated ? "memory" : storeUrl,
        replicaId: `replica-${i + 1}`,
        clockSkewMs: 0,
        leaseMs: 10_000,
      },
      (report) => {
        const line = formatLive(report);
        if (line !== null) say(line);
      },
    ),
  );
  const release = keepAlive();
  const window = await startWindow(replicas, LEAD_MS, options.durationS * 1000).catch((error) => {
    for (const replica of replicas) replica.child.kill("SIGTERM");
    throw error;
  });
  const { stopAt } = window;
  await sleep(systemClock, Math.max(0, stopAt + DRAIN_MS - systemClock.now()));
  for (const replica of replicas) replica.child.kill("SIGTERM");
  const codes = await Promise.all(replicas.map((r) => r.exited));
  release();
  const reports = replicas.flatMap((r) => r.reports);
  const summary = summarize(dueInWindow(demoJobs(window), window), reports);
  const crashed = codes.filter((code) => code !== 0).length;
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ ...summary, coordinated: !options.uncoordinated, replicaFailures: crashed })}\n`,
    );
  } else {
    say(formatSummary(summary));
    if (crashed > 0) say(`${crashed} replica process(es) exited with an error`);
  }
  return summary.duplicates === 0 && summary.misses === 0 && crashed === 0 ? 0 : 1;
}

function formatLive(report: ReplicaReport): string | null {
  if (report.type === "start") {
    const occurrence = new Date(report.scheduledAt).toISOString().slice(11, 23);
    const lag = `${report.at - report.scheduledAt} ms`;
    return `  ${occurrence}  ${report.job.padEnd(13)}  ${report.replica.padEnd(10)}  ${String(report.attempt).padStart(7)}  ${lag}`;
  }
  if (report.type === "end" && !report.ok) {
    return `  ${" ".repeat(12)}  ${report.job.padEnd(13)}  ${report.replica.padEnd(10)}  attempt ${report.attempt} failed: ${report.error ?? ""}`;
  }
  if (report.type === "event") return `  ${" ".repeat(12)}  ${report.name} on ${report.replica}`;
  return report.type === "ready" ? `  ${report.replica} ready` : null;
}

/** The closing summary line(s). */
export function formatSummary(s: Summary): string {
  const perReplica = Object.entries(s.perReplica)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([replica, runs]) => `${replica} ${runs}`)
    .join(", ");
  return [
    `summary: ${s.due} occurrences due, ${s.runs} runs, ${s.duplicates} duplicates, ${s.misses} misses, start lag p50 ${s.lagP50Ms} ms, p99 ${s.lagP99Ms} ms`,
    `runs per replica: ${perReplica}`,
  ].join("\n");
}
