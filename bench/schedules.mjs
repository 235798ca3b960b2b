// Runtime schedules (issue 10): schedules written as data by another process
// (bench/schedules-loader.mjs, `scheduler.schedules.createMany`; BullMQ `upsertJobScheduler`),
// run by 3 replica processes that define the task (bench/load-replica.mjs with `tasks`).
//
// Phases (`--phases create,idle,lag,burst`, all by default; idle, lag and burst are the scale
// run's measurements):
// - create: `createMany` of 100,000 schedules on a fresh store, `reps` times interleaved → time,
//   round trips and statements (Redis: commands) counted in the writing process's drivers, its
//   CPU, and the store's size per schedule.
// - scale: per system, the store grows to each size of `sizes` (default 10,000, 100,000,
//   1,000,000; the loads are `createMany` calls of 100,000, each measured); at each size 3
//   replicas start on it and
//     idle: `seconds` (default 60) from 10 s after every replica is ready, none due → CPU % of a
//       core and RSS per replica, store calls and wire queries per second;
//     lag: 300 schedules due in the next quiet minute (5 a second, cron `S M H * * *`) → start
//       lag (handler start − scheduledAt) p50/p99/max, duplicates, misses;
//     burst: 10,000 schedules due at one instant → first/p50/last start, occ/s, share per
//       replica, duplicates, misses (as bench/burst.mjs for code-defined jobs);
//     (belfry, lag and burst: claims lost to another replica per occurrence run);
//   then the replicas stop and the lag and burst schedules are removed. Sizes above 100,000 run
//   in the first rep only (`reps` applies to the others).
// The background schedules are yearly crons none of which is due while the bench runs; all
// schedules, background, lag and burst, belong to one task (`digest`), so the due query reads the
// task's whole index. Every run uses its own schema/prefix and drops it at the end.
//
// Run after `npm run build`:
//   node bench/run.mjs schedules --peers                       # everything (about 1.5 h)
//   node bench/run.mjs schedules --peers --phases create       # createMany, 3 reps
//   node bench/run.mjs schedules --sizes 10000,100000 --reps 3 --phases idle,lag,burst
//   node bench/run.mjs schedules --quick                       # a short smoke run (CI never)
// BENCH_BELFRY_DIST=<dir>: replicas and writer import that build of belfry instead of dist/
// (an A/B of two builds); BENCH_CPU_PROF=<dir>: replicas write CPU profiles (idle CPU is then
// not meaningful: the profiler's sampling costs several % of a core).
import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { clearTimeout, setTimeout } from "node:timers";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { URL, fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { score, settledStats } from "./burst.mjs";
import { belfryDist, openBelfryStore } from "./drivers.mjs";
import {
  REPLICAS,
  mark,
  readStats,
  runsOf,
  setup,
  startCluster,
  stopCluster,
  summarizeStats,
} from "./cluster.mjs";
import { URLS, cleanupOnSignal, percentile, runTag } from "./lib.mjs";
import { cell, fmt, log, markdownTable, median } from "./report.mjs";

const LOADER = fileURLToPath(new URL("./schedules-loader.mjs", import.meta.url));
const TASK = "digest";
/** Time between every replica being ready and the idle measurement. */
const SETTLE_MS = 10_000;

/** The workload, full and `--quick` (a smoke run of a few minutes; its numbers mean little). */
const SETTINGS = {
  full: {
    createCount: 100_000,
    sizes: [10_000, 100_000, 1_000_000],
    loadChunk: 100_000,
    seconds: 60,
    lagCount: 300,
    lagSpreadMs: 60_000,
    burstCount: 10_000,
    burstLeadMs: 20_000,
    oneRepAbove: 100_000,
  },
  quick: {
    createCount: 2_000,
    sizes: [1_000, 5_000],
    loadChunk: 2_000,
    seconds: 5,
    lagCount: 30,
    lagSpreadMs: 10_000,
    burstCount: 500,
    burstLeadMs: 8_000,
    oneRepAbove: 1_000,
  },
};

export const SYSTEMS = ["belfry-postgres", "belfry-redis"];
export const PEERS = ["bullmq"];

/** A fresh tag and configuration for `name`, dropped by the returned `drop` (also on SIGINT). */
function freshData(name) {
  const tag = runTag();
  const { cfg, drop } = setup(name, tag);
  const dropOnce = cleanupOnSignal(() => drop().catch(() => {}));
  return { tag, cfg, drop: dropOnce };
}

/** Runs the loader for `op` on `data`; resolves to its answer (rejects on its error). */
function load(data, op, timeoutMs = 3_600_000) {
  const arg = JSON.stringify({ ...data.cfg, tag: data.tag, task: TASK, ...op });
  const child = spawn(process.execPath, [LOADER, arg], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    let answer = null;
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line.startsWith('{"t":"done"')) answer = JSON.parse(line);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (!answer) reject(new Error(`loader exited ${code}: ${stderr.slice(-400)}`));
      else if (answer.error) reject(new Error(`loader: ${answer.error.split("\n")[0]}`));
      else resolve(answer);
    });
  });
}

