import type { RunRecord, RunState } from "../stores/store.js";
import { auditView } from "./audit-view.js";
import { parseInstant } from "./format.js";
import type { Html } from "./html.js";
import { isInternalJob, viewJob } from "./job-view.js";
import { layout, PAGES, type PagePath, type Shell } from "./layout.js";
import {
  historyPage,
  jobsPage,
  replicasPage,
  RUN_STATES,
  warningsPage,
  type HistoryFilters,
} from "./pages.js";
import type { DashboardSource } from "./source.js";

const NEXT_RUNS = 3;
const HISTORY_LIMIT = 200;
const WARNINGS_LIMIT = 200;
const DAY_MS = 86_400_000;

/** What rendering a page needs besides the request. */
export interface ViewContext {
  readonly source: DashboardSource;
  readonly shell: Shell;
}

/** True when `path` is one of the dashboard's pages. */
export function isPage(path: string): path is PagePath {
  return PAGES.some(([page]) => page === path);
}

/** Reads what the page shows and renders it in the shell. */
export async function renderPage(
  path: PagePath,
  query: URLSearchParams,
  context: ViewContext,
): Promise<Html> {
  const { source, shell } = context;
  const title = PAGES.find(([page]) => page === path)?.[1] ?? "";
  const now = await source.now();
  const body = await pageBody(path, query, source, shell, now);
  return layout(shell, path, title, body);
}

async function pageBody(
  path: PagePath,
  query: URLSearchParams,
  source: DashboardSource,
  shell: Shell,
  now: number,
): Promise<Html> {
  switch (path) {
    case "/":
      return jobs(source, shell, now);
    case "/history":
      return history(query, source, now);
    case "/replicas":
      return replicasPage(await source.replicas(now - DAY_MS), now);
    case "/warnings":
      return warningsPage(await source.warnings(WARNINGS_LIMIT));
    case "/audit":
      return auditView(source.store, now);
  }
}

async function jobs(source: DashboardSource, shell: Shell, now: number): Promise<Html> {
  const [listing, tasks] = await Promise.all([source.jobs(), source.scheduleCounts()]);
  const records = listing.jobs.filter((job) => !isInternalJob(job.jobId));
  records.sort((a, b) => a.jobId.localeCompare(b.jobId));
  const newest = await Promise.all(
    records.map((job) => source.history({ jobId: job.jobId, limit: 1 })),
  );
  const lastRuns = new Map<string, RunRecord>();
  for (const [run] of newest) if (run) lastRuns.set(run.jobId, run);
  return jobsPage({
    jobs: records.map((record) => viewJob(record, now, NEXT_RUNS)),
    unreadable: listing.unreadable,
    tasks,
    lastRuns,
    basePath: shell.basePath,
    actions: shell.actions,
    trigger: shell.actions && source.canTrigger,
  });
}

async function history(query: URLSearchParams, source: DashboardSource, now: number) {
  const filters: HistoryFilters = {
    job: query.get("job") ?? "",
    state: query.get("state") ?? "",
    since: query.get("since") ?? "",
    until: query.get("until") ?? "",
  };
  const jobIds = (await source.jobs()).jobs
    .map((job) => job.jobId)
    .filter((id) => !isInternalJob(id))
    .sort();
  const page = { filters, jobIds, runs: [], now, limit: HISTORY_LIMIT };
  const since = parseInstant(filters.since);
  const until = parseInstant(filters.until);
  if (since === "invalid" || until === "invalid") {
    return historyPage({
      ...page,
      problem: "since and until take an ISO 8601 instant or epoch ms",
    });
  }
  if (filters.state !== "" && !RUN_STATES.includes(filters.state as RunState)) {
    return historyPage({ ...page, problem: `unknown state; use one of ${RUN_STATES.join(", ")}` });
  }
  const runs = await source.history({
    jobId: filters.job || undefined,
    states: filters.state ? [filters.state as RunState] : undefined,
    from: since ?? undefined,
    to: until ?? undefined,
    limit: HISTORY_LIMIT,
  });
  return historyPage({ ...page, runs, problem: null });
}
