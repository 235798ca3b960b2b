import { randomUUID } from "node:crypto";
import { missedToRecord } from "../../protocol/claim.js";
import { BelfryError } from "../../errors.js";
import { list, runGroups, runSteps, settledValue, text, toStoreError } from "./connection.js";
import type { RedisContext, Step } from "./connection.js";
import type { RunJobCache } from "./runs.js";
import { CLAIM, CLAIM_MANUAL, RECORD_MISSED } from "./scripts/claim.js";
import type { ClaimedRun, ClaimRequest, ClaimResult, RunTrigger } from "../store.js";

/**
 * The claims of the Redis store: scheduled claims (one script per job, batched in one
 * pipeline), manual runs and missed occurrences. Each claim pipeline writes, per request,
 * `HSET runjob` → the claim script → `ZADD leases`, so that the lease index entry of a run
 * always comes after the run exists (see `recovery.ts`).
 */

/**
 * `Store.claim`: one pipeline, one claim script per request, in request order per job. A script
 * that failed on its own job's data is that request's `error` result; the other scripts of the
 * pipeline ran and their results stand. Any other failure rejects the call.
 */
export async function claim(
  context: RedisContext,
  cache: RunJobCache,
  requests: readonly ClaimRequest[],
): Promise<ClaimResult[]> {
  const runIds = requests.map(() => randomUUID());
  const groups = requests.map((request, i) => claimSteps(context, request, runIds[i] as string));
  const lanes = requests.map((r) => r.jobId);
  const settled = await runGroups(context.client, groups, lanes);
  return settled.map((group, i) => {
    const request = requests[i] as ClaimRequest;
    const script = group[1];
    const failed = script?.error ? scriptFailure(script.error) : null;
    if (failed) return failed;
    const result = parseClaimReply(list(settledValue(group[1])), request);
    if (result.status === "won" || result.status === "queued") {
      cache.remember(runIds[i] as string, request.jobId);
    }
    return result;
  });
}

function claimSteps(context: RedisContext, request: ClaimRequest, runId: string): Step[] {
  const { keys: k } = context;
  const { base, keys } = k.job(request.jobId);
  const tolerance = request.toleranceMs ?? 0;
  const missed = missedToRecord(request, null).flatMap((at) => [at, randomUUID()]);
  const args = [base, request.jobId, request.scheduledAt, request.hash, request.replicaId];
  args.push(request.leaseMs, tolerance, runId, context.historyLimit, context.retentionMs);
  // Index the run at about its lease expiry; recovery re-scores it to the exact one.
  const indexAt = request.scheduledAt - tolerance + request.leaseMs;
  return [
    { command: "hset", args: [k.runJobs, runId, request.jobId] },
    { script: CLAIM, keys, args: [...args, ...missed] },
    { command: "zadd", args: [k.leases, indexAt, k.member(request.jobId, runId)] },
  ];
}

/** `Store.claimManual`. */
export async function claimManual(
  context: RedisContext,
  cache: RunJobCache,
  jobId: string,
  replicaId: string,
  leaseMs: number,
): Promise<ClaimedRun | null> {
  const { keys: k } = context;
  const { base, keys } = k.job(jobId);
  const runId = randomUUID();
  const reply = await runSteps(context.client, [
    { command: "hset", args: [k.runJobs, runId, jobId] },
    { script: CLAIM_MANUAL, keys, args: [base, jobId, replicaId, leaseMs, runId] },
    { command: "zadd", args: [k.leases, 0, k.member(jobId, runId)] },
  ]);
  const tuple = list(reply[1]).map(text);
  if (tuple.length === 0) return null;
  cache.remember(runId, jobId);
  const [id, at, lease] = tuple;
  return parseClaimedTuple(jobId, [id, at, "manual", "1", "1", lease]);
}

/** `Store.recordMissed`. */
export async function recordMissed(
  context: RedisContext,
  jobId: string,
  hash: string,
  instants: readonly number[],
): Promise<number> {
  const { base, keys } = context.keys.job(jobId);
  const sorted = [...new Set(instants)].sort((a, b) => a - b);
  const args = [base, jobId, hash, context.historyLimit, context.retentionMs];
  args.push(...sorted.flatMap((at) => [at, randomUUID()]));
  const [reply] = await runSteps(context.client, [{ script: RECORD_MISSED, keys, args }]);
  return Number(text(reply));
}

/** Turns a claim script reply into a {@link ClaimResult}. */
export function parseClaimReply(reply: unknown[], request: ClaimRequest): ClaimResult {
  const [status, a, b] = reply.map(text);
  switch (status) {
    case "won":
      return {
        status,
        run: parseClaimedTuple(request.jobId, [
          a,
          String(request.scheduledAt),
          "schedule",
          "1",
          "1",
          b,
        ]),
      };
    case "lost":
    case "stale":
      return { status, watermark: Number(a) };
    case "notDue":
      return { status, retryAfterMs: Number(a) };
    case "skipped":
    case "queued":
      return { status, runId: String(a) };
    case "definitionChanged":
      return { status, hash: String(a) };
    case "paused":
    case "exhausted":
    case "unknownJob":
      return { status };
    default:
      throw new Error(`unexpected claim reply ${JSON.stringify(reply)}`);
  }
}

/** Turns `{runId, scheduledAt, trigger, attempt, token, leaseExpiresAt}` into a run. */
export function parseClaimedTuple(
  jobId: string,
  tuple: readonly (string | undefined)[],
): ClaimedRun {
  const [runId, scheduledAt, trigger, attempt, token, lease] = tuple;
  if (runId === undefined || (trigger !== "schedule" && trigger !== "manual")) {
    throw new Error(`unexpected run reply ${JSON.stringify(tuple)}`);
  }
  return {
    runId,
    jobId,
    scheduledAt: Number(scheduledAt),
    trigger: trigger satisfies RunTrigger,
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