/** Sums of a loader's calls. */
function totals(calls) {
  const sum = (key) => calls.reduce((n, c) => n + c[key], 0);
  return {
    n: sum("n"),
    ms: sum("ms"),
    cpuS: sum("cpuS"),
    roundTrips: sum("roundTrips"),
    statements: sum("statements"),
  };
}

/** Bytes the store holds: the schema's tables and indexes (PostgreSQL), or Redis `used_memory`. */
async function storeBytes(name, data) {
  if (name === "belfry-postgres") {
    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: URLS.postgres });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind = 'r'`,
        [`belfry_${data.tag}`],
      );
      return Number(rows[0].bytes);
    } finally {
      await client.end();
    }
  }
  if (name === "belfry-redis" || name === "bullmq") {
    return await withRedis(async (redis) => {
      const info = await redis.info("memory");
      return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
    });
  }
  return NaN;
}

async function withRedis(fn) {
  const { Redis } = await import("ioredis");
  const redis = new Redis(URLS.redis, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

/** CPU seconds the Redis server has used (all clients: the server is shared). */
function redisCpuS() {
  return withRedis(async (redis) => {
    const info = await redis.info("cpu");
    const get = (k) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
    return get("used_cpu_sys") + get("used_cpu_user");
  });
}

/**
 * One reconcile pass's key-space SCAN of belfry's Redis store (`live-jobs.ts`, once per
 * `reconcileIntervalMs`, 5 minutes by default, by one replica), run here on the store's keys:
 * SCAN calls, wall time, and the Redis server's CPU meanwhile.
 */
async function reconcileScan(data) {
  const dist = belfryDist();
  const { jobsWithLiveRuns } = await import(dist("stores/redis/live-jobs.js"));
  const { RedisKeys } = await import(dist("stores/redis/keys.js"));
  return withRedis(async (redis) => {
    let scans = 0;
    const client = {
      call: (...args) => {
        if (String(args[0]).toLowerCase() === "scan") scans += 1;
        return redis.call(...args);
      },
      pipeline: () => redis.pipeline(),
    };
    const cpu = await redisCpuS();
    const started = Date.now();
    const live = await jobsWithLiveRuns({ client, keys: new RedisKeys(`belfry-${data.tag}`) });
    const ms = Date.now() - started;
    const keys = await redis.dbsize();
    return { scans, ms, redisCpuS: (await redisCpuS()) - cpu, live: live.length, dbKeys: keys };
  });
}

/**
 * The due query of an idle replica, asked from this process on belfry's store `rounds` times
 * (nothing due: what every replica sends every 30 s, and at each instant) → ms p50 / max.
 */
async function dueProbe(data, rounds = 20) {
  const store = await openBelfryStore(belfryDist(), data.cfg);
  try {
    await store.init();
    const ms = [];
    let rows = 0;
    for (let i = 0; i < rounds; i++) {
      const until = await store.now();
      const started = performance.now();
      const due = await store.dueSchedules({
        tasks: [TASK],
        until,
        limit: 100,
        replicaId: `probe#${i}`,
      });
      ms.push(performance.now() - started);
      rows += due.schedules.length;
    }
    return { p50Ms: percentile(ms, 0.5), maxMs: Math.max(...ms), rows };
  } finally {
    await store.close();
  }
}

