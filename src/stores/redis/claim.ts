import { missedToRecord } from "../../protocol/claim.js";
import { BelfryError } from "../../errors.js";
import { list, runGroups, runSteps, settledValue, text, toStoreError } from "./connection.js";
import type { RedisContext, Step } from "./connection.js";
import { newRunId } from "./keys.js";
import { indexRuns, type LeaseEntry } from "./leases.js";
import { CLAIM, CLAIM_MANUAL, RECORD_MISSED } from "./scripts/claim.js";
import type { LuaScript } from "./scripts/prelude.js";
import { RUN_TRIGGERS } from "../../protocol/vocabulary.js";
import type { ClaimedRun, ClaimRequest, ClaimResult } from "../store.js";

/**
 * The claims of the Redis store: scheduled claims (one script per job, batched in one
 * pipeline), manual runs and missed occurrences. Only the runs a call won (or queued) enter
 * the store-wide lease index, in one command after their job scripts wrote them (see
 * `leases.ts`): a lost claim writes nothing outside its job's keys.
 */

/**
 * `Store.claim`: one pipeline, one claim script per request, in request order per job. A script
 * that failed on its own job's data is that request's `error` result; the other scripts of the
 * pipeline ran and their results stand. Any other failure rejects the call. The won runs' index
 * entries are sent before it returns, not awaited.
 */
export async function claim(
  context: RedisContext,
  requests: readonly ClaimRequest[],
): Promise<ClaimResult[]> {
  const runIds = requests.map((r) => newRunId(r.jobId));
  const groups = requests.map((request, i) => [claimStep(context, request, runIds[i] as string)]);
  const lanes = requests.map((r) => r.jobId);
  const settled = await runGroups(context.client, groups, lanes);
  const entries: LeaseEntry[] = [];
  const results = settled.map(([script], i): ClaimResult => {
    const failed = script?.error ? scriptFailure(script.error) : null;
    if (failed) return failed;
    const reply = list(settledValue(script));
    const result = parseClaimReply(reply, requests[i] as ClaimRequest);
    if (result.status === "won" || result.status === "queued") {
      entries.push([text(reply[2]), runIds[i] as string]);
    }
    return result;
  });
  // The won runs start without waiting for their index entries: under load this second round
  // trip cost a won claim 4 ms at the median and 15 ms at p90. The index is a hint that the
  // reconcile pass repairs when a write to it is lost (see `leases.ts`), and this write goes out
  // now on the same connection, so it lands before any later write about these runs.
  indexRuns(context, entries).catch(() => undefined);
  return results;
}

function claimStep(context: RedisContext, request: ClaimRequest, runId: string): Step {
  // A request with `nextAt` (a runtime schedule's claim) also takes the schedule keys.
  const { base, keys } =
    request.nextAt === undefined
      ? context.keys.job(request.jobId)
      : context.keys.schedule(request.jobId);
  const missed = missedToRecord(request, null).flatMap((at) => [at, newRunId(request.jobId)]);
  const args = [base, request.jobId, request.scheduledAt, request.hash, request.replicaId];
  args.push(request.leaseMs, request.toleranceMs ?? 0, runId);
  args.push(context.historyLimit, context.retentionMs, request.lateAfter ?? "");
  args.push(request.nextAt === undefined ? "u" : (request.nextAt ?? ""), ...missed);
  return { script: CLAIM, keys, args };
}

/** `Store.claimManual`: the manual-run script, then the run's lease-index entry. */
export async function claimManual(
  context: RedisContext,
  jobId: string,
  replicaId: string,
  leaseMs: number,
): Promise<ClaimedRun | null> {
  const { base, keys } = context.keys.job(jobId);
  return manualRun(context, CLAIM_MANUAL, { base, keys }, jobId, replicaId, leaseMs);
}

/**
 * Runs a script that may create a manual run (`MANUAL_RUN`: `CLAIM_MANUAL`, or
 * `CLAIM_TRIGGERED` for a schedule's pending trigger; ARGV base, jobId, replicaId, leaseMs,
 * runId), then indexes the run it created. Null when the script created none.
 */
