import type { OffsetClock, Timer } from "../clock.js";
import type { Coordinator, Wake } from "../coordination/coordinator.js";
import type { JobState } from "../coordination/job-state.js";
import type { Runner } from "../coordination/runner.js";
import { BelfryError } from "../errors.js";
import type { EventHub } from "../observe/events.js";
import type { Logger } from "../observe/logger.js";
import type { JobConfig } from "../options.js";
import type {
  ScheduleAdvance,
  ScheduleRecord,
  ScheduleRecords,
  WarningRecords,
} from "../stores/store.js";
import { runtimeConfig, runtimeState } from "./definition.js";
import type { TaskRegistry } from "./tasks.js";

/** Most rows one due query asks for (and so most claims one pass sends). */
export const DUE_BATCH = 500;
/** Most runtime configs kept between passes (a bounded cache: memory stays flat). */
const MAX_CACHED_CONFIGS = 10_000;
/**
 * Longest wait between two due queries on a store that cannot wake replicas (MySQL, SQLite):
 * a schedule another replica creates due now starts within this.
 */
export const POLL_MS = 500;
/** The same where the store wakes replicas on a change (a safety net for a lost wake-up). */
export const WAKEABLE_POLL_MS = 30_000;
/** Least sleep between two polls that found nothing to move (no spinning on stuck rows). */
const MIN_POLL_GAP_MS = 5;
/**
 * How far ahead of its instant a row is read. The due query and the build of its rows (a cron
 * parse per new row) then happen before the instant, and at the instant only the claim stands
 * between it and the handler: one store round trip instead of two or three, and far less CPU
 * at the moment every replica wakes. It covers a due query's round trip under load (p99 about
 * 110 ms on PostgreSQL with 2 busy cores). A row removed or given another definition since it
 * was read is refused by the claim (the store checks the row and its hash); a write made here
 * or one the store announces (`onScheduleChange`) drops what was read ahead. Only a change of
 * `data` alone, by another process, in the last `READ_AHEAD_MS` before an instant may not reach
 * that occurrence (as one made while the due query's rows were claimed cannot either).
 */
export const READ_AHEAD_MS = 250;
/** Longest sleep after failed polls (1 s, 2 s, 4 s, … while the store fails). */
const MAX_FAILURE_BACKOFF_MS = 30_000;
/** How often a replica looks for schedules of tasks nobody runs. */
export const STALL_CHECK_MS = 60_000;
/** A schedule overdue by more than this counts as stalled. */
export const STALLED_AFTER_MS = 60_000;
/** How often one stalled task is reported again while it lasts. */
const STALL_REPORT_MS = 600_000;
/** How long a row whose definition this replica cannot build is left alone. */
const BROKEN_ROW_RETRY_MS = 60_000;

/** What the poller needs from its scheduler. */
export interface PollerDeps {
  readonly records: ScheduleRecords;
  readonly tasks: TaskRegistry;
  readonly clock: OffsetClock;
  readonly coordinator: Coordinator;
  readonly runner: Runner;
  readonly hub: EventHub;
  readonly logger: Logger;
  readonly replicaId: string;
  readonly leaseMs: number;
  /** Runs this replica can start now. */
  readonly room: () => number;
  /** Where stalled tasks are persisted for audits; null on a store without warnings. */
  readonly warnings: WarningRecords | null;
  /** Runs one pass with the scheduler's pass bookkeeping; says when to look at each again. */
  readonly pass: (states: readonly JobState[]) => Promise<Wake[]>;
}

/** A row read ahead of its instant, built, to claim at the instant without asking again. */
interface Held {
  /** The row's next instant (store time). */
  readonly at: number;
  readonly state: JobState;
}

/**
 * The due path of runtime schedules: the store knows what is due, the replica asks. Each read
 * asks the store for the rows of the tasks defined here that are due now or within
 * {@link READ_AHEAD_MS} (bounded, in an order that differs per replica), claims the due ones
 * through the coordinator as any job's occurrences (the claim moves each row's next instant),
 * takes pending triggers, and holds the others until their instant, when they are claimed
 * without another read. The next read comes when the store's next due instant is within reach,
 * on a wake-up from the store (`onScheduleChange`), a local write, a freed run slot or after
 * `pollMs`, whichever comes first. It keeps no state per schedule beyond a bounded cache of
 * built configs and the rows held (at most one due query's).
 */
