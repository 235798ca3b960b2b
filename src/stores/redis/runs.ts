import { list, runGroups, runSteps, settledValue, text } from "./connection.js";
import type { RedisContext, Step } from "./connection.js";
import { parseClaimedTuple } from "./claim.js";
import { jobOfRun } from "./keys.js";
import { indexRuns, indexStep, unindexStep, type LeaseEntry } from "./leases.js";
import { FENCED_WRITE, FINISH } from "./scripts/runs.js";
import type { FinishRequest, FinishResult, RunOutcome, StartRequest } from "../store.js";

/**
 * Every write about a run its owner holds: `startRun`, `heartbeat`, `releaseRun` (one fenced
 * script) and `finishRun` (the terminal write, which hands a queued run over). The run id
 * names its job (`keys.ts`), whose script decides; a run id of no job is refused.
 */

/** `Store.startRun`. */
export async function startRun(
  context: RedisContext,
  runId: string,
  token: number,
  attempt: number,
): Promise<boolean> {
  return fencedWrite(context, runId, token, "start", attempt);
}

/** `Store.startRuns`: the fenced write script of each run's job, all in one pipeline. */
export async function startRuns(
  context: RedisContext,
  requests: readonly StartRequest[],
): Promise<boolean[]> {
  const jobIds = requests.map((r) => jobOfRun(r.runId));
  const asked = requests.flatMap((r, i) => {
    const jobId = jobIds[i];
    if (jobId === null || jobId === undefined) return [];
    const { base, keys } = context.keys.job(jobId);
    return [
      {
        i,
        jobId,
        step: {
          script: FENCED_WRITE,
          keys,
          args: [base, jobId, r.runId, r.token, "start", r.attempt],
        },
      },
    ];
  });
  const settled = await runGroups(
    context.client,
    asked.map((a) => [a.step]),
    asked.map((a) => a.jobId),
  );
  const results = requests.map(() => false);
  asked.forEach((a, k) => (results[a.i] = Number(text(settledValue(settled[k]?.[0]))) === 1));
  return results;
}

/** `Store.heartbeat`. */
export async function heartbeat(
  context: RedisContext,
  runId: string,
  token: number,
  leaseMs: number,
): Promise<boolean> {
  return fencedWrite(context, runId, token, "heartbeat", leaseMs);
}

/** `Store.releaseRun`. */
export async function releaseRun(
  context: RedisContext,
  runId: string,
  token: number,
): Promise<boolean> {
  return fencedWrite(context, runId, token, "release", 0);
}

/** The fenced write script of the run's job. */
async function fencedWrite(
  context: RedisContext,
  runId: string,
  token: number,
  mode: "start" | "heartbeat" | "release",
  value: number,
): Promise<boolean> {
  const jobId = jobOfRun(runId);
  if (jobId === null) return false;
  const { base, keys } = context.keys.job(jobId);
  const steps: Step[] = [
    { script: FENCED_WRITE, keys, args: [base, jobId, runId, token, mode, value] },
  ];
  // A released run must be found by the next sweep, not when its old lease would have expired
  // (XX: a refused release never creates an entry for a run that is already terminal).
  const reindex = mode === "release" ? indexStep(context, [[0, runId]], "XX") : null;
  if (reindex) steps.push(reindex);
  const [reply] = await runSteps(context.client, steps);
  return Number(text(reply)) === 1;
}

/** `Store.finishRun`: {@link finishRuns} of one run. */
export async function finishRun(
  context: RedisContext,
  runId: string,
  token: number,
  outcome: RunOutcome,
  leaseMs: number,
): Promise<FinishResult> {
  const [result] = await finishRuns(context, [{ runId, token, outcome, leaseMs }]);
  return result ?? { ok: false, next: null };
}

/**
 * `Store.finishRuns`: per run, the finish script and the removal of the run's lease-index entry,
 * all in one pipeline. A refused finish puts the entry back where the script says the run stands
 * (a retry keeps its run id, so the run may be another replica's now, or still wait for
 * recovery); a failed script is reported as the call's error once the entries are fixed.
 */
export async function finishRuns(
  context: RedisContext,
  requests: readonly FinishRequest[],
): Promise<FinishResult[]> {
  const asked = requests.flatMap(({ runId, token, outcome, leaseMs }, i) => {
    const jobId = jobOfRun(runId);
    if (jobId === null) return [];
    const { base, keys } = context.keys.job(jobId);
    const error = outcome.error ?? null;
    const args = [base, jobId, runId, token, outcome.state, error === null ? "0" : "1"];
    args.push(error ?? "", leaseMs, context.historyLimit, context.retentionMs);
    const steps: Step[] = [{ script: FINISH, keys, args }, unindexStep(context, [runId])];
    return [{ i, jobId, runId, steps }];
  });
  const settled = await runGroups(
    context.client,
    asked.map((a) => a.steps),
    asked.map((a) => a.jobId),
  );
  const results: FinishResult[] = requests.map(() => ({ ok: false, next: null }));
  const reindex: LeaseEntry[] = [];
  let failure: unknown = null;
  asked.forEach(({ i, jobId, runId }, k) => {
    const [finish] = settled[k] ?? [];
    if (!finish || finish.error) {
      // Whether the script ran is unknown: index the run at 0 so that the next sweep looks at it.
      reindex.push([0, runId]);
      failure ??= finish?.error ?? new Error("missing reply");
      return;
    }
    const [ok, next] = list(finish.value);
    if (Number(text(ok)) !== 1) {
      const score = text(next);
      if (score !== "-1") reindex.push([score, runId]);
      return;
    }
    const tuple = list(next).map(text);
    results[i] = { ok: true, next: tuple.length === 0 ? null : parseClaimedTuple(jobId, tuple) };
  });
  if (failure !== null) {
    // The script's error is the one reported, so a failure of this write is not.
    await indexRuns(context, reindex).catch(() => undefined);
    throw failure;
  }
  await indexRuns(context, reindex);
  return results;
}
