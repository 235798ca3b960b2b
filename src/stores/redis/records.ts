import { BelfryError } from "../../errors.js";
import {
  list,
  record,
  runGroups,
  text,
  type RedisClientLike,
  type Settled,
  type Step,
} from "./connection.js";
import { ADD_WARNING, HISTORY, PRUNE, TOUCH_REPLICA } from "./run-scripts.js";
import type { RedisKeys } from "./keys.js";
import { parseJobRow, parseReplicaRow, parseRunRow, parseWarningRow } from "../rows.js";
import type {
  HistoryQuery,
  JobRecord,
  ReplicaInfo,
  ReplicaRecord,
  RunRecord,
  WarningRecord,
} from "../store.js";

/**
 * The read and audit side of the Redis store (jobs, history, prune, replicas, warnings): reads
 * across jobs are pipelines of per-job reads, never a cross-slot command.
 */

/** Connection and layout shared by the Redis store's modules. */
export interface RedisContext {
  readonly client: RedisClientLike;
  readonly keys: RedisKeys;
  /** Terminal runs kept per job. */
  readonly historyLimit: number;
  /** Terminal runs older than this are deleted as others finish (0: no age limit). */
  readonly retentionMs: number;
}

const WARNINGS_KEPT = 1000;

/** The value of a settled step, or its error thrown. */
export function settledValue(settled: Settled | undefined): unknown {
  if (!settled) throw new Error("missing reply");
  if (settled.error) throw settled.error;
  return settled.value;
}

/** Runs one group of steps in order and returns each step's value, throwing the first error. */
export async function runSteps(client: RedisClientLike, steps: Step[]): Promise<unknown[]> {
  const [settled = []] = await runGroups(client, [steps]);
  return settled.map(settledValue);
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
  const jobKeys = jobIds.map((id) => context.keys.job(id).keys[0] as string);
  const groups = jobKeys.map((key): Step[] => [{ command: "hgetall", args: [key] }]);
  const settled = await runGroups(context.client, groups);
  return settled.flatMap((group, i) => {
    const raw = record(settledValue(group[0]));
    if (Object.keys(raw).length === 0) return [];
    return [parseJobRow(raw, `RedisStore key ${jobKeys[i]}`)];
  });
}

/** Run rows, newest `scheduledAt` first (ties by run id descending), as `Store.history`. */
export async function readHistory(
  context: RedisContext,
  query: HistoryQuery,
): Promise<RunRecord[]> {
  const limit = query.limit ?? 100;
  if (limit <= 0 || query.states?.length === 0) return [];
  const jobIds = query.jobId !== undefined ? [query.jobId] : await listJobIds(context);
  const min = query.from ?? "-inf";
  const max = query.to !== undefined ? `(${query.to}` : "+inf";
  const groups = jobIds.map((jobId): Step[] => {
    const { base, keys } = context.keys.job(jobId);
    const args = [base, jobId, min, max, limit, ...(query.states ?? [])];
    return [{ script: HISTORY, keys, args }];
  });
  const settled = await runGroups(context.client, groups);
  const rows = settled.flatMap((group, i) => {
    const where = `RedisStore runs of job ${JSON.stringify(jobIds[i])}`;
    return list(settledValue(group[0])).map((raw) => parseRunRow(record(raw), where));
  });
  rows.sort((a, b) => b.scheduledAt - a.scheduledAt || (a.runId < b.runId ? 1 : -1));
  return rows.slice(0, limit);
}

/** Deletes terminal runs scheduled before `before`, job by job; returns how many. */
export async function pruneRuns(context: RedisContext, before: number): Promise<number> {
  const groups = (await listJobIds(context)).map((jobId): Step[] => {
    const { base, keys } = context.keys.job(jobId);
    return [{ script: PRUNE, keys, args: [base, jobId, Math.floor(before)] }];
  });
  const settled = await runGroups(context.client, groups);
  return settled.reduce((sum, group) => sum + Number(text(settledValue(group[0]))), 0);
}

/** Upserts a replica's row with `last_seen_at` = Redis `TIME`. */
export async function touchReplicaRow(context: RedisContext, info: ReplicaInfo): Promise<void> {
  const row = JSON.stringify({
    replica_id: info.replicaId,
    host: info.host,
    pid: info.pid,
    started_at: info.startedAt,
    clock_offset_ms: Math.round(info.clockOffsetMs),
  });
  const keys = [context.keys.replicas];
  await runSteps(context.client, [{ script: TOUCH_REPLICA, keys, args: [info.replicaId, row] }]);
}

/** Replicas seen at or after `since`. */
export async function readReplicas(context: RedisContext, since: number): Promise<ReplicaRecord[]> {
  const key = context.keys.replicas;
  const rows = Object.entries(record(await context.client.call("hgetall", key)));
  return rows
    .map(([id, json]) => parseReplicaRow(parseJson(json, key, id), `RedisStore key ${key}`))
    .filter((replica) => replica.lastSeenAt >= since);
}

/** Pushes a warning stamped with Redis `TIME`, keeping the newest {@link WARNINGS_KEPT}. */
export async function pushWarning(
  context: RedisContext,
  warning: Omit<WarningRecord, "at">,
): Promise<void> {
  const args = [warning.replicaId, warning.kind, warning.message, WARNINGS_KEPT];
  await runSteps(context.client, [{ script: ADD_WARNING, keys: [context.keys.warnings], args }]);
}

/** The newest `limit` warnings, newest first. */
export async function readWarnings(context: RedisContext, limit: number): Promise<WarningRecord[]> {
  if (limit <= 0) return [];
  const key = context.keys.warnings;
  const rows = list(await context.client.call("lrange", key, 0, limit - 1));
  return rows.map((json, i) =>
    parseWarningRow(parseJson(text(json), key, String(i)), `RedisStore key ${key}`),
  );
}

function parseJson(json: string, key: string, id: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    if (value !== null && typeof value === "object") return { id, ...value };
  } catch {
    // reported below
  }
  throw new BelfryError(
    "CORRUPT_ROW",
    `RedisStore key ${key}: entry ${id} is not a JSON object: ${json.slice(0, 200)}`,
  );
}