export class DuePoller {
  private timer: Timer | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stallTimer: Timer | null = null;
  /** When each stalled task was last reported (store time). */
  private readonly stallReported = new Map<string, number>();
  /** The last poll may have left due rows behind (no free slot, or a full batch). */
  private starved = false;
  private stopped = true;
  /** Polls failed in a row (the store is unreachable): the next one waits longer. */
  private failures = 0;
  /** Polls so far: picks each poll's order of the rows due at one instant. */
  private polls = 0;
  private unsubscribe: (() => Promise<void>) | null = null;
  private readonly configs = new Map<string, { key: string; config: JobConfig }>();
  /** Rows this replica could not build, by job id: when to try them again. */
  private readonly broken = new Map<string, number>();
  /** Rows read ahead of their instant, earliest first (see {@link READ_AHEAD_MS}). */
  private held: Held[] = [];
  /** When the next due query is needed (store time). */
  private readAt = Number.NEGATIVE_INFINITY;
  /** Wake-ups so far: a read that one overtook may be stale, so it holds nothing. */
  private wakeUps = 0;

  constructor(private readonly deps: PollerDeps) {}

  /** The longest sleep between polls: long when the store wakes this replica on changes. */
  private get pollMs(): number {
    return this.unsubscribe ? WAKEABLE_POLL_MS : POLL_MS;
  }

  /** Starts polling and subscribes to the store's wake-ups where it has them. */
  async start(): Promise<void> {
    this.stopped = false;
    const subscribe = this.deps.records.onScheduleChange;
    if (subscribe) {
      try {
        this.unsubscribe = await subscribe.call(this.deps.records, () => this.wake());
      } catch (error) {
        this.report("onScheduleChange", error);
      }
    }
    this.wake();
    this.armStallCheck();
  }

  /** Stops polling; waits for a poll in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    this.stallTimer?.cancel();
    this.stallTimer = null;
    await this.running;
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = null;
    await unsubscribe?.().catch((error: unknown) => this.report("onScheduleChange", error));
  }

  /**
   * Reads again as soon as possible (a write made something due, a slot is free): what was read
   * ahead may be stale, so it is dropped.
   */
  wake(): void {
    this.held = [];
    this.readAt = Number.NEGATIVE_INFINITY;
    this.wakeUps += 1;
    this.arm(0);
  }

  /** A run slot was freed: polls at once if the last poll left due rows for lack of room. */
  roomFreed(): void {
    if (this.starved) this.wake();
  }

  /**
   * The state of the runtime schedule stored under `jobId` when this replica defines its task
   * (recovery of a run whose replica died), else undefined.
   */
  async stateOf(jobId: string): Promise<JobState | undefined> {
    const row = await this.deps.records.getSchedule(jobId);
    if (!row || !this.deps.tasks.get(row.task)) return undefined;
    return this.build(row) ?? undefined;
  }

  private arm(delayMs: number): void {
    if (this.stopped) return;
    if (this.running) {
      if (delayMs === 0) this.again = true;
      return;
    }
    this.timer?.cancel();
    this.timer = this.deps.clock.setTimer(delayMs, () => {
      this.timer = null;
      this.running = this.poll()
        .then((nextIn) => {
          this.failures = 0;
          return nextIn;
        })
        .catch((error: unknown) => {
          this.failures += 1;
          this.report("dueSchedules", error);
          return Math.min(MAX_FAILURE_BACKOFF_MS, 1_000 * 2 ** (this.failures - 1));
        })
        .then((nextIn) => {
          this.running = null;
          const soon = this.again && this.failures === 0;
          this.again = false;
          this.arm(soon ? 0 : nextIn);
        });
    });
  }

