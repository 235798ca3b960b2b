// Start-up benchmark: time and store round trips to register and start N yearly cron jobs, for
// 1 replica and for 3 replica processes starting together, on a fresh store and on restart (the
// same jobs already registered), for belfry on PostgreSQL, Redis, MariaDB/MySQL and SQLite and
// for the peers' equivalents: BullMQ `upsertJobScheduler` per job, pg-boss `createQueue` +
// `schedule()` per job, graphile-worker with an N-line crontab. Systems and sizes are interleaved
// and the whole matrix repeated; a run over the time limit is recorded as a time-out.
//
//   node bench/startup.mjs [system…]     (after `npm run build`) prints JSON
// Environment: BENCH_STARTUP_SIZES (default 1000,10000,100000), BENCH_STARTUP_REPS (3),
// BENCH_STARTUP_TIMEOUT_S (120 per start), BENCH_STARTUP_SCHEDULE (cron | every: belfry's
// schedule kind; registration is the same for both), BENCH_BELFRY_DIST (another build of
// belfry to measure, e.g. an older commit's dist/).
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { clearTimeout, setTimeout } from "node:timers";
import { createInterface } from "node:readline";
import { URL, fileURLToPath, pathToFileURL } from "node:url";
import * as lib from "./lib.mjs";

const CHILD = fileURLToPath(new URL("./startup-replica.mjs", import.meta.url));
const env = process.env;

/** The systems, each with its child configuration and its clean-up. */
export const SYSTEMS = {
  "belfry-postgres": belfry("postgres", (tag) => lib.dropPgSchema(`belfry_${tag}`)),
  "belfry-redis": belfry("redis", (tag) => lib.deleteRedisKeys(`belfry-${tag}`)),
  "belfry-mysql": belfry("mysql", (tag) => lib.dropMysqlTables(`belfry_${tag}_`)),
  "belfry-sqlite": belfry("sqlite", async () => {}),
  bullmq: { cfg: { system: "bullmq" }, clean: (tag) => lib.deleteRedisKeys(`bull-${tag}`) },
  "pg-boss": { cfg: { system: "pgboss" }, clean: (tag) => lib.dropPgSchema(`pgboss_${tag}`) },
  "graphile-worker": { cfg: { system: "graphile" }, clean: (tag) => lib.dropPgSchema(`gw_${tag}`) },
};

function belfry(store, clean) {
  return { cfg: { system: "belfry", store }, clean };
}

/** Runs `replicas` child processes of one system at once; resolves to what each reported. */
async function startReplicas(cfg, replicas, timeoutMs) {
  const children = [];
  const reports = [];
  const all = (kind) =>
    Promise.all(children.map((c) => new Promise((resolve) => c.waiters.push({ kind, resolve }))));
  for (let i = 0; i < replicas; i++) {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(cfg)], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const entry = { child, waiters: [] };
    createInterface({ input: child.stdout }).on("line", (line) => {
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        return;
      }
      if (message.t === "done") reports[i] = message;
      for (const w of entry.waiters.filter((w) => w.kind === message.t)) w.resolve(message);
    });
    child.on("exit", () => entry.waiters.forEach((w) => w.resolve(null)));
    children.push(entry);
  }
  let timer;
  const timeout = (what) =>
    new Promise((resolve) => (timer = setTimeout(() => resolve(what), timeoutMs)));
  try {
    if ((await Promise.race([all("ready"), timeout("timeout")])) === "timeout") {
      return { error: `definition over ${timeoutMs / 1000} s` };
    }
    clearTimeout(timer);
    const started = performance.now();
    for (const { child } of children) child.stdin.write("go\n");
    if ((await Promise.race([all("done"), timeout("timeout")])) === "timeout") {
      return { error: `timeout (over ${timeoutMs / 1000} s)` };
    }
    const wallMs = performance.now() - started;
    const failed = reports.find((r) => !r || r.error);
    if (failed !== undefined) return { error: failed?.error ?? "a replica exited" };
    return { wallMs, replicas: reports };
  } finally {
    clearTimeout(timer);
    for (const { child } of children) if (child.exitCode === null) child.kill("SIGKILL");
  }
}

