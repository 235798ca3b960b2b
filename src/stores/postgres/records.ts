import { TERMINAL_STATES } from "../../protocol/vocabulary.js";
import { PG_NOW, type PgDb } from "./connection.js";
import { parseReplicaRow, parseRunRow, parseWarningRow } from "../shared/rows.js";
import { buildHistoryQuery } from "../sql/shared.js";
import type {
  HistoryQuery,
  ReplicaInfo,
  ReplicaRecord,
  RunRecord,
  WarningRecord,
} from "../store.js";

/**
 * The read and audit side of `PostgresStore`: run history and its retention, replica records
 * and warnings. None of these takes part in the claim protocol.
 */

/** Runs matching `query`, newest first (see `buildHistoryQuery`). */
export async function history(db: PgDb, query: HistoryQuery): Promise<RunRecord[]> {
  const { runs } = db.tables;
  const q = buildHistoryQuery(query, (n) => `$${n}`);
  const rows = await db.rows("history", `SELECT * FROM ${runs} ${q.sql}`, q.params);
  return rows.map((row) => parseRunRow(row, `PostgresStore table ${runs}`));
}

/** Deletes runs in a terminal state scheduled before `before`; returns how many. */
export async function prune(db: PgDb, before: number): Promise<number> {
  const rows = await db.rows(
    "prune",
    `WITH gone AS (DELETE FROM ${db.tables.runs}
       WHERE scheduled_at < $1 AND state = ANY($2::text[]) RETURNING 1)
     SELECT count(*) AS removed FROM gone`,
    [before, TERMINAL_STATES],
  );
  return Number(rows[0]?.removed ?? 0);
}

/** Upserts the replica's record with `last_seen_at` = store now. */
export async function touchReplica(db: PgDb, info: ReplicaInfo): Promise<void> {
  await db.rows(
    "touchReplica",
    `INSERT INTO ${db.tables.replicas}
       (replica_id, host, pid, started_at, clock_offset_ms, last_seen_at)
     VALUES ($1, $2, $3, $4, $5, ${PG_NOW})
     ON CONFLICT (replica_id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid,
       started_at = EXCLUDED.started_at, clock_offset_ms = EXCLUDED.clock_offset_ms,
       last_seen_at = EXCLUDED.last_seen_at`,
    [info.replicaId, info.host, info.pid, info.startedAt, Math.round(info.clockOffsetMs)],
  );
}

/** Replicas seen at or after `since`, by replica id. */
export async function listReplicas(db: PgDb, since: number): Promise<ReplicaRecord[]> {
  const { replicas } = db.tables;
  const rows = await db.rows(
    "listReplicas",
    `SELECT * FROM ${replicas} WHERE last_seen_at >= $1 ORDER BY replica_id`,
    [since],
  );
  return rows.map((row) => parseReplicaRow(row, `PostgresStore table ${replicas}`));
}

/** Stores a warning stamped with store now. */
export async function addWarning(db: PgDb, warning: Omit<WarningRecord, "at">): Promise<void> {
  await db.rows(
    "addWarning",
    `INSERT INTO ${db.tables.warnings} (at, replica_id, kind, message)
     VALUES (${PG_NOW}, $1, $2, $3)`,
    [warning.replicaId, warning.kind, warning.message],
  );
}

/** The newest `limit` warnings, newest first. */
export async function listWarnings(db: PgDb, limit: number): Promise<WarningRecord[]> {
  const { warnings } = db.tables;
  const rows = await db.rows(
    "listWarnings",
    `SELECT * FROM ${warnings} ORDER BY id DESC LIMIT $1`,
    [Math.max(0, Math.floor(limit))],
  );
  return rows.map((row) => parseWarningRow(row, `PostgresStore table ${warnings}`));
}