/** Sequential and index scans of belfry's PostgreSQL tables so far (`pg_stat_user_tables`). */
async function pgScans(data) {
  const pg = (await import("pg")).default;
  const client = new pg.Client({ connectionString: URLS.postgres });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT relname, seq_scan, coalesce(idx_scan, 0) AS idx_scan FROM pg_stat_user_tables
       WHERE schemaname = $1`,
      [`belfry_${data.tag}`],
    );
    return Object.fromEntries(
      rows.map((r) => [r.relname, { seq: Number(r.seq_scan), idx: Number(r.idx_scan) }]),
    );
  } finally {
    await client.end();
  }
}

/** `after − before` of {@link pgScans}, summed over the tables. */
function scansBetween(before, after) {
  let seq = 0;
  let idx = 0;
  for (const [table, a] of Object.entries(after)) {
    seq += a.seq - (before[table]?.seq ?? 0);
    idx += a.idx - (before[table]?.idx ?? 0);
  }
  return { seq, idx };
}

// ---------------------------------------------------------------- create

/** `createMany` of `count` schedules on a fresh store, per system, `reps` times interleaved. */
async function createPhase(names, s, reps) {
  const results = [];
  for (let rep = 1; rep <= reps; rep++) {
    for (const name of names) {
      log("schedules", `create ${name} rep ${rep}: ${s.createCount} schedules`);
      const data = freshData(name);
      const loadAvg = loadavg()[0];
      try {
        const before = await storeBytes(name, data);
        const answer = await load(data, {
          op: "background",
          from: 0,
          count: s.createCount,
          chunk: s.createCount,
        });
        const bytes = (await storeBytes(name, data)) - before;
        const perSchedule = bytes / s.createCount;
        results.push({
          system: name,
          rep,
          loadAvg,
          ...totals(answer.calls),
          bytesPerSchedule: perSchedule,
        });
      } catch (error) {
        results.push({ system: name, rep, error: shortError(error) });
      } finally {
        await data.drop();
      }
    }
  }
  return results;
}

// ---------------------------------------------------------------- scale

/**
 * The idle measurement of a cluster: `seconds` after the settle time; on PostgreSQL also the
 * table scans the store server made meanwhile (statistics are flushed about once a second).
 */
async function idlePhase(cluster, name, data, seconds) {
  await sleep(SETTLE_MS);
  const pgBefore = name === "belfry-postgres" ? await pgScans(data) : null;
  const redisBefore = name === "belfry-postgres" ? NaN : await redisCpuS();
  mark(cluster);
  await sleep(seconds * 1_000);
  const stats = summarizeStats(await readStats(cluster));
  const redisAfter = name === "belfry-postgres" ? NaN : await redisCpuS();
  await sleep(pgBefore ? 1_500 : 0);
  const pgScanCounts = pgBefore ? scansBetween(pgBefore, await pgScans(data)) : null;
  return {
    pgScans: pgScanCounts,
    seconds,
    cpuPct: stats.cpuS.map((x) => (100 * x) / seconds),
    callsPerS: stats.calls / seconds,
    queriesPerS: stats.queries / seconds,
    redisServerCpuPct: (100 * (redisAfter - redisBefore)) / seconds,
    ...stats,
  };
}

/**
 * Writes `count` schedules due from `lead` ms on (spread over `spreadMs`) through the loader;
 * retries once with more lead (under a new prefix) when the writes end less than 300 ms before
 * the first instant. Resolves to `{ at, prefix, createMs }` or `{ late }`.
 */
async function createDue(data, prefixBase, count, spreadMs, leadMs) {
  let lead = leadMs;
  let createMs = 0;
  for (let attempt = 0; attempt < 2; attempt++) {
    const at = Math.ceil((Date.now() + lead) / 1_000) * 1_000;
    const prefix = `${prefixBase}${attempt > 0 ? `r${attempt}` : ""}`;
    const started = Date.now();
    await load(data, { op: "at", prefix, count, at, spreadMs });
    createMs = Date.now() - started;
    if (Date.now() < at - 300) return { at, prefix, createMs, created: [prefix] };
    await load(data, { op: "remove", prefix, count, at, spreadMs });
    lead = createMs * 1.5 + 5_000;
  }
  return { late: true, createMs };
}

/** First run of each (schedule, instant) among `runs`; lags, duplicates and misses. */
function lagScore(runs, expected) {
  const first = new Map();
  let extra = 0;
  for (const run of runs) {
    const key = `${run.job}@${run.at}`;
    if (!expected.has(key)) continue;
    if (!first.has(key)) first.set(key, run);
    else {
      extra += 1;
      if (run.start < first.get(key).start) first.set(key, run);
    }
  }
  const lags = [...first.values()].map((r) => r.start - r.at);
  return {
    due: expected.size,
    runs: first.size + extra,
    duplicates: extra,
    misses: expected.size - first.size,
    p50Ms: percentile(lags, 0.5),
    p99Ms: percentile(lags, 0.99),
    maxMs: lags.length > 0 ? Math.max(...lags) : NaN,
  };
}

/** `count` schedules due over a quiet minute: start lag. */
async function lagPhase(cluster, data, tag, s) {
  const made = await createDue(data, `lag-${tag}`, s.lagCount, s.lagSpreadMs, 10_000);
  if (made.late) return { error: `writing took ${made.createMs} ms`, created: [] };
  await sleep(made.at - 300 - Date.now());
  mark(cluster);
  await sleep(made.at + s.lagSpreadMs + 3_000 - Date.now());
  const stats = summarizeStats(await readStats(cluster));
  const expected = new Set();
  for (let j = 0; j < s.lagCount; j++) {
    const at = made.at + Math.floor((j * s.lagSpreadMs) / s.lagCount / 1000) * 1000;
    expected.add(`${TASK}:${made.prefix}-${j}@${at}`);
  }
  const runs = runsOf(cluster).filter((r) => r.job.startsWith(`${TASK}:${made.prefix}-`));
  const scored = lagScore(runs, expected);
  return {
    ...scored,
    createMs: made.createMs,
    created: made.created,
    queriesPerOcc: stats.queries / Math.max(1, scored.due - scored.misses),
    claims: stats.claims,
    cpuS: stats.cpuS,
  };
}

/** `count` schedules due at one instant. */
async function burstPhase(cluster, data, tag, s) {
  const made = await createDue(data, `burst-${tag}`, s.burstCount, 0, s.burstLeadMs);
  if (made.late) return { error: `writing took ${made.createMs} ms`, created: [] };
  await sleep(made.at - 300 - Date.now());
  mark(cluster);
  const n = s.burstCount;
  const mine = (r) => r.at === made.at && r.job.startsWith(`${TASK}:${made.prefix}-`);
  const deadline = made.at + Math.max(60_000, n * 10);
  const started = () =>
    new Set(
      runsOf(cluster)
        .filter(mine)
        .map((r) => r.job),
    ).size;
  while (started() < n && Date.now() < deadline) await sleep(200);
  await sleep(1_000); // late duplicates
  const stats = await settledStats(cluster);
  const runs = runsOf(cluster).filter(mine);
  const { curve, ...scored } = score(runs, n, made.at, cluster.replicas.length);
  void curve;
  return { n, createMs: made.createMs, created: made.created, ...scored, ...stats };
}

/** One size of one system: start the replicas, idle, lag, burst, stop, remove the extras. */
async function cycle(name, data, size, rep, s, phases) {
  const cluster = await startCluster(name, { jobs: 0, tasks: [TASK], data }, 600_000);
  const result = { bootMs: cluster.bootMs, loadAvg: loadavg()[0] };
  const tag = `${size}-${rep}`;
  const extras = [];
  try {
    if (phases.includes("idle")) {
      log("schedules", `${name} ${size} rep ${rep}: idle ${s.seconds} s`);
      result.idle = await idlePhase(cluster, name, data, s.seconds);
      if (name === "belfry-redis") result.reconcile = await reconcileScan(data);
      if (name.startsWith("belfry-")) result.dueProbe = await dueProbe(data);
    } else await sleep(SETTLE_MS);
    if (phases.includes("lag")) {
      log("schedules", `${name} ${size} rep ${rep}: lag, ${s.lagCount} schedules`);
      result.lag = await lagPhase(cluster, data, tag, s);
      extras.push(...result.lag.created.map((prefix) => [prefix, s.lagCount, s.lagSpreadMs]));
    }
    if (phases.includes("burst")) {
      log("schedules", `${name} ${size} rep ${rep}: burst, ${s.burstCount} schedules`);
      result.burst = await burstPhase(cluster, data, tag, s);
      extras.push(...result.burst.created.map((prefix) => [prefix, s.burstCount, 0]));
    }
  } finally {
    await stopCluster(cluster);
    for (const [prefix, count, spreadMs] of extras) {
      await load(data, { op: "remove", prefix, count, at: 0, spreadMs });
    }
  }
  return result;
}

/** Per rep, per system: grow the store through the sizes and run a cycle at each. */
async function scalePhase(names, s, sizes, reps, phases) {
  const results = [];
  for (let rep = 1; rep <= reps; rep++) {
    for (const name of names) {
      const data = freshData(name);
      let loaded = 0;
      try {
        for (const size of sizes) {
          if (rep > 1 && size > s.oneRepAbove) continue;
          const row = { system: name, size, rep };
          try {
            log("schedules", `${name} rep ${rep}: load ${loaded} → ${size}`);
            const before = await storeBytes(name, data);
            const answer = await load(data, {
              op: "background",
              from: loaded,
              count: size - loaded,
              chunk: s.loadChunk,
            });
            row.load = { from: loaded, calls: answer.calls, ...totals(answer.calls) };
            row.load.bytesPerSchedule = ((await storeBytes(name, data)) - before) / (size - loaded);
            loaded = size;
            Object.assign(row, await cycle(name, data, size, rep, s, phases));
          } catch (error) {
            row.error = shortError(error);
            log("schedules", `${name} ${size} rep ${rep}: ${row.error}`);
          }
          results.push(row);
          if (row.error) break;
        }
      } finally {
        await data.drop();
      }
    }
  }
  return results;
}

function shortError(error) {
  return String(error?.message ?? error)
    .split("\n")[0]
    .slice(0, 200);
}

/** Both phases (or those of `phases`), every system. */
export async function run({
  sizes,
  reps: givenReps,
  seconds,
  peers = false,
  systems,
  quick = false,
  phases = ["create", "idle", "lag", "burst"],
} = {}) {
  const s = { ...SETTINGS[quick ? "quick" : "full"] };
  const reps = givenReps ?? (quick ? 1 : 3);
  if (seconds) s.seconds = seconds;
  const names = systems ?? [...SYSTEMS, ...(peers ? PEERS : [])];
  const results = { settings: s, replicas: REPLICAS };
  if (phases.includes("create")) results.create = await createPhase(names, s, reps);
  if (["idle", "lag", "burst"].some((p) => phases.includes(p))) {
    results.scale = await scalePhase(names, s, sizes ?? s.sizes, reps, phases);
  }
  return results;
}

// ---------------------------------------------------------------- tables

const list = (xs, digits) => xs.map((x) => fmt(x, digits)).join(" · ");
const byCount = (entries, per) =>
  Object.entries(entries ?? {})
    .sort(([, a], [, b]) => b - a)
    .map(([k, n]) => `${k} ${fmt(n / per, 2)}`)
    .join(", ") || "–";

/** belfry's lost claims (another replica had the occurrence) per occurrence run; "–" for peers. */
function lostPerOcc(system, claims, runs) {
  if (!system.startsWith("belfry-") || !claims) return "–";
  return fmt((claims.lost ?? 0) / Math.max(1, runs), 2);
}

/** The Markdown tables for the results of {@link run}. */
export function markdown(results) {
  const s = results.settings;
  const lines = [];
  if (results.create) lines.push(...createTable(results.create, s));
  if (results.scale) lines.push(...scaleTables(results.scale, s));
  return lines;
}

function createTable(rows, s) {
  const groups = groupBy(rows, (r) => r.system);
  const lines = [
    `### Runtime schedules: createMany of ${s.createCount.toLocaleString("en")} on a fresh store (min / median of ${Math.max(...rows.map((r) => r.rep))} reps)`,
    "",
  ];
  lines.push(
    ...markdownTable(
      [
        "system",
        "time s",
        "schedules/s (median)",
        "round trips",
        "statements / commands",
        "writer CPU s",
        "store bytes / schedule",
        "errors",
      ],
      [...groups].map(([system, group]) => {
        const ok = group.filter((r) => !r.error);
        const stat = (k) => ({
          min: Math.min(...ok.map((r) => r[k])),
          med: median(ok.map((r) => r[k])),
        });
        const ms = stat("ms");
        return [
          system,
          `${fmt(ms.min / 1000, 1)} / ${fmt(ms.med / 1000, 1)}`,
          fmt(s.createCount / (ms.med / 1000), 0),
          fmt(median(ok.map((r) => r.roundTrips)), 0),
          fmt(median(ok.map((r) => r.statements)), 0),
          cell(stat("cpuS"), 1),
          fmt(median(ok.map((r) => r.bytesPerSchedule)), 0),
          group
            .filter((r) => r.error)
            .map((r) => r.error)
            .join("; ") || "–",
        ];
      }),
    ),
  );
  return lines;
}

