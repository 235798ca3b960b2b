import {
  FakeClock,
  MemoryStore,
  once,
  Scheduler,
  type SchedulerOptions,
  type Store,
} from "../../src/index.js";
import type { SchedulerEventName, SchedulerEvents } from "../../src/observe/events.js";

/** 2026-01-01T00:00:00Z, a whole minute: occurrences land on round instants. */
export const T0 = Date.UTC(2026, 0, 1);

/** A fake clock, one shared memory store and helpers to start schedulers on them. */
export function cluster(start = T0) {
  const clock = new FakeClock(start);
  const store = new MemoryStore({ clock });
  const schedulers: Scheduler[] = [];
  return {
    clock,
    store,
    replica(options: SchedulerOptions = {}): Scheduler {
      const scheduler = new Scheduler({ store, clock, leaseDuration: "30s", ...options });
      schedulers.push(scheduler);
      return scheduler;
    },
    /** Adds a scheduler built elsewhere to those `stopAll` stops. */
    track(scheduler: Scheduler): void {
      schedulers.push(scheduler);
    },
    /** Stops every scheduler and returns the fake timers still pending (should be 0). */
    async stopAll(): Promise<number> {
      await Promise.all(schedulers.map((s) => s.stop({ drain: true })));
      return clock.pendingTimers();
    },
  };
}

/**
 * Replica "a" (lease 6 s) claims `jobId`'s occurrence at T0 + 1 s under `onAbandoned: "retry"`
 * and "dies" mid-run: it is stopped without draining, so its lease is never renewed again.
 */
export async function replicaDiesMidRun(c: ReturnType<typeof cluster>, jobId: string) {
  const a = c.replica({ replicaId: "a", leaseDuration: "6s" });
  a.job(jobId, once(T0 + 1_000), () => new Promise(() => {}), { onAbandoned: "retry" });
  await a.start();
  await c.clock.advance(1_000);
  await a.stop({ drain: false });
}

/** Records every payload of `event` emitted by `scheduler`. */
export function recordEvents<E extends SchedulerEventName>(
  scheduler: Scheduler,
  event: E,
): SchedulerEvents[E][] {
  const seen: SchedulerEvents[E][] = [];
  scheduler.on(event, (payload) => seen.push(payload));
  return seen;
}

/** A promise with its resolve function, to hold a handler open. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Fault injection around a real store: while `down`, every call fails like a lost connection;
 * while `hung`, every call stays pending (a blackholed connection) until the fault ends.
 */
export function outage(store: MemoryStore) {
  let down = false;
  let hung = false;
  const released: Array<() => void> = [];
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      const call = (args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args);
      return (...args: unknown[]) => {
        if (hung)
          return new Promise<void>((resolve) => released.push(resolve)).then(() => call(args));
        if (down) return Promise.reject(new Error("ECONNRESET: connection lost"));
        return call(args);
      };
    },
  });
  return {
    store: proxy as Store,
    setDown: (value: boolean) => (down = value),
    setHung: (value: boolean) => {
      hung = value;
      if (!value) for (const resolve of released.splice(0)) resolve();
    },
  };
}

/**
 * A store whose `claim` calls are held while `hold` is on (a claim stuck in a client's offline
 * queue or a slow pool): each reaches the store only when released, so the store decides it at
 * that later store time. `release()` lets the held ones through; `setHold(false)` also stops
 * holding new ones.
 */
export function heldClaims(store: MemoryStore) {
  let hold = false;
  const held: Array<() => void> = [];
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property !== "claim" || typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const call = () => (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!hold) return call();
        return new Promise<void>((resolve) => held.push(resolve)).then(call);
      };
    },
  });
  const release = () => {
    for (const resolve of held.splice(0)) resolve();
  };
  return {
    store: proxy as Store,
    /** Claims waiting to reach the store. */
    held: () => held.length,
    release,
    setHold: (value: boolean) => {
      hold = value;
      if (!value) release();
    },
  };
}
