import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { keepAlive, sleep, systemClock } from "../clock.js";
import { BelfryError } from "../errors.js";
import { redact } from "../stores/open.js";
import { spawnReplica, startWindow, type ReplicaProcess } from "./cluster.js";
import { progressLines, runLines, type LiveOutput } from "./demo-live.js";
import { demoJobs, demoTask } from "./demo-jobs.js";
import { ScheduleDemo } from "./demo-schedules.js";
import { migrateStore } from "./output.js";
import { runReplica, type ReplicaArgs, type ReplicaReport, type ReplicaWindow } from "./replica.js";
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
  /**
   * Instead of the code-defined jobs: this many runtime schedules, created by the demo through
   * `createMany` once the replicas have loaded, run by the replicas (which define their task).
   */
  readonly schedules?: number;
}

/** The settings of one demo replica (`belfry replica`). */
export interface DemoReplicaArgs extends ReplicaArgs {
  /** Define the runtime schedules' task instead of the code-defined demo jobs. */
  readonly schedules: boolean;
}

/** From the moment every replica has loaded to the window's start: connect and register. */
const LEAD_MS = 2_000;
const DRAIN_MS = 1_500;
/**
 * Longest wait after the drain for replicas still working through a backlog of due schedules
 * (more due per second than the machine runs): the missed policy of a daily schedule gives an
 * occurrence 60 s, so waiting longer could not turn a miss into a run.
 */
const MAX_BACKLOG_MS = 60_000;
/** A backlog that started nothing for this long is stuck: stop waiting for it. */
const BACKLOG_STALL_MS = 5_000;
/** Up to this many runs the demo prints a line per run; above, a line per second. */
const MAX_RUN_LINES = 100;
/** `belfry replica`: the command each demo replica process runs. */
const REPLICA_COMMAND = [fileURLToPath(new URL("./main.js", import.meta.url)), "replica"];

/**
 * Starts `replicas` processes running the demo jobs (or the runtime schedules of
 * `options.schedules`) for `durationS` seconds, shows live which replica ran each occurrence
 * and ends with a summary. Resolves to the exit code: 0 only when the run had no duplicates and
 * no misses (and, with schedules, every schedule ran at its planned instant, none early).
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  if (options.schedules !== undefined && options.uncoordinated) {
    throw new BelfryError(
      "INVALID_OPTION",
      "demo: --schedules needs the replicas to share a store; it cannot run --uncoordinated",
    );
  }
  const storeUrl =
    options.store ?? `sqlite:${join(mkdtempSync(join(tmpdir(), "belfry-demo-")), "belfry.db")}`;
  const mode = options.uncoordinated
    ? "uncoordinated: each replica has its own memory store"
    : `coordinated through ${redact(storeUrl)}`;
  const say = (text: string) => void (options.json || process.stdout.write(`${text}\n`));
  // Reach and migrate the shared store once, before any replica starts: a store that cannot be
  // reached stops the demo at once with its STORE_CONNECT error.
  if (!options.uncoordinated) await migrateStore(storeUrl);
  const demo =
    options.schedules === undefined ? null : await ScheduleDemo.open(storeUrl, options.schedules);
  try {
    const what = demo ? `, ${demo.count} runtime schedules` : "";
    say(`belfry demo: ${options.replicas} replicas for ${options.durationS} s${what}, ${mode}`);
    return await run(options, storeUrl, demo, say);
  } finally {
    await demo?.close();
  }
}

async function run(
  options: DemoOptions,
  storeUrl: string,
  demo: ScheduleDemo | null,
  say: (text: string) => void,
): Promise<number> {
  const live = liveOutput(demo, say);
  say(live.header);
  const release = keepAlive();
  let ran: Awaited<ReturnType<typeof runReplicas>>;
  try {
    ran = await runReplicas(options, storeUrl, demo, live, say);
  } finally {
    release();
    live.stop();
  }
  const { window, reports, crashed, replicaIds } = ran;
  const due = demo ? await demo.due(window) : dueInWindow(demoJobs(window), window);
  const summary = summarize(due, reports);
  const schedules = demo?.verdict(due, summary) ?? null;
  if (options.json) {
    const coordinated = !options.uncoordinated;
    process.stdout.write(
      `${JSON.stringify({ ...summary, coordinated, replicaFailures: crashed, ...(schedules && { schedules }) })}\n`,
    );
  } else {
    say(formatSummary(summary, replicaIds));
    if (schedules) say(ScheduleDemo.format(schedules));
    if (crashed > 0) say(`${crashed} replica process(es) exited with an error`);
  }
  const clean = summary.duplicates === 0 && summary.misses === 0 && crashed === 0;
  return clean && (schedules?.ok ?? true) ? 0 : 1;
}

/**
 * Starts the replica processes, gives them one window (the demo creates its schedules first),
 * stops them after it and a drain, and returns what they reported.
 */
