import { auditStore, type AuditList, type AuditReport } from "../observe/audit.js";
import type { Store } from "../stores/store.js";
import { iso, span } from "./format.js";
import { html, table, type Html } from "./html.js";
import { unreadableJobs } from "./pages.js";

const DAY_MS = 86_400_000;
const SHOWN = 20;

/**
 * The audit page's body: `auditStore` over the last 24 h of store time — what each job's stored
 * definition owed compared with the run rows — as counts, then the examples that need a look,
 * the code jobs and the runtime schedules per task.
 */
export async function auditView(store: Store, now: number): Promise<Html> {
  // `until` is exclusive: + 1 ms keeps a run scheduled at this very instant in the window.
  const report = await auditStore(store, { since: now - DAY_MS, until: now + 1, now });
  return html`<p>
      Window ${iso(report.since)} – ${iso(report.until)}:
      <b>${report.ok ? "nothing ran twice, nothing owed is missing" : "needs a look"}</b>
    </p>
    <div class="cards">${cards(report)}</div>
    ${occurrences("Duplicates (ran twice)", report.duplicates)}
    ${occurrences("Unexplained misses (due, no row)", report.unexplainedMisses)}
    ${occurrences("Failures", report.failures)} ${occurrences("Abandoned", report.abandoned)}
    ${unreadableJobs(report.unreadableJobs)} ${lateStarts(report)} ${jobs(report)} ${tasks(report)}`;
}

/** The runtime schedules, one row per task (none on a store without them). */
function tasks(report: AuditReport): Html {
  if (report.tasks.length === 0) return html``;
  const rows = report.tasks.map(
    (task) =>
      html`<tr>
        <td class="mono">${task.task}</td>
        <td class="num">${task.schedules}</td>
        <td class="num">${task.due}</td>
        <td class="num">${task.runs}</td>
        <td class="num">
          ${task.unexplainedMisses > 0 ? html`<b>${task.unexplainedMisses}</b>` : 0}
        </td>
        <td class="num">${task.unchecked > 0 ? html`<b>${task.unchecked}</b>` : 0}</td>
      </tr>`,
  );
  const headers = ["Task", "Schedules", "Due", "Run rows", "Unexplained misses", "Not checked"];
  return html`<h2>Runtime schedules</h2>
    ${table(headers, rows, "audit-tasks")}`;
}

function jobs(report: AuditReport): Html {
  const rows = report.jobs.map(
    (job) =>
      html`<tr>
        <td class="mono">${job.jobId}</td>
        <td class="num">${job.due}</td>
        <td class="num">${job.runs}</td>
        <td>${job.checked ? "checked" : html`<b>not checked</b>`}</td>
        <td class="muted">${job.note ?? ""}</td>
      </tr>`,
  );
  return html`<h2>Jobs</h2>
    ${table(["Job", "Due", "Run rows", "Misses", "Note"], rows, "audit-jobs")}`;
}

function cards(report: AuditReport): Html[] {
  const card = (label: string, value: number | string, bad = false): Html =>
    html`<div class="${bad ? "bad" : ""}"><b>${value}</b>${label}</div>`;
  return [
    card("due", report.due),
    card("run rows", report.runs),
    card("duplicates", report.duplicates.count, report.duplicates.count > 0),
    card("unexplained misses", report.unexplainedMisses.count, report.unexplainedMisses.count > 0),
    card("missed by policy", report.missed.count),
    card("failures", report.failures.count, report.failures.count > 0),
    card("abandoned", report.abandoned.count, report.abandoned.count > 0),
    card("retries", report.retries.count),
    card("overlaps", report.overlaps.count, report.overlaps.count > 0),
    card("unreadable jobs", report.unreadableJobs.length, report.unreadableJobs.length > 0),
    card("clock-skew warnings", report.clockSkew.count, report.clockSkew.count > 0),
    card("start lag p99", span(report.lateStarts.count ? report.lateStarts.p99Ms : null)),
    card("replicas seen", report.replicas.length),
  ];
}

interface Row {
  readonly jobId: string;
  readonly scheduledAt: number;
  readonly replicaId?: string | null;
  readonly error?: string | null;
}

function occurrences(title: string, list: AuditList<Row>): Html {
  if (list.count === 0) return html``;
  const rows = list.items.slice(0, SHOWN).map(
    (item) =>
      html`<tr>
        <td class="mono">${iso(item.scheduledAt)}</td>
        <td class="mono">${item.jobId}</td>
        <td class="mono">${item.replicaId ?? ""}</td>
        <td class="error-text">${item.error ?? ""}</td>
      </tr>`,
  );
  return html`<h2>${title}: ${list.count}</h2>
    ${table(["Scheduled", "Job", "Replica", "Error"], rows)}`;
}

function lateStarts(report: AuditReport): Html {
  const { worst } = report.lateStarts;
  if (worst.length === 0) return html``;
  const rows = worst.map(
    (late) =>
      html`<tr>
        <td class="mono">${iso(late.scheduledAt)}</td>
        <td class="mono">${late.jobId}</td>
        <td class="mono">${late.replicaId ?? ""}</td>
        <td class="num">${span(late.lagMs)}</td>
      </tr>`,
  );
  return html`<h2>Latest starts</h2>
    ${table(["Scheduled", "Job", "Replica", "Start lag"], rows)}`;
}
