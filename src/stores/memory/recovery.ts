import { recoveryAction } from "../../protocol/recovery.js";
import * as writes from "../../protocol/transitions.js";
import { unlessCorrupt } from "../shared/rows.js";
import type { Recovered } from "../store.js";
import type { MemoryDb } from "./connection.js";
import { compareIds } from "./run-table.js";

/**
 * `Store.recoverExpired`: takes the runs whose lease expired, oldest lease first, and decides
 * each with `protocol/recovery.ts` (retry as a new attempt this replica owns, or abandon); then
 * promotes queued runs of jobs left without an active run, within `limit` in total.
 */
export function recoverExpired(
  db: MemoryDb,
  replicaId: string,
  leaseMs: number,
  limit: number,
): Recovered[] {
  const now = db.now();
  const recovered: Recovered[] = [];
  const expired = db.runs
    .open()
    .filter((run) => run.state !== "queued" && !writes.isActive(run, now))
    .sort((a, b) => (a.leaseExpiresAt ?? 0) - (b.leaseExpiresAt ?? 0) || compareIds(a, b));
  for (const run of expired.slice(0, Math.max(0, limit))) {
    const job = unlessCorrupt(() => db.readJob(run.jobId));
    const action = recoveryAction(job, run.attempt, db.hasActiveRun(run.jobId, now));
    const { row, recovered: entry } = writes.recoveredRow(run, action, replicaId, leaseMs, now);
    db.runs.put(row);
    recovered.push(entry);
  }
  for (const run of db.runs.open().filter((r) => r.state === "queued")) {
    if (recovered.length >= limit) break;
    if (db.hasActiveRun(run.jobId, now)) continue;
    const next = writes.takenOverRow(run, replicaId, leaseMs, now, false);
    db.runs.put(next);
    recovered.push({ action: "promoted", run: writes.toClaimedRun(next) });
  }
  return recovered;
}
