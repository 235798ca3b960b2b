import { BelfryError, wrapError } from "../../errors.js";
import type { FinishResult, TransactionResult } from "../store.js";

/**
 * The skeleton of `Transactions.transactional` on the server SQL stores (PostgreSQL, MySQL):
 * begin, check that the caller owns the run, call the handler's callback, write the outcome
 * fenced again, commit; roll back on anything else. Each store supplies the steps on one
 * connection of its driver; SQLite, whose transactions are synchronous, has its own.
 */

/** The driver-specific steps of one fenced transaction, all on one connection. */
export interface FencedSteps {
  begin(): Promise<void>;
  /** True when the token is current, the run active and its lease unexpired (store clock). */
  owned(): Promise<boolean>;
  /** `finishRun` inside the transaction. */
  finish(): Promise<FinishResult>;
  commit(): Promise<void>;
  /** Rolls back; must not throw (a broken connection is discarded by the caller). */
  rollback(): Promise<void>;
}

/** The `LEASE_LOST` error of a transaction refused because the caller no longer owns the run. */
export function transactionRefused(where: string, runId: string, when: string): BelfryError {
  return new BelfryError(
    "LEASE_LOST",
    `${where}.transactional: run ${runId} is no longer owned by the caller (${when}: the token is not current, the run is not active or its lease expired); the transaction was rolled back`,
  );
}

/**
 * Runs `fn` between `steps.begin` and `steps.commit`, fenced before and after.
 * @throws BelfryError `LEASE_LOST` when a fence fails; what `fn` throws, unchanged;
 *   `STORE_ERROR` for a failure of the store's own statements. Each rolls back.
 */
export async function fencedTransaction<T>(
  where: string,
  runId: string,
  steps: FencedSteps,
  fn: () => T | Promise<T>,
): Promise<TransactionResult<T>> {
  const own = async <R>(step: () => Promise<R>): Promise<R> => {
    try {
      return await step();
    } catch (error) {
      throw wrapError("STORE_ERROR", `${where}.transactional`, error);
    }
  };
  try {
    await own(() => steps.begin());
    if (!(await own(() => steps.owned()))) throw transactionRefused(where, runId, "at begin");
    const value = await fn();
    const result = await own(() => steps.finish());
    if (!result.ok) throw transactionRefused(where, runId, "at the outcome write");
    await own(() => steps.commit());
    return { value, next: result.next };
  } catch (error) {
    await steps.rollback();
    throw error;
  }
}
