import * as writes from "../../protocol/transitions.js";
import type { FinishRequest, FinishResult, RunOutcome, RunRecord, StartRequest } from "../store.js";
import type { MemoryDb } from "./connection.js";

/**
 * Every write of a run the caller owns (token current, lease not expired): start, heartbeat,
 * finish (and hand the lease to the job's queued run), release. A fenced write changes nothing.
 */

/** `Store.startRun`: `claimed` → `running` for this attempt; false when fenced. */
export function startRun(db: MemoryDb, runId: string, token: number, attempt: number): boolean {
  return updateOwned(db, runId, token, (run, now) => writes.startedRow(run, attempt, now));
}

/** `Store.heartbeat`: renews the lease to now + `leaseMs`; false when fenced. */
export function heartbeat(db: MemoryDb, runId: string, token: number, leaseMs: number): boolean {
  return updateOwned(db, runId, token, (run, now) => ({ ...run, leaseExpiresAt: now + leaseMs }));
}

/** `Store.releaseRun`: lets the lease expire now, for recovery to take; false when fenced. */
export function releaseRun(db: MemoryDb, runId: string, token: number): boolean {
  return updateOwned(db, runId, token, (run, now) => ({ ...run, leaseExpiresAt: now }));
}

/** `Store.finishRun`: records the outcome, then starts the job's queued run, if any. */
export function finishRun(
  db: MemoryDb,
  runId: string,
  token: number,
  outcome: RunOutcome,
  leaseMs: number,
): FinishResult {
  const now = db.now();
  const run = db.runs.get(runId);
  if (!writes.isOwned(run, token, now)) return { ok: false, next: null };
  db.runs.put(writes.finishedRow(run, outcome, now));
  const queued = db.runs.open(run.jobId).find((r) => r.state === "queued");
  if (!queued) return { ok: true, next: null };
  const next = writes.takenOverRow(queued, run.replicaId ?? "", leaseMs, now, false);
  db.runs.put(next);
  return { ok: true, next: writes.toClaimedRun(next) };
}

/** `Store.startRuns`: {@link startRun} for each request, in order. */
export function startRuns(db: MemoryDb, requests: readonly StartRequest[]): boolean[] {
  return requests.map((r) => startRun(db, r.runId, r.token, r.attempt));
}

/** `Store.finishRuns`: {@link finishRun} for each request, in order. */
export function finishRuns(db: MemoryDb, requests: readonly FinishRequest[]): FinishResult[] {
  return requests.map((r) => finishRun(db, r.runId, r.token, r.outcome, r.leaseMs));
}

/** Rewrites a run the caller owns (token current, lease not expired); false when fenced. */
function updateOwned(
  db: MemoryDb,
  runId: string,
  token: number,
  change: (run: RunRecord, now: number) => RunRecord,
): boolean {
  const now = db.now();
  const run = db.runs.get(runId);
  if (!writes.isOwned(run, token, now)) return false;
  db.runs.put(change(run, now));
  return true;
}
