// The benchmark runner: `npm run build && npm run bench` (or `node bench/run.mjs [parts…]`).
// Parts: claims (store-level claim step, ~1 min), second (1-second schedule, ~2.5 min),
// minute (minute cron with pg-boss and graphile-worker, ~2–3.5 min), the load parts burst, lag,
// skew, idle, math and schedules (runtime schedules, bench/schedules.mjs) in bench/load.mjs,
// startup (register and start 1k/10k/100k jobs with the peers, see bench/startup.mjs; long).
// Default: claims, second, minute (never schedules: it takes over an hour). Any parts run in one
// invocation, e.g. `node bench/run.mjs burst lag skew idle startup math --peers --reps 3`
// (--reps, --sizes and --systems also apply to startup).
// Prints the environment and one Markdown table per part (what bench/RESULTS.md records);
// `--json <file>` also writes the raw numbers.
import { URL } from "node:url";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import * as claims from "./claims.mjs";
import * as precision from "./precision.mjs";
import * as load from "./load.mjs";
import * as startup from "./startup.mjs";
import { round, serverVersions } from "./lib.mjs";

const args = process.argv.slice(2);
// Options that take a value: --json <file>, and the load parts' --reps, --seconds, --sizes,
// --jobs, --systems, --phases (comma lists); --peers and --quick (schedules) are flags.
const VALUED = ["--json", "--reps", "--seconds", "--sizes", "--jobs", "--systems", "--phases"];
const option = (name) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const jsonFile = option("--json") ?? null;
const parts = args.filter((a, i) => !a.startsWith("--") && !VALUED.includes(args[i - 1]));
// The default run is the original three parts; the load parts run when named.
const want = (part) =>
  parts.length === 0 ? ["claims", "second", "minute"].includes(part) : parts.includes(part);
const out = (line = "") => process.stdout.write(`${line}\n`);

