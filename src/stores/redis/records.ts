import { BelfryError } from "../../errors.js";
import { list, record, runGroups, runSteps, settledValue, text } from "./connection.js";
import type { RedisContext, Step } from "./connection.js";
import { listJobIds } from "./jobs.js";
import { forgetRemovedSchedules } from "./schedules.js";
import { ADD_WARNING, HISTORY, PRUNE, TOUCH_REPLICA } from "./scripts/records.js";
import { parseReplicaRow, parseRunRow, parseWarningRow } from "../shared/rows.js";
import type {
  HistoryQuery,
  ReplicaInfo,
  ReplicaRecord,
  RunRecord,
  WarningRecord,
} from "../store.js";

/**
 * The read and audit side of the Redis store (history, prune, replicas, warnings): reads across
 * jobs are pipelines of per-job reads, never a cross-slot command.
 */

const WARNINGS_KEPT = 1000;

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

/**
 * Deletes terminal runs scheduled before `before`, job by job; returns how many. A removed
 * schedule left with no run is then dropped from the job list (its id stayed for its runs).
 */
export async function pruneRuns(context: RedisContext, before: number): Promise<number> {
  const jobIds = await listJobIds(context);
  const groups = jobIds.map((jobId): Step[] => {
    const { base, keys } = context.keys.job(jobId);
    return [{ script: PRUNE, keys, args: [base, jobId, Math.floor(before)] }];
  });
  const settled = await runGroups(context.client, groups);
  const replies = settled.map((group) => list(settledValue(group[0])).map((v) => Number(text(v))));
  await forgetRemovedSchedules(
    context,
    jobIds.filter((_, i) => replies[i]![1] === 1),
  );
  return replies.reduce((sum, [count]) => sum + count!, 0);
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
