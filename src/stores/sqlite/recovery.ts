import { recoveryAction } from "../../protocol/recovery.js";
import * as writes from "../../protocol/transitions.js";
import { unlessCorrupt, type RawRow } from "../shared/rows.js";
import type { Recovered } from "../store.js";
import type { SqliteConnection } from "./connection.js";
import { saveRun, takeOver } from "./runs.js";

/**
 * `Store.recoverExpired`, in one `BEGIN IMMEDIATE` transaction: takes the runs whose lease
 * expired, oldest lease first, and decides each with `protocol/recovery.ts` (retry as a new
 * attempt this replica owns, or abandon); then promotes queued runs of jobs left without an
 * active run, within `limit` in total. The write lock means no other process recovers the same
 * run meanwhile.
 */
export function recoverExpired(
  c: SqliteConnection,
  replicaId: string,
  leaseMs: number,
  limit: number,
): Promise<Recovered[]> {
  return c.write("recoverExpired", (now) => {
    const recovered: Recovered[] = [];
    for (const raw of c.sql.runExpired.all(now, limit) as RawRow[]) {
      const run = c.parseRun(raw);
      const job = unlessCorrupt(() => c.readJob(run.jobId));
      const action = recoveryAction(job, run.attempt, c.hasActiveRun(run.jobId, now));
      const { row, recovered: entry } = writes.recoveredRow(run, action, replicaId, leaseMs, now);
      saveRun(c, row, run.token);
      recovered.push(entry);
    }
    const room = limit - recovered.length;
    for (const raw of room > 0 ? (c.sql.runQueued.all(room) as RawRow[]) : []) {
      const run = c.parseRun(raw);
      if (c.hasActiveRun(run.jobId, now)) continue;
      recovered.push({ action: "promoted", run: takeOver(c, run, replicaId, leaseMs, now, false) });
    }
    return recovered;
  });
}
