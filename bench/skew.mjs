// Skew: the lag workload (100 jobs every second, 3 replica processes) with one replica's clock
// 10 s ahead and one 10 s behind → per system: early starts (a handler started before the
// occurrence's nominal instant, by this process's un-skewed clock), duplicates, misses, lag
// p50/p99. belfry is given a skewed Clock (its store time is measured against it); a peer's
// replica runs with bench/skew-clock.mjs preloaded, which moves `Date.now()` and `new Date()` in
// that process (what a peer reads its time from). Handler starts are stamped on the real time.
//
// Run after `npm run build`:  node bench/run.mjs skew [--peers] [--seconds 20] [--reps 1]
import { JOBS, lagOnce } from "./lag.mjs";
import { fmt, log, markdownTable } from "./report.mjs";

/** Clock offset of each replica, ms: replica-1 on time, replica-2 ahead, replica-3 behind. */
export const OFFSETS_MS = [0, 10_000, -10_000];

/** Every system once per rep, interleaved. */
export async function run({ seconds = 60, reps = 1, peers = false, systems } = {}) {
  const names = systems ?? ["belfry-postgres", "belfry-redis", ...(peers ? ["bullmq"] : [])];
  const results = [];
  for (let rep = 1; rep <= reps; rep++) {
    for (const name of names) {
      log(
        "skew",
        `${name} rep ${rep}: ${JOBS} jobs every second, clocks 0 / +10 s / −10 s, ${seconds} s`,
      );
      try {
        const measured = await lagOnce(name, seconds, (i) => ({ skewMs: OFFSETS_MS[i] }));
        results.push({ system: name, rep, seconds, ...measured });
      } catch (error) {
        results.push({ system: name, rep, error: String(error.message).split("\n")[0] });
      }
    }
  }
  return results;
}

const offsetLabel = (ms) => (ms === 0 ? "0 s" : `${ms > 0 ? "+" : "−"}${Math.abs(ms) / 1000} s`);

/** The Markdown table for the results of {@link run}. */
export function markdown(results) {
  const seconds = results.find((r) => r.seconds)?.seconds;
  return [
    `### Skew: ${JOBS} jobs every second, 3 replica processes with clocks ${OFFSETS_MS.map(offsetLabel).join(" / ")}, ${seconds} s`,
    "",
    ...markdownTable(
      [
        "system",
        "rep",
        "due",
        "runs",
        "early starts (total)",
        `early starts per replica (${OFFSETS_MS.map(offsetLabel).join(" · ")})`,
        "duplicates",
        "misses",
        "lag p50 ms",
        "p99",
        "max",
      ],
      results.map((r) =>
        r.error
          ? [r.system, r.rep, `error: ${r.error}`, "", "", "", "", "", "", "", ""]
          : [
              r.system,
              r.rep,
              r.due,
              r.runs,
              r.early.reduce((a, b) => a + b, 0),
              r.early.join(" · "),
              r.duplicates,
              r.misses,
              fmt(r.p50Ms, 0),
              fmt(r.p99Ms, 0),
              fmt(r.maxMs, 0),
            ],
      ),
    ),
  ];
}
