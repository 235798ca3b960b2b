import type { Clock, Timer } from "../clock.js";
import { BelfryError } from "../errors.js";
import type { Store } from "../stores/store.js";
import { wrapStoreMethods } from "./store-calls.js";

/**
 * Store calls left unlimited: `init` connects and migrates, and may rightly wait for another
 * replica's migration lock; `start()` reports its failure itself.
 */
const UNLIMITED = new Set(["init"]);

/**
 * The store behind a proxy that gives every asynchronous call at most `timeoutMs` of `clock`
 * time: a call still pending then rejects with `STORE_ERROR` whose cause is a `TIMEOUT`, so a
 * blackholed connection or a driver's offline queue cannot hang the scheduler. The call itself
 * is not cancelled: a write that timed out here may still land in the store later. That is safe
 * for every write the scheduler makes: each is fenced or conditional, and a claim that lands
 * unseen leaves a run whose lease expires and is recovered under the job's policy.
 */
export function withStoreTimeouts(store: Store, clock: Clock, timeoutMs: number): Store {
  return wrapStoreMethods(store, (operation, call) => {
    if (UNLIMITED.has(operation)) return call;
    return (...args: unknown[]): unknown => {
      const result = call(...args);
      if (!(result instanceof Promise)) return result;
      let timer: Timer | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = clock.setTimer(timeoutMs, () => reject(timedOut(store.kind, operation, timeoutMs)));
      });
      return Promise.race([result, timeout]).finally(() => timer?.cancel());
    };
  });
}

function timedOut(kind: string, operation: string, timeoutMs: number): BelfryError {
  const cause = new BelfryError("TIMEOUT", `no answer within ${timeoutMs} ms (storeTimeout)`);
  return new BelfryError("STORE_ERROR", `store ${kind}: ${operation} timed out: ${cause.message}`, {
    cause,
  });
}
