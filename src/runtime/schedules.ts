import { OffsetClock, systemClock } from "../clock.js";
import { measureOffset } from "../coordination/clock-sync.js";
import { BelfryError, quote } from "../errors.js";
import type { InstantInput } from "../schedules/instant.js";
import type { ScheduleSpec } from "../schedules/schedule.js";
import { scheduleJobId } from "../stores/shared/schedules.js";
import type {
  PutScheduleOutcome,
  PutScheduleResult,
  ScheduleRecord,
  ScheduleRecords,
  ScheduleWrite,
  Store,
  UnreadableJob,
} from "../stores/store.js";
import {
  backfillPlan,
  backfillWindow,
  checkPastWindow,
  type Backfill,
  type Backfills,
} from "./backfill.js";
import {
  checkKey,
  scheduleWhere,
  scheduleWrite,
  storedDefinition,
  type ScheduleInput,
  type ScheduleOptions,
} from "./definition.js";
import { checkTaskName, TaskRegistry } from "./tasks.js";

/** A runtime schedule as `scheduler.schedules` shows it. */
export interface ScheduleInfo {
  readonly task: string;
  readonly key: string;
  /** The job id its runs are recorded under (`<task>:<key>`), as in `history()`. */
  readonly jobId: string;
  readonly schedule: ScheduleSpec;
  readonly timezone: string;
  readonly data: unknown;
  readonly options: ScheduleOptions;
  readonly paused: boolean;
  /** The next occurrence the store holds for it; null when its series is over. */
  readonly nextRun: Date | null;
  /** A pending `trigger()` not yet taken by a replica, or null. */
  readonly triggeredAt: Date | null;
  /** The newest occurrence claimed or recorded, or null. */
  readonly lastScheduledAt: Date | null;
  readonly runCount: number;
  /** 1 at creation, + 1 each time its definition changed. */
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What `schedules.update` changes; what it leaves out stays. */
export interface ScheduleChange {
  readonly schedule?: ScheduleInput["schedule"];
  readonly timezone?: string;
  readonly data?: unknown;
  readonly options?: ScheduleOptions;
}

/** Filter of `schedules.list`; schedules come ordered by job id. */
export interface ScheduleListQuery {
  readonly task?: string;
  /** Only keys starting with this (needs `task`). */
  readonly keyPrefix?: string;
  readonly paused?: boolean;
  /** The `next` of the previous page. */
  readonly cursor?: string;
  /** At most this many (default 100, at most 1,000). */
  readonly limit?: number;
}

/** One page of `schedules.list`. */
export interface ScheduleList {
  readonly schedules: ScheduleInfo[];
  /** Rows that could not be read (`CORRUPT_ROW`): listed, not thrown. */
  readonly unreadable: UnreadableJob[];
  /** Pass as `cursor` for the next page; null on the last page. */
  readonly next: string | null;
}

/** A schedule named by its task and key. */
export interface ScheduleRef {
  readonly task: string;
  readonly key: string;
}

/** Result of `schedules.createMany`. */
export interface CreateManyResult {
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  /** Keys that exist with another definition or data (`create` mode only): left untouched. */
  readonly conflicts: ScheduleRef[];
}

/** What {@link Schedules} needs from its scheduler. */
export interface SchedulesDeps {
  readonly store: Store;
  readonly clock: OffsetClock;
  /** The scheduler's zone: the default of a schedule without its own. */
  readonly timezone: string;
  /** Throws `NOT_STARTED` unless the scheduler (and so the store) is started. */
  readonly assertStarted: (where: string) => void;
  /** Polls this replica's due schedules now (a write here made something due). */
  readonly wake: () => void;
  /** The tasks defined on this replica (a backfill runs here, so its task must be one). */
  readonly tasks: TaskRegistry;
  /** Where backfills run on this replica; null for a tool without a scheduler. */
  readonly backfills: Backfills | null;
}

/** Writes of one `createMany` round. */
const WRITE_CHUNK = 1_000;

/**
 * `scheduler.schedules`: runtime schedules as data. Any replica creates, changes or removes
 * them; every replica defining the schedule's task runs it, each occurrence once. See
 * {@link ScheduleInput}.
 *
 * @example
 * ```ts
 * scheduler.task("send-digest", async (run) => sendDigest(run.data, run.idempotencyKey));
 * await scheduler.start();
 * await scheduler.schedules.create({
 *   task: "send-digest", key: `user-${user.id}`, schedule: weekly(1, ["Mon"], ["09:00"]),
 *   timezone: user.timezone, data: { userId: user.id },
 * });
 * ```
 */
export class Schedules {
  constructor(private readonly deps: SchedulesDeps) {}

