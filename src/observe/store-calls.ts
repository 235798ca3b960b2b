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

/** Wraps one store method: gets its name and the bound method, returns the replacement. */
export type MethodWrapper = (
  operation: string,
  call: (...args: unknown[]) => unknown,
) => (...args: unknown[]) => unknown;

/**
 * The store behind a proxy that replaces each method by `wrap(name, method)`. Everything else
 * passes through unchanged: properties, and the absence of an optional capability's methods.
 */
export function wrapStoreMethods(store: Store, wrap: MethodWrapper): Store {
  // Keyed by the method itself, so a method replaced on the store (fault injection) is seen.
  const wrapped = new WeakMap<object, unknown>();
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function" || typeof property !== "string") return value;
      let method = wrapped.get(value);
      if (!method) {
        method = wrap(property, value.bind(target) as (...args: unknown[]) => unknown);
        wrapped.set(value, method);
      }
      return method;
    },
  });
}

/**
 * The store seen through a proxy that times every asynchronous method call and reports it to
 * `onCall` (the metrics' store latency and the health check read it).
 */
export function instrumentStore(
  store: Store,
  clock: Clock,
  onCall: (call: StoreCall) => void,
): Store {
  return wrapStoreMethods(store, (operation, call) => (...args: unknown[]): unknown => {
    const startedAt = clock.now();
    const result = call(...args);
    if (!(result instanceof Promise)) return result;
    const report = (ok: boolean) => onCall({ operation, durationMs: clock.now() - startedAt, ok });
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
  });
}
