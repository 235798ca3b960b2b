import { TERMINAL_STATES } from "../../protocol/vocabulary.js";
import { MY_NOW, affected, type MysqlDb } from "./connection.js";
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
 * The audit side of `MysqlStore`: run history and its pruning, replica rows and warnings. Each
 * is one statement; none takes part in the claim protocol.
 */

/** Run rows for {@link HistoryQuery}, newest first. */
export async function history(db: MysqlDb, query: HistoryQuery): Promise<RunRecord[]> {
  const q = buildHistoryQuery(query);
  const rows = await db.run("history", `SELECT * FROM ${db.tables.runs} ${q.sql}`, q.params);
  return rows.map((row) => parseRunRow(row, `${db.where} table ${db.tables.runs}`));
}

/** Deletes finished rows scheduled before `before`; returns how many. */
export async function prune(db: MysqlDb, before: number): Promise<number> {
  const result = await db.run(
    "prune",
    `DELETE FROM ${db.tables.runs} WHERE scheduled_at < ? AND state IN (?)`,
    [before, TERMINAL_STATES],
  );
  return affected(result);
}

/** Upserts the replica's row, last seen at server now. */
export async function touchReplica(db: MysqlDb, info: ReplicaInfo): Promise<void> {
  const fields = [info.host, info.pid, info.startedAt, Math.round(info.clockOffsetMs)];
  await db.run(
    "touchReplica",
    `INSERT INTO ${db.tables.replicas}
       (replica_id, host, pid, started_at, clock_offset_ms, last_seen_at)
     VALUES (?, ?, ?, ?, ?, ${MY_NOW})
     ON DUPLICATE KEY UPDATE host = ?, pid = ?, started_at = ?, clock_offset_ms = ?,
       last_seen_at = ${MY_NOW}`,
    [info.replicaId, ...fields, ...fields],
  );
}

/** Replicas seen at or after `since`. */
export async function listReplicas(db: MysqlDb, since: number): Promise<ReplicaRecord[]> {
  const rows = await db.run(
    "listReplicas",
    `SELECT * FROM ${db.tables.replicas} WHERE last_seen_at >= ? ORDER BY replica_id`,
    [since],
  );
  return rows.map((row) => parseReplicaRow(row, `${db.where} table ${db.tables.replicas}`));
}

/** Persists a warning at server now. */
export async function addWarning(db: MysqlDb, warning: Omit<WarningRecord, "at">): Promise<void> {
  await db.run(
    "addWarning",
    `INSERT INTO ${db.tables.warnings} (at, replica_id, kind, message) VALUES (${MY_NOW}, ?, ?, ?)`,
    [warning.replicaId, warning.kind, warning.message],
  );
}

/** The newest `limit` warnings, newest first. */
export async function listWarnings(db: MysqlDb, limit: number): Promise<WarningRecord[]> {
  const rows = await db.run(
    "listWarnings",
    `SELECT * FROM ${db.tables.warnings} ORDER BY id DESC LIMIT ?`,
    [Math.max(0, Math.floor(limit))],
  );
  return rows.map((row) => parseWarningRow(row, `${db.where} table ${db.tables.warnings}`));
}
