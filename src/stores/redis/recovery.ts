import { BelfryError } from "../../errors.js";
import { list, runGroups, runSteps, text, type RedisContext, type Step } from "./connection.js";
import { jobOfRun } from "./keys.js";
import { jobsWithLiveRuns } from "./live-jobs.js";
import { indexStep, unindexStep, type LeaseEntry } from "./leases.js";
import { RECOVER, SWEEP } from "./scripts/recovery.js";
import { parseClaimedTuple } from "./claim.js";
import type { Recovered } from "../store.js";

/** What recovery needs from the store. */
export interface RecoveryContext extends RedisContext {
  /** How often one replica re-indexes every job's active runs (0: never). */
  readonly reconcileMs: number;
}

/** The lease-index writes a recovery pass ends with. */
interface IndexWrites {
  /** Runs the pass took over (retried, promoted), at their new lease expiry. */
  readonly taken: LeaseEntry[];
  /** Runs still active or queued, at where their job's script says they stand. */
  readonly live: LeaseEntry[];
  /** Runs that are terminal or gone, and entries that name no run. */
  readonly gone: string[];
}

/**
 * `recoverExpired` on Redis, without any cross-slot script:
 *
 * 1. one script on the store-wide keys reads the lease index (run ids whose check time is at
 *    or before Redis `TIME`; each names its job) and, once per `reconcileMs` across all
 *    replicas, takes the reconcile lock;
 * 2. one recovery script per job (pipelined) takes over at most its share of `limit` runs,
 *    atomically on the job's slot, and reports where each candidate stands;
 * 3. one pipeline on the store-wide keys indexes the runs taken over, re-scores live runs,
 *    removes abandoned, terminal or unknown ones, and (when reconciling) re-indexes every active
 *    and queued run of the jobs that hold one (found by a key-space SCAN, `live-jobs.ts`: an
 *    idle job costs no command).
 *
 * The index is only a hint of which jobs to look at (see `leases.ts`): recovery never removes
 * a run that is still active, and the reconcile pass repairs the index if a process stopped
 * between a job script and its index write.
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
  const writes: IndexWrites = { taken: [], live: [], gone: [] };
  for (const runId of list(sweep[2]).map(text)) {
    const jobId = jobOfRun(runId);
    if (jobId === null) writes.gone.push(runId);
    else candidates.set(jobId, [...(candidates.get(jobId) ?? []), runId]);
  }
  const reconcile = text(sweep[1]) === "1";
  if (reconcile) {
    for (const jobId of await jobsWithLiveRuns(context))
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
  let firstError: Error | null = null;
  settled.forEach((group, i) => {
    const jobId = jobIds[i] as string;
    const reply = group[0];
    if (!reply || reply.error) {
      firstError ??= reply?.error ?? new Error("missing reply");
      return;
    }
    const [actions, report] = list(reply.value);
    for (const action of list(actions)) recovered.push(parseAction(jobId, action, writes));
    parseReport(list(report).map(text), writes);
  });
  await writeIndex(context, writes, reconcile);
  if (firstError && recovered.length === 0) throw firstError;
  return recovered;
}

function parseAction(jobId: string, action: unknown, writes: IndexWrites): Recovered {
  const [kind, ...rest] = list(action).map(text);
  if (kind === "abandoned") {
    const [runId = "", scheduledAt] = rest;
    writes.gone.push(runId);
    return { action: kind, runId, jobId, scheduledAt: Number(scheduledAt) };
  }
  if (kind !== "retried" && kind !== "promoted") {
    throw new BelfryError("STORE_ERROR", `RedisStore.recoverExpired: unexpected action ${kind}`);
  }
  const run = parseClaimedTuple(jobId, rest);
  writes.taken.push([run.leaseExpiresAt, run.runId]);
  return { action: kind, run };
}

/** Turns a job's report (runId, score pairs; '-1': terminal or gone) into index writes. */
function parseReport(report: readonly string[], writes: IndexWrites): void {
  for (let i = 0; i + 1 < report.length; i += 2) {
    const [runId, score] = [report[i] as string, report[i + 1] as string];
    if (score === "-1") writes.gone.push(runId);
    else writes.live.push([score, runId]);
  }
}

/**
 * One pipeline of index writes. Live runs are re-scored only where they have an entry (`XX`),
 * except in the reconcile pass, which adds the missing ones and leaves the others (`NX`).
 */
async function writeIndex(
  context: RedisContext,
  writes: IndexWrites,
  reconcile: boolean,
): Promise<void> {
  const steps: Step[] = [];
  const taken = indexStep(context, writes.taken);
  const live = indexStep(context, writes.live, reconcile ? "NX" : "XX");
  if (taken) steps.push(taken);
  if (live) steps.push(live);
  if (writes.gone.length > 0) steps.push(unindexStep(context, writes.gone));
  if (steps.length > 0) await runGroups(context.client, [steps]);
}
