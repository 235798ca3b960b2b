import { settledWithin, sleep, type Clock } from "../clock.js";
import { BelfryError } from "../errors.js";
import { ownedRunEvent, type EventHub } from "../observe/events.js";
import { childLogger, runFields, type Logger } from "../observe/logger.js";
import type { RunTracer, SpanOutcome } from "../observe/tracing.js";
import { retryDelay, type JobConfig, type RunContext } from "../options.js";
import type { ClaimedRun, RunOutcome, Store } from "../stores/store.js";
import { AttemptErrors, describeError, previousError } from "./attempt-errors.js";
import { Lease, type RunLedger } from "./lease.js";
import { noTransaction, RunTransaction } from "./run-transaction.js";
import { coalescedLedger } from "./run-writes.js";

/** What a {@link Runner} needs from its scheduler. */
export interface RunnerDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly hub: EventHub;
  readonly logger: Logger;
  readonly replicaId: string;
  readonly leaseMs: number;
  /** Opens a span per attempt (OpenTelemetry, or a no-op). */
  readonly tracer: RunTracer;
  /** Called after every run ends here (a slot is free again). */
  readonly onSettled: () => void;
}

/**
 * The idempotency key of an occurrence: the same on every replica and every attempt. A run
 * outside the series' claim carries its trigger (`…#manual`, `…#backfill`), so a backfill of an
 * instant that also ran as scheduled has a key of its own.
 */
export function idempotencyKey(run: Pick<ClaimedRun, "jobId" | "scheduledAt" | "trigger">): string {
  const key = `${run.jobId}@${new Date(run.scheduledAt).toISOString()}`;
  return run.trigger === "schedule" ? key : `${key}#${run.trigger}`;
}

const FINISH_RETRY_MS = 1_000;

/**
 * Executes runs this replica owns: holds the lease, calls `beforeRun`, the handler (with timeout
 * and retries) and the listeners, and writes the outcome fenced by the run's token. A run whose
 * lease is lost is abandoned here without another write.
 */
export class Runner {
  private readonly active = new Map<string, { lease: Lease; done: Promise<void> }>();
  /** Runs whose handler returned, waiting for their outcome write (see {@link slotsInUse}). */
  private readonly writing = new Set<string>();
  private stopping = false;
  /** The store's run writes, coalesced: a burst's starts and outcomes go in few store calls. */
  private readonly ledger: RunLedger;

  constructor(private readonly deps: RunnerDeps) {
    this.ledger = coalescedLedger(deps.store);
  }

  /** Runs executing on this replica. */
  get activeCount(): number {
    return this.active.size;
  }

  /**
   * Run slots in use under a limit of `limit`: every run here but those whose handler returned
   * and that only wait for their outcome write, which count only beyond `limit` of them. So the
   * next claim of a burst goes out as soon as handlers return, not a store round trip later,
   * while the writes waiting stay bounded.
   */
  slotsInUse(limit: number): number {
    const writing = this.writing.size;
    return this.active.size - writing + Math.max(0, writing - limit);
  }

  /**
   * Starts executing `run` (already claimed by this replica, or `recovered` from a replica whose
   * lease expired) and emits `run:claimed` or `run:recovered`.
   */
  execute(
    config: JobConfig,
    run: ClaimedRun,
    origin: "claimed" | "recovered" = "claimed",
    ledger: RunLedger = this.ledger,
  ): Promise<void> {
    const { clock, hub, replicaId, leaseMs } = this.deps;
    hub.emit(origin === "claimed" ? "run:claimed" : "run:recovered", ownedRunEvent(run, replicaId));
    const lease = new Lease(ledger, clock, run, leaseMs, {
      onLost: (reason) => {
        this.logFor(run).warn({ err: reason }, reason.message);
        hub.emit("run:leaseLost", ownedRunEvent(run, this.deps.replicaId));
      },
      onStoreError: (error) =>
        hub.emit("store:error", { replicaId, operation: "heartbeat", error }),
    });
    const done = this.runAttempts(config, lease, origin === "recovered")
      .catch((error: unknown) =>
        this.logFor(run).error({ err: error }, "belfry: run bookkeeping failed"),
      )
      .finally(() => {
        lease.stop();
        this.active.delete(run.runId);
        this.writing.delete(run.runId);
        this.deps.onSettled();
      });
    this.active.set(run.runId, { lease, done });
    return done;
  }

