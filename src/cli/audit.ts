import { Command } from "commander";
import {
  auditStore,
  type AuditList,
  type AuditProgress,
  type AuditReport,
  type TaskAudit,
} from "../observe/audit.js";
import type { RunRecord } from "../stores/store.js";
import { positiveInt, resolveWhen, whenArg, type WhenArg } from "./args.js";
import {
  EXIT,
  formatMs,
  iso,
  print,
  printJson,
  storeCommand,
  withStore,
  type StoreOptions,
} from "./output.js";

interface AuditArgs extends StoreOptions {
  readonly since?: WhenArg;
  readonly until?: WhenArg;
  readonly list: number;
}

/**
 * `belfry audit`: recomputes what each job owed in a window and compares it with the run
 * records. Exits 1 on duplicates or unexplained misses, so it can gate a deploy or run nightly.
 */
export function auditCommand(): Command {
  return storeCommand(new Command("audit"))
    .description("compare what was due with what ran: duplicates, misses, lag, failures, overlaps")
    .option("--since <when>", "window start: instant, date or duration ago (default: 24h)", whenArg)
    .option(
      "--until <when>",
      "window end, exclusive: instant, date or duration ago (default: now)",
      whenArg,
    )
    .option("--list <n>", "examples shown per finding", positiveInt, 10)
    .action(async (args: AuditArgs) => {
      const progress = progressLine();
      const report = await withStore(args.store, async (store) => {
        const now = await store.now();
        return auditStore(store, {
          now,
          since: args.since && resolveWhen(args.since, now),
          until: args.until && resolveWhen(args.until, now),
          listLimit: args.json ? 1000 : args.list,
          onProgress: progress.update,
        });
      });
      progress.end();
      if (args.json) printJson(report);
      else print(...renderAudit(report));
      process.exitCode = report.ok ? EXIT.ok : EXIT.findings;
    });
}

/** A progress line on stderr, written once the audit reads more than one page of rows. */
function progressLine(): { update: (progress: AuditProgress) => void; end: () => void } {
  let pages = 0;
  let open = false;
  return {
    update(progress) {
      pages += 1;
      if (pages < 2) return;
      const done = (progress.until - progress.reachedAt) / (progress.until - progress.since);
      const text = `belfry audit: ${progress.rows} run rows read, back to ${iso(progress.reachedAt)} (${Math.round(done * 100)}%)`;
      if (process.stderr.isTTY) {
        process.stderr.write(`\r${text}`);
        open = true;
      } else if (pages % 10 === 2) process.stderr.write(`${text}\n`);
    },
    end: () => void (open && process.stderr.write("\n")),
  };
}

/**
 * The report as text: a verdict, one line per task of runtime schedules, then one line per
 * finding with examples.
 */
export function renderAudit(report: AuditReport): string[] {
  const lag = report.lateStarts;
  const schedules = scheduleSummary(report);
  const lines = [
    `belfry audit ${iso(report.since)} → ${iso(report.until)}`,
    `jobs ${report.jobs.length}${schedules ? ` · runtime schedules ${schedules}` : ""} · occurrences due ${report.due} · run rows ${report.runs} · manual runs ${report.manualRuns} · replicas ${report.replicas.length}`,
    report.ok
      ? "OK: no duplicates, no unexplained misses"
      : `FAILED: ${report.duplicates.count} duplicates, ${report.unexplainedMisses.count} unexplained misses, ${report.unreadableJobs.length} unreadable jobs`,
    "",
    ...(schedules ? [`${"runtime schedules".padEnd(21)} ${schedules}`] : []),
    ...report.tasks.map((task) => `  ${taskLine(task)}`),
    ...section(
      "duplicates",
      report.duplicates,
      (d) =>
        `${d.jobId}@${iso(d.scheduledAt)} ran ${d.runs.length}×: ${d.runs.map((r) => `${r.runId} on ${r.replicaId ?? "-"} (${r.state})`).join(", ")}`,
    ),
    ...section(
      "unexplained misses",
      report.unexplainedMisses,
      (m) => `${m.jobId}@${iso(m.scheduledAt)}: due, no run row`,
    ),
    ...section("missed by policy", report.missed, runLine),
    ...section("skipped", report.skipped, runLine),
    ...section("failures", report.failures, runLine),
    ...section("abandoned", report.abandoned, runLine),
    ...section("retries", report.retries, runLine),
    ...section(
      "overlaps",
      report.overlaps,
      (o) =>
        `${o.jobId}: ${o.first.runId} (${iso(o.first.startedAt)} → ${iso(o.first.finishedAt)}) and ${o.second.runId} (from ${iso(o.second.startedAt)})`,
    ),
    ...section("unscheduled rows", report.unscheduled, runLine),
    ...section(
      "unreadable jobs",
      { count: report.unreadableJobs.length, items: report.unreadableJobs },
      (job) => `${job.jobId}: ${job.message}`,
    ),
    `late starts           ${lag.count} starts · p50 ${formatMs(lag.p50Ms)} · p95 ${formatMs(lag.p95Ms)} · p99 ${formatMs(lag.p99Ms)} · max ${formatMs(lag.maxMs)}`,
    ...lag.worst.map(
      (w) =>
        `  ${w.jobId}@${iso(w.scheduledAt)} started ${formatMs(w.lagMs)} late on ${w.replicaId ?? "-"}`,
    ),
    ...section(
      "clock-skew warnings",
      report.clockSkew,
      (w) => `${iso(w.at)} ${w.replicaId}: ${w.message}`,
    ),
    `replicas              ${report.replicas.length}`,
    ...report.replicas.map(
      (r) =>
        `  ${r.replicaId}: ${r.runs} runs${r.host ? ` · host ${r.host} · clock offset ${formatMs(r.clockOffsetMs ?? 0)} · last seen ${iso(r.lastSeenAt)}` : ""}`,
    ),
    ...report.jobs
      .filter((job) => job.note !== null)
      .map((job) => `note: ${job.jobId}: ${job.note}`),
  ];
  return lines;
}

/** `<n> in <t> tasks`, or null for a report without runtime schedules. */
function scheduleSummary(report: AuditReport): string | null {
  if (report.tasks.length === 0) return null;
  const count = report.tasks.reduce((sum, task) => sum + task.schedules, 0);
  return `${count} in ${report.tasks.length} task${report.tasks.length === 1 ? "" : "s"}`;
}

/** One task's runtime schedules, summed up. */
function taskLine(task: TaskAudit): string {
  const unchecked =
    task.unchecked > 0 ? ` · unchecked ${task.unchecked} (unreadable definition)` : "";
  return `${task.task}: ${task.schedules} schedules · due ${task.due} · run rows ${task.runs} · unexplained misses ${task.unexplainedMisses}${unchecked}`;
}

function section<T>(title: string, list: AuditList<T>, line: (item: T) => string): string[] {
  const more = list.count - list.items.length;
  return [
    `${title.padEnd(21)} ${list.count}`,
    ...list.items.map((item) => `  ${line(item)}`),
    ...(more > 0 ? [`  … and ${more} more (--list, --json)`] : []),
  ];
}

function runLine(run: RunRecord): string {
  const error = run.error ? `: ${run.error}` : "";
  return `${run.jobId}@${iso(run.scheduledAt)} ${run.state} attempt ${run.attempt} on ${run.replicaId ?? "-"}${error}`;
}
