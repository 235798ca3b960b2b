import { list, runGroups, runSteps, settledValue, text } from "./connection.js";
import type { RedisContext, Step } from "./connection.js";
import { parseClaimedTuple } from "./claim.js";
import { jobOfRun } from "./keys.js";
import { indexRuns, indexStep, unindexStep } from "./leases.js";
import { FENCED_WRITE, FINISH } from "./scripts/runs.js";
import type { FinishResult, RunOutcome } from "../store.js";

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

/**
 * `Store.finishRun`: the finish script and the removal of the run's lease-index entry, in one
 * round trip. A refused finish puts the entry back where the script says the run stands (a
 * retry keeps its run id, so the run may be another replica's now, or still wait for recovery).
 */
export async function finishRun(
  context: RedisContext,
  runId: string,
  token: number,
  outcome: RunOutcome,
  leaseMs: number,
): Promise<FinishResult> {
  const jobId = jobOfRun(runId);
  if (jobId === null) return { ok: false, next: null };
  const { base, keys } = context.keys.job(jobId);
  const error = outcome.error ?? null;
  const args = [base, jobId, runId, token, outcome.state, error === null ? "0" : "1", error ?? ""];
  args.push(leaseMs, context.historyLimit, context.retentionMs);
  const steps = [{ script: FINISH, keys, args }, unindexStep(context, [runId])];
  const [[finish] = []] = await runGroups(context.client, [steps]);
  if (!finish || finish.error) {
    // Whether the script ran is unknown: index the run at 0 so that the next sweep looks at it.
    // The script's error is the one reported, so a failure of this write is not.
    await indexRuns(context, [[0, runId]]).catch(() => undefined);
  }
  const [ok, next] = list(settledValue(finish));
  if (Number(text(ok)) !== 1) {
    const score = text(next);
    if (score !== "-1") await indexRuns(context, [[score, runId]]);
    return { ok: false, next: null };
  }
  const tuple = list(next).map(text);
  return { ok: true, next: tuple.length === 0 ? null : parseClaimedTuple(jobId, tuple) };
}