  /** Takes attempts again after a {@link stop} (the scheduler was restarted). */
  resume(): void {
    this.stopping = false;
  }

  /**
   * Stops taking new attempts. With `drain`, waits up to `timeoutMs` for running handlers;
   * then aborts the rest and releases their leases so another replica recovers them.
   */
  async stop(drain: boolean, timeoutMs: number): Promise<void> {
    this.stopping = true;
    const all = () => Promise.all([...this.active.values()].map((entry) => entry.done));
    if (drain && this.active.size > 0) await settledWithin(this.deps.clock, all(), timeoutMs);
    const reason = new BelfryError("ABORTED", "the scheduler is stopping");
    for (const entry of this.active.values()) entry.lease.abort(reason);
    if (this.active.size > 0)
      await settledWithin(this.deps.clock, all(), Math.min(timeoutMs, 1_000));
    for (const entry of this.active.values()) entry.lease.stop();
  }

  private contextOf(
    config: JobConfig,
    lease: Lease,
    attempt: number,
    signal: AbortSignal,
    transaction: RunContext["transaction"] = noTransaction,
  ): RunContext {
    const { run } = lease;
    return {
      jobId: run.jobId,
      scheduledAt: new Date(run.scheduledAt),
      idempotencyKey: idempotencyKey(run),
      attempt,
      runId: run.runId,
      trigger: run.trigger,
      signal,
      get leaseExpiresAt() {
        return new Date(lease.expiresAt);
      },
      fencingToken: lease.token,
      assertLease: () => lease.assertHeld(),
      replicaId: this.deps.replicaId,
      task: config.runtime?.task ?? null,
      scheduleKey: config.runtime?.key ?? null,
      data: config.runtime?.data,
      logger: this.logFor({ ...run, attempt }),
      transaction,
    };
  }

  /** The logger for lines about `run`: every line carries the run's fields. */
  private logFor(run: ClaimedRun): Logger {
    return childLogger(this.deps.logger, runFields(run));
  }

  private async runAttempts(config: JobConfig, lease: Lease, recovered: boolean): Promise<void> {
    const { run } = lease;
    const { hub } = this.deps;
    const store = lease.ledger;
    let verdict: boolean | void = true;
    try {
      verdict = await config.beforeRun?.(this.contextOf(config, lease, run.attempt, lease.signal));
    } catch (error) {
      // A throwing beforeRun fails the occurrence rather than leaving it claimed.
      this.logFailure(run, run.attempt, error, false);
      await this.finish(config, lease, {
        state: "failed",
        error: `beforeRun: ${describeError(error)}`,
      });
      return;
    }
    if (verdict === false) {
      hub.emit("run:skipped", { ...ownedRunEvent(run, this.deps.replicaId), reason: "beforeRun" });
      await this.finish(config, lease, { state: "skipped", error: "skipped by beforeRun" });
      return;
    }
    const errors = new AttemptErrors(recovered ? await previousError(this.deps.store, run) : null);
    for (let attempt = run.attempt; ; attempt++) {
      if (!lease.held()) return;
      const marked = this.markRunning(lease, attempt);
      const outcome = await this.attempt(config, lease, attempt, marked, errors);
      if (outcome === "done" || lease.lost) return;
      if (this.stopping) {
        await store.releaseRun(run.runId, run.token);
        return;
      }
      try {
        await sleep(this.deps.clock, retryDelay(config.retry, attempt), lease.signal);
      } catch {
        if (!lease.lost) await store.releaseRun(run.runId, run.token);
        return;
      }
    }
  }

