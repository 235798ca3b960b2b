import type {
  ReplicaRecord,
  RunRecord,
  RunState,
  UnreadableJob,
  WarningRecord,
} from "../stores/store.js";
import type { TaskCount } from "../observe/task-counts.js";
import { iso, span } from "./format.js";
import { html, table, type Html } from "./html.js";
import type { JobView } from "./job-view.js";
import { legend, STATE_COLOURS, timeline } from "./timeline.js";

/** Every run state, for the history filter. */
export const RUN_STATES = Object.keys(STATE_COLOURS) as RunState[];

/** A run's state as a coloured badge. */
export function badge(state: RunState): Html {
  return html`<span class="badge" style="background:${STATE_COLOURS[state]}">${state}</span>`;
}

/** What the jobs page shows. */
export interface JobsPage {
  readonly jobs: readonly JobView[];
  /** Job rows that cannot be read, shown with the reason. */
  readonly unreadable: readonly UnreadableJob[];
  /** The runtime schedules, one count per task. */
  readonly tasks: readonly TaskCount[];
  /** Each job's newest run, by job id. */
  readonly lastRuns: ReadonlyMap<string, RunRecord>;
  readonly basePath: string;
  /** Show pause/resume buttons (a token was configured). */
  readonly actions: boolean;
  /** Show the trigger button (actions, and a scheduler to run the handler). */
  readonly trigger: boolean;
}

/**
 * Jobs defined in code: id, schedule in words, next runs, last outcome, paused, actions; then
 * the runtime schedules, one row per task with its count (never the schedules one by one).
 */
export function jobsPage(page: JobsPage): Html {
  if (page.jobs.length === 0 && page.unreadable.length === 0 && page.tasks.length === 0) {
    return html`<p class="muted">No jobs in this store yet.</p>`;
  }
  const rows = page.jobs.map(({ record, schedule, next }) => {
    const last = page.lastRuns.get(record.jobId);
    const historyLink = `${page.basePath}/history?job=${encodeURIComponent(record.jobId)}`;
    return html`<tr data-job="${record.jobId}">
      <td><a class="mono" href="${historyLink}">${record.jobId}</a></td>
      <td>${schedule}</td>
      <td class="mono">
        ${next.length ? next.map((at) => html`${iso(at)}<br />`) : html`<span class="muted">none</span>`}
      </td>
      <td class="last-run">
        ${last ? html`${badge(last.state)} <span class="mono">${iso(last.scheduledAt)}</span> <span class="muted">${last.trigger}</span>${last.error ? html`<div class="error-text">${last.error}</div>` : ""}` : html`<span class="muted">never</span>`}
      </td>
      <td>${record.paused ? html`<b>paused</b>` : "no"}</td>
      ${page.actions ? html`<td>${actionButtons(record.jobId, record.paused, page.trigger)}</td>` : ""}
    </tr>`;
  });
  return html`${unreadableJobs(page.unreadable)}
  ${table(
    ["Job", "Schedule", "Next runs", "Last run", "Paused", ...(page.actions ? ["Actions"] : [])],
    rows,
    "jobs",
  )}
  ${scheduleCounts(page.tasks)}`;
}

/** The runtime schedules per task, with how to list them; nothing when there are none. */
function scheduleCounts(tasks: readonly TaskCount[]): Html {
  if (tasks.length === 0) return html``;
  const rows = tasks.map(
    ({ task, count }) =>
      html`<tr data-task="${task}">
        <td class="mono">${task}</td>
        <td class="num">${count}</td>
        <td class="mono muted">belfry schedules list --task ${task}</td>
      </tr>`,
  );
  return html`<h2>Runtime schedules</h2>
    ${table(["Task", "Schedules", "List them"], rows, "schedule-tasks")}`;
}

/** Job rows that cannot be read (`CORRUPT_ROW`), each with what is wrong; nothing when none. */
export function unreadableJobs(unreadable: readonly UnreadableJob[]): Html {
  if (unreadable.length === 0) return html``;
  const rows = unreadable.map(
    (job) =>
      html`<tr>
        <td class="mono">${job.jobId}</td>
        <td class="error-text">${job.message}</td>
      </tr>`,
  );
  return html`<h2>Unreadable job rows: ${unreadable.length}</h2>
    ${table(["Job", "Problem"], rows, "unreadable-jobs")}`;
}

function actionButtons(jobId: string, paused: boolean, trigger: boolean): Html {
  const button = (action: string, label: string): Html =>
    html`<button type="button" data-action="${action}" data-job="${jobId}">${label}</button>`;
  return html`${paused ? button("resume", "Resume") : button("pause", "Pause")}${trigger ? button("trigger", "Trigger") : ""}`;
}

