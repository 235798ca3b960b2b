/**
 * Time for the whole library comes through a {@link Clock}: the scheduler, schedules, leases and
 * stores never read `Date.now()` or call `setTimeout` themselves, so a test can drive everything
 * with a {@link FakeClock} and never sleep for real. This file is the only place allowed to touch
 * the platform's time (the lint config enforces it).
 */

/** A cancellable pending callback. */
export interface Timer {
  /** Cancels the callback; a no-op once it fired or was cancelled. */
  cancel(): void;
}

/** The source of time: milliseconds since the Unix epoch, and timers in that time. */
export interface Clock {
  /** Current time, epoch milliseconds. */
  now(): number;
  /**
   * A monotonic reading, ms from an arbitrary origin: never jumps with the wall clock, and keeps
   * counting while the process is paused. Leases are fenced on it. A clock without it is read
   * through {@link monotonicNow}, which falls back to {@link now}.
   */
  monotonic?(): number;
  /**
   * Calls `callback` once after `delayMs` milliseconds of this clock's time. Timers never keep
   * the Node process alive on their own.
   */
  setTimer(delayMs: number, callback: () => void): Timer;
}

/** The platform clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer(delayMs, callback) {
    // Node's setTimeout overflows past 2^31-1 ms; callers cap their waits far below that anyway.
    const handle = setTimeout(callback, Math.min(Math.max(0, delayMs), 2_147_483_647));
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};

/** `clock`'s monotonic reading, or its wall-clock reading when it has none. */
export function monotonicNow(clock: Clock): number {
  return clock.monotonic ? clock.monotonic() : clock.now();
}

/** Lets already-queued promise callbacks and I/O callbacks run (real event-loop turns, no delay). */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface FakeTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A clock that only moves when told to. `advance` fires due timers in time order and lets the
 * async work they start settle between firings, so scheduler tests run in simulated time.
 *
 * @example
 * ```ts
 * const clock = new FakeClock(Date.parse("2026-01-01T00:00:00Z"));
 * const scheduler = new Scheduler({ clock });
 * await clock.advance(60_000); // one simulated minute
 * ```
 */
export class FakeClock implements Clock {
  private current: number;
  /** Time moved forward by {@link advance} and {@link stall}, never by {@link set}. */
  private elapsed = 0;
  private timers: FakeTimer[] = [];
  private nextId = 1;

  constructor(start: number | Date = 0) {
    this.current = typeof start === "number" ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  /** Moves with {@link advance} and {@link stall}; a {@link set} (wall-clock jump) leaves it. */
  monotonic(): number {
    return this.elapsed;
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    const timer: FakeTimer = {
      id: this.nextId++,
      at: this.current + Math.max(0, delayMs),
      callback,
    };
    this.timers.push(timer);
    return { cancel: () => (this.timers = this.timers.filter((t) => t !== timer)) };
  }

  /** Number of timers not yet fired or cancelled (a leak check after a test). */
  pendingTimers(): number {
    return this.timers.length;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, in order, and
   * settling the event loop after each one.
   */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.current + ms);
  }

  /** Moves time forward to `time` (epoch ms), firing due timers on the way. */
  async advanceTo(time: number): Promise<void> {
    await settle();
    for (;;) {
      const due = this.earliestDue(time);
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.moveTo(due.at);
      due.callback();
      await settle();
    }
    this.moveTo(time);
    await settle();
  }

  /**
   * Simulates a process paused for `ms` (SIGSTOP, a long GC): both readings move on and no timer
   * fires; the next {@link advance} fires the overdue ones, earliest first, as Node does.
   */
  stall(ms: number): void {
    this.moveTo(this.current + ms);
  }

  private moveTo(time: number): void {
    if (time > this.current) this.elapsed += time - this.current;
    this.current = Math.max(this.current, time);
  }

  /**
   * Jumps the wall clock without firing timers (simulates a wall-clock jump or a skewed host);
   * the monotonic reading stays.
   */
  set(time: number | Date): void {
    this.current = typeof time === "number" ? time : time.getTime();
  }

  private earliestDue(limit: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers) {
      if (t.at <= limit && (!best || t.at < best.at || (t.at === best.at && t.id < best.id))) {
        best = t;
      }
    }
    return best;
  }
}

/**
 * A clock that reads another clock plus an offset. The scheduler uses it to run on the store's
 * time: `offset` is the measured difference store − local.
 */
export class OffsetClock implements Clock {
  /** Milliseconds added to the base clock's reading. */
  offset = 0;

  constructor(private readonly base: Clock) {}

  now(): number {
    return this.base.now() + this.offset;
  }

  /** The base clock's monotonic reading (an offset does not apply to it). */
  monotonic(): number {
    return monotonicNow(this.base);
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    return this.base.setTimer(delayMs, callback);
  }
}

/**
 * Resolves after `ms` of `clock` time, or rejects with the signal's reason once `signal` aborts.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      timer.cancel();
      reject(signal?.reason);
    };
    const timer = clock.setTimer(ms, () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Waits for `promise` at most `ms` of `clock` time. Resolves true when it settled in time; the
 * timer is cancelled either way, so nothing is left pending.
 */
export async function settledWithin(
  clock: Clock,
  promise: Promise<unknown>,
  ms: number,
): Promise<boolean> {
  let timer: Timer | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = clock.setTimer(ms, () => resolve(false));
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    timer?.cancel();
  }
}

/**
 * Holds the Node process open until the returned function is called (belfry's own timers never
 * do): for the CLI, whose process has nothing else to wait on.
 */
export function keepAlive(): () => void {
  const handle = setInterval(() => {}, 1 << 30);
  return () => clearInterval(handle);
}