  /**
   * Marks the run `running` for `attempt`. The claim (or take-over) already fenced the run, so
   * the handler starts while this write is in flight instead of a round trip later; a refusal
   * loses the lease (the handler's signal aborts), and the outcome is written only after this
   * write landed, so the run's writes stay in order.
   */
  private markRunning(lease: Lease, attempt: number): Promise<boolean> {
    const { run } = lease;
    return lease.ledger.startRun(run.runId, run.token, attempt).then(
      (ok) => {
        if (!ok) lease.lose("the store refused to mark the run running");
        return ok;
      },
      (error: unknown) => {
        // The row stays `claimed`; heartbeats and the outcome write still carry the run.
        this.deps.hub.emit("store:error", {
          replicaId: this.deps.replicaId,
          operation: "startRun",
          error,
        });
        return true;
      },
    );
  }

  /**
   * One attempt; "retry" when it failed and another attempt is allowed. `run:succeeded` and
   * `afterRun` (or, for the last failure, `run:failed` and `afterError`) follow only once the
   * store accepted the outcome; a refused outcome is `run:leaseLost` instead.
   */
  private async attempt(
    config: JobConfig,
    lease: Lease,
    attempt: number,
    marked: Promise<boolean>,
    errors: AttemptErrors,
  ): Promise<"done" | "retry"> {
    const { run } = lease;
    const { hub, clock, replicaId } = this.deps;
    const controller = new AbortController();
    const transaction = new RunTransaction({
      store: this.deps.store,
      lease,
      leaseMs: this.deps.leaseMs,
      marked,
      errors,
      signal: controller.signal,
      onNext: (next) => void this.execute(config, next),
    });
    const context = this.contextOf(config, lease, attempt, controller.signal, transaction.call);
    const event = ownedRunEvent({ ...run, attempt }, replicaId);
    const startedAt = clock.now();
    // Lag on store time: how long after its nominal instant the attempt started.
    hub.emit("run:started", { ...event, lagMs: startedAt - run.scheduledAt });
    const span = this.deps.tracer.start({ ...run, attempt, replicaId });
    let outcome: SpanOutcome = "leaseLost";
    let failure: unknown;
    this.writing.delete(run.runId);
    try {
      const result = await span.run(() => this.callHandler(config, context, controller, lease));
      this.handlerReturned(run);
      const durationMs = clock.now() - startedAt;
      // Unless run.transaction committed the outcome with the handler's writes, write it now.
      if (!(await transaction.settle())) {
        if (!(await marked)) return "done";
        const succeeded = { state: "succeeded", error: errors.text() } as const;
        if (!(await this.finish(config, lease, succeeded))) return "done";
      }
      outcome = "succeeded";
      hub.emit("run:succeeded", { ...event, durationMs });
      await this.listener(context.logger, "afterRun", () => config.afterRun?.(context, result));
      return "done";
    } catch (error) {
      failure = error;
      if (await transaction.settle()) {
        // The outcome committed with the handler's writes; what the handler threw later (or a
        // timeout while the commit was in flight) cannot change it.
        context.logger.warn(
          { err: error },
          "belfry: handler threw after run.transaction committed",
        );
        outcome = "succeeded";
        hub.emit("run:succeeded", { ...event, durationMs: clock.now() - startedAt });
        return "done";
      }
      if (!(await marked) || !lease.held()) return "done";
      const stopped = this.stopping && isAborted(error);
      const willRetry = !stopped && attempt <= config.retry.max;
      errors.add(attempt, error);
      this.logFailure(run, attempt, error, willRetry);
      if (!stopped && !willRetry) {
        // A run that retries keeps its slot through its backoff; a failed one only writes now.
        this.handlerReturned(run);
        const failed = { state: "failed", error: errors.text() } as const;
        if (!(await this.finish(config, lease, failed))) return "done";
      }
      outcome = stopped ? "stopped" : willRetry ? "retrying" : "failed";
      hub.emit("run:failed", { ...event, error, willRetry });
      await this.listener(context.logger, "afterError", () => config.afterError?.(context, error));
      return stopped || willRetry ? "retry" : "done";
    } finally {
      span.end(outcome, failure);
    }
  }

