import { randomUUID } from "node:crypto";
import { missedToRecord } from "../../protocol/claim.js";
import { list, record, runGroups, text, type Step } from "./connection.js";
import { runSteps, settledValue, type RedisContext } from "./records.js";
import { FENCED_WRITE, FINISH } from "./run-scripts.js";
import { CLAIM, CLAIM_MANUAL, RECORD_MISSED, REGISTER, SET_PAUSED } from "./scripts.js";
import { parseClaimedTuple, parseClaimReply, scriptFailure } from "./keys.js";
import { parseJobRow } from "../rows.js";
import type {
  ClaimedRun,
  ClaimRequest,
  ClaimResult,
  FinishResult,
  JobRegistration,
  RegisterResult,
  RunOutcome,
} from "../store.js";

/**
 * The write side of the Redis store: registration and claims (one script per job, batched in
 * one pipeline) and the fenced writes about a run. Each claim pipeline writes, per request,
 * `HSET runjob` → the claim script → `ZADD leases`, so that the lease index entry of a run
 * always comes after the run exists (see `redis-recovery.ts`).
 */

const RUN_CACHE_SIZE = 10_000;

/**
 * Which job a run belongs to. Run-level methods of `Store` receive only a run id, but the run's
 * keys live in its job's hash slot: the store looks the job up here (runs this instance
 * claimed), else in the store-wide `runjob` hash.
 */
export class RunJobCache {
  private readonly entries = new Map<string, string>();

  constructor(private readonly context: RedisContext) {}

  /** The job of `runId`, or null when no store knows the run. */
  async jobOf(runId: string): Promise<string | null> {
    const cached = this.entries.get(runId);
    if (cached !== undefined) return cached;
    const jobId = await this.context.client.call("hget", this.context.keys.runJobs, runId);
    return jobId === null || jobId === undefined ? null : text(jobId);
  }

  /** Caches the job of a run (null: forgets it), keeping the newest {@link RUN_CACHE_SIZE}. */
  remember(runId: string, jobId: string | null): void {
    this.entries.delete(runId);
    if (jobId === null) return;
    this.entries.set(runId, jobId);
    const oldest = this.entries.keys().next();
    if (this.entries.size > RUN_CACHE_SIZE && !oldest.done) this.entries.delete(oldest.value);
  }
}

/** `Store.registerJob`: SADD to the job list, then the register script. */
export async function registerJobRow(
  context: RedisContext,
  reg: JobRegistration,
): Promise<RegisterResult> {
  const { base, keys } = context.keys.job(reg.jobId);
  const args = [base, reg.jobId, reg.hash, reg.definition, reg.anchor, reg.overlap];
  args.push(reg.onAbandoned, reg.maxAttempts, reg.maxRuns ?? "");
  const reply = await runSteps(context.client, [
    { command: "sadd", args: [context.keys.jobs, reg.jobId] },
    { script: REGISTER, keys, args },
  ]);
  const [outcome, previous, row] = list(reply[1]);
  const status = text(outcome);
  if (status !== "created" && status !== "unchanged" && status !== "updated") {
    throw new Error(`unexpected registration outcome ${status}`);
  }
  const job = parseJobRow(record(row), `RedisStore key ${keys[0]}`);
  return { job, outcome: status, previousHash: status === "created" ? null : text(previous) };
}

/** `Store.setPaused`. */
export async function setJobPaused(
  context: RedisContext,
  jobId: string,
  paused: boolean,
): Promise<boolean> {
  const { base, keys } = context.keys.job(jobId);
  const args = [base, jobId, paused ? "1" : "0"];
  const [reply] = await runSteps(context.client, [{ script: SET_PAUSED, keys, args }]);
  return Number(text(reply)) === 1;
}

/**
 * `Store.claim`: one pipeline, one claim script per request, in request order per job. A script
 * that failed on its own job's data is that request's `error` result; the other scripts of the
 * pipeline ran and their results stand. Any other failure rejects the call.
 */
export async function claimRuns(
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
export async function claimManualRun(
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
export async function recordMissedRuns(
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

/** `startRun`, `heartbeat` and `releaseRun`: the fenced write script of the run's job. */
export async function fencedWrite(
  context: RedisContext,
  cache: RunJobCache,
  runId: string,
  token: number,
  mode: "start" | "heartbeat" | "release",
  value: number,
): Promise<boolean> {
  const jobId = await cache.jobOf(runId);
  if (jobId === null) return false;
  const { keys: k } = context;
  const { base, keys } = k.job(jobId);
  const steps: Step[] = [
    { script: FENCED_WRITE, keys, args: [base, jobId, runId, token, mode, value] },
  ];
  // A released run must be found by the next sweep, not when its old lease would have expired.
  if (mode === "release") {
    steps.push({ command: "zadd", args: [k.leases, 0, k.member(jobId, runId)] });
  }
  const [reply] = await runSteps(context.client, steps);
  return Number(text(reply)) === 1;
}

/** `Store.finishRun`. */
export async function finishRunRow(
  context: RedisContext,
  cache: RunJobCache,
  runId: string,
  token: number,
  outcome: RunOutcome,
  leaseMs: number,
): Promise<FinishResult> {
  const jobId = await cache.jobOf(runId);
  if (jobId === null) return { ok: false, next: null };
  const { base, keys } = context.keys.job(jobId);
  const error = outcome.error ?? null;
  const args = [base, jobId, runId, token, outcome.state, error === null ? "0" : "1", error ?? ""];
  args.push(leaseMs, context.historyLimit, context.retentionMs);
  const [reply] = await runSteps(context.client, [{ script: FINISH, keys, args }]);
  const [ok, next] = list(reply);
  if (Number(text(ok)) !== 1) return { ok: false, next: null };
  const tuple = list(next).map(text);
  if (tuple.length === 0) return { ok: true, next: null };
  const run = parseClaimedTuple(jobId, tuple);
  cache.remember(run.runId, jobId);
  return { ok: true, next: run };
}
