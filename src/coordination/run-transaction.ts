import { BelfryError } from "../errors.js";
import type { RunContext } from "../options.js";
import { capabilities, TRANSACTIONAL_STORES } from "../stores/shared/capabilities.js";
import type { ClaimedRun, Store, Transactions } from "../stores/store.js";
import type { AttemptErrors } from "./attempt-errors.js";
import { unrecordedLedger, type Lease, type RunLedger } from "./lease.js";

/** What one attempt's {@link RunTransaction} needs from the runner. */
export interface RunTransactionDeps {
  readonly store: Store;
  readonly lease: Lease;
  readonly leaseMs: number;
  /** The attempt's `startRun` write: the outcome may only follow it. */
  readonly marked: Promise<boolean>;
  /** Errors of earlier attempts, written with the outcome. */
  readonly errors: AttemptErrors;
  /** The attempt's signal (timeout, stop, lost lease): no transaction starts once it aborted. */
  readonly signal: AbortSignal;
  /** Runs the job's queued run handed over by the commit. */
  readonly onNext: (run: ClaimedRun) => void;
}

/**
 * `run.transaction` for one attempt: the handler's writes and the run's `succeeded` outcome in
 * one transaction of the store ({@link Transactions}), at most once per attempt. When it
 * committed, the runner writes no outcome of its own ({@link settle}).
 */
export class RunTransaction {
  private pending: Promise<unknown> | null = null;
  private committed = false;
  private closed = false;

  constructor(private readonly deps: RunTransactionDeps) {}

  /** The handler's `run.transaction`. */
  readonly call: RunContext["transaction"] = (fn) => {
    // A handler resuming after its lease lapsed (the attempt already ended) is fenced off.
    if (!this.deps.lease.held()) return Promise.reject(this.lostError());
    if (this.closed || this.pending) {
      return Promise.reject(
        new BelfryError(
          "INVALID_HANDLER",
          `run ${this.deps.lease.run.runId}: run.transaction can be called once per attempt, while its handler runs`,
        ),
      );
    }
    const call = this.commit(fn as (tx: unknown) => unknown);
    this.pending = call.catch(() => undefined);
    return call as Promise<never>;
  };

  /**
   * Waits for a transaction in flight and closes `run.transaction` for this attempt. True when
   * the outcome committed with it, so the runner must not write one.
   */
  async settle(): Promise<boolean> {
    this.closed = true;
    await this.pending;
    return this.committed;
  }

  private lostError(): unknown {
    const { lease } = this.deps;
    return (
      lease.signal.reason ?? new BelfryError("LEASE_LOST", `run ${lease.run.runId}: lease lost`)
    );
  }

  private async commit(fn: (tx: unknown) => unknown): Promise<unknown> {
    const { lease, leaseMs, errors, signal } = this.deps;
    const transactions = transactionsFor(this.deps.store, lease.ledger);
    if (signal.aborted) throw signal.reason;
    if (!(await this.deps.marked) || !lease.held()) throw this.lostError();
    const { runId, token } = lease.run;
    const outcome = { state: "succeeded", error: errors.text() } as const;
    try {
      const result = await transactions.transactional(runId, token, outcome, leaseMs, fn);
      this.committed = true;
      lease.stop();
      if (result.next) this.deps.onNext(result.next);
      return result.value;
    } catch (error) {
      if (error instanceof BelfryError && error.code === "LEASE_LOST" && !lease.lost) {
        lease.lose("the store refused run.transaction");
      }
      throw error;
    }
  }
}

/** `run.transaction` outside a handler (`beforeRun`): always refused. */
export const noTransaction: RunContext["transaction"] = () =>
  Promise.reject(
    new BelfryError("INVALID_HANDLER", "run.transaction is available in the job's handler only"),
  );

/**
 * The store's {@link Transactions} for a run recorded in it.
 * @throws BelfryError `UNSUPPORTED` for a store without them, or a run that has no row (the
 *   `leader` and `lock` coordination modes record no runs).
 */
function transactionsFor(store: Store, ledger: RunLedger): Transactions {
  const { transactions } = capabilities(store);
  if (!transactions) {
    throw new BelfryError(
      "UNSUPPORTED",
      `run.transaction needs a store that commits the run with the handler's writes (${TRANSACTIONAL_STORES}); the ${store.kind} store does not`,
    );
  }
  if (ledger === unrecordedLedger) {
    throw new BelfryError(
      "UNSUPPORTED",
      "run.transaction needs the `occurrence` coordination mode: in `leader` and `lock` modes runs are not recorded, so there is no outcome to commit with",
    );
  }
  return transactions;
}
