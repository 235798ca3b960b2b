import type { FinishRequest, FinishResult, StartRequest, Store } from "../stores/store.js";
import type { RunLedger } from "./lease.js";

/** Most writes of one kind in one store call. */
export const MAX_WRITES_PER_CALL = 500;

/**
 * Coalesces one kind of write into batch calls: a write goes out at once (after the current
 * synchronous work, so the runs one claim chunk started go together) unless a call of its kind
 * is in flight; writes arriving meanwhile queue and go together as soon as it returns. So an
 * idle replica adds no latency, and a burst costs one store call per flush, not one per run.
 */
class Coalescer<Request, Result> {
  private queue: {
    readonly request: Request;
    readonly resolve: (result: Result) => void;
    readonly reject: (error: unknown) => void;
  }[] = [];
  private busy = false;

  constructor(private readonly send: (requests: Request[]) => Promise<Result[]>) {}

  call(request: Request): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (!this.busy) {
        this.busy = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  private flush(): void {
    const batch = this.queue.splice(0, MAX_WRITES_PER_CALL);
    if (batch.length === 0) {
      this.busy = false;
      return;
    }
    Promise.resolve()
      .then(() => this.send(batch.map((entry) => entry.request)))
      .then(
        (results) =>
          batch.forEach((entry, i) =>
            i < results.length
              ? entry.resolve(results[i] as Result)
              : entry.reject(new Error("the store answered fewer results than requests")),
          ),
        (error: unknown) => batch.forEach((entry) => entry.reject(error)),
      )
      .finally(() => this.flush());
  }
}

/**
 * The run writes of `store` with `startRun` and `finishRun` coalesced into `startRuns` and
 * `finishRuns` calls (each item fenced on its own, as the single forms are). Heartbeats and
 * releases are rare and go out one by one. A batch call that fails fails each of its writes
 * with that error, as the single call would have.
 */
export function coalescedLedger(store: Store): RunLedger {
  const starts = new Coalescer<StartRequest, boolean>((requests) => store.startRuns(requests));
  const finishes = new Coalescer<FinishRequest, FinishResult>((requests) =>
    store.finishRuns(requests),
  );
  return {
    startRun: (runId, token, attempt) => starts.call({ runId, token, attempt }),
    heartbeat: (runId, token, leaseMs) => store.heartbeat(runId, token, leaseMs),
    finishRun: (runId, token, outcome, leaseMs) =>
      finishes.call({ runId, token, outcome, leaseMs }),
    releaseRun: (runId, token) => store.releaseRun(runId, token),
  };
}