  /**
   * Creates a schedule. Creating an existing key with the same definition and data is a no-op;
   * with another one it throws `SCHEDULE_EXISTS` (use {@link upsert} or {@link update}).
   */
  async create(input: ScheduleInput): Promise<ScheduleInfo> {
    const [result] = await this.put([this.writeOf(input)], "create", "create");
    if (result!.outcome === "conflict") {
      throw new BelfryError(
        "SCHEDULE_EXISTS",
        `schedules.create(): ${scheduleWhere(input.task, input.key)} exists with another definition or data; use upsert() or update()`,
      );
    }
    return infoOf(result!.schedule);
  }

  /** Creates the schedule or replaces its definition and data (its series goes on). */
  async upsert(input: ScheduleInput): Promise<ScheduleInfo> {
    const [result] = await this.put([this.writeOf(input)], "upsert", "upsert");
    return infoOf(result!.schedule);
  }

  /**
   * Creates (or with `upsert: true` creates or replaces) many schedules, a few round trips per
   * thousand. Every input is validated before anything is written.
   */
  async createMany(
    inputs: readonly ScheduleInput[],
    options: { readonly upsert?: boolean } = {},
  ): Promise<CreateManyResult> {
    const now = this.deps.clock.now();
    const shared = new Map();
    const writes = inputs.map((input) => scheduleWrite(input, this.deps.timezone, now, shared));
    const mode = options.upsert === true ? "upsert" : "create";
    const counts = { created: 0, updated: 0, unchanged: 0 };
    const conflicts: ScheduleRef[] = [];
    for (let i = 0; i < writes.length; i += WRITE_CHUNK) {
      const chunk = writes.slice(i, i + WRITE_CHUNK);
      const records = this.records("createMany");
      // Outcomes only: a conflict is named from its write (results come in request order).
      const results = this.woken(await records.putSchedules(chunk, mode, "outcomes"));
      results.forEach(({ outcome }, j) => {
        const { task, key } = chunk[j] as ScheduleWrite;
        if (outcome === "conflict") conflicts.push({ task, key });
        else counts[outcome] += 1;
      });
    }
    return { ...counts, conflicts };
  }

  /** The schedule, or null. */
  async get(task: string, key: string): Promise<ScheduleInfo | null> {
    const row = await this.records("get").getSchedule(this.jobIdOf(task, key, "get"));
    return row ? infoOf(row) : null;
  }

  /** A page of schedules (see {@link ScheduleListQuery}). */
  async list(query: ScheduleListQuery = {}): Promise<ScheduleList> {
    const { cursor, ...rest } = query;
    const page = await this.records("list").listSchedules({ ...rest, after: cursor });
    return { schedules: page.schedules.map(infoOf), unreadable: page.unreadable, next: page.next };
  }

  /** Changes a schedule; throws `UNKNOWN_SCHEDULE` when there is none. */
  async update(task: string, key: string, change: ScheduleChange): Promise<ScheduleInfo> {
    const row = await this.records("update").getSchedule(this.jobIdOf(task, key, "update"));
    if (!row) throw unknownSchedule("update", task, key);
    const current = infoOf(row);
    return await this.upsert({
      task,
      key,
      schedule: change.schedule ?? current.schedule,
      timezone: change.timezone ?? current.timezone,
      data: "data" in change ? change.data : current.data,
      options: change.options ?? current.options,
    });
  }

