import { Command } from "commander";
import { readStoredJob, type StoredJob } from "../observe/stored-job.js";
import { taskCounts } from "../observe/task-counts.js";
import type { JobRecord, RunRecord, Store } from "../stores/store.js";
import { positiveInt } from "./args.js";
import { describeSchedule } from "../schedules/describe.js";
import { iso, print, printJson, storeCommand, withStore, type StoreOptions } from "./output.js";

/** A job as `belfry jobs` shows it. */
export interface JobView {
  readonly jobId: string;
  /** The stored definition (schedule spec, zone, policies), or null when unreadable. */
  readonly definition: unknown;
  /** The schedule in words, or why the definition cannot be read. */
  readonly schedule: string;
  readonly nextRuns: readonly string[];
  readonly watermark: string | null;
  readonly paused: boolean;
  readonly version: number;
  readonly runCount: number;
  readonly lastRun: RunRecord | null;
}

/**
 * `belfry jobs`: each job defined in code with its schedule in words, next runs and state,
 * then the runtime schedules as one count per task (never listed one by one: a task may hold
 * a million; `belfry schedules list` pages through them).
 */
export function jobsCommand(): Command {
  return storeCommand(new Command("jobs"))
    .description(
      "list the jobs defined in code (schedule in words, next runs, watermark, paused) and count the runtime schedules per task",
    )
    .option("--next <n>", "next runs shown per job", positiveInt, 3)
    .action(async (args: StoreOptions & { next: number }) => {
      const listing = await withStore(args.store, async (store) => {
        const now = await store.now();
        const { jobs, unreadable } = await store.listJobs();
        const views = await Promise.all(jobs.map((job) => viewOf(store, job, now, args.next)));
        return { jobs: views, unreadable, schedules: await taskCounts(store) };
      });
      if (args.json) printJson(listing);
      else {
        print(
          ...listing.unreadable.map((job) => `${job.jobId}  (unreadable row: ${job.message})`),
          ...listing.jobs.flatMap(renderJob),
          ...listing.schedules.map(
            ({ task, count }) =>
              `${task}: ${count} runtime schedules (belfry schedules list --task ${task})`,
          ),
        );
      }
    });
}

async function viewOf(
  store: Store,
  record: JobRecord,
  now: number,
  count: number,
): Promise<JobView> {
  const [lastRun = null] = await store.history({ jobId: record.jobId, limit: 1 });
  const base = {
    jobId: record.jobId,
    watermark: record.watermark === null ? null : iso(record.watermark),
    paused: record.paused,
    version: record.version,
    runCount: record.runCount,
    lastRun,
  };
  let job: StoredJob;
  try {
    job = readStoredJob(record);
  } catch (error) {
    const definition = record.definition;
    return { ...base, definition, schedule: (error as Error).message, nextRuns: [] };
  }
  const nextRuns: string[] = [];
  let after = Math.max(now, record.watermark ?? now);
  for (
    let at = job.series.next(after);
    at !== null && nextRuns.length < count;
    at = job.series.next(after)
  ) {
    nextRuns.push(iso(at));
    after = at;
  }
  const schedule = describeSchedule(job.definition.schedule, job.definition.timezone);
  return { ...base, definition: job.definition, schedule, nextRuns };
}

function renderJob(job: JobView): string[] {
  const last = job.lastRun;
  return [
    `${job.jobId}${job.paused ? "  (paused)" : ""}`,
    `  schedule   ${job.schedule}`,
    `  next       ${job.nextRuns.join(", ") || "-"}`,
    `  watermark  ${job.watermark ?? "-"} · ${job.runCount} runs · version ${job.version}`,
    `  last run   ${last ? `${last.state} ${iso(last.scheduledAt)} attempt ${last.attempt} on ${last.replicaId ?? "-"}${last.error ? `: ${last.error}` : ""}` : "-"}`,
  ];
}