  /** One poll; returns how long to sleep (ms). */
  private async poll(): Promise<number> {
    const { records, tasks, clock, replicaId } = this.deps;
    const pollMs = this.pollMs;
    const names = tasks.names();
    const room = this.deps.room();
    if (names.length === 0) return pollMs;
    if (room <= 0) {
      this.starved = true;
      return pollMs;
    }
    const heldNow = clock.now();
    const due = this.held.filter((held) => held.at <= heldNow);
    if (due.length > 0) {
      this.held = this.held.slice(due.length);
      const { moved } = await this.claim(due.map((held) => held.state));
      // A held row that did not move (refused as not yet due by the store's clock, changed since
      // it was read, no free slot): read again soon, as a poll at its instant would have.
      if (moved < due.length) {
        this.readAt = Math.min(this.readAt, clock.now() + MIN_POLL_GAP_MS);
      }
    }
    const now = clock.now();
    if (now < this.readAt) return this.sleep();
    this.held = [];
    const wakeUps = this.wakeUps;
    const limit = Math.min(room, DUE_BATCH);
    const horizon = now + READ_AHEAD_MS;
    // The rotation of the spread order rows due at one instant come in: a new one each poll.
    // With one rotation per replica, a replica that finished its stretch of a burst reached
    // another's front and from then on read the same rows as it, so most of its claims lost;
    // a fresh point per poll keeps the replicas' pages apart while much of the burst is left.
    const order = `${replicaId}#${(this.polls += 1)}`;
    const read = await records.dueSchedules({
      tasks: names,
      until: horizon,
      limit,
      replicaId: order,
    });
    for (const row of read.unreadable) {
      this.report("dueSchedules", new BelfryError("CORRUPT_ROW", row.message));
    }
    let progress = await this.takeTriggers(read.schedules, now);
    // A row that fell due while the query ran is claimed now; a later one is held.
    const readEnd = clock.now();
    const states: JobState[] = [];
    const later: Held[] = [];
    // A pending trigger that the store's clock set after what ours reads now: taken at its time.
    let triggerAt = Infinity;
    for (const row of read.schedules) {
      if (row.triggeredAt !== null && row.triggeredAt > now) {
        triggerAt = Math.min(triggerAt, row.triggeredAt);
      }
      if (row.nextAt === null || row.nextAt > horizon) continue;
      const state = this.build(row);
      if (!state) continue;
      if (row.nextAt <= readEnd) {
        states.push(state);
        continue;
      }
      // The cron maths the claim at the instant needs (its occurrence and the one after), now.
      state.series.prefetch(state.series.floor(state.cursor, row.nextAt));
      later.push({ at: row.nextAt, state });
    }
    const { moved, retryAt } = await this.claim(states);
    progress += moved;
    this.starved = read.schedules.length >= limit;
    // A wake-up came while this read ran: it may have missed the change, hold nothing.
    if (this.wakeUps !== wakeUps) return 0;
    this.held = later.sort((a, b) => a.at - b.at);
    if (this.starved && (progress > 0 || later.length > 0)) {
      // A full batch: more may be due at once, or at the first held instant.
      this.readAt = later[0]?.at ?? readEnd;
    } else {
      // Read again when the next due row comes within reach, or when a row that did not move
      // asked to be looked at again (a claim refused as not yet due by the store's clock),
      // never spinning on rows that cannot move.
      const wakeAt = Math.min((read.nextDueAt ?? Infinity) - READ_AHEAD_MS, retryAt, triggerAt);
      const after = clock.now();
      this.readAt = after + Math.max(MIN_POLL_GAP_MS, Math.min(pollMs, wakeAt - after));
    }
    return this.sleep();
  }

  /** How long until the first held instant or the next read, whichever comes first (ms). */
  private sleep(): number {
    const next = Math.min(this.held[0]?.at ?? Infinity, this.readAt);
    return Math.max(0, next - this.deps.clock.now());
  }

  /**
   * Claims `states` in one pass and moves on the rows no claim moved; says how many rows moved
   * and when the first of those that did not asked to be looked at again.
   */
  private async claim(states: readonly JobState[]): Promise<{ moved: number; retryAt: number }> {
    if (states.length === 0) return { moved: 0, retryAt: Infinity };
    const before = states.map((state) => state.schedule?.storedNextAt);
    const wakes = await this.deps.pass(states);
    await this.advance(states);
    const stuck = new Set(states.filter((state, i) => state.schedule?.storedNextAt === before[i]));
    let retryAt = Infinity;
    for (const { job, at } of wakes)
      if (at !== null && stuck.has(job)) retryAt = Math.min(retryAt, at);
    return { moved: states.length - stuck.size, retryAt };
  }

  private armStallCheck(): void {
    this.stallTimer = this.deps.clock.setTimer(STALL_CHECK_MS, () => {
      void this.checkStalled()
        .catch((error: unknown) => this.report("scheduleTasks", error))
        .finally(() => {
          if (!this.stopped) this.armStallCheck();
        });
    });
  }

