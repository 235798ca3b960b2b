// Measurement 2: scheduling precision side by side. Each system runs as REPLICAS separate
// processes (bench/precision-replica.mjs) sharing one local server; every handler stamps
// Date.now() first thing. Over a window every replica was up for, it reports:
//   due        occurrences whose nominal instant falls in the window (jobs × instants)
//   runs       handler calls for those occurrences
//   duplicates runs beyond the first of the same occurrence
//   misses     due occurrences that never ran
//   lag        handler start − nominal instant, p50 / p99 / max, first run of each occurrence
//
// Modes:
//   second  a 1-second schedule (5 jobs) for 20 s, systems one after another:
//           belfry on sqlite, postgres, mysql, redis; BullMQ job schedulers; node-cron.
//   minute  a "* * * * *" cron (10 jobs) over 2 minute boundaries, systems concurrently (they
//           are idle between boundaries): belfry on postgres, pg-boss (defaults, and tuned to
//           its minimum intervals), graphile-worker crontab.
//
// Run after `npm run build`:  node bench/precision.mjs second|minute [system…]
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { URL, fileURLToPath, pathToFileURL } from "node:url";
import {
  cleanupOnSignal,
  deleteRedisKeys,
  dropMysqlTables,
  dropPgSchema,
  percentile,
  removeDir,
  runTag,
} from "./lib.mjs";

const REPLICAS = 3;
const log = (text) => process.stderr.write(`[precision] ${new Date().toISOString()} ${text}\n`);
const CHILD = fileURLToPath(new URL("./precision-replica.mjs", import.meta.url));

export const MODES = {
  second: {
    periodMs: 1_000,
    jobs: Number(process.env.BENCH_SECOND_JOBS ?? 5),
    windowMs: Number(process.env.BENCH_SECOND_WINDOW_S ?? 20) * 1000,
    drainMs: 2_000,
    concurrent: false,
    systems: [
      "belfry-sqlite",
      "belfry-postgres",
      "belfry-mysql",
      "belfry-redis",
      "bullmq",
      "node-cron",
    ],
  },
  minute: {
    periodMs: 60_000,
    jobs: Number(process.env.BENCH_MINUTE_JOBS ?? 10),
    windowMs: Number(process.env.BENCH_MINUTES ?? 2) * 60_000,
    // pg-boss with default settings starts a minute's job up to ~37 s late (30 s cron monitor,
    // 5 s send-it poll, 2 s worker poll); wait for it.
    drainMs: 45_000,
    concurrent: true,
    systems: ["belfry-postgres", "pg-boss", "pg-boss-tuned", "graphile-worker"],
  },
};

/** Child configuration and clean-up for one system name. */
function systemSetup(name, tag) {
  if (name.startsWith("belfry-")) {
    const store = name.slice("belfry-".length);
    if (store === "sqlite") {
      const dir = mkdtempSync(join(tmpdir(), "belfry-bench-"));
      const cfg = { system: "belfry", store, sqlitePath: join(dir, "bench.db") };
      return { cfg, cleanup: async () => removeDir(dir) };
    }
    const cleanup = {
      postgres: () => dropPgSchema(`belfry_${tag}`),
      mysql: () => dropMysqlTables(`belfry_${tag}_`),
      redis: () => deleteRedisKeys(`belfry-${tag}:`),
    }[store];
    return { cfg: { system: "belfry", store }, cleanup };
  }
  if (name === "bullmq")
    return { cfg: { system: "bullmq" }, cleanup: () => deleteRedisKeys(`bull-${tag}:`) };
  if (name === "node-cron") return { cfg: { system: "nodecron" }, cleanup: async () => {} };
  if (name === "pg-boss" || name === "pg-boss-tuned") {
    const cfg = { system: "pgboss", tuned: name === "pg-boss-tuned" };
    return { cfg, cleanup: () => dropPgSchema(`pgboss_${tag}`) };
  }
  if (name === "graphile-worker") {
    return { cfg: { system: "graphile" }, cleanup: () => dropPgSchema(`gw_${tag}`) };
  }
  throw new Error(`unknown system ${name}`);
}

/** Starts one replica process; collects its lines. */
function startReplica(cfg) {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(cfg)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const runs = [];
  let stderr = "";
  let onReady;
  const ready = new Promise((resolve, reject) => {
    onReady = resolve;
    child.once("exit", (code) => reject(new Error(`${cfg.replica} exited ${code}: ${stderr}`)));
  });
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (!line.startsWith("{")) return;
    const msg = JSON.parse(line);
    if (msg.t === "ready") onReady();
    else if (msg.t === "run") runs.push(msg);
  });
  child.stderr.on("data", (chunk) => (stderr += chunk.toString()));
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  ready.catch(() => {});
  return { child, runs, ready, exited, stderr: () => stderr };
}

/**
 * Starts a system's replicas at once, as a cold start or a first deploy does; with `staggered`,
 * the first alone, then the others (the fallback for a system whose replicas cannot boot at once).
 */
async function startSystem(name, mode, staggered = false) {
  const tag = runTag();
  const { cfg, cleanup: dropData } = systemSetup(name, tag);
  const replicas = [];
  const cleanup = cleanupOnSignal(async () => {
    for (const r of replicas) r.child.kill("SIGTERM");
    await Promise.all(replicas.map((r) => r.exited));
    await dropData();
  });
  log(`${name}: starting ${REPLICAS} replicas (${mode}${staggered ? ", staggered" : ""})`);
  const spawnOne = (i) => {
    const replica = startReplica({
      ...cfg,
      tag,
      mode,
      jobs: MODES[mode].jobs,
      replica: `replica-${i + 1}`,
    });
    replicas.push(replica);
    return replica.ready;
  };
  const timeout = sleep(60_000, null, { ref: false }).then(() => {
    throw new Error(`${name}: replicas not ready after 60 s`);
  });
  try {
    const indexes = Array.from({ length: REPLICAS }, (_, i) => i);
    if (staggered) {
      await Promise.race([spawnOne(0), timeout]);
      indexes.shift();
    }
    await Promise.race([Promise.all(indexes.map(spawnOne)), timeout]);
  } catch (error) {
    await stopSystem({ replicas, cleanup });
    throw error;
  }
  log(`${name}: ready`);
  return { name, replicas, cleanup, readyAt: Date.now() };
}

