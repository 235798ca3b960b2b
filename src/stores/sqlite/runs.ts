import { BelfryError } from "../../errors.js";
import * as writes from "../../protocol/transitions.js";
import { runUpdateValues } from "../sql/shared.js";
import type {
  ClaimedRun,
  FinishRequest,
  FinishResult,
  RunOutcome,
  RunRecord,
  StartRequest,
} from "../store.js";
import type { SqliteConnection } from "./connection.js";

/**
 * Every write of a run, each in one `BEGIN IMMEDIATE` transaction: start, heartbeat, finish (and
 * hand the lease to the job's queued run), release, and the fenced row write recovery uses too.
 * A write from a caller that no longer owns the run (token stale, lease expired) changes nothing.
 */

/** `Store.startRun`: `claimed` → `running` for this attempt; false when fenced. */
export function startRun(
  c: SqliteConnection,
  runId: string,
  token: number,
  attempt: number,
): Promise<boolean> {
  return updateOwned(c, "startRun", runId, token, (run, now) =>
    writes.startedRow(run, attempt, now),
  );
}

/** `Store.startRuns`: {@link startRun} for each request, all in one transaction. */
export function startRuns(
  c: SqliteConnection,
  requests: readonly StartRequest[],
): Promise<boolean[]> {
  return c.write("startRuns", (now) =>
    requests.map(({ runId, token, attempt }) =>
      ownedAt(c, runId, token, now, (run) => writes.startedRow(run, attempt, now)),
    ),
  );
}

/** `Store.finishRuns`: {@link finishRun} for each request, all in one transaction. */
export function finishRuns(
  c: SqliteConnection,
  requests: readonly FinishRequest[],
): Promise<FinishResult[]> {
  return c.write("finishRuns", (now) =>
    requests.map((r) => finishLocked(c, r.runId, r.token, r.outcome, r.leaseMs, now)),
  );
}

/** `Store.heartbeat`: renews the lease to now + `leaseMs`; false when fenced. */
export function heartbeat(
  c: SqliteConnection,
  runId: string,
  token: number,
  leaseMs: number,
): Promise<boolean> {
  return updateOwned(c, "heartbeat", runId, token, (run, now) => ({
    ...run,
    leaseExpiresAt: now + leaseMs,
  }));
}

/** `Store.releaseRun`: lets the lease expire now, for recovery to take; false when fenced. */
export function releaseRun(c: SqliteConnection, runId: string, token: number): Promise<boolean> {
  return updateOwned(c, "releaseRun", runId, token, (run, now) => ({
    ...run,
    leaseExpiresAt: now,
  }));
}

/** `Store.finishRun`: records the outcome, then starts the job's queued run, if any. */
export function finishRun(
  c: SqliteConnection,
  runId: string,
  token: number,
  outcome: RunOutcome,
  leaseMs: number,
): Promise<FinishResult> {
  return c.write("finishRun", (now) => finishLocked(c, runId, token, outcome, leaseMs, now));
}

/** The body of {@link finishRun}, inside a `BEGIN IMMEDIATE` transaction at store time `now`. */
export function finishLocked(
  c: SqliteConnection,
  runId: string,
  token: number,
  outcome: RunOutcome,
  leaseMs: number,
  now: number,
): FinishResult {
  const run = c.readRun(runId);
  if (!writes.isOwned(run, token, now)) return { ok: false, next: null };
  saveRun(c, writes.finishedRow(run, outcome, now), token);
  const queued = c.firstQueued(run.jobId);
  if (!queued) return { ok: true, next: null };
  return { ok: true, next: takeOver(c, queued, run.replicaId ?? "", leaseMs, now, false) };
}

/** Writes the whole row `after`, fenced by the token read before (inside a transaction). */
export function saveRun(c: SqliteConnection, after: RunRecord, tokenBefore: number): void {
  const changed = c.sql.runUpdate.run(...runUpdateValues(after, tokenBefore)).changes;
  if (changed !== 1) {
    const where = c.table("runs");
    throw new BelfryError("STORE_ERROR", `${where}: run ${after.runId} changed under the lock`);
  }
}

/** Hands `run` to `replicaId` with a new token and lease (inside a transaction). */
export function takeOver(
  c: SqliteConnection,
  run: RunRecord,
  replicaId: string,
  leaseMs: number,
  now: number,
  nextAttempt: boolean,
): ClaimedRun {
  const after = writes.takenOverRow(run, replicaId, leaseMs, now, nextAttempt);
  saveRun(c, after, run.token);
  return writes.toClaimedRun(after);
}

/** Rewrites a run the caller owns (token current, lease not expired); false when fenced. */
function updateOwned(
  c: SqliteConnection,
  operation: string,
  runId: string,
  token: number,
  change: (run: RunRecord, now: number) => RunRecord,
): Promise<boolean> {
  return c.write(operation, (now) => ownedAt(c, runId, token, now, (run) => change(run, now)));
}

/** Rewrites a run the caller owns at store time `now` (inside a transaction); false when fenced. */
function ownedAt(
  c: SqliteConnection,
  runId: string,
  token: number,
  now: number,
  change: (run: RunRecord) => RunRecord,
): boolean {
  const run = c.readRun(runId);
  if (!writes.isOwned(run, token, now)) return false;
  saveRun(c, change(run), token);
  return true;
}