  /**
   * Reports the tasks this replica does not define whose schedules are overdue by more than
   * {@link STALLED_AFTER_MS}: one due query of one row per such task, so its cost does not grow
   * with the number of schedules.
   */
  private async checkStalled(): Promise<void> {
    const { records, tasks, clock, replicaId, hub, logger } = this.deps;
    for (const task of await records.scheduleTasks()) {
      if (tasks.get(task)) continue;
      const now = clock.now();
      const until = now - STALLED_AFTER_MS;
      const [row] = (await records.dueSchedules({ tasks: [task], until, limit: 1, replicaId }))
        .schedules;
      const last = this.stallReported.get(task);
      if (!row || row.dueAt === null || (last !== undefined && now - last < STALL_REPORT_MS)) {
        continue;
      }
      this.stallReported.set(task, now);
      const dueSince = new Date(row.dueAt);
      const message = `belfry: runtime schedules of task ${JSON.stringify(task)} are overdue since ${dueSince.toISOString()} (e.g. key ${JSON.stringify(row.key)}): no live replica seems to define the task, so nothing runs them; define it with scheduler.task(${JSON.stringify(task)}, …) or remove its schedules`;
      logger.warn({ task, dueSince, key: row.key }, message);
      hub.emit("schedule:stalled", { replicaId, task, dueSince, key: row.key });
      await this.deps.warnings?.addWarning({ replicaId, kind: "schedule-stalled", message });
    }
  }

  /** Takes the pending triggers among `rows` (one store step each, exactly one replica wins). */
  private async takeTriggers(rows: readonly ScheduleRecord[], now: number): Promise<number> {
    let taken = 0;
    for (const row of rows) {
      if (row.triggeredAt === null || row.triggeredAt > now) continue;
      const state = this.build(row);
      if (!state) continue;
      const run = await this.deps.records.claimTriggered(
        row.jobId,
        this.deps.replicaId,
        this.deps.leaseMs,
      );
      if (!run) continue;
      taken += 1;
      void this.deps.runner.execute(state.series.config, run);
    }
    return taken;
  }

  /**
   * Moves forward the rows whose next instant the pass decided but no claim wrote (only missed
   * occurrences recorded, maxRuns reached, a peer's claim), so they do not come back as due.
   */
  private async advance(states: readonly JobState[]): Promise<void> {
    const now = this.deps.clock.now();
    const items: ScheduleAdvance[] = [];
    const moved: JobState[] = [];
    for (const state of states) {
      const stored = state.schedule?.storedNextAt ?? null;
      const next = state.exhausted
        ? null
        : state.series.next(state.series.floor(state.cursor, now));
      const forward = next === null ? stored !== null : stored !== null && next > stored;
      if (!forward) continue;
      items.push({ jobId: state.series.config.id, hash: state.hash, nextAt: next });
      moved.push(state);
    }
    if (items.length === 0) return;
    try {
      await this.deps.records.advanceSchedules(items);
      for (const [i, state] of moved.entries()) state.schedule!.storedNextAt = items[i]!.nextAt;
    } catch (error) {
      this.report("advanceSchedules", error);
    }
  }

  /** The pass state of `row`, or null (reported) when its definition cannot be built here. */
  private build(row: ScheduleRecord): JobState | null {
    const task = this.deps.tasks.get(row.task);
    if (!task) return null;
    const retryAt = this.broken.get(row.jobId);
    if (retryAt !== undefined && retryAt > this.deps.clock.now()) return null;
    const key = `${row.hash}\u0000${row.data ?? ""}`;
    let cached = this.configs.get(row.jobId);
    if (cached?.key !== key) {
      try {
        cached = { key, config: runtimeConfig(row, task) };
      } catch (error) {
        if (this.broken.size >= MAX_CACHED_CONFIGS) this.broken.clear();
        this.broken.set(row.jobId, this.deps.clock.now() + BROKEN_ROW_RETRY_MS);
        this.report("schedule", error);
        return null;
      }
      this.broken.delete(row.jobId);
      if (this.configs.size >= MAX_CACHED_CONFIGS)
        this.configs.delete(this.configs.keys().next().value!);
    } else {
      this.configs.delete(row.jobId);
    }
    this.configs.set(row.jobId, cached);
    return runtimeState(row, cached.config);
  }

  private report(operation: string, error: unknown): void {
    this.deps.logger.error({ err: error }, `belfry: runtime schedules: ${operation} failed`);
    this.deps.hub.emit("store:error", { replicaId: this.deps.replicaId, operation, error });
  }
}