async function stopSystem({ replicas, cleanup }) {
  for (const r of replicas) r.child.kill("SIGTERM");
  const codes = await Promise.all(replicas.map((r) => r.exited));
  await cleanup().catch(() => {});
  return codes;
}

/** Compares what was due in [from, to) with what ran. */
export function score(runs, { from, to, periodMs, jobs }) {
  // Nominal instants of a series are k·period + phase. The phase is 0 for every system here
  // except BullMQ `every`, whose series starts when the scheduler is first upserted: take each
  // job's most common phase.
  const phases = new Map();
  for (const run of runs) {
    const phase = ((run.at % periodMs) + periodMs) % periodMs;
    const counts = phases.get(run.job) ?? new Map();
    counts.set(phase, (counts.get(phase) ?? 0) + 1);
    phases.set(run.job, counts);
  }
  const phaseOf = (job) => [...(phases.get(job) ?? [])].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 0;
  const instantsOf = (job) => {
    const phase = phaseOf(job);
    const instants = [];
    for (let at = Math.ceil((from - phase) / periodMs) * periodMs + phase; at < to; at += periodMs)
      instants.push(at);
    return instants;
  };
  const perOccurrence = new Map();
  for (const run of runs) {
    if (run.at < from || run.at >= to) continue;
    const key = `${run.job}@${run.at}`;
    const seen = perOccurrence.get(key);
    if (seen) seen.count++;
    else perOccurrence.set(key, { count: 1, lag: run.start - run.at });
  }
  let due = 0;
  let misses = 0;
  for (let j = 0; j < jobs; j++) {
    const instants = instantsOf(`job-${j}`);
    due += instants.length;
    for (const at of instants) if (!perOccurrence.has(`job-${j}@${at}`)) misses++;
  }
  const inWindow = [...perOccurrence.values()];
  const lags = inWindow.map((o) => o.lag);
  const runsInWindow = inWindow.reduce((n, o) => n + o.count, 0);
  return {
    due,
    runs: runsInWindow,
    duplicates: runsInWindow - perOccurrence.size,
    misses,
    early: lags.filter((lag) => lag < 0).length,
    lagP50Ms: percentile(lags, 0.5),
    lagP99Ms: percentile(lags, 0.99),
    lagMaxMs: lags.length ? Math.max(...lags) : NaN,
    phasesMs: [...new Set(Array.from({ length: jobs }, (_, j) => phaseOf(`job-${j}`)))],
  };
}

/** Window: from the first period boundary at least 1 s after every replica is ready. */
async function measure(systems, mode) {
  const { periodMs, windowMs, drainMs, jobs } = MODES[mode];
  const readyAt = Math.max(...systems.map((s) => s.readyAt));
  const from = Math.ceil((readyAt + 1_000) / periodMs) * periodMs;
  const to = from + windowMs;
  log(`window ${new Date(from).toISOString()} … ${new Date(to).toISOString()} (+${drainMs} ms)`);
  await sleep(Math.max(0, to + drainMs - Date.now()));
  const results = [];
  for (const s of systems) {
    const codes = await stopSystem(s);
    log(`${s.name}: stopped`);
    const runs = s.replicas.flatMap((r) => r.runs);
    results.push({
      system: s.name,
      mode,
      replicas: REPLICAS,
      jobs,
      windowS: windowMs / 1000,
      ...score(runs, { from, to, periodMs, jobs }),
      replicaExitCodes: codes,
    });
  }
  return results;
}

/**
 * Runs one mode. Each system is first booted with all replicas at once; if that fails, the
 * failure is recorded (`bootAtOnce`) and the system is booted staggered. A system that cannot
 * start either way is reported, not fatal.
 */
export async function run(mode, only) {
  const { systems: all, concurrent } = MODES[mode];
  const names = only && only.length > 0 ? only : all;
  const results = [];
  const started = [];
  const bootAtOnce = {};
  for (const name of names) {
    let system;
    try {
      system = await startSystem(name, mode);
      bootAtOnce[name] = "ok";
    } catch (error) {
      bootAtOnce[name] = `failed: ${firstLine(error)}`;
      log(`${name}: booting all replicas at once failed (${firstLine(error)}); retrying staggered`);
      try {
        system = await startSystem(name, mode, true);
      } catch (again) {
        results.push({ system: name, mode, error: firstLine(again) });
        continue;
      }
    }
    if (concurrent) started.push(system);
    else results.push(...(await measure([system], mode)));
  }
  if (started.length > 0) results.push(...(await measure(started, mode)));
  return results.map((r) => ({ ...r, bootAtOnce: bootAtOnce[r.system] }));
}

/** The first meaningful line of an error (a replica's stderr names the cause). */
function firstLine(error) {
  const text = String(error?.message ?? error);
  const cause = /^(?:error|Error|[A-Za-z]*Error): .*$/m.exec(text.split("\n").slice(1).join("\n"));
  return (cause?.[0] ?? text.split("\n")[0]).slice(0, 200);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode = "second", ...only] = process.argv.slice(2);
  if (!MODES[mode]) throw new Error(`mode must be one of ${Object.keys(MODES).join(", ")}`);
  const results = await run(mode, only);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}