function version(pkg) {
  const url = new URL(`../node_modules/${pkg}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")).version;
}

const fmt = (x, digits = 2) => (Number.isFinite(x) ? String(round(x, digits)) : "–");
const ratio = (a, b) =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${fmt(a / b, 1)}×` : "–";
const table = (head, rows) => {
  out(`| ${head.join(" | ")} |`);
  out(`|${head.map(() => "---").join("|")}|`);
  for (const row of rows) out(`| ${row.join(" | ")} |`);
  out();
};

const started = Date.now();
const raw = { startedAt: new Date(started).toISOString() };
const servers = await serverVersions();
raw.environment = {
  node: process.version,
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? "?"}`,
  servers,
  peers: Object.fromEntries(
    ["bullmq", "pg-boss", "graphile-worker", "node-cron", "pg", "mysql2", "ioredis"].map((p) => [
      p,
      version(p),
    ]),
  ),
};
out(`## Environment (${raw.startedAt})`);
out();
out(`- Node ${process.version}, ${raw.environment.cpus}`);
out(`- PostgreSQL ${servers.postgres}, MariaDB/MySQL ${servers.mysql}, Redis ${servers.redis}`);
out(
  `- peers: ${Object.entries(raw.environment.peers)
    .map(([p, v]) => `${p} ${v}`)
    .join(", ")}`,
);
out();

if (want("claims")) {
  raw.claims = await claims.run();
  out("## Claim step, store level (3 replicas racing, 50 jobs)");
  out();
  const rows = [];
  for (const r of raw.claims) {
    if (r.error) {
      rows.push([r.store, `error: ${r.error}`, "", "", "", "", "", "", "", "", ""]);
      continue;
    }
    const ok = [r.solo, r.single, r.batch].every((p) => p.problems.length === 0);
    rows.push([
      r.store,
      `${fmt(r.nowP50Ms, 3)} / ${fmt(r.nowP99Ms, 3)}`,
      `${fmt(r.solo.p50Ms, 3)} / ${fmt(r.solo.p99Ms, 3)}`,
      fmt(r.solo.callsPerS, 0),
      `${fmt(r.single.p50Ms, 3)} / ${fmt(r.single.p99Ms, 3)}`,
      fmt(r.single.callsPerS, 0),
      fmt(r.single.wonPerS, 0),
      `${fmt(r.batch.p50Ms, 3)} / ${fmt(r.batch.p99Ms, 3)}`,
      fmt(r.batch.wonPerS, 0),
      ratio(r.single.p50Ms, r.nowP50Ms),
      ok
        ? `yes (${r.solo.won + r.single.won + r.batch.won} occurrences)`
        : `NO: ${[...r.solo.problems, ...r.single.problems, ...r.batch.problems].slice(0, 3).join("; ")}`,
    ]);
  }
  table(
    [
      "store",
      "now() p50/p99 ms",
      "solo claim p50/p99 ms",
      "solo calls/s",
      "raced claim p50/p99 ms",
      "raced calls/s",
      "raced occurrences/s",
      "batch-50 claim p50/p99 ms",
      "batch occurrences/s",
      "raced p50 ÷ now() p50",
      "exactly one winner each",
    ],
    rows,
  );
}

function precisionTable(results) {
  table(
    [
      "system",
      "due",
      "runs",
      "duplicates",
      "misses",
      "lag p50 ms",
      "lag p99 ms",
      "lag max ms",
      "3 replicas booted at once",
    ],
    results.map((r) =>
      r.error
        ? [r.system, `error: ${r.error}`, "", "", "", "", "", "", r.bootAtOnce ?? ""]
        : [
            r.system,
            r.due,
            r.runs,
            r.duplicates,
            r.misses,
            fmt(r.lagP50Ms, 0),
            fmt(r.lagP99Ms, 0),
            fmt(r.lagMaxMs, 0),
            r.bootAtOnce === "ok" ? "ok" : `${r.bootAtOnce} (then booted one by one)`,
          ],
    ),
  );
}

function ratioTable(results, pairs) {
  const by = Object.fromEntries(results.filter((r) => !r.error).map((r) => [r.system, r]));
  const rows = [];
  for (const [peer, belfry] of pairs) {
    const p = by[peer];
    const b = by[belfry];
    if (!p || !b) continue;
    rows.push([
      `${peer} ÷ ${belfry}`,
      ratio(p.lagP50Ms, b.lagP50Ms),
      ratio(p.lagP99Ms, b.lagP99Ms),
      `${p.duplicates} vs ${b.duplicates}`,
      `${p.misses} vs ${b.misses}`,
    ]);
  }
  table(["peer ÷ belfry", "lag p50", "lag p99", "duplicates", "misses"], rows);
}

if (want("second")) {
  const { windowMs, jobs } = precision.MODES.second;
  raw.second = await precision.run("second");
  out(`## Precision: 1-second schedule, ${jobs} jobs, 3 replica processes, ${windowMs / 1000} s`);
  out();
  precisionTable(raw.second);
  ratioTable(raw.second, [
    ["bullmq", "belfry-redis"],
    ["node-cron", "belfry-sqlite"],
    ["node-cron", "belfry-postgres"],
  ]);
}

if (want("minute")) {
  const { windowMs, jobs } = precision.MODES.minute;
  raw.minute = await precision.run("minute");
  out(
    `## Precision: "* * * * *" cron, ${jobs} jobs, 3 replica processes, ${windowMs / 60_000} minute boundaries (systems concurrently)`,
  );
  out();
  precisionTable(raw.minute);
  ratioTable(raw.minute, [
    ["pg-boss", "belfry-postgres"],
    ["pg-boss-tuned", "belfry-postgres"],
    ["graphile-worker", "belfry-postgres"],
  ]);
}

// Burst, lag, idle and schedule maths (bench/load.mjs): each part prints its own tables.
const list = (name) => option(name)?.split(",").filter(Boolean);
const loadOptions = {
  peers: args.includes("--peers"),
  reps: option("--reps") && Number(option("--reps")),
  seconds: option("--seconds") && Number(option("--seconds")),
  sizes: list("--sizes")?.map(Number),
  jobs: list("--jobs")?.map(Number),
  systems: list("--systems"),
  phases: list("--phases"),
  quick: args.includes("--quick"),
};
for (const part of load.PARTS) {
  if (!want(part)) continue;
  const { results, lines } = await load.run(part, loadOptions);
  raw[part] = results;
  for (const line of lines) out(line);
}

if (want("startup")) {
  raw.startup = await startup.run({
    systems: loadOptions.systems?.filter((s) => s in startup.SYSTEMS),
    sizes: loadOptions.sizes,
    reps: loadOptions.reps || undefined,
  });
  out(
    `## Start-up: register and start N jobs (slowest replica; min / median of ${loadOptions.reps || (process.env.BENCH_STARTUP_REPS ?? 3)})`,
  );
  out();
  const phase = (r) => (r.errors.length > 0 && r.ok === 0 ? `${r.errors.join("; ")}` : null);
  table(
    [
      "system",
      "jobs",
      "replicas",
      "start",
      "round trips per replica",
      "statements per replica",
      "start min / median ms",
      "define jobs ms",
      "RSS MiB",
    ],
    raw.startup.map((r) => [
      r.system,
      r.jobs,
      r.replicas,
      r.phase,
      ...(phase(r)
        ? [phase(r), "", "", "", ""]
        : [
            fmt(r.roundTripsMedian, 0),
            fmt(r.statementsMedian, 0),
            `${fmt(r.startMinMs, 0)} / ${fmt(r.startMedianMs, 0)}`,
            fmt(r.defineMedianMs, 0),
            fmt(r.rssMedianMiB, 0),
          ]),
    ]),
  );
}

out(`Total time: ${Math.round((Date.now() - started) / 1000)} s`);
if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify(raw, null, 2)}\n`);
