import { FakeClock, MemoryStore, Scheduler, type SchedulerOptions } from "../../src/index.js";
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
