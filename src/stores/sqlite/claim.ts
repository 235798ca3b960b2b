import { decideOrRefuse } from "../../protocol/claim.js";
import * as writes from "../../protocol/transitions.js";
import { parseEpochOrNull, type RawRow } from "../shared/rows.js";
import { newRunId, runValues } from "../sql/shared.js";
import type { ClaimedRun, ClaimRequest, ClaimResult } from "../store.js";
import type { SqliteConnection } from "./connection.js";
import { advanceNextAt } from "./schedule-times.js";

/**
 * The SQLite claim: one `BEGIN IMMEDIATE` transaction per batch (SQLite's write lock serialises
 * the processes racing on an occurrence, so exactly one wins). Inside it each request is read,
 * decided (`protocol/claim.ts`) and written in turn.
 */
export function claim(
  c: SqliteConnection,
  requests: readonly ClaimRequest[],
): Promise<ClaimResult[]> {
  return c.write("claim", (now) => requests.map((request) => claimOne(c, request, now)));
}

/**
 * One claim inside the batch's transaction: read, decide, write. A corrupt row of the request's
 * job is read before anything is written, so it refuses only this request (its `error` result).
 */
function claimOne(c: SqliteConnection, request: ClaimRequest, now: number): ClaimResult {
  const decision = decideOrRefuse(request, () => ({
    job: c.readJob(request.jobId),
    now,
    hasActiveRun: c.hasActiveRun(request.jobId, now),
    hasQueuedRun: c.firstQueued(request.jobId) !== null,
  }));
  if (decision.kind === "refuse") return decision.result;
  const { rows, result } = writes.claimRows(request, decision.write, now, newRunId);
  rows.forEach((row, i) => {
    const insert = i < rows.length - 1 ? c.sql.runInsertIgnore : c.sql.runInsert;
    insert.run(...runValues(row));
  });
  const counts = decision.write.countsAsRun ? 1 : 0;
  c.sql.jobAdvance.run(request.scheduledAt, counts, request.jobId);
  // Every result that gets here wrote rows and moved the watermark: a runtime schedule's next
  // instant moves with it, in the same transaction.
  advanceNextAt(c, request.jobId, request.nextAt);
  return result;
}

/** `Store.claimManual`: a manual run at now, or just after the job's newest manual run. */
export function claimManual(
  c: SqliteConnection,
  jobId: string,
  replicaId: string,
  leaseMs: number,
): Promise<ClaimedRun | null> {
  return c.write("claimManual", (now) => claimManualLocked(c, jobId, replicaId, leaseMs, now));
}

/**
 * {@link claimManual} inside a write transaction the caller holds (also `claimTriggered`'s),
 * at store time `now`.
 */
export function claimManualLocked(
  c: SqliteConnection,
  jobId: string,
  replicaId: string,
  leaseMs: number,
  now: number,
): ClaimedRun | null {
  if (!c.readJob(jobId)) return null;
  const raw = c.sql.runLastManual.get(jobId, now) as RawRow | undefined;
  const last = parseEpochOrNull(raw?.at, "scheduled_at", c.table("runs"));
  const at = last === null ? now : last + 1;
  const row = writes.manualRow(jobId, at, replicaId, now, leaseMs, newRunId());
  c.sql.runInsert.run(...runValues(row));
  return writes.toClaimedRun(row);
}

/** `Store.recordMissed`: `missed` rows for the instants above the watermark, which advances. */
export function recordMissed(
  c: SqliteConnection,
  jobId: string,
  hash: string,
  instants: readonly number[],
): Promise<number[]> {
  return c.write("recordMissed", (now) => {
    const job = c.readJob(jobId);
    if (!job || job.hash !== hash) return [];
    const fresh = writes.newMissedInstants(job.watermark, instants, now);
    for (const at of fresh) {
      c.sql.runInsertIgnore.run(...runValues(writes.missedRow(jobId, at, now, newRunId())));
    }
    const newest = fresh[fresh.length - 1];
    if (newest !== undefined) c.sql.jobAdvance.run(newest, 0, jobId);
    return fresh;
  });
}
