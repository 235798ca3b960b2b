// Lag: 100 jobs every second (belfry `every("1s")`, BullMQ pattern `* * * * * *`), 3 replica
// processes, for `seconds` (default 60) → start lag p50/p95/p99/max over the occurrences whose
// instant lies in the window, duplicates, misses, wire queries per occurrence.
//
// Run after `npm run build`:  node bench/run.mjs lag [--peers] [--seconds 20] [--reps 1]
import { setTimeout as sleep } from "node:timers/promises";
import { mark, readStats, startCluster, stopCluster, summarizeStats } from "./cluster.mjs";
import { percentile } from "./lib.mjs";
import { fmt, log, markdownTable, ratio } from "./report.mjs";

/** Jobs in the lag workload, each due every second. */
export const JOBS = 100;

/**
 * One system for one window: lag of the first start of each occurrence (start − nominal instant,
 * both on this process's clock), early starts (a run that started before its nominal instant),
 * duplicates and misses. `perReplica(i)` adds to replica `i`'s configuration (the skew bench
 * moves replicas' clocks), and `early` counts early starts per replica.
 */
export async function lagOnce(name, seconds, perReplica) {
  const cluster = await startCluster(name, { jobs: JOBS, every: "1s" }, undefined, perReplica);
  const from = Math.ceil((cluster.readyAt + 2_000) / 1_000) * 1_000;
  const to = from + seconds * 1_000;
  await sleep(from - 300 - Date.now());
  mark(cluster);
  await sleep(to + 2_000 - Date.now());
  const stats = summarizeStats(await readStats(cluster));
  const runs = (await stopCluster(cluster)).filter((r) => r.at >= from && r.at < to);
  const first = new Map();
  for (const run of runs) {
    const key = `${run.job}@${run.at}`;
    if (!first.has(key) || run.start < first.get(key)) first.set(key, run.start);
  }
  const lags = [...first].map(([key, start]) => start - Number(key.split("@")[1]));
  const due = JOBS * seconds;
  const early = cluster.replicas.map(
    (_, i) => runs.filter((r) => r.r === `replica-${i + 1}` && r.start < r.at).length,
  );
  return {
    due,
    runs: runs.length,
    early,
    duplicates: runs.length - first.size,
    misses: due - first.size,
    p50Ms: percentile(lags, 0.5),
    p95Ms: percentile(lags, 0.95),
    p99Ms: percentile(lags, 0.99),
    maxMs: Math.max(...lags),
    queriesPerOcc: stats.queries / Math.max(1, first.size),
    ...stats,
  };
}

/** Every system once per rep, interleaved. */
export async function run({ seconds = 60, reps = 1, peers = false, systems } = {}) {
  const names = systems ?? ["belfry-postgres", "belfry-redis", ...(peers ? ["bullmq"] : [])];
  const results = [];
  for (let rep = 1; rep <= reps; rep++) {
    for (const name of names) {
      log("lag", `${name} rep ${rep}: ${JOBS} jobs every second, ${seconds} s`);
      try {
        results.push({ system: name, rep, seconds, ...(await lagOnce(name, seconds)) });
      } catch (error) {
        results.push({ system: name, rep, error: String(error.message).split("\n")[0] });
      }
    }
  }
  return results;
}

/** The Markdown tables for the results of {@link run}. */
export function markdown(results) {
  const seconds = results.find((r) => r.seconds)?.seconds;
  const lines = [`### Lag: ${JOBS} jobs every second, 3 replica processes, ${seconds} s`, ""];
  lines.push(
    ...markdownTable(
      [
        "system",
        "rep",
        "due",
        "runs",
        "duplicates",
        "misses",
        "lag p50 ms",
        "p95",
        "p99",
        "max",
        "wire queries / occ",
        "CPU s per replica",
      ],
      results.map((r) =>
        r.error
          ? [r.system, r.rep, `error: ${r.error}`, "", "", "", "", "", "", "", "", ""]
          : [
              r.system,
              r.rep,
              r.due,
              r.runs,
              r.duplicates,
              r.misses,
              r.p50Ms,
              r.p95Ms,
              r.p99Ms,
              r.maxMs,
              fmt(r.queriesPerOcc, 2),
              r.cpuS.map((x) => fmt(x, 1)).join(" · "),
            ],
      ),
    ),
  );
  const by = Object.fromEntries(results.filter((r) => !r.error).map((r) => [r.system, r]));
  const pairs = [
    ["bullmq", "belfry-redis"],
    ["bullmq", "belfry-postgres"],
  ].filter(([p, b]) => by[p] && by[b]);
  if (pairs.length > 0) {
    lines.push(
      ...markdownTable(
        ["peer ÷ belfry (last rep)", "lag p50", "p95", "p99", "max"],
        pairs.map(([p, b]) => [
          `${p} ÷ ${b}`,
          ...["p50Ms", "p95Ms", "p99Ms", "maxMs"].map((k) => ratio(by[p][k], by[b][k])),
        ]),
      ),
    );
  }
  return lines;
}
