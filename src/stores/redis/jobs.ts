import { list, record, runGroups, runSteps, settledValue, text } from "./connection.js";
import type { RedisContext, Settled, Step } from "./connection.js";
import { publishScheduleChange } from "./schedule-changes.js";
import { REGISTER, SET_PAUSED } from "./scripts/jobs.js";
import { parseJobListing, parseJobRow, type RawRow } from "../shared/rows.js";
import type { JobListing, JobRecord, JobRegistration, RegisterResult } from "../store.js";

/**
 * The job rows of the Redis store: registration and pause (one script on the job's keys each),
 * the store-wide job list, and reads of job rows (pipelined, never a cross-slot command).
 */

/**
 * `Store.registerJobs` for a chunk: one pipeline of an SADD of the chunk's ids to the job list
 * and to the code job list, then the register script per job (each on its own job's keys).
 */
export async function registerJobs(
  context: RedisContext,
  registrations: readonly JobRegistration[],
): Promise<RegisterResult[]> {
  const scripts = registrations.map((reg): Step[] => {
    const { base, keys } = context.keys.job(reg.jobId);
    const args = [base, reg.jobId, reg.hash, reg.definition, reg.anchor, reg.overlap];
    args.push(reg.onAbandoned, reg.maxAttempts, reg.maxRuns ?? "");
    return [{ script: REGISTER, keys, args }];
  });
  const ids = registrations.map((reg) => reg.jobId);
  const jobLists: Step[] = [
    { command: "sadd", args: [context.keys.jobs, ...ids] },
    { command: "sadd", args: [context.keys.codeJobs, ...ids] },
  ];
  const [added, ...settled] = await runGroups(context.client, [jobLists, ...scripts]);
  for (const step of added ?? []) settledValue(step);
  return settled.map((group, i) => toResult(context, registrations[i] as JobRegistration, group));
}

function toResult(
  context: RedisContext,
  reg: JobRegistration,
  group: readonly Settled[],
): RegisterResult {
  const [outcome, previous, row] = list(settledValue(group[0]));
  const status = text(outcome);
  if (status !== "created" && status !== "unchanged" && status !== "updated") {
    throw new Error(`unexpected registration outcome ${status}`);
  }
  const job = parseJobRow(record(row), `RedisStore key ${context.keys.job(reg.jobId).keys[0]}`);
  return { job, outcome: status, previousHash: status === "created" ? null : text(previous) };
}

/** `Store.setPaused`; resuming a runtime schedule wakes the replicas listening for changes. */
export async function setPaused(
  context: RedisContext,
  jobId: string,
  paused: boolean,
): Promise<boolean> {
  const { base, keys } = context.keys.job(jobId);
  const args = [base, jobId, paused ? "1" : "0"];
  const [reply] = await runSteps(context.client, [{ script: SET_PAUSED, keys, args }]);
  const found = Number(text(reply));
  if (found === 2 && !paused) await publishScheduleChange(context);
  return found > 0;
}

/** Every registered job id. */
export async function listJobIds(context: RedisContext): Promise<string[]> {
  return list(await context.client.call("smembers", context.keys.jobs)).map(text);
}

/** The job rows of `jobIds` that exist, in order. */
export async function readJobs(
  context: RedisContext,
  jobIds: readonly string[],
): Promise<JobRecord[]> {
  const hashes = await readJobHashes(context, jobIds);
  return hashes.map(({ key, raw }) => parseJobRow(raw, `RedisStore key ${key}`));
}

/**
 * Every code-defined job by id, read through the code job list, so no schedule's hash is
 * fetched (a code job id that a schedule took over is left out as the other stores do); a hash
 * that cannot be read is listed as unreadable.
 */
export async function listJobs(context: RedisContext): Promise<JobListing> {
  const ids = list(await context.client.call("smembers", context.keys.codeJobs)).map(text);
  const hashes = (await readJobHashes(context, ids.sort())).filter(({ raw }) => !("task" in raw));
  const keys = new Map(hashes.map(({ key, raw }) => [raw, key]));
  return parseJobListing(
    hashes.map(({ raw }) => raw),
    (raw) => `RedisStore key ${keys.get(raw)}`,
  );
}

/** Job hashes looked at per pipeline while {@link indexCodeJobs} walks the job list. */
const INDEX_BATCH = 5_000;

/**
 * Key layout 1 → 2: fills the code job list from the job list, with the ids whose hash exists
 * and has no `task` field (a runtime schedule, or a removed schedule kept for its runs, is
 * left out). Reads every job id once, so it runs in `init` only when the stored layout is
 * older; idempotent, so replicas starting together may all run it.
 */
export async function indexCodeJobs(context: RedisContext): Promise<void> {
  const ids = await listJobIds(context);
  for (let i = 0; i < ids.length; i += INDEX_BATCH) {
    const batch = ids.slice(i, i + INDEX_BATCH);
    const groups = batch.map((id): Step[] => {
      const key = context.keys.job(id).keys[0] as string;
      return [{ command: "hmget", args: [key, "hash", "task"] }];
    });
    const settled = await runGroups(context.client, groups);
    const code = batch.filter((_, j) => {
      const [hash, task] = list(settledValue(settled[j]?.[0]));
      return hash !== null && hash !== undefined && (task === null || task === undefined);
    });
    if (code.length > 0) await context.client.call("sadd", context.keys.codeJobs, ...code);
  }
}

/** The job hashes of `jobIds` that exist, in order, each with its key (one pipeline). */
export async function readJobHashes(
  context: RedisContext,
  jobIds: readonly string[],
): Promise<{ key: string; raw: RawRow }[]> {
  const jobKeys = jobIds.map((id) => context.keys.job(id).keys[0] as string);
  const groups = jobKeys.map((key): Step[] => [{ command: "hgetall", args: [key] }]);
  const settled = await runGroups(context.client, groups);
  return settled.flatMap((group, i) => {
    const raw: RawRow = record(settledValue(group[0]));
    return Object.keys(raw).length === 0 ? [] : [{ key: jobKeys[i] as string, raw }];
  });
}
