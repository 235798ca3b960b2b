/**
 * A min-heap of keys by due time: the scheduler's one queue of next instants. Re-adding a key
 * replaces its previous entry (stale entries are skipped lazily when they surface).
 */
export class DueQueue {
  private heap: { at: number; key: string; seq: number }[] = [];
  private readonly current = new Map<string, number>();
  private seq = 0;

  /** Schedules `key` at `at`, replacing any earlier entry for it. */
  set(key: string, at: number): void {
    const seq = ++this.seq;
    this.current.set(key, seq);
    this.heap.push({ at, key, seq });
    this.up(this.heap.length - 1);
  }

  delete(key: string): void {
    this.current.delete(key);
  }

  /** Earliest due time, or null when empty. */
  peek(): number | null {
    this.dropStale();
    return this.heap[0]?.at ?? null;
  }

  /** Removes and returns every key due at or before `now`. */
  popDue(now: number): string[] {
    const due: string[] = [];
    for (;;) {
      this.dropStale();
      const top = this.heap[0];
      if (!top || top.at > now) return due;
      this.pop();
      this.current.delete(top.key);
      due.push(top.key);
    }
  }

  get size(): number {
    return this.current.size;
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
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
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
