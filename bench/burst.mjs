// Burst: N jobs all due at the same instant, 3 replica processes per system, instant handlers.
// Every job has the same 6-field cron `S M H * * *` (UTC) naming one instant T a few seconds after
// the replicas are expected to be ready (graphile-worker: T on a minute, its crontab has no
// seconds), so nothing else is due before or after it. Per run it reports the first, median and
// last handler start after T, occurrences/s (N ÷ last start), each replica's share of the work,
// store calls and wire queries (SQL statements, Redis commands) per occurrence, duplicates,
// misses, and CPU seconds and peak RSS per replica from T on. Systems run one after the other,
// interleaved (rep 1: A B C…, rep 2: A B C…), and the tables give min / median over the reps.
//
// Run after `npm run build`:  node bench/run.mjs burst [--peers] [--reps 3] [--sizes 1000,10000]
import { writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { URL, fileURLToPath } from "node:url";
import { mark, readStats, runsOf, startCluster, stopCluster, summarizeStats } from "./cluster.mjs";
import { percentile } from "./lib.mjs";
import { burstSvg } from "./svg.mjs";
import { cell, fmt, log, markdownTable, median, ratio } from "./report.mjs";

export const BELFRY = ["belfry-postgres", "belfry-redis", "belfry-sqlite"];
export const PEERS = ["bullmq", "graphile-worker"];
const SVG = fileURLToPath(new URL("./burst.svg", import.meta.url));

/** The cron pattern whose only occurrence of the day is `at` (UTC, whole seconds). */
function patternAt(at) {
  const d = new Date(at);
  return `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} * * *`;
}

/** The instant to aim at: `leadMs` from now, on a second (a minute for graphile-worker). */
function targetFor(name, leadMs) {
  const step = name === "graphile-worker" ? 60_000 : 1_000;
  return Math.ceil((Date.now() + leadMs) / step) * step;
}

/** One burst of `n` jobs on `name`; `leadMs` is the boot time allowed before the instant. */
async function burstOnce(name, n, leadMs) {
  const at = targetFor(name, leadMs);
  // 3 BullMQ replicas upserting 100,000 schedulers each took over 2 minutes (startup bench).
  const bootTimeoutMs = Math.max(600_000, n * 10);
  const cluster = await startCluster(name, { jobs: n, pattern: patternAt(at) }, bootTimeoutMs);
  if (cluster.readyAt > at - 300) {
    await stopCluster(cluster);
    return { late: true, bootMs: cluster.bootMs };
  }
  await sleep(at - 300 - Date.now());
  mark(cluster);
  const deadline = at + Math.max(60_000, n * 10);
  const started = () =>
    new Set(
      runsOf(cluster)
        .filter((r) => r.at === at)
        .map((r) => r.job),
    );
  while (started().size < n && Date.now() < deadline) await sleep(200);
  await sleep(1_000); // late duplicates
  const stats = await settledStats(cluster);
  const runs = (await stopCluster(cluster)).filter((r) => r.at === at);
  return { bootMs: cluster.bootMs, ...score(runs, n, at, cluster.replicas.length), ...stats };
}

/**
 * The counters once the burst's trailing writes are done (outcomes queued for a pool connection
 * are counted only when sent): read every second until two reads agree, at most 30 s.
 */
export async function settledStats(cluster) {
  let last = null;
  for (let i = 0; i < 30; i++) {
    const stats = summarizeStats(await readStats(cluster));
    if (last && stats.calls === last.calls && stats.queries === last.queries) return stats;
    last = stats;
    await sleep(1_000);
  }
  return last;
}

/** Start offsets, work share, duplicates and misses of one burst's runs. */
export function score(runs, n, at, replicas) {
  const first = new Map();
  for (const run of runs)
    if (!first.has(run.job) || run.start < first.get(run.job).start) first.set(run.job, run);
  const offsets = [...first.values()].map((r) => r.start - at).sort((a, b) => a - b);
  const share = Array.from({ length: replicas }, (_, i) => {
    const mine = [...first.values()].filter((r) => r.r === `replica-${i + 1}`).length;
    return mine / Math.max(1, first.size);
  });
  const lastMs = offsets.at(-1) ?? NaN;
  return {
    started: first.size,
    duplicates: runs.length - first.size,
    // Duplicates run by another replica than the first run (a re-claim) vs by the same one.
    duplicatesElsewhere: runs.filter((r) => first.get(r.job) !== r && first.get(r.job).r !== r.r)
      .length,
    misses: n - first.size,
    firstMs: offsets[0] ?? NaN,
    p50Ms: percentile(offsets, 0.5),
    lastMs,
    occPerS: first.size / (Math.max(lastMs, 1) / 1000),
    share,
    curve: downsample(offsets, 200),
  };
}

function downsample(sorted, points) {
  if (sorted.length <= points) return sorted;
  return Array.from(
    { length: points },
    (_, i) => sorted[Math.round((i * (sorted.length - 1)) / (points - 1))],
  );
}

/**
 * Runs every system at every size, `reps` times interleaved; boot time is learnt from the
 * previous run of the same system and size (a run whose replicas were not ready 300 ms before
 * the instant is retried once with more time, then recorded as too slow).
 */
export async function run({ sizes = [1_000, 10_000], reps = 3, peers = false, systems } = {}) {
  const names = systems ?? (peers ? [...BELFRY, ...PEERS] : BELFRY);
  const results = [];
  const boot = new Map();
  for (let rep = 1; rep <= reps; rep++) {
    for (const n of sizes) {
      for (const name of names) {
        const key = `${name}@${n}`;
        let lead = boot.get(key) ?? 10_000 + n * 2;
        let result;
        try {
          for (let attempt = 0; attempt < 2; attempt++) {
            log("burst", `${name} n=${n} rep ${rep}: boot allowance ${Math.round(lead)} ms`);
            result = await burstOnce(name, n, lead);
            if (!result.late) break;
            lead = result.bootMs * 1.5 + 3_000;
          }
          boot.set(key, result.bootMs * 1.3 + 2_000);
        } catch (error) {
          result = {
            error: String(error.message ?? error)
              .split("\n")[0]
              .slice(0, 160),
          };
        }
        if (result.late) result.error = `replicas took ${result.bootMs} ms to boot`;
        log(
          "burst",
          `${name} n=${n} rep ${rep}: ${JSON.stringify({ ...result, curve: undefined })}`,
        );
        results.push({ system: name, n, rep, ...result });
      }
    }
  }
  return results;
}

/** Min / median per system and size, from the runs of {@link run}. */
export function summarize(results) {
  const groups = new Map();
  for (const r of results) {
    const key = `${r.system}@${r.n}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((group) => {
    const ok = group.filter((r) => !r.error);
    const stat = (key) => ({
      min: Math.min(...ok.map((r) => r[key])),
      med: median(ok.map((r) => r[key])),
    });
    const byLast = [...ok].sort((a, b) => a.lastMs - b.lastMs);
    const typical = byLast[Math.floor((byLast.length - 1) / 2)];
    return {
      system: group[0].system,
      n: group[0].n,
      reps: ok.length,
      errors: group.filter((r) => r.error).map((r) => r.error),
      firstMs: stat("firstMs"),
      p50Ms: stat("p50Ms"),
      lastMs: stat("lastMs"),
      occPerS: {
        min: Math.min(...ok.map((r) => r.occPerS)),
        med: median(ok.map((r) => r.occPerS)),
      },
      duplicates: ok.reduce((s, r) => s + r.duplicates, 0),
      misses: ok.reduce((s, r) => s + r.misses, 0),
      typical,
    };
  });
}

/** The Markdown tables (and the SVG) for the results of {@link run}. */
export function markdown(results, reps) {
  const rows = summarize(results);
  const lines = [];
  for (const n of [...new Set(rows.map((r) => r.n))]) {
    const at = rows.filter((r) => r.n === n);
    lines.push(
      `### Burst: ${n.toLocaleString("en")} jobs due at one instant, 3 replica processes (${reps} rep${reps > 1 ? "s" : ""}, min / median)`,
    );
    lines.push("");
    lines.push(
      ...markdownTable(
        [
          "system",
          "first start ms",
          "p50 start ms",
          "last start ms",
          "occ/s",
          "share per replica (median run)",
          "store calls / occ",
          "wire queries / occ",
          "duplicates",
          "misses",
          "CPU s per replica",
          "peak RSS MiB per replica",
        ],
        at.map((r) => {
          if (!r.typical)
            return [
              r.system,
              `error: ${r.errors.join("; ")}`,
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
          const t = r.typical;
          return [
            r.system,
            cell(r.firstMs, 0),
            cell(r.p50Ms, 0),
            cell(r.lastMs, 0),
            `${fmt(r.occPerS.min, 0)} / ${fmt(r.occPerS.med, 0)}`,
            t.share.map((s) => `${Math.round(s * 100)} %`).join(" · "),
            r.system.startsWith("belfry-") ? fmt(t.calls / n, 2) : "–",
            r.system === "belfry-sqlite" ? "–" : fmt(t.queries / n, 2),
            r.duplicates,
            r.misses,
            t.cpuS.map((x) => fmt(x, 1)).join(" · "),
            t.peakRssMiB.map((x) => fmt(x, 0)).join(" · "),
          ];
        }),
      ),
    );
    const by = Object.fromEntries(at.filter((r) => r.typical).map((r) => [r.system, r]));
    const pairs = [
      ["bullmq", "belfry-redis"],
      ["bullmq", "belfry-postgres"],
      ["graphile-worker", "belfry-postgres"],
    ];
    const ratios = pairs
      .filter(([p, b]) => by[p] && by[b])
      .map(([p, b]) => [
        `${p} ÷ ${b}`,
        ratio(by[p].lastMs.med, by[b].lastMs.med),
        ratio(by[p].p50Ms.med, by[b].p50Ms.med),
        ratio(by[b].occPerS.med, by[p].occPerS.med),
      ]);
    if (ratios.length > 0) {
      lines.push(
        ...markdownTable(
          ["peer ÷ belfry (medians)", "last start", "p50 start", "belfry occ/s ÷ peer occ/s"],
          ratios,
        ),
      );
    }
  }
  writeFileSync(SVG, burstSvg(rows));
  lines.push(
    `Start-time distributions: [bench/burst.svg](burst.svg) (cumulative share of the burst started, median run).`,
  );
  lines.push("");
  return lines;
}
