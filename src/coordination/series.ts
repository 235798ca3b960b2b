import { createHash } from "node:crypto";
import type { JobConfig } from "../options.js";
import type { ScheduleContext } from "../schedules/schedule.js";
import type { JobRegistration } from "../stores/store.js";

/** Most due occurrences one planning pass looks at; older ones are left to the watermark. */
export const MAX_DUE_PER_PASS = 1000;

const MIN_MISSED_AFTER_MS = 1_000;
const RECENT_NEXT = 8;
const MAX_MISSED_AFTER_MS = 60_000;

/** Most definition hashes kept (jobs defined in bulk mostly share a few definitions). */
const MAX_HASHES = 1_000;
const hashes = new Map<string, string>();

/** The hash of a job definition, computed once per distinct definition among the recent ones. */
export function definitionHash(definition: string): string {
  let hash = hashes.get(definition);
  if (hash === undefined) {
    hash = createHash("sha256").update(definition).digest("hex").slice(0, 32);
    if (hashes.size >= MAX_HASHES) hashes.delete(hashes.keys().next().value!);
    hashes.set(definition, hash);
  }
  return hash;
}

/**
 * A job's series of occurrences as every replica computes it: the schedule bounded by
 * `startAt`/`stopAt`, plus the `startImmediately` occurrence at the job's start.
 */
export class JobSeries {
  readonly context: ScheduleContext;
  /** The job's first registration in the store (store time); set after registration. */
  createdAt: number | null = null;
  private readonly recent = new Map<number, number | null>();

  constructor(
    readonly config: JobConfig,
    timezone: string,
  ) {
    this.context = { jobId: config.id, anchor: config.startAt ?? 0, timezone };
  }

  /** The occurrence at the job's start, when `startImmediately` asks for one. */
  private get immediate(): number | null {
    if (!this.config.startImmediately) return null;
    return this.config.startAt ?? this.createdAt;
  }

  /**
   * Where a job that never ran starts counting: occurrences strictly after its first
   * registration (so a new job owes nothing from before it existed), or from its immediate
   * occurrence.
   */
  initialCursor(now: number): number {
    const immediate = this.immediate;
    if (immediate !== null) return immediate - 1;
    return this.createdAt ?? now;
  }

  /**
   * Where a pass starts counting: after `cursor` (the newest occurrence known decided), but
   * never before {@link initialCursor}. Nothing from before the job's first registration is
   * owed, so an old or corrupt watermark (12 ms after the epoch) never sends a pass walking
   * every occurrence since then.
   */
  floor(cursor: number | null, now: number): number {
    const start = this.initialCursor(now);
    return cursor === null ? start : Math.max(cursor, start);
  }

  /** First occurrence strictly after `after`, or null when the series is over. */
  next(after: number): number | null {
    const immediate = this.immediate;
    if (immediate !== null && immediate > after) return immediate;
    const floor = Math.max(after, (this.config.startAt ?? Number.NEGATIVE_INFINITY) - 1);
    let at = this.recent.get(floor);
    if (at === undefined) {
      at = this.config.schedule.next(floor, this.context);
      // A pass asks for the same few instants several times (due, missedAfter, wake-up); calendar
      // and cron maths cost ~0.1 ms each, so keep the last few answers.
      if (this.recent.size >= RECENT_NEXT) this.recent.delete(this.recent.keys().next().value!);
      this.recent.set(floor, at);
    }
    if (at === null || (this.config.stopAt !== null && at > this.config.stopAt)) return null;
    return at;
  }

  /** Computes (and keeps) the two occurrences after `after`, ahead of need. */
  prefetch(after: number): void {
    const next = this.next(after);
    if (next !== null) this.missedAfterMs(next);
  }

  /**
   * Occurrences in `(after, now]`, oldest first, keeping only the newest
   * {@link MAX_DUE_PER_PASS}. `dropped` counts the older ones left out.
   */
  due(after: number, now: number): { at: number[]; dropped: number } {
    const at: number[] = [];
    let dropped = 0;
    for (let next = this.next(after); next !== null && next <= now; next = this.next(next)) {
      at.push(next);
      if (at.length > MAX_DUE_PER_PASS) {
        at.shift();
        dropped += 1;
      }
    }
    return { at, dropped };
  }

  /** How late `scheduledAt` may be claimed before it counts as missed. */
  missedAfterMs(scheduledAt: number): number {
    if (this.config.missedAfterMs !== null) return this.config.missedAfterMs;
    const following = this.next(scheduledAt);
    const gap = following === null ? MAX_MISSED_AFTER_MS : following - scheduledAt;
    return Math.min(MAX_MISSED_AFTER_MS, Math.max(MIN_MISSED_AFTER_MS, gap));
  }

  /** The definition as the store keeps it, hashed over everything that shapes the series. */
  registration(): JobRegistration {
    const { config } = this;
    const definition = JSON.stringify({
      schedule: config.schedule.spec,
      timezone: this.context.timezone,
      startAt: config.startAt,
      stopAt: config.stopAt,
      startImmediately: config.startImmediately,
      overlap: config.overlap,
      onAbandoned: config.onAbandoned,
      maxRuns: config.maxRuns,
      missed: config.missed,
    });
    return {
      jobId: config.id,
      hash: definitionHash(definition),
      definition,
      anchor: this.context.anchor,
      overlap: config.overlap,
      onAbandoned: config.onAbandoned,
      // A run whose replica died gets at least one more attempt under `retry`.
      maxAttempts: config.retry.max + (config.onAbandoned === "retry" ? 2 : 1),
      maxRuns: config.maxRuns,
    };
  }
}
