import type { Clock } from "../../clock.js";
import { BelfryError } from "../../errors.js";
import { isOwned } from "../../protocol/transitions.js";
import type { RawRow } from "../shared/rows.js";
import { transactionRefused } from "../sql/transaction.js";
import type { RunOutcome, TransactionResult } from "../store.js";
import type { SqliteConnection } from "./connection.js";
import { finishLocked } from "./runs.js";

/**
 * The handle `run.transaction` passes on SQLite: synchronous statements on the store's own
 * connection, inside its `BEGIN IMMEDIATE` transaction. Parameters are `?` placeholders (each
 * distinct SQL text is prepared once and kept while the store is open, so never build SQL
 * text from values). The handle works only while the callback runs.
 */
export interface SqliteTransaction {
  /** Runs a write; `changes` is the number of rows it changed. */
  run(sql: string, ...params: unknown[]): { changes: number };
  /** All rows of a query. */
  all(sql: string, ...params: unknown[]): RawRow[];
  /** The first row of a query, or undefined. */
  get(sql: string, ...params: unknown[]): RawRow | undefined;
}

/**
 * `SqliteStore.transactional`. The whole transaction is one synchronous step, like every write
 * of the store: `BEGIN IMMEDIATE` (retried asynchronously while another process holds the
 * lock), the ownership check, the callback, the outcome (fenced again at the clock's time after
 * the callback) and `COMMIT`. So the callback must be synchronous: a transaction that spanned
 * an `await` would hold the file's write lock for every process meanwhile. A callback that
 * returns a promise is refused (`INVALID_HANDLER`) and its writes rolled back.
 *
 * @throws BelfryError `LEASE_LOST`, `INVALID_HANDLER`, `STORE_ERROR`; what `fn` throws, unchanged.
 */
export async function transactional<T>(
  c: SqliteConnection,
  clock: Clock,
  runId: string,
  token: number,
  outcome: RunOutcome,
  leaseMs: number,
  fn: (tx: SqliteTransaction) => T | Promise<T>,
): Promise<TransactionResult<T>> {
  const where = c.table("runs");
  let thrown: { error: unknown } | null = null;
  try {
    return await c.write("transactional", (now) => {
      thrown = null;
      if (!isOwned(c.readRun(runId), token, now))
        throw transactionRefused(where, runId, "at begin");
      const value = callOnce(c, where, fn, (error) => (thrown = { error }));
      const result = finishLocked(c, runId, token, outcome, leaseMs, clock.now());
      if (!result.ok) throw transactionRefused(where, runId, "at the outcome write");
      return { value, next: result.next };
    });
  } catch (error) {
    // The callback's own error, not the store's: hand it back as it was thrown.
    if (thrown) throw (thrown as { error: unknown }).error;
    throw error;
  }
}

/** Calls `fn` with a handle that works only during the call; refuses a promise. */
function callOnce<T>(
  c: SqliteConnection,
  where: string,
  fn: (tx: SqliteTransaction) => T | Promise<T>,
  onThrow: (error: unknown) => void,
): T {
  let open = true;
  const statement = (sql: string) => {
    if (!open) {
      throw new BelfryError(
        "INVALID_HANDLER",
        `${where}: the run.transaction handle was used after its transaction ended`,
      );
    }
    return c.statement(sql);
  };
  const tx: SqliteTransaction = {
    run: (sql, ...params) => ({ changes: Number(statement(sql).run(...params).changes) }),
    all: (sql, ...params) => statement(sql).all(...params) as RawRow[],
    get: (sql, ...params) => statement(sql).get(...params) as RawRow | undefined,
  };
  let value: T | Promise<T>;
  try {
    value = fn(tx);
  } catch (error) {
    onThrow(error);
    throw error;
  } finally {
    open = false;
  }
  if (isThenable(value)) {
    // Its rejection (a use of the closed handle, say) must not go unhandled.
    value.then(undefined, () => undefined);
    throw new BelfryError(
      "INVALID_HANDLER",
      `${where}: the run.transaction callback returned a promise; on SQLite it must be synchronous (use tx.run / tx.all / tx.get, no await), because a transaction held across an await would hold the database's write lock for every process; its writes were rolled back`,
    );
  }
  return value as T;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
