import type { Clock, Timer } from "../clock.js";

/** Longest single timer wait: a longer wait is re-checked (survives sleep and clock jumps). */
const MAX_TIMER_WAIT_MS = 30_000;

/**
 * Runs `task` every `intervalMs` of `clock` time on its own timer, first after `firstDelayMs`.
 * The next run is armed when the previous one has settled, so two runs never overlap, and
 * nothing else waits for a run: a slow task delays only itself. `task` must not reject.
 */
export class Periodic {
  private timer: Timer | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly task: () => Promise<void>,
    firstDelayMs: number,
  ) {
    this.arm(this.clock.now() + firstDelayMs);
  }

  /** Cancels the timer and waits for a run in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    await this.running;
  }

  private arm(dueAt: number): void {
    if (this.stopped) return;
    const delay = Math.min(Math.max(0, dueAt - this.clock.now()), MAX_TIMER_WAIT_MS);
    this.timer = this.clock.setTimer(delay, () => {
      this.timer = null;
      if (this.clock.now() < dueAt) return this.arm(dueAt);
      this.running = this.task().finally(() => {
        this.running = null;
        this.arm(this.clock.now() + this.intervalMs);
      });
    });
  }
}
