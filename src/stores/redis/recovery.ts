import { BelfryError } from "../../errors.js";
import type { RunJobCache } from "./runs.js";
import { list, runGroups, runSteps, text, type RedisContext, type Step } from "./connection.js";
import { listJobIds } from "./jobs.js";
import { RECOVER, SWEEP } from "./scripts/recovery.js";
import { parseClaimedTuple } from "./claim.js";
import type { Recovered } from "../store.js";

/** What recovery needs from the store. */
export interface RecoveryContext extends RedisContext {
  /** How often one replica re-indexes every job's active runs (0: never). */
  readonly reconcileMs: number;
  readonly cache: RunJobCache;
}

/**
 * `recoverExpired` on Redis, without any cross-slot script:
 *
 * 1. one script on the store-wide keys reads the lease index (`jobId\nrunId` members whose
 *    check time is at or before Redis `TIME`) and, once per `reconcileMs` across all replicas,
 *    takes the reconcile lock;
 * 2. one recovery script per job (pipelined) takes over at most its share of `limit` runs,
 *    atomically on the job's slot, and reports where each candidate stands;
 * 3. one pipeline on the store-wide keys re-scores live runs, removes terminal or unknown ones,
 *    and (when reconciling) re-indexes every active and queued run of every job.
 *
 * The index is only a hint of which jobs to look at: it is written after each claim script
 * in the same pipeline, never removes a run that is still active, and the reconcile pass
 * repairs it if a pipeline was cut between the claim and its index write.
 */
export async function recoverExpiredRuns(
  context: RecoveryContext,
  replicaId: string,
  leaseMs: number,
  limit: number,
): Promise<Recovered[]> {
  if (limit <= 0) return [];
  const { client, keys } = context;
  const sweepArgs = [Math.max(limit * 4, 200), context.reconcileMs, replicaId];
  const [reply] = await runSteps(client, [
    { script: SWEEP, keys: [keys.leases, keys.reconcile], args: sweepArgs },
  ]);
  const sweep = list(reply);
  const candidates = new Map<string, string[]>();
  for (const member of list(sweep[2]).map(text)) {
    const { jobId, runId } = keys.parseMember(member);
    candidates.set(jobId, [...(candidates.get(jobId) ?? []), runId]);
  }
  const reconcile = text(sweep[1]) === "1";
  if (reconcile) {
    for (const jobId of await listJobIds(context))
      candidates.set(jobId, candidates.get(jobId) ?? []);
  }
  let remaining = limit;
  const jobIds = [...candidates.keys()];
  const groups = jobIds.map((jobId): Step[] => {
    const runIds = candidates.get(jobId) ?? [];
    const budget = Math.min(runIds.length, remaining);
    remaining -= budget;
    const { base, keys: jobKeys } = keys.job(jobId);
    const args = [base, jobId, replicaId, leaseMs, budget, context.historyLimit];
    args.push(context.retentionMs, reconcile ? "1" : "0", ...runIds);
    return [{ script: RECOVER, keys: jobKeys, args }];
  });
  const settled = await runGroups(client, groups);
  const recovered: Recovered[] = [];
  const index: Step[] = [];
  let firstError: Error | null = null;
  settled.forEach((group, i) => {
    const jobId = jobIds[i] as string;
    const reply = group[0];
    if (!reply || reply.error) {
      firstError ??= reply?.error ?? new Error("missing reply");
      return;
    }
    const [actions, report] = list(reply.value);
    for (const action of list(actions)) recovered.push(parseAction(context, jobId, action, index));
    indexReport(context, jobId, list(report).map(text), reconcile, index);
  });
  if (index.length > 0) await runGroups(client, [index]);
  if (firstError && recovered.length === 0) throw firstError;
  return recovered;
}

function parseAction(
  context: RecoveryContext,
  jobId: string,
  action: unknown,
  index: Step[],
): Recovered {
  const [kind, ...rest] = list(action).map(text);
  if (kind === "abandoned") {
    const [runId = "", scheduledAt] = rest;
    return { action: kind, runId, jobId, scheduledAt: Number(scheduledAt) };
  }
  if (kind !== "retried" && kind !== "promoted") {
    throw new BelfryError("STORE_ERROR", `RedisStore.recoverExpired: unexpected action ${kind}`);
  }
  const run = parseClaimedTuple(jobId, rest);
  context.cache.remember(run.runId, jobId);
  const member = context.keys.member(jobId, run.runId);
  index.push({ command: "zadd", args: [context.keys.leases, run.leaseExpiresAt, member] });
  index.push({ command: "hset", args: [context.keys.runJobs, run.runId, jobId] });
  return { action: kind, run };
}

/** Turns a job's report (runId, score pairs) into index writes. */
function indexReport(
  context: RecoveryContext,
  jobId: string,
  report: readonly string[],
  reconcile: boolean,
  index: Step[],
): void {
  const { keys } = context;
  for (let i = 0; i + 1 < report.length; i += 2) {
    const runId = report[i] as string;
    const score = report[i + 1] as string;
    const member = keys.member(jobId, runId);
    if (score === "-1") {
      index.push({ command: "zrem", args: [keys.leases, member] });
      index.push({ command: "hdel", args: [keys.runJobs, runId] });
      context.cache.remember(runId, null);
    } else if (reconcile) {
      index.push({ command: "zadd", args: [keys.leases, "NX", score, member] });
      index.push({ command: "hsetnx", args: [keys.runJobs, runId, jobId] });
    } else {
      index.push({ command: "zadd", args: [keys.leases, "XX", score, member] });
    }
  }
}