/** The history page's filters, as read from the query string. */
export interface HistoryFilters {
  readonly job: string;
  readonly state: string;
  readonly since: string;
  readonly until: string;
}

/** What the history page shows. */
export interface HistoryPage {
  readonly filters: HistoryFilters;
  readonly jobIds: readonly string[];
  readonly runs: readonly RunRecord[];
  /** A filter that could not be read, shown instead of the runs. */
  readonly problem: string | null;
  readonly now: number;
  readonly limit: number;
}

/** Run history with filters, a timeline per job (runs by replica) and the table of runs. */
export function historyPage(page: HistoryPage): Html {
  const { filters } = page;
  const option = (value: string, selected: string, label = value): Html =>
    html`<option value="${value}" ${value === selected ? html`selected` : ""}>${label}</option>`;
  const form = html`<form class="filters" method="get">
    <label
      >Job
      <select name="job">
        ${option("", filters.job, "all jobs")}${page.jobIds.map((id) => option(id, filters.job))}
      </select></label
    >
    <label
      >State
      <select name="state">
        ${option("", filters.state, "any state")}${RUN_STATES.map((s) => option(s, filters.state))}
      </select></label
    >
    <label
      >Since <input name="since" value="${filters.since}" placeholder="2026-01-01T00:00Z"
    /></label>
    <label
      >Until <input name="until" value="${filters.until}" placeholder="ISO instant or epoch ms"
    /></label>
    <button type="submit">Filter</button>
  </form>`;
  if (page.problem)
    return html`${form}
      <p class="error-text">${page.problem}</p>`;
  if (page.runs.length === 0)
    return html`${form}
      <p class="muted">No runs match.</p>`;
  const byJob = new Map<string, RunRecord[]>();
  for (const run of page.runs) byJob.set(run.jobId, [...(byJob.get(run.jobId) ?? []), run]);
  const charts = [...byJob].map(([jobId, runs]) => timeline(jobId, runs, page.now));
  const rows = page.runs.map(
    (run) =>
      html`<tr>
        <td class="mono">${iso(run.scheduledAt)}</td>
        <td class="mono">${run.jobId}</td>
        <td>${badge(run.state)}</td>
        <td>${run.trigger}</td>
        <td class="num">${run.attempt}</td>
        <td class="mono">${run.replicaId ?? "—"}</td>
        <td class="num">${run.startedAt === null ? "—" : span(run.startedAt - run.scheduledAt)}</td>
        <td class="num">
          ${run.startedAt === null || run.finishedAt === null ? "—" : span(run.finishedAt - run.startedAt)}
        </td>
        <td class="error-text">${run.error ?? ""}</td>
      </tr>`,
  );
  const more =
    page.runs.length >= page.limit
      ? html`<p class="muted">
          Showing the newest ${page.limit} runs; narrow the filters to see older ones.
        </p>`
      : "";
  return html`${form}${legend()}${charts}
  ${table(["Scheduled", "Job", "State", "Trigger", "Attempt", "Replica", "Start lag", "Duration", "Error"], rows, "runs")}
  ${more}`;
}

/** Replicas: id, host, pid, clock offset, started, last seen. */
export function replicasPage(replicas: readonly ReplicaRecord[], now: number): Html {
  if (replicas.length === 0) return html`<p class="muted">No replica seen in the last 24 h.</p>`;
  const rows = replicas.map(
    (r) =>
      html`<tr>
        <td class="mono">${r.replicaId}</td>
        <td>${r.host}</td>
        <td class="num">${r.pid}</td>
        <td class="num">${span(r.clockOffsetMs)}</td>
        <td class="mono">${iso(r.startedAt)}</td>
        <td class="mono">
          ${iso(r.lastSeenAt)} <span class="muted">(${span(now - r.lastSeenAt)} ago)</span>
        </td>
      </tr>`,
  );
  return table(
    ["Replica", "Host", "PID", "Clock offset", "Started", "Last seen"],
    rows,
    "replicas",
  );
}

/** Persisted warnings (clock skew, risky store settings), newest first. */
export function warningsPage(warnings: readonly WarningRecord[]): Html {
  if (warnings.length === 0) return html`<p class="muted">No warnings.</p>`;
  const rows = warnings.map(
    (w) =>
      html`<tr>
        <td class="mono">${iso(w.at)}</td>
        <td class="mono">${w.replicaId}</td>
        <td>${w.kind}</td>
        <td class="error-text">${w.message}</td>
      </tr>`,
  );
  return table(["At", "Replica", "Kind", "Message"], rows, "warnings");
}
