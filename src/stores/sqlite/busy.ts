import { keepAlive, sleep, type Clock } from "../../clock.js";

/**
 * Waiting for another process's SQLite write lock without blocking the event loop. The driver's
 * own busy handler waits synchronously, so it is set to {@link SYNC_BUSY_WAIT_MS} only; when a
 * step still meets `SQLITE_BUSY` ("database is locked"), a {@link BusyLane} runs the whole step
 * again later, asynchronously, with jittered exponential backoff, until an overall deadline.
 * A step is synchronous from `BEGIN` to `COMMIT`, so no transaction holds the lock across a wait.
 */

/** The driver's synchronous busy wait, ms: the longest one step can block the event loop on a lock. */
export const SYNC_BUSY_WAIT_MS = 5;

/** First and longest pause between two attempts of a step, ms (before jitter). */
const FIRST_DELAY_MS = 2;
const MAX_DELAY_MS = 100;

/** True when `error` is SQLite's `SQLITE_BUSY` (any extended code) from either driver. */
export function isBusy(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code, errcode } = error as { code?: unknown; errcode?: unknown };
  if (typeof code === "string" && code.startsWith("SQLITE_BUSY")) return true;
  if (typeof errcode === "number" && (errcode & 0xff) === 5) return true;
  return /database is locked/i.test(error.message);
}

/**
 * Runs synchronous SQLite steps, retrying a step that meets `SQLITE_BUSY` asynchronously until
 * `deadlineMs` after it was asked for. Steps that arrive while one is waiting queue behind it in
 * order, so only one step of this connection polls the lock at a time, and each later attempt
 * runs in its own event-loop turn. While a step waits, the process is kept alive (as an open
 * socket would be for a server store). Backoff waits use the store's clock.
 */
export class BusyLane {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  private release: (() => void) | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly deadlineMs: number,
  ) {}

  /**
   * Runs `step` now when no step is waiting, else after the waiting ones.
   * @throws what `step` throws; a busy error once the deadline passed, naming the wait.
   */
  async run<T>(step: () => T): Promise<T> {
    const asked = this.clock.now();
    if (this.waiting > 0) return this.enqueue(step, asked, 0);
    try {
      return step();
    } catch (error) {
      if (!isBusy(error)) throw error;
    }
    return this.enqueue(step, asked, FIRST_DELAY_MS);
  }

  private enqueue<T>(step: () => T, asked: number, firstDelay: number): Promise<T> {
    this.waiting += 1;
    this.release ??= keepAlive();
    const turn = this.tail.then(() => this.retry(step, asked, firstDelay));
    this.tail = turn.catch(() => undefined);
    return turn.finally(() => {
      this.waiting -= 1;
      if (this.waiting > 0) return;
      this.release?.();
      this.release = null;
    });
  }

  /** Attempts `step` after each pause (the first may be 0: its own turn) until it is not busy. */
  private async retry<T>(step: () => T, asked: number, firstDelay: number): Promise<T> {
    for (
      let delay = firstDelay;
      ;
      delay = Math.min(Math.max(delay * 2, FIRST_DELAY_MS), MAX_DELAY_MS)
    ) {
      const left = asked + this.deadlineMs - this.clock.now();
      await sleep(this.clock, Math.max(0, Math.min(left, delay / 2 + (Math.random() * delay) / 2)));
      try {
        return step();
      } catch (error) {
        if (!isBusy(error)) throw error;
        const waited = this.clock.now() - asked;
        if (waited < this.deadlineMs) continue;
        const detail = error instanceof Error ? error.message : String(error);
        throw new Error(
          `${detail} (still busy after ${waited} ms; busyTimeoutMs ${this.deadlineMs})`,
          {
            cause: error,
          },
        );
      }
    }
  }
}
