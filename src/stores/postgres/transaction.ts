import { ACTIVE_STATES_SQL } from "../../protocol/vocabulary.js";
import { wrapError } from "../../errors.js";
import { fencedTransaction } from "../sql/transaction.js";
import type { RunOutcome, TransactionResult } from "../store.js";
import {
  PG_NOW,
  type PgClientLike,
  type PgDb,
  type PgQuery,
  type PgResultLike,
} from "./connection.js";
import { finishWith } from "./runs.js";

/**
 * The handle `run.transaction` passes on PostgreSQL: the `pg` client (a `pg.PoolClient`, typed
 * structurally here) checked out of the store's pool, inside `BEGIN`. Its queries belong to
 * the run's transaction; never `COMMIT`, `ROLLBACK` or release it.
 */
export interface PgTransaction {
  query(text: string, values?: unknown[]): Promise<PgResultLike>;
}

/**
 * `PostgresStore.transactional`: on one pooled connection, `BEGIN` (READ COMMITTED), a check
 * that the caller owns the run, the callback, `finishRun`'s statement (fenced again; its row
 * lock holds recovery off until the commit), `COMMIT`. The check takes no lock, so the owner's
 * heartbeats keep renewing the lease while the callback runs.
 */
export async function transactional<T>(
  db: PgDb,
  runId: string,
  token: number,
  outcome: RunOutcome,
  leaseMs: number,
  fn: (tx: PgTransaction) => T | Promise<T>,
): Promise<TransactionResult<T>> {
  let client: PgClientLike;
  try {
    client = await db.pool.connect();
  } catch (error) {
    throw wrapError("STORE_ERROR", `${db.where}.transactional`, error);
  }
  // A connection dropped mid-transaction emits `error` on the client; the next query reports it.
  const ignore = () => undefined;
  client.on("error", ignore);
  const query: PgQuery = async (text, values) => (await client.query(text, values)).rows;
  let broken: Error | undefined;
  try {
    return await fencedTransaction(
      db.where,
      runId,
      {
        begin: async () => void (await query("BEGIN ISOLATION LEVEL READ COMMITTED")),
        owned: async () => (await query(ownedSql(db), [runId, token])).length > 0,
        finish: () => finishWith(db, query, runId, token, outcome, leaseMs),
        commit: async () => void (await query("COMMIT")),
        rollback: () =>
          query("ROLLBACK").then(
            () => undefined,
            (error: unknown) =>
              void (broken = error instanceof Error ? error : new Error("ROLLBACK failed")),
          ),
      },
      () => fn(client),
    );
  } finally {
    client.removeListener("error", ignore);
    client.release(broken);
  }
}

function ownedSql(db: PgDb): string {
  return `SELECT 1 FROM ${db.tables.runs} WHERE run_id = $1 AND token = $2
    AND state IN ${ACTIVE_STATES_SQL} AND lease_expires_at > ${PG_NOW}`;
}
