import type { Clock, Timer } from "./clock.js";

/**
 * A min-heap of keys by due time, keys due at the same time by rank: the scheduler's one queue
 * of next instants. Re-adding a key replaces its previous entry (stale entries are skipped
 * lazily when they surface).
 */
class DueQueue {
  private heap: { at: number; rank: number; key: string; seq: number }[] = [];
  private readonly current = new Map<string, number>();
  private seq = 0;

  /** Schedules `key` at `at` (before keys of a higher `rank` due then), replacing its entry. */
  set(key: string, at: number, rank: number): void {
    const seq = ++this.seq;
    this.current.set(key, seq);
    this.heap.push({ at, rank, key, seq });
    this.up(this.heap.length - 1);
  }

  delete(key: string): void {
    this.current.delete(key);
  }

  /** Ranks every queued key again with `rankOf` (the order of keys due at one time changed). */
  rerank(rankOf: (key: string) => number): void {
    const live = this.heap.filter((entry) => this.current.get(entry.key) === entry.seq);
    this.heap = live.map((entry) => ({ ...entry, rank: rankOf(entry.key) }));
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  /** Earliest due time, or null when empty. */
  peek(): number | null {
    this.dropStale();
    return this.heap[0]?.at ?? null;
  }

  /** Removes and returns the first `limit` keys due at or before `now`, earliest first. */
  popDue(now: number, limit: number): string[] {
    const due: string[] = [];
    while (due.length < limit) {
      this.dropStale();
      const top = this.heap[0];
      if (!top || top.at > now) return due;
      this.pop();
      this.current.delete(top.key);
      due.push(top.key);
    }
    return due;
  }

  private dropStale(): void {
    for (let top = this.heap[0]; top && this.current.get(top.key) !== top.seq; top = this.heap[0]) {
      this.pop();
    }
  }

  private pop(): void {
    const last = this.heap.pop();
    if (last && this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
  }

  private less(i: number, j: number): boolean {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    if (a.at !== b.at) return a.at < b.at;
    return a.rank !== b.rank ? a.rank < b.rank : a.seq < b.seq;
  }

  private swap(i: number, j: number): void {
    [this.heap[i], this.heap[j]] = [this.heap[j]!, this.heap[i]!];
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let best = i;
      if (left < this.heap.length && this.less(left, best)) best = left;
      if (right < this.heap.length && this.less(right, best)) best = right;
      if (best === i) return;
      this.swap(i, best);
      i = best;
    }
  }
}

/** Longest single timer wait: a longer one is re-checked (survives sleep and clock jumps). */
const MAX_TIMER_WAIT_MS = 30_000;

/**
 * The dispatch loop's one timer over a {@link DueQueue}: it fires at the earliest due time and
 * hands the keys due by then to `pass`, at most `room()` of them (keys due at the same time in
 * ascending `rankOf`); the next timer is armed once the pass settled, so two passes never
 * overlap, and keys left due are passed at once. Only job ids go in: maintenance keeps timers of
 * its own.
 *
 * While `room()` is 0 (every run slot of the replica busy) a due time passes nothing: the keys
 * stay queued, other replicas can take their work, and the owner calls {@link wake} when a slot
 * frees up. So a replica at its limit neither spins nor claims runs it cannot start, and a burst
 * of thousands costs each pass only the keys it can start (not a walk over all of them).
 */
export class DueTimer {
  private readonly queue = new DueQueue();
  private timer: Timer | null = null;
  private passing: Promise<void> | null = null;
  private running = false;

  constructor(
    private readonly clock: Clock,
    private readonly pass: (due: string[]) => Promise<void>,
    private readonly room: () => number = () => Number.POSITIVE_INFINITY,
    private readonly rankOf: (key: string) => number = () => 0,
  ) {}

  /** Schedules `key` at `at` (replacing an earlier entry); call {@link wake} to re-arm. */
  set(key: string, at: number): void {
    this.queue.set(key, at, this.rankOf(key));
  }

  /** Forgets `key`. */
  delete(key: string): void {
    this.queue.delete(key);
  }

  /** Ranks the queued keys again (`rankOf` answers differently now). */
  rerank(): void {
    this.queue.rerank(this.rankOf);
  }

  /** Arms the timer and keeps re-arming it until {@link stop}. */
  start(): void {
    this.running = true;
    this.wake();
  }

  /** Cancels the timer and waits for a pass in flight. */
  async stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    this.timer = null;
    await this.passing;
  }

  /**
   * Re-arms the timer on the earliest due time (no-op while a pass runs: it re-arms after). Call
   * it when a run slot frees up, too.
   */
  wake(): void {
    if (!this.running || this.passing) return;
    this.timer?.cancel();
    const next = this.queue.peek();
    if (next === null) return;
    const delay = Math.min(Math.max(0, next - this.clock.now()), MAX_TIMER_WAIT_MS);
    this.timer = this.clock.setTimer(delay, () => {
      this.timer = null;
      const room = this.room();
      if (room <= 0) return;
      const due = this.queue.popDue(this.clock.now(), room);
      this.passing = (due.length > 0 ? this.pass(due) : Promise.resolve()).finally(() => {
        this.passing = null;
        this.wake();
      });
    });
  }
}