  /** Pauses the schedule on every replica (occurrences are recorded `skipped`, reason paused). */
  async pause(task: string, key: string): Promise<void> {
    await this.setPaused(task, key, true, "pause");
  }

  /** Resumes a paused schedule on every replica. */
  async resume(task: string, key: string): Promise<void> {
    await this.setPaused(task, key, false, "resume");
    this.deps.wake();
  }

  /** Removes the schedule (its run records stay); false when there was none. */
  async remove(task: string, key: string): Promise<boolean> {
    const [removed] = await this.records("remove").removeSchedules([
      this.jobIdOf(task, key, "remove"),
    ]);
    return removed === true;
  }

  /** Removes many schedules; returns how many there were. */
  async removeMany(refs: readonly ScheduleRef[]): Promise<number> {
    const jobIds = refs.map((ref) => this.jobIdOf(ref.task, ref.key, "removeMany"));
    let removed = 0;
    for (let i = 0; i < jobIds.length; i += WRITE_CHUNK) {
      const results = await this.records("removeMany").removeSchedules(
        jobIds.slice(i, i + WRITE_CHUNK),
      );
      removed += results.filter(Boolean).length;
    }
    return removed;
  }

  /**
   * Runs the schedule once now, outside its series (a `manual` run), on a replica that defines
   * its task. Triggers before a replica takes the first are one run.
   */
  async trigger(task: string, key: string): Promise<void> {
    const found = await this.records("trigger").triggerSchedule(this.jobIdOf(task, key, "trigger"));
    if (!found) throw unknownSchedule("trigger", task, key);
    this.deps.wake();
  }

  /**
   * Runs the schedule's past occurrences in `[from, to)` again, each at most once ever, on this
   * replica (Temporal's backfill): the occurrences of its series as its stored definition
   * computes them (its zone, `startAt`, `stopAt`), whatever ran at them before, each a
   * `backfill` run (idempotency key `…#backfill`) claimed as run slots free up, with the leases,
   * heartbeats and recovery of any run. A second backfill of the window claims nothing again.
   * It never moves the series (watermark, run count, next run) and ignores `paused` and the
   * overlap policy, as `trigger` does.
   *
   * Resolves once the window is checked, with the number of occurrences and `finished`, which
   * settles when all of them are claimed (or found backfilled before) and their runs have
   * ended: `{ claimed, alreadyClaimed }`.
   *
   * @param from - first instant of the window, inclusive (`Date`, epoch ms or ISO 8601).
   * @param to - end of the window, exclusive, not after store now.
   * @throws BelfryError `INVALID_DATE` for a bound that is no instant; `INVALID_RANGE` unless
   *   `from < to ≤ store now`, or for more than 10,000 occurrences (the message says where to
   *   split); `UNKNOWN_SCHEDULE`; `UNKNOWN_JOB` when this replica does not define the task.
   */
  async backfill(
    task: string,
    key: string,
    from: InstantInput,
    to: InstantInput,
  ): Promise<Backfill> {
    const jobId = this.jobIdOf(task, key, "backfill");
    const where = `schedules.backfill(${quote(task)}, ${quote(key)})`;
    const records = this.records("backfill");
    const window = backfillWindow(from, to, where);
    const row = await records.getSchedule(jobId);
    if (!row) throw unknownSchedule("backfill", task, key);
    const entry = this.deps.tasks.get(row.task);
    const backfills = this.deps.backfills;
    if (!entry || !backfills) {
      throw new BelfryError(
        "UNKNOWN_JOB",
        `${where}: task ${quote(row.task)} is not defined on this scheduler; a backfill runs on the replica that asks for it: call scheduler.task(${quote(row.task)}, …) here first`,
      );
    }
    checkPastWindow(window, await this.deps.store.now(), where);
    const { config, instants } = backfillPlan(row, entry, window, where);
    return backfills.start(records, jobId, config, instants, where);
  }

