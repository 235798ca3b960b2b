// Three replica processes of one system (bench/load-replica.mjs), for the burst, lag and idle
// benchmarks: start them at once on a fresh schema/prefix, collect their handler calls, read
// their counters, stop them and drop what they stored.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { URL, fileURLToPath } from "node:url";
import {
  cleanupOnSignal,
  deleteRedisKeys,
  dropMysqlTables,
  dropPgSchema,
  removeDir,
  runTag,
} from "./lib.mjs";

export const REPLICAS = 3;
const CHILD = fileURLToPath(new URL("./load-replica.mjs", import.meta.url));
const SKEW_CLOCK = fileURLToPath(new URL("./skew-clock.mjs", import.meta.url));

/**
 * Replica configuration and clean-up for a system name (`belfry-postgres`, `bullmq`, …) and a
 * run tag: `cfg` is what a replica (and bench/schedules-loader.mjs) is given, `drop` deletes
 * what the run stored.
 */
export function setup(name, tag) {
  if (name === "belfry-sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "belfry-bench-"));
    const cfg = { system: "belfry", store: "sqlite", sqlitePath: join(dir, "bench.db") };
    return { cfg, drop: async () => removeDir(dir) };
  }
  const drops = {
    "belfry-postgres": () => dropPgSchema(`belfry_${tag}`),
    "belfry-mysql": () => dropMysqlTables(`belfry_${tag}_`),
    "belfry-redis": () => deleteRedisKeys(`belfry-${tag}:`),
    bullmq: () => deleteRedisKeys(`bull-${tag}:`),
    "graphile-worker": () => dropPgSchema(`gw_${tag}`),
  };
  if (!drops[name]) throw new Error(`unknown system ${name}`);
  const cfg = name.startsWith("belfry-")
    ? { system: "belfry", store: name.slice("belfry-".length) }
    : { system: name === "bullmq" ? "bullmq" : "graphile" };
  return { cfg, drop: drops[name] };
}

/**
 * Node flags for a replica process: a peer whose clock the skew bench moves (`cfg.skewMs`) gets
 * the Date preload (belfry is given a skewed Clock instead, in load-replica.mjs), and with
 * `BENCH_CPU_PROF=<dir>` every replica writes a CPU profile there when it exits.
 */
function nodeFlags(cfg) {
  const dir = process.env.BENCH_CPU_PROF;
  const skewed = cfg.skewMs && cfg.system !== "belfry";
  return [
    ...(skewed ? ["--import", SKEW_CLOCK] : []),
    ...(dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : []),
  ];
}

function spawnReplica(cfg) {
  const child = spawn(process.execPath, [...nodeFlags(cfg), CHILD, JSON.stringify(cfg)], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, BENCH_SKEW_MS: String(cfg.skewMs ?? 0) },
  });
  const replica = { child, runs: [], stats: [], stderr: "" };
  let onReady;
  let onStats;
  replica.ready = new Promise((resolve, reject) => {
    onReady = resolve;
    child.once("exit", (code) =>
      reject(new Error(`${cfg.replica} exited ${code}: ${replica.stderr.slice(-400)}`)),
    );
  });
  replica.ready.catch(() => {});
  replica.exited = new Promise((resolve) => child.once("exit", resolve));
  replica.nextStats = () => new Promise((resolve) => (onStats = resolve));
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (!line.startsWith("{")) return;
    const msg = JSON.parse(line);
    if (msg.t === "run") replica.runs.push({ ...msg, r: cfg.replica });
    else if (msg.t === "ready") {
      replica.readyAt = Date.now();
      onReady();
    } else if (msg.t === "stats") onStats?.(msg);
  });
  child.stderr.on("data", (chunk) => (replica.stderr += chunk.toString()));
  return replica;
}

/**
 * Starts REPLICAS processes of `name` at once, each registering `options.jobs` jobs with
 * `options.pattern` or `options.every`; resolves once all are ready (or rejects after
 * `bootTimeoutMs`, having stopped them and dropped their data). `perReplica(i)` adds to replica
 * `i`'s configuration (the skew bench gives each replica its clock offset, `skewMs`).
 */