export async function manualRun(
  context: RedisContext,
  script: LuaScript,
  target: { readonly base: string; readonly keys: readonly string[] },
  jobId: string,
  replicaId: string,
  leaseMs: number,
): Promise<ClaimedRun | null> {
  const runId = newRunId(jobId);
  const args = [target.base, jobId, replicaId, leaseMs, runId];
  const [reply] = await runSteps(context.client, [{ script, keys: target.keys, args }]);
  const tuple = list(reply).map(text);
  if (tuple.length === 0) return null;
  const [id, at, lease = ""] = tuple;
  await indexRuns(context, [[lease, runId]]);
  return parseClaimedTuple(jobId, [id, at, "manual", "1", "1", lease]);
}

/** `Store.recordMissed`. */
export async function recordMissed(
  context: RedisContext,
  jobId: string,
  hash: string,
  instants: readonly number[],
): Promise<number[]> {
  const { base, keys } = context.keys.job(jobId);
  const sorted = [...new Set(instants)].sort((a, b) => a - b);
  const args = [base, jobId, hash, context.historyLimit, context.retentionMs];
  args.push(...sorted.flatMap((at) => [at, newRunId(jobId)]));
  const [reply] = await runSteps(context.client, [{ script: RECORD_MISSED, keys, args }]);
  return parseInstants(reply);
}

/** Turns a claim script reply into a {@link ClaimResult}. */
export function parseClaimReply(reply: unknown[], request: ClaimRequest): ClaimResult {
  const [status, a, b] = reply
    .slice(0, 3)
    .map((value) => (Array.isArray(value) ? "" : text(value)));
  // Replies that wrote rows end with the instants recorded `missed`.
  const recordedMissed = () => parseInstants(reply[reply.length - 1]);
  switch (status) {
    case "won": {
      const tuple = [a, String(request.scheduledAt), "schedule", "1", "1", b];
      return {
        status,
        run: parseClaimedTuple(request.jobId, tuple),
        recordedMissed: recordedMissed(),
      };
    }
    case "lost":
    case "stale":
      return { status, watermark: Number(a) };
    case "notDue":
      return { status, retryAfterMs: Number(a) };
    case "skipped":
    case "queued":
    case "missed":
    case "paused":
      return { status, runId: String(a), recordedMissed: recordedMissed() };
    case "definitionChanged":
      return { status, hash: String(a) };
    case "exhausted":
    case "unknownJob":
      return { status };
    default:
      throw new Error(`unexpected claim reply ${JSON.stringify(reply)}`);
  }
}

/** A script's list of instants (decimal strings) as numbers. */
function parseInstants(reply: unknown): number[] {
  return list(reply).map((value) => Number(text(value)));
}

/** Turns `{runId, scheduledAt, trigger, attempt, token, leaseExpiresAt}` into a run. */
export function parseClaimedTuple(
  jobId: string,
  tuple: readonly (string | undefined)[],
): ClaimedRun {
  const [runId, scheduledAt, trigger, attempt, token, lease] = tuple;
  const known = RUN_TRIGGERS.find((name) => name === trigger);
  if (runId === undefined || known === undefined) {
    throw new Error(`unexpected run reply ${JSON.stringify(tuple)}`);
  }
  return {
    runId,
    jobId,
    scheduledAt: Number(scheduledAt),
    trigger: known,
    attempt: Number(attempt),
    token: Number(token),
    leaseExpiresAt: Number(lease),
  };
}

/**
 * The `error` result of one claim whose script failed because of its own job's data: a value the
 * script refused to read (`CORRUPT_ROW`), a job key holding the wrong kind of value
 * (`WRONGTYPE`, also `CORRUPT_ROW`) or a Lua runtime error on that data (`STORE_ERROR`). Null
 * for anything else (connection lost, OOM, loading, read-only replica…), which must reject the
 * whole call.
 */
export function scriptFailure(error: Error): ClaimResult | null {
  const message = error.message;
  const own =
    message.includes("BELFRY_CORRUPT|") ||
    /^(WRONGTYPE |ERR user_script:|ERR Error running script)/.test(message);
  if (!own) return null;
  const failure = message.startsWith("WRONGTYPE ")
    ? new BelfryError("CORRUPT_ROW", `RedisStore.claim: a key of the job ${message}`)
    : toStoreError("claim", error);
  return { status: "error", code: failure.code, message: failure.message };
}
