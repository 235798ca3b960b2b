// Idle: N jobs registered on a cron far in the future (`0 0 1 1 *`, New Year), 3 replica
// processes, `seconds` (default 60) from 10 s after every replica is ready → CPU seconds and RSS per
// replica, store calls and wire queries per second (all replicas).
//
// Run after `npm run build`:  node bench/run.mjs idle [--peers] [--jobs 10000] [--seconds 20]
import { setTimeout as sleep } from "node:timers/promises";
import { mark, readStats, startCluster, stopCluster, summarizeStats } from "./cluster.mjs";
import { fmt, log, markdownTable, ratio } from "./report.mjs";

/** Time between every replica being ready and the start of the measurement. */
const SETTLE_MS = 10_000;

/** One system holding `n` idle jobs for `seconds`. */
async function idleOnce(name, n, seconds) {
  const cluster = await startCluster(name, { jobs: n, pattern: "0 0 1 1 *" });
  // The first dispatch pass after start() computes every job's next instant (100,000 jobs: a
  // few seconds on a busy machine); idle is what follows it.
  await sleep(SETTLE_MS);
  mark(cluster);
  await sleep(seconds * 1_000);
  const stats = summarizeStats(await readStats(cluster));
  await stopCluster(cluster);
  return {
    bootMs: cluster.bootMs,
    cpuPct: stats.cpuS.map((s) => (100 * s) / seconds),
    callsPerS: stats.calls / seconds,
    queriesPerS: stats.queries / seconds,
    ...stats,
  };
}

/** Every system at every size, once per rep. */
export async function run({
  jobs = [10_000],
  seconds = 60,
  reps = 1,
  peers = false,
  systems,
} = {}) {
  const names = systems ?? [
    "belfry-postgres",
    "belfry-redis",
    ...(peers ? ["bullmq", "graphile-worker"] : []),
  ];
  const results = [];
  for (let rep = 1; rep <= reps; rep++) {
    for (const n of jobs) {
      for (const name of names) {
        log("idle", `${name} rep ${rep}: ${n} jobs idle for ${seconds} s`);
        try {
          results.push({ system: name, n, rep, seconds, ...(await idleOnce(name, n, seconds)) });
        } catch (error) {
          results.push({
            system: name,
            n,
            rep,
            seconds,
            error: String(error.message).split("\n")[0].slice(0, 200),
          });
        }
      }
    }
  }
  return results;
}

/** A belfry run's store calls per second by method, most frequent first ("–" for peers). */
function byMethod(r) {
  const entries = Object.entries(r.callsByMethod ?? {}).sort(([, a], [, b]) => b - a);
  if (entries.length === 0) return "–";
  return entries.map(([method, n]) => `${method} ${fmt(n / r.seconds, 2)}`).join(", ");
}

/** The Markdown table for the results of {@link run}. */
export function markdown(results) {
  const seconds = results[0]?.seconds;
  const lines = [
    `### Idle: jobs registered far in the future, 3 replica processes, ${seconds} s`,
    "",
  ];
  lines.push(
    ...markdownTable(
      [
        "system",
        "jobs",
        "boot ms (3 at once)",
        "CPU % of a core per replica",
        "RSS MiB per replica (end)",
        "peak RSS MiB",
        "store calls/s",
        "wire queries/s",
        "store calls/s by method",
      ],
      results.map((r) =>
        r.error
          ? [r.system, r.n, `error: ${r.error}`, "", "", "", "", "", ""]
          : [
              r.system,
              r.n,
              r.bootMs,
              r.cpuPct.map((x) => fmt(x, 2)).join(" · "),
              r.rssMiB.map((x) => fmt(x, 0)).join(" · "),
              r.peakRssMiB.map((x) => fmt(x, 0)).join(" · "),
              r.system.startsWith("belfry-") ? fmt(r.callsPerS, 1) : "–",
              fmt(r.queriesPerS, 1),
              byMethod(r),
            ],
      ),
    ),
  );
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const by = new Map(results.filter((r) => !r.error).map((r) => [`${r.system}@${r.n}`, r]));
  const rows = [];
  for (const p of by.values()) {
    if (p.system.startsWith("belfry-")) continue;
    for (const b of ["belfry-redis", "belfry-postgres"]
      .map((s) => by.get(`${s}@${p.n}`))
      .filter(Boolean)) {
      rows.push([
        `${p.system} ÷ ${b.system} (${p.n})`,
        ratio(sum(p.cpuS), sum(b.cpuS)),
        ratio(sum(p.rssMiB), sum(b.rssMiB)),
        ratio(p.queriesPerS, b.queriesPerS),
      ]);
    }
  }
  if (rows.length > 0)
    lines.push(...markdownTable(["peer ÷ belfry", "CPU", "RSS", "wire queries/s"], rows));
  return lines;
}