  private writeOf(input: ScheduleInput): ScheduleWrite {
    return scheduleWrite(input, this.deps.timezone, this.deps.clock.now());
  }

  private async put(
    writes: readonly ScheduleWrite[],
    mode: "create" | "upsert",
    where: string,
  ): Promise<PutScheduleResult[]> {
    return this.woken(await this.records(where).putSchedules(writes, mode));
  }

  /** Wakes this replica's poller when a write created or changed a row; returns `results`. */
  private woken<T extends PutScheduleOutcome>(results: T[]): T[] {
    if (results.some((result) => result.outcome === "created" || result.outcome === "updated")) {
      this.deps.wake();
    }
    return results;
  }

  private async setPaused(task: string, key: string, paused: boolean, where: string) {
    const jobId = this.jobIdOf(task, key, where);
    const records = this.records(where);
    if (!(await records.getSchedule(jobId))) throw unknownSchedule(where, task, key);
    await this.deps.store.setPaused(jobId, paused);
  }

  private jobIdOf(task: string, key: string, where: string): string {
    const at = `schedules.${where}(${quote(task)}, ${quote(key)})`;
    checkTaskName(task, at);
    checkKey(key, at);
    return scheduleJobId(task, key);
  }

  /** The store's schedule capability; `UNSUPPORTED` without it, `NOT_STARTED` before start(). */
  private records(where: string): ScheduleRecords {
    this.deps.assertStarted(`schedules.${where}`);
    const { store } = this.deps;
    if (!store.putSchedules) {
      throw new BelfryError(
        "UNSUPPORTED",
        `schedules.${where}(): the ${store.kind} store cannot keep runtime schedules`,
      );
    }
    return store as Store & ScheduleRecords;
  }
}

/**
 * {@link Schedules} on an opened (initialised) store without a scheduler, for a tool such as
 * the `belfry schedules` commands or a script that creates schedules: it reads store time
 * (the store clock's offset is measured once) and has no replica of its own to wake, so the
 * replicas find its writes by their own polls or the store's wake-ups.
 * @param timezone - the zone of a schedule created without its own (default UTC)
 */
export async function storeSchedules(store: Store, timezone = "UTC"): Promise<Schedules> {
  const clock = new OffsetClock(systemClock);
  clock.offset = (await measureOffset(store, systemClock)).offsetMs;
  return new Schedules({
    store,
    clock,
    timezone,
    assertStarted: () => {},
    wake: () => {},
    tasks: new TaskRegistry(),
    backfills: null,
  });
}

/** The `UNKNOWN_SCHEDULE` error of `schedules.<where>(task, key)`. */
export function unknownSchedule(where: string, task: string, key: string): BelfryError {
  return new BelfryError(
    "UNKNOWN_SCHEDULE",
    `schedules.${where}(): no ${scheduleWhere(task, key)} in the store`,
  );
}

/** A stored row as {@link ScheduleInfo}. */
export function infoOf(row: ScheduleRecord): ScheduleInfo {
  const definition = storedDefinition(row);
  const date = (ms: number | null) => (ms === null ? null : new Date(ms));
  return {
    task: row.task,
    key: row.key,
    jobId: row.jobId,
    schedule: definition.schedule,
    timezone: definition.timezone,
    data: row.data === null ? undefined : (JSON.parse(row.data) as unknown),
    options: definition.options as ScheduleOptions,
    paused: row.paused,
    nextRun: date(row.nextAt),
    triggeredAt: date(row.triggeredAt),
    lastScheduledAt: date(row.watermark),
    runCount: row.runCount,
    version: row.version,
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt),
  };
}