export async function startCluster(
  name,
  options,
  bootTimeoutMs = 600_000,
  perReplica = () => ({}),
) {
  // `options.data`: the `{ tag, cfg }` of data the caller set up and drops itself (the runtime
  // schedules bench restarts replicas on the same schedules); else a fresh tag, dropped on stop.
  const given = options.data;
  const tag = given?.tag ?? runTag();
  const { cfg, drop } = given ? { cfg: given.cfg, drop: async () => {} } : setup(name, tag);
  const replicas = [];
  const cleanup = cleanupOnSignal(async () => {
    for (const r of replicas) r.child.kill("SIGTERM");
    await Promise.all(replicas.map((r) => r.exited));
    await drop().catch(() => {});
  });
  const spawnedAt = Date.now();
  for (let i = 0; i < REPLICAS; i++) {
    replicas.push(
      spawnReplica({
        ...cfg,
        ...options,
        data: undefined,
        ...perReplica(i),
        tag,
        replica: `replica-${i + 1}`,
      }),
    );
  }
  const timeout = sleep(bootTimeoutMs, null, { ref: false }).then(() => {
    throw new Error(`${name}: replicas not ready after ${bootTimeoutMs / 1000} s`);
  });
  try {
    await Promise.race([Promise.all(replicas.map((r) => r.ready)), timeout]);
  } catch (error) {
    await cleanup();
    throw error;
  }
  const readyAt = Math.max(...replicas.map((r) => r.readyAt));
  return { name, replicas, cleanup, spawnedAt, readyAt, bootMs: readyAt - spawnedAt };
}

/** Sends a line ("mark", "stats") to every replica. */
function tell(cluster, line) {
  for (const r of cluster.replicas) r.child.stdin.write(`${line}\n`);
}

/** Starts every replica's counters (CPU, peak RSS, store calls, wire queries). */
export function mark(cluster) {
  tell(cluster, "mark");
}

/** Every replica's counters since {@link mark}, in replica order. */
export async function readStats(cluster) {
  const answers = cluster.replicas.map((r) => r.nextStats());
  tell(cluster, "stats");
  return Promise.race([
    Promise.all(answers),
    sleep(10_000).then(() => cluster.replicas.map(() => null)),
  ]);
}

/** Stops every replica and drops the run's schema/prefix; resolves to their runs. */
export async function stopCluster(cluster) {
  await cluster.cleanup();
  return cluster.replicas.flatMap((r) => r.runs);
}

/** All runs seen so far. */
export function runsOf(cluster) {
  return cluster.replicas.flatMap((r) => r.runs);
}

/** Sums and ranges of the replicas' counters, for the tables. */
export function summarizeStats(stats) {
  const ok = stats.filter(Boolean);
  const sum = (key) => ok.reduce((n, s) => n + s[key], 0);
  const range = (key) => ok.map((s) => s[key]);
  const byMethod = {};
  const byCommand = {};
  const claims = {};
  for (const s of ok) {
    for (const [status, n] of Object.entries(s.claims ?? {})) {
      claims[status] = (claims[status] ?? 0) + n;
    }
    for (const [method, n] of Object.entries(s.callsByMethod ?? {})) {
      byMethod[method] = (byMethod[method] ?? 0) + n;
    }
    for (const [command, n] of Object.entries(s.queriesByCommand ?? {})) {
      byCommand[command] = (byCommand[command] ?? 0) + n;
    }
  }
  return {
    callsByMethod: byMethod,
    queriesByCommand: byCommand,
    claims,
    lifetimePeakRssMiB: range("lifetimePeakRssMiB"),
    cpuS: range("cpuS"),
    rssMiB: range("rssMiB"),
    peakRssMiB: range("peakRssMiB"),
    calls: sum("calls"),
    queries: sum("queries"),
  };
}
