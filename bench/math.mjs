// Schedule maths: next-occurrence computations per second for each schedule kind (each call
// chained from the previous answer, as a replica walks a series), and belfry's cron path against
// asking croner directly for the same series. Also schedules built per second (the cost of
// `cron(…)` and friends when registering a job), and what defining cron jobs costs: CPU µs per
// `scheduler.job(id, cron(…), handler)` and the RSS and heap of a process holding 10,000 and
// 100,000 of them (a child process per size, no store, not started). No store.
//
// Run after `npm run build`:  node bench/run.mjs math
import { execFileSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { URL, fileURLToPath } from "node:url";
import { getHeapStatistics } from "node:v8";
import { Cron } from "croner";
import { fmt, markdownTable, ratio } from "./report.mjs";

const BUDGET_MS = 400;
const MAX_CALLS = 500_000;
const START = Date.UTC(2026, 0, 1);

/** Calls per second of `step`, chained from `START`, for at most BUDGET_MS. */
function rate(step) {
  let at = START;
  let calls = 0;
  const t0 = performance.now();
  while (calls < MAX_CALLS && (calls & 255 || performance.now() - t0 < BUDGET_MS)) {
    at = step(at) ?? START;
    calls++;
  }
  return calls / ((performance.now() - t0) / 1000);
}

const DIST = new URL("../dist/index.js", import.meta.url).href;
const DEFINE_SIZES = [10_000, 100_000];

/**
 * In a child process (`node --expose-gc math.mjs define <n>`): defines `n` cron jobs on one
 * scheduler and prints CPU µs per job() and the process's RSS and heap after a GC.
 */
async function defineJobs(n) {
  const { Scheduler, cron } = await import(DIST);
  const scheduler = new Scheduler({ replicaId: "bench" });
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    scheduler.job(`job-${i}`, cron("0 0 1 1 *", { timezone: "UTC" }), () => {});
  }
  const cpu = process.cpuUsage(before);
  globalThis.gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  const result = {
    jobs: scheduler.jobs().length,
    cpuUsPerJob: (cpu.user + cpu.system) / n,
    rssMiB: rss / 2 ** 20,
    heapMiB: heapUsed / 2 ** 20,
    heapLimitMiB: getHeapStatistics().heap_size_limit / 2 ** 20,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** {@link defineJobs} for each size, each in a fresh process with the default heap limit. */
function definitionCosts() {
  const self = fileURLToPath(import.meta.url);
  return DEFINE_SIZES.map((n) => {
    try {
      const out = execFileSync(process.execPath, ["--expose-gc", self, "define", String(n)], {
        encoding: "utf8",
        timeout: 300_000,
      });
      return { n, ...JSON.parse(out) };
    } catch (error) {
      return { n, error: String(error.message).split("\n")[0] };
    }
  });
}

export async function run() {
  const b = await import(DIST);
  const ctx = { jobId: "bench", anchor: 0, timezone: "UTC" };
  const berlin = { ...ctx, timezone: "Europe/Berlin" };
  const onceTimes = Array.from({ length: 1_000 }, (_, i) => START + (i + 1) * 60_000);
  const kinds = [
    ['every("1m")', () => b.every("1m"), ctx],
    ['everyRandom("1m", "5m")', () => b.everyRandom("1m", "5m"), ctx],
    ["once(1,000 instants)", () => b.once(onceTimes), ctx],
    ['daily(1, "09:00") Europe/Berlin', () => b.daily(1, "09:00"), berlin],
    [
      'weekly(1, ["mon","fri"], "09:00") Europe/Berlin',
      () => b.weekly(1, ["mon", "fri"], "09:00"),
      berlin,
    ],
    ['monthly(1, [1, 15], "09:00") Europe/Berlin', () => b.monthly(1, [1, 15], "09:00"), berlin],
    ['cron("*/5 * * * *")', () => b.cron("*/5 * * * *"), ctx, { pattern: "*/5 * * * *" }],
    ['cron("*/30 * * * * *")', () => b.cron("*/30 * * * * *"), ctx, { pattern: "*/30 * * * * *" }],
    [
      'cron("0 9 * * 1-5") Europe/Berlin',
      () => b.cron("0 9 * * 1-5"),
      berlin,
      { pattern: "0 9 * * 1-5", timezone: "Europe/Berlin" },
    ],
  ];
  const schedules = kinds.map(([kind, make, context, croner]) => {
    const schedule = make();
    const result = {
      kind,
      nextPerS: rate((at) => schedule.next(at, context)),
      buildPerS: rate((at) => (make(), at + 1)),
    };
    if (croner) {
      const options = { paused: true, mode: "5-or-6-parts", timezone: croner.timezone };
      const job = new Cron(croner.pattern, options);
      result.cronerNextPerS = rate((at) => job.nextRun(new Date(at))?.getTime() ?? null);
      result.cronerBuildPerS = rate((at) => (new Cron(croner.pattern, options), at + 1));
    }
    return result;
  });
  return { schedules, definitions: definitionCosts() };
}

/** The Markdown table for the results of {@link run}. */
export function markdown(results) {
  return [
    "### Schedule maths: next occurrences per second (chained), one process",
    "",
    ...markdownTable(
      [
        "schedule",
        "belfry next()/s",
        "croner nextRun()/s",
        "belfry ÷ croner",
        "built/s (belfry)",
        "built/s (new Cron)",
      ],
      results.schedules.map((r) => [
        r.kind,
        fmt(r.nextPerS, 0),
        fmt(r.cronerNextPerS, 0),
        ratio(r.nextPerS, r.cronerNextPerS),
        fmt(r.buildPerS, 0),
        fmt(r.cronerBuildPerS, 0),
      ]),
    ),
    "### Defining cron jobs: `scheduler.job(id, cron(…), handler)`, one process per size, not started",
    "",
    ...markdownTable(
      ["jobs", "CPU µs per job()", "RSS MiB", "heap used MiB (after GC)", "default heap limit MiB"],
      results.definitions.map((r) =>
        r.error
          ? [r.n, `error: ${r.error}`, "", "", ""]
          : [
              r.n,
              fmt(r.cpuUsPerJob, 1),
              fmt(r.rssMiB, 0),
              fmt(r.heapMiB, 0),
              fmt(r.heapLimitMiB, 0),
            ],
      ),
    ),
  ];
}

if (process.argv[2] === "define") await defineJobs(Number(process.argv[3]));