function scaleTables(rows, s) {
  const lines = [];
  lines.push(
    `### Runtime schedules: loading in createMany calls of ${s.loadChunk.toLocaleString("en")}`,
    "",
  );
  lines.push(
    ...markdownTable(
      [
        "system",
        "rep",
        "rows before → after",
        "seconds per call",
        "round trips per call",
        "writer CPU s per call",
        "store bytes / schedule",
      ],
      rows
        .filter((r) => r.load)
        .map((r) => [
          r.system,
          r.rep,
          `${r.load.from.toLocaleString("en")} → ${r.size.toLocaleString("en")}`,
          r.load.calls.map((c) => fmt(c.ms / 1000, 1)).join(" · "),
          r.load.calls.map((c) => c.roundTrips).join(" · "),
          r.load.calls.map((c) => fmt(c.cpuS, 1)).join(" · "),
          fmt(r.load.bytesPerSchedule, 0),
        ]),
    ),
  );
  lines.push(
    `### Runtime schedules: idle, ${REPLICAS} replica processes, none due, ${s.seconds} s`,
    "",
  );
  lines.push(
    ...markdownTable(
      [
        "system",
        "schedules",
        "rep",
        "boot ms",
        "CPU % of a core per replica",
        "RSS MiB per replica (end)",
        "peak RSS MiB per replica (since start)",
        "store calls/s",
        "wire queries/s",
        "by method / command per s",
        "Redis server CPU % (shared)",
        "PostgreSQL seq / index scans",
        "due query p50 / max ms",
        "load avg",
      ],
      rows
        .filter((r) => r.idle || r.error)
        .map((r) => {
          if (!r.idle) return [r.system, r.size, r.rep, `error: ${r.error}`, ...Array(10).fill("")];
          const i = r.idle;
          const belfry = r.system.startsWith("belfry-");
          return [
            r.system,
            r.size.toLocaleString("en"),
            r.rep,
            r.bootMs,
            list(i.cpuPct, 2),
            list(i.rssMiB, 0),
            list(i.lifetimePeakRssMiB, 0),
            belfry ? fmt(i.callsPerS, 2) : "–",
            fmt(i.queriesPerS, 2),
            `${belfry ? byCount(i.callsByMethod, i.seconds) : ""}${i.queriesByCommand && Object.keys(i.queriesByCommand).length ? `${belfry ? "; " : ""}${byCount(i.queriesByCommand, i.seconds)}` : ""}` ||
              "–",
            fmt(i.redisServerCpuPct, 1),
            i.pgScans ? `${i.pgScans.seq} / ${i.pgScans.idx}` : "–",
            r.dueProbe ? `${fmt(r.dueProbe.p50Ms, 1)} / ${fmt(r.dueProbe.maxMs, 1)}` : "–",
            fmt(r.loadAvg, 1),
          ];
        }),
    ),
  );
  const recon = rows.filter((r) => r.reconcile);
  if (recon.length > 0) {
    lines.push(
      "### belfry-redis: one reconcile pass's key-space SCAN (every 5 min, one replica)",
      "",
    );
    lines.push(
      ...markdownTable(
        ["schedules", "rep", "keys in the Redis db", "SCAN calls", "ms", "Redis server CPU s"],
        recon.map((r) => [
          r.size.toLocaleString("en"),
          r.rep,
          r.reconcile.dbKeys,
          r.reconcile.scans,
          r.reconcile.ms,
          fmt(r.reconcile.redisCpuS, 2),
        ]),
      ),
    );
  }
  lines.push(
    `### Runtime schedules: start lag, ${s.lagCount} schedules due over a quiet ${s.lagSpreadMs / 1000} s`,
    "",
  );
  lines.push(
    ...markdownTable(
      [
        "system",
        "schedules",
        "rep",
        "due",
        "runs",
        "duplicates",
        "misses",
        "lag p50 ms",
        "p99",
        "max",
        "wire queries / occ",
        "claims lost / occ",
        "CPU s per replica",
      ],
      rows
        .filter((r) => r.lag)
        .map((r) =>
          r.lag.error
            ? [
                r.system,
                r.size.toLocaleString("en"),
                r.rep,
                `error: ${r.lag.error}`,
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
              ]
            : [
                r.system,
                r.size.toLocaleString("en"),
                r.rep,
                r.lag.due,
                r.lag.runs,
                r.lag.duplicates,
                r.lag.misses,
                r.lag.p50Ms,
                r.lag.p99Ms,
                r.lag.maxMs,
                fmt(r.lag.queriesPerOcc, 2),
                lostPerOcc(r.system, r.lag.claims, r.lag.due - r.lag.misses),
                list(r.lag.cpuS, 1),
              ],
        ),
    ),
  );
  lines.push(
    `### Runtime schedules: burst, ${s.burstCount.toLocaleString("en")} schedules due at one instant, ${REPLICAS} replica processes`,
    "",
  );
  lines.push(
    ...markdownTable(
      [
        "system",
        "schedules",
        "rep",
        "first start ms",
        "p50 start ms",
        "last start ms",
        "occ/s",
        "share per replica",
        "store calls / occ",
        "wire queries / occ",
        "claims lost / occ",
        "duplicates",
        "misses",
        "CPU s per replica",
        "peak RSS MiB per replica",
      ],
      rows
        .filter((r) => r.burst)
        .map((r) => {
          const b = r.burst;
          if (b.error)
            return [
              r.system,
              r.size.toLocaleString("en"),
              r.rep,
              `error: ${b.error}`,
              "",
              "",
              "",
              "",
              "",
              "",
              "",
              "",
              "",
              "",
              "",
            ];
          return [
            r.system,
            r.size.toLocaleString("en"),
            r.rep,
            fmt(b.firstMs, 0),
            fmt(b.p50Ms, 0),
            fmt(b.lastMs, 0),
            fmt(b.occPerS, 0),
            b.share.map((x) => `${Math.round(x * 100)} %`).join(" · "),
            r.system.startsWith("belfry-") ? fmt(b.calls / b.n, 2) : "–",
            fmt(b.queries / b.n, 2),
            lostPerOcc(r.system, b.claims, b.started),
            b.duplicates,
            b.misses,
            list(b.cpuS, 1),
            list(b.peakRssMiB, 0),
          ];
        }),
    ),
  );
  lines.push(...summaryTable(rows));
  return lines;
}

