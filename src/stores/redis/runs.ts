import { list, runSteps, text } from "./connection.js";
import type { RedisContext, Step } from "./connection.js";
import { parseClaimedTuple } from "./claim.js";
import { FENCED_WRITE, FINISH } from "./scripts/runs.js";
import type { FinishResult, RunOutcome } from "../store.js";

/**
 * Every write about a run its owner holds: `startRun`, `heartbeat`, `releaseRun` (one fenced
 * script) and `finishRun` (the terminal write, which hands a queued run over), plus the lookup
 * of a run's job that each of them needs.
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

/** `Store.startRun`. */
export async function startRun(
  context: RedisContext,
  cache: RunJobCache,
  runId: string,
  token: number,
  attempt: number,
): Promise<boolean> {
  return fencedWrite(context, cache, runId, token, "start", attempt);
}

/** `Store.heartbeat`. */
export async function heartbeat(
  context: RedisContext,
  cache: RunJobCache,
  runId: string,
  token: number,
  leaseMs: number,
): Promise<boolean> {
  return fencedWrite(context, cache, runId, token, "heartbeat", leaseMs);
}

/** `Store.releaseRun`. */
export async function releaseRun(
  context: RedisContext,
  cache: RunJobCache,
  runId: string,
  token: number,
): Promise<boolean> {
  return fencedWrite(context, cache, runId, token, "release", 0);
}

/** The fenced write script of the run's job. */
async function fencedWrite(
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
export async function finishRun(
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