  /** The run's handler returned: its slot is free for the next claim (see {@link slotsInUse}). */
  private handlerReturned(run: ClaimedRun): void {
    if (this.writing.has(run.runId)) return;
    this.writing.add(run.runId);
    this.deps.onSettled();
  }

  /** A failed attempt, at warn level, with what an operator needs to find the run. */
  private logFailure(run: ClaimedRun, attempt: number, error: unknown, willRetry: boolean): void {
    const { jobId, runId } = run;
    this.deps.logger.warn(
      {
        jobId,
        runId,
        scheduledAt: new Date(run.scheduledAt).toISOString(),
        attempt,
        replicaId: this.deps.replicaId,
        err: error,
        willRetry,
      },
      willRetry ? "belfry: run attempt failed; retrying" : "belfry: run failed",
    );
  }

  /** Runs an `afterRun`/`afterError` listener; what it throws is logged, never the run's fate. */
  private async listener(log: Logger, name: string, call: () => unknown): Promise<void> {
    try {
      await call();
    } catch (error) {
      log.error({ err: error, listener: name }, `belfry: ${name} listener threw`);
    }
  }

  private async callHandler(
    config: JobConfig,
    context: RunContext,
    controller: AbortController,
    lease: Lease,
  ): Promise<unknown> {
    const onLeaseAbort = () => controller.abort(lease.signal.reason);
    lease.signal.addEventListener("abort", onLeaseAbort, { once: true });
    if (lease.signal.aborted) onLeaseAbort();
    const timer =
      config.timeoutMs === null
        ? null
        : this.deps.clock.setTimer(config.timeoutMs, () =>
            controller.abort(
              new BelfryError(
                "TIMEOUT",
                `job ${JSON.stringify(config.id)}: handler timed out after ${config.timeoutMs} ms`,
              ),
            ),
          );
    const aborted = new Promise<never>((_, reject) => {
      const rejectNow = () => reject(controller.signal.reason);
      if (controller.signal.aborted) rejectNow();
      controller.signal.addEventListener("abort", rejectNow, { once: true });
    });
    aborted.catch(() => {});
    try {
      return await Promise.race([Promise.resolve().then(() => config.handler(context)), aborted]);
    } finally {
      timer?.cancel();
      lease.signal.removeEventListener("abort", onLeaseAbort);
    }
  }

  /**
   * Writes the outcome, retrying store errors while the lease holds; runs a handed-on queued
   * run. True when the store accepted the outcome. Nothing is written once the lease's local
   * deadline passed: a late outcome (the process was paused) is not this replica's to write.
   */
  private async finish(config: JobConfig, lease: Lease, outcome: RunOutcome): Promise<boolean> {
    const { hub, replicaId, leaseMs, clock } = this.deps;
    const { run } = lease;
    const store = lease.ledger;
    for (;;) {
      if (!lease.held()) return false;
      try {
        const result = await store.finishRun(run.runId, run.token, outcome, leaseMs);
        if (!result.ok) {
          // The lease expired or another replica took the run over: its outcome is not ours.
          this.logFor(run).warn({ outcome: outcome.state }, "belfry: outcome refused, lease lost");
          hub.emit("run:leaseLost", ownedRunEvent(run, replicaId));
        }
        if (result.next) {
          void this.execute(config, result.next);
        }
        return result.ok;
      } catch (error) {
        hub.emit("store:error", { replicaId, operation: "finishRun", error });
        await sleep(clock, FINISH_RETRY_MS);
      }
    }
  }
}

function isAborted(error: unknown): boolean {
  return error instanceof BelfryError && (error.code === "ABORTED" || error.code === "LEASE_LOST");
}