/** Min / median over the reps of each system and size: lag and burst. */
function summaryTable(rows) {
  const groups = groupBy(
    rows.filter((r) => r.lag || r.burst),
    (r) => `${r.system}@${r.size}`,
  );
  const stat = (xs) => {
    const ok = xs.filter(Number.isFinite);
    return ok.length === 0 ? "–" : `${fmt(Math.min(...ok), 0)} / ${fmt(median(ok), 0)}`;
  };
  const lines = ["### Runtime schedules: min / median over the reps", ""];
  lines.push(
    ...markdownTable(
      [
        "system",
        "schedules",
        "reps",
        "lag p50 ms",
        "lag p99 ms",
        "burst first start ms",
        "burst last start ms",
        "burst occ/s",
        "duplicates",
        "misses",
        "idle CPU % per replica (max)",
        "RSS MiB per replica (max)",
      ],
      [...groups].map(([, group]) => {
        const r0 = group[0];
        const lag = group.map((r) => r.lag).filter((l) => l && !l.error);
        const burst = group.map((r) => r.burst).filter((b) => b && !b.error);
        const idle = group.map((r) => r.idle).filter(Boolean);
        return [
          r0.system,
          r0.size.toLocaleString("en"),
          group.length,
          stat(lag.map((l) => l.p50Ms)),
          stat(lag.map((l) => l.p99Ms)),
          stat(burst.map((b) => b.firstMs)),
          stat(burst.map((b) => b.lastMs)),
          stat(burst.map((b) => b.occPerS)),
          [...lag, ...burst].reduce((n, x) => n + x.duplicates, 0),
          [...lag, ...burst].reduce((n, x) => n + x.misses, 0),
          fmt(Math.max(...idle.flatMap((i) => i.cpuPct)), 2),
          fmt(Math.max(...idle.flatMap((i) => i.rssMiB)), 0),
        ];
      }),
    ),
  );
  return lines;
}

function groupBy(rows, key) {
  const groups = new Map();
  for (const r of rows) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  return groups;
}