async function runReplicas(
  options: DemoOptions,
  storeUrl: string,
  demo: ScheduleDemo | null,
  live: LiveOutput,
  say: (text: string) => void,
): Promise<{
  window: ReplicaWindow;
  reports: ReplicaReport[];
  crashed: number;
  replicaIds: string[];
}> {
  const replicas = Array.from({ length: options.replicas }, (_, i) => {
    const args: DemoReplicaArgs = {
      storeUrl: options.uncoordinated ? "memory" : storeUrl,
      replicaId: `replica-${i + 1}`,
      clockSkewMs: 0,
      leaseMs: 10_000,
      schedules: demo !== null,
    };
    return spawnReplica(REPLICA_COMMAND, args, (report) => live.report(report));
  });
  const lead = LEAD_MS + (demo?.creationBudgetMs ?? 0);
  const window = await startWindow(replicas, lead, options.durationS * 1000, async (w) => {
    if (demo) say(await demo.create(w));
  }).catch(async (error: unknown) => {
    for (const replica of replicas) replica.child.kill("SIGTERM");
    await Promise.all(replicas.map((r) => r.exited));
    throw error;
  });
  await sleep(systemClock, Math.max(0, window.stopAt + DRAIN_MS - systemClock.now()));
  if (demo) await drainBacklog(replicas, demo.count, say);
  for (const replica of replicas) replica.child.kill("SIGTERM");
  const codes = await Promise.all(replicas.map((r) => r.exited));
  return {
    window,
    reports: replicas.flatMap((r) => r.reports),
    crashed: codes.filter((code) => code !== 0).length,
    replicaIds: replicas.map((r) => r.id),
  };
}

/**
 * Waits while the replicas are still starting runs of the `expected` occurrences (a backlog
 * left by a window with more due than the machine runs per second), at most
 * {@link MAX_BACKLOG_MS}, and says so: those runs are late, not missed.
 */
async function drainBacklog(
  replicas: readonly ReplicaProcess[],
  expected: number,
  say: (text: string) => void,
): Promise<void> {
  const started = () => {
    const occurrences = new Set<string>();
    for (const replica of replicas) {
      for (const r of replica.reports) {
        if (r.type === "start" && r.attempt === 1) occurrences.add(`${r.job}@${r.scheduledAt}`);
      }
    }
    return occurrences.size;
  };
  const deadline = systemClock.now() + MAX_BACKLOG_MS;
  let count = started();
  if (count >= expected) return;
  say(`  waiting for the replicas to work through a backlog of ${expected - count} runs`);
  let lastProgress = systemClock.now();
  while (count < expected && systemClock.now() < deadline) {
    await sleep(systemClock, 250);
    const now = started();
    if (now > count) lastProgress = systemClock.now();
    else if (systemClock.now() - lastProgress > BACKLOG_STALL_MS) return;
    count = now;
  }
}

/** A line per run, or per second when there are many runs. */
function liveOutput(demo: ScheduleDemo | null, say: (text: string) => void): LiveOutput {
  if (!demo) return runLines(say, 13);
  if (demo.count > MAX_RUN_LINES) return progressLines(say, demo.count);
  return runLines(say, demo.jobWidth, {
    header: "local time",
    of: (start) => demo.localTimeOf(start.job),
  });
}

/**
 * `belfry replica`: one replica of the demo, running the demo jobs or, with `schedules`, the
 * task of the demo's runtime schedules.
 */
export function runDemoReplica(args: DemoReplicaArgs): Promise<void> {
  return args.schedules ? runReplica(args, () => [], [demoTask]) : runReplica(args, demoJobs);
}

/** The closing summary line(s); `replicas` lists those that ran nothing too. */
export function formatSummary(
  s: Summary,
  replicas: readonly string[] = Object.keys(s.perReplica),
): string {
  const perReplica = [...replicas]
    .sort((a, b) => a.localeCompare(b))
    .map((replica) => {
      const runs = s.perReplica[replica] ?? 0;
      return `${replica} ${runs} (${s.runs === 0 ? 0 : Math.round((100 * runs) / s.runs)}%)`;
    })
    .join(", ");
  return [
    `summary: ${s.due} occurrences due, ${s.runs} runs, ${s.duplicates} duplicates, ${s.misses} misses, start lag p50 ${s.lagP50Ms} ms, p99 ${s.lagP99Ms} ms`,
    `runs per replica: ${perReplica}`,
  ].join("\n");
}
