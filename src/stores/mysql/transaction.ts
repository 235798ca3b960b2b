import { wrapError } from "../../errors.js";
import { ACTIVE_STATES_SQL } from "../../protocol/vocabulary.js";
import { fencedTransaction } from "../sql/transaction.js";
import type { RawRow } from "../shared/rows.js";
import type { RunOutcome, TransactionResult } from "../store.js";
import { MY_NOW, type MysqlConnectionLike, type MysqlDb, type MysqlQuery } from "./connection.js";
import { finishLocked } from "./runs.js";

/**
 * The handle `run.transaction` passes on MySQL / MariaDB: the `mysql2/promise` connection (a
 * `PoolConnection`, typed structurally here) checked out of the store's pool, inside
 * `START TRANSACTION` (READ COMMITTED). Its queries belong to the run's transaction; never
 * `COMMIT`, `ROLLBACK`, release it or run DDL on it (DDL commits implicitly in MySQL).
 */
export interface MysqlTransaction {
  query(sql: string, values?: unknown): Promise<[unknown, unknown]>;
}

/**
 * `MysqlStore.transactional`: on one pooled connection, `START TRANSACTION`, a check that the
 * caller owns the run, the callback, then `finishRun`'s locked path (the run row `FOR UPDATE`,
 * fenced again, the queued hand-over) and `COMMIT`. The check takes no lock, so the owner's
 * heartbeats keep renewing the lease while the callback runs.
 */
export async function transactional<T>(
  db: MysqlDb,
  runId: string,
  token: number,
  outcome: RunOutcome,
  leaseMs: number,
  fn: (tx: MysqlTransaction) => T | Promise<T>,
): Promise<TransactionResult<T>> {
  let conn: MysqlConnectionLike;
  try {
    conn = await db.connect();
  } catch (error) {
    throw wrapError("STORE_ERROR", `${db.where}.transactional`, error);
  }
  const query: MysqlQuery = async (sql, values) => (await conn.query(sql, values))[0] as RawRow[];
  let broken = false;
  try {
    return await fencedTransaction(
      db.where,
      runId,
      {
        begin: async () => void (await query("START TRANSACTION")),
        owned: async () => (await query(ownedSql(db), [runId, token])).length > 0,
        finish: () => finishLocked(db, query, runId, token, outcome, leaseMs),
        commit: async () => void (await query("COMMIT")),
        rollback: () =>
          query("ROLLBACK").then(
            () => undefined,
            () => void (broken = true),
          ),
      },
      () => fn(conn),
    );
  } finally {
    if (broken) conn.destroy();
    else conn.release();
  }
}

function ownedSql(db: MysqlDb): string {
  return `SELECT 1 FROM ${db.tables.runs} WHERE run_id = ? AND token = ?
    AND state IN ${ACTIVE_STATES_SQL} AND lease_expires_at > ${MY_NOW}`;
}