/** One fresh start and one restart of `system` with `jobs` jobs and `replicas` replicas. */
async function measure(system, jobs, replicas, timeoutMs) {
  const { cfg, clean } = SYSTEMS[system];
  const tag = lib.runTag();
  const dir = mkdtempSync(join(tmpdir(), "belfry-startup-"));
  const full = {
    ...cfg,
    jobs,
    tag,
    sqlitePath: join(dir, "startup.db"),
    schedule: env.BENCH_STARTUP_SCHEDULE ?? "cron",
  };
  const cleanup = lib.cleanupOnSignal(async () => {
    await clean(tag);
    lib.removeDir(dir);
  });
  try {
    const fresh = await startReplicas(full, replicas, timeoutMs);
    const restart = fresh.error
      ? { error: "skipped" }
      : await startReplicas(full, replicas, timeoutMs);
    return { fresh, restart };
  } finally {
    await cleanup();
  }
}

/**
 * The whole matrix, interleaved: for each repetition, size and system, 1 then 3 replicas.
 * `sizes` and `reps` default to BENCH_STARTUP_SIZES and BENCH_STARTUP_REPS (run.mjs passes its
 * `--sizes` and `--reps`).
 */
export async function run({
  systems = Object.keys(SYSTEMS),
  sizes = (env.BENCH_STARTUP_SIZES ?? "1000,10000,100000").split(",").map(Number),
  reps = Number(env.BENCH_STARTUP_REPS ?? 3),
} = {}) {
  const timeoutMs = Number(env.BENCH_STARTUP_TIMEOUT_S ?? 120) * 1000;
  const results = [];
  const timedOut = new Map();
  for (let rep = 1; rep <= reps; rep++) {
    for (const jobs of sizes) {
      for (const system of systems) {
        for (const replicas of [1, 3]) {
          const key = `${system}/${replicas}`;
          process.stderr.write(`[startup] rep ${rep} ${system}/${jobs}/${replicas}\n`);
          // A time-out is not run again: not in a later repetition, nor with more jobs.
          const before = timedOut.get(key);
          const outcome =
            before !== undefined && before <= jobs
              ? { fresh: { error: `timed out at ${before} jobs` }, restart: { error: "skipped" } }
              : await measure(system, jobs, replicas, timeoutMs);
          if (/timeout|definition over/.test(outcome.fresh.error ?? "")) timedOut.set(key, jobs);
          results.push({ rep, system, jobs, replicas, ...outcome });
        }
      }
    }
  }
  return summarise(results);
}

/** Min and median over repetitions of the slowest replica's start and its round trips. */
function summarise(results) {
  const groups = new Map();
  for (const r of results) {
    for (const phase of ["fresh", "restart"]) {
      const key = `${r.system}|${r.jobs}|${r.replicas}|${phase}`;
      if (!groups.has(key)) {
        groups.set(key, { system: r.system, jobs: r.jobs, replicas: r.replicas, phase, runs: [] });
      }
      groups.get(key).runs.push(r[phase]);
    }
  }
  const median = (values) => lib.percentile(values, 0.5);
  const min = (values) => (values.length ? Math.min(...values) : NaN);
  return [...groups.values()].map((g) => {
    const ok = g.runs.filter((x) => !x.error);
    const slowest = ok.map((x) => Math.max(...x.replicas.map((r) => r.startMs)));
    const trips = ok.map((x) => Math.max(...x.replicas.map((r) => r.roundTrips)));
    const statements = ok.map((x) => Math.max(...x.replicas.map((r) => r.statements)));
    const define = ok.map((x) => Math.max(...x.replicas.map((r) => r.defineMs)));
    const rss = ok.map((x) => Math.max(...x.replicas.map((r) => r.rssMiB)));
    return {
      system: g.system,
      jobs: g.jobs,
      replicas: g.replicas,
      phase: g.phase,
      runs: g.runs.length,
      ok: ok.length,
      errors: [...new Set(g.runs.filter((x) => x.error).map((x) => x.error))],
      startMinMs: lib.round(min(slowest), 0),
      startMedianMs: lib.round(median(slowest), 0),
      roundTripsMedian: median(trips),
      statementsMedian: median(statements),
      defineMedianMs: lib.round(median(define), 0),
      rssMedianMiB: lib.round(median(rss), 0),
    };
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((s) => !(s in SYSTEMS));
  if (unknown.length > 0) throw new Error(`unknown system(s) ${unknown.join(", ")}`);
  const summary = await run(wanted.length > 0 ? { systems: wanted } : {});
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}
