import type { Clock } from "../clock.js";
import type { Store } from "../stores/store.js";

/** One finished store call, as {@link instrumentStore} reports it. */
export interface StoreCall {
  /** The `Store` method called (`claim`, `heartbeat`, `recoverExpired`, …). */
  readonly operation: string;
  /** How long the call took, ms of the scheduler's clock. */
  readonly durationMs: number;
  /** False when the call rejected. */
  readonly ok: boolean;
}

/**
 * The store seen through a proxy that times every asynchronous method call and reports it to
 * `onCall` (the metrics' store latency and the health check read it). Everything else passes
 * through unchanged: properties, and the absence of an optional capability's methods.
 */
export function instrumentStore(
  store: Store,
  clock: Clock,
  onCall: (call: StoreCall) => void,
): Store {
  // Keyed by the method itself, so a method replaced on the store (fault injection) is seen.
  const wrapped = new WeakMap<object, unknown>();
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function" || typeof property !== "string") return value;
      let method = wrapped.get(value);
      if (!method) {
        method = timed(property, value.bind(target) as (...args: unknown[]) => unknown);
        wrapped.set(value, method);
      }
      return method;
    },
  });

  function timed(operation: string, call: (...args: unknown[]) => unknown) {
    return (...args: unknown[]): unknown => {
      const startedAt = clock.now();
      const result = call(...args);
      if (!(result instanceof Promise)) return result;
      const report = (ok: boolean) =>
        onCall({ operation, durationMs: clock.now() - startedAt, ok });
      return result.then(
        (value: unknown) => {
          report(true);
          return value;
        },
        (error: unknown) => {
          report(false);
          throw error;
        },
      );
    };
  }
}
