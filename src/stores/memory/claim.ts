import { randomUUID } from "node:crypto";
import { decideOrRefuse } from "../../protocol/claim.js";
import * as writes from "../../protocol/transitions.js";
import type { ClaimedRun, ClaimRequest, ClaimResult, JobRecord } from "../store.js";
import type { MemoryDb } from "./connection.js";

/**
 * The memory claim: each request is read, decided (`protocol/claim.ts`) and written in one
 * synchronous step, so no other call interleaves with it.
 */
export function claim(db: MemoryDb, requests: readonly ClaimRequest[]): ClaimResult[] {
  return requests.map((request) => claimOne(db, request, db.now()));
}

function claimOne(db: MemoryDb, request: ClaimRequest, now: number): ClaimResult {
  const jobId = request.jobId;
  // The row as checked and normalised by `readJob` (a stored bigint becomes a number), kept so
  // that the write below starts from the values the decision saw, not the raw stored ones.
  const read = { job: null as JobRecord | null };
  const decision = decideOrRefuse(request, () => {
    read.job = db.readJob(jobId);
    return {
      job: read.job,
      now,
      hasActiveRun: db.hasActiveRun(jobId, now),
      hasQueuedRun: db.runs.open(jobId).some((run) => run.state === "queued"),
    };
  });
  if (decision.kind === "refuse") return decision.result;
  const job = read.job as JobRecord;
  const { rows, result } = writes.claimRows(request, decision.write, now, randomUUID);
  for (const row of rows) db.runs.insert(row);
  const runCount = job.runCount + (decision.write.countsAsRun ? 1 : 0);
  db.setJob({ ...job, watermark: request.scheduledAt, runCount });
  db.advanceNextAt(jobId, request.nextAt);
  return result;
}

/** `Store.claimManual`: a manual run at now, or just after the job's newest manual run. */
export function claimManual(
  db: MemoryDb,
  jobId: string,
  replicaId: string,
  leaseMs: number,
): ClaimedRun | null {
  if (!db.jobs.has(jobId)) return null;
  const now = db.now();
  let at = now;
  for (const run of db.runs.all(jobId)) {
    if (run.trigger === "manual" && run.scheduledAt >= at) at = run.scheduledAt + 1;
  }
  const row = writes.manualRow(jobId, at, replicaId, now, leaseMs, randomUUID());
  db.runs.insert(row);
  return writes.toClaimedRun(row);
}

/** `Store.recordMissed`: `missed` rows for the instants above the watermark, which advances. */
export function recordMissed(
  db: MemoryDb,
  jobId: string,
  hash: string,
  instants: readonly number[],
): number[] {
  const job = db.readJob(jobId);
  if (!job || job.hash !== hash) return [];
  const now = db.now();
  const fresh = writes.newMissedInstants(job.watermark, instants, now);
  for (const at of fresh) db.runs.insert(writes.missedRow(jobId, at, now, randomUUID()));
  const newest = fresh[fresh.length - 1];
  if (newest !== undefined) db.setJob({ ...job, watermark: newest });
  return fresh;
}
