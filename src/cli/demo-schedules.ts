import { Temporal } from "temporal-polyfill";
import { systemClock } from "../clock.js";
import { toJobConfig } from "../options.js";
import type { ScheduleInput } from "../runtime/definition.js";
import { storeSchedules, type ScheduleInfo, type Schedules } from "../runtime/schedules.js";
import { daily } from "../schedules/daily.js";
import { scheduleFromSpec } from "../schedules/spec.js";
import { openStore } from "../stores/open.js";
import { MAX_SCHEDULE_PAGE, scheduleJobId } from "../stores/shared/schedules.js";
import type { Store } from "../stores/store.js";
import { DEMO_TASK } from "./demo-jobs.js";
import type { ReplicaWindow } from "./replica.js";
import { dueInWindow, type DueSeries, type Summary } from "./summary.js";

/**
 * The runtime schedules of `belfry demo --schedules <n>`: one per user, in a spread of time
 * zones, each daily at the local wall time of an instant the demo picked inside its window. A
 * replica that read a schedule in the wrong zone would run it hours off: a miss in the window
 * (and an early or late run outside it).
 */

/** The users' zones: both hemispheres' DST rules, and half- and quarter-hour offsets. */
export const DEMO_ZONES = [
  "America/Los_Angeles",
  "America/New_York",
  "Europe/London",
  "Europe/Berlin",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Asia/Tokyo",
  "Australia/Sydney",
] as const;

/** One schedule the demo creates, with the instant it was planned for. */
export interface PlannedSchedule {
  readonly input: ScheduleInput;
  /** The job id its runs are reported under (`<task>:<key>`). */
  readonly jobId: string;
  /** The instant the demo picked for it (epoch ms, a whole second inside the window). */
  readonly at: number;
  readonly zone: string;
  /** `at` as a wall time in `zone` (`HH:MM:SS`): the schedule's daily time. */
  readonly localTime: string;
}

/**
 * `count` schedules of {@link DEMO_TASK}, `user-1` … `user-<count>`, round-robin over
 * {@link DEMO_ZONES}, their instants spread evenly over the whole seconds of `window`. Each
 * local time is computed with Temporal, independently of the scheduler's calendar code.
 */
export function planSchedules(count: number, window: ReplicaWindow): PlannedSchedule[] {
  const seconds = Math.floor((window.stopAt - window.startAt + 1) / 1000);
  const digits = String(count).length;
  return Array.from({ length: count }, (_, i) => {
    const key = `user-${String(i + 1).padStart(digits, "0")}`;
    const at = window.startAt + Math.floor((i * seconds) / count) * 1000;
    const zone = DEMO_ZONES[i % DEMO_ZONES.length]!;
    const localTime = Temporal.Instant.fromEpochMilliseconds(at)
      .toZonedDateTimeISO(zone)
      .toPlainTime()
      .toString({ smallestUnit: "second" });
    const input: ScheduleInput = {
      task: DEMO_TASK,
      key,
      schedule: daily(1, [localTime]),
      timezone: zone,
      data: { userId: i + 1 },
    };
    return { input, jobId: scheduleJobId(DEMO_TASK, key), at, zone, localTime };
  });
}

/**
 * The planned schedules as the store holds them now (read back page by page), as the series
 * `dueInWindow` recomputes their occurrences from: stored spec, zone, anchor and creation.
 */
export async function storedSeries(
  schedules: Schedules,
  plan: readonly PlannedSchedule[],
): Promise<DueSeries[]> {
  const planned = new Set(plan.map((p) => p.jobId));
  const series: DueSeries[] = [];
  let cursor: string | undefined;
  do {
    const page = await schedules.list({ task: DEMO_TASK, cursor, limit: MAX_SCHEDULE_PAGE });
    for (const info of page.schedules) if (planned.has(info.jobId)) series.push(seriesOf(info));
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  return series;
}

function seriesOf(info: ScheduleInfo): DueSeries {
  const schedule = scheduleFromSpec(info.schedule);
  // The replicas' own reading of the stored options: the anchor is `startAt`, else the epoch.
  const config = toJobConfig(info.jobId, schedule, () => {}, info.options, info.timezone);
  return {
    id: info.jobId,
    schedule,
    anchor: config.startAt ?? 0,
    timezone: info.timezone,
    after: info.createdAt.getTime(),
  };
}

/**
 * The planned schedules whose occurrences in the window, recomputed from the store, are not
 * exactly their planned instant (absent from the store, read in another zone, created late).
 */
export function offPlan(
  plan: readonly PlannedSchedule[],
  due: ReadonlyMap<string, readonly number[]>,
): PlannedSchedule[] {
  return plan.filter((p) => {
    const instants = due.get(p.jobId);
    return instants?.length !== 1 || instants[0] !== p.at;
  });
}

/** The verdict of `belfry demo --schedules` beyond the summary's duplicates and misses. */
export interface ScheduleVerdict {
  /** Schedules created (in {@link zones} zones). */
  readonly created: number;
  readonly zones: number;
  /** How long `createMany` took, ms. */
  readonly createMs: number;
  /** Schedules whose occurrence in the window, recomputed from the store, is not the planned one. */
  readonly offPlan: number;
  /** Runs that started before their instant by the store's clock. */
  readonly early: number;
  /** Nothing off plan, nothing early. */
  readonly ok: boolean;
}

/**
 * Time `createMany` is given per schedule before the window starts, ms: about twice the
 * slowest seen on a 2-core machine (Redis 0.52, PostgreSQL 0.44, MariaDB 0.30, SQLite 0.04).
 */
const CREATE_MS_PER_SCHEDULE = 1;

/**
 * The demo process's side of `belfry demo --schedules`: it creates the schedules (one
 * `createMany`) once the window is known, reads them back to recompute what was due, judges,
 * and removes them at the end so that a shared store keeps none of them.
 */
export class ScheduleDemo {
  private plan: PlannedSchedule[] = [];
  private readonly planned = new Map<string, PlannedSchedule>();
  private createMs = 0;

  private constructor(
    private readonly store: Store,
    private readonly schedules: Schedules,
    /** How many schedules the demo creates. */
    readonly count: number,
  ) {}

  /**
   * Opens the (migrated) store at `url`. @throws BelfryError `UNSUPPORTED` when the store
   * cannot keep runtime schedules, before any replica starts.
   */
  static async open(url: string, count: number): Promise<ScheduleDemo> {
    const store = await openStore(url, { autoMigrate: false });
    try {
      await store.init();
      const schedules = await storeSchedules(store);
      await schedules.list({ limit: 1 });
      return new ScheduleDemo(store, schedules, count);
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  /** Lead the window needs on top of the replicas' start-up: creating the schedules. */
  get creationBudgetMs(): number {
    return Math.ceil(this.count * CREATE_MS_PER_SCHEDULE);
  }

  /** The width of a schedule's job id in the live lines. */
  get jobWidth(): number {
    return scheduleJobId(DEMO_TASK, `user-${this.count}`).length;
  }

  /** Plans and creates the schedules for `window`; returns the line that says so. */
  async create(window: ReplicaWindow): Promise<string> {
    this.plan = planSchedules(this.count, window);
    for (const p of this.plan) this.planned.set(p.jobId, p);
    const started = systemClock.now();
    await this.schedules.createMany(
      this.plan.map((p) => p.input),
      { upsert: true },
    );
    this.createMs = systemClock.now() - started;
    const late = systemClock.now() > window.startAt ? " (after the window's start: too late)" : "";
    const from = new Date(window.startAt).toISOString().slice(11, 19);
    const to = new Date(window.stopAt).toISOString().slice(11, 19);
    return `created ${this.count} schedules of task ${DEMO_TASK} with createMany in ${this.createMs} ms${late}: daily at a local time in one of ${DEMO_ZONES.length} zones, due ${from}–${to} UTC`;
  }

  /** `14:35:07 Europe/Berlin`: the planned local time of the schedule `jobId`. */
  localTimeOf(jobId: string): string {
    const p = this.planned.get(jobId);
    return p ? `${p.localTime} ${p.zone}` : "";
  }

  /** The occurrences each schedule owed in `window`, recomputed from what the store holds. */
  async due(window: ReplicaWindow): Promise<Map<string, number[]>> {
    return dueInWindow(await storedSeries(this.schedules, this.plan), window);
  }

  /** Judges the run: each schedule due once at its planned instant, none run early. */
  verdict(due: ReadonlyMap<string, readonly number[]>, summary: Summary): ScheduleVerdict {
    const off = offPlan(this.plan, due).length;
    return {
      created: this.plan.length,
      zones: DEMO_ZONES.length,
      createMs: this.createMs,
      offPlan: off,
      early: summary.early,
      ok: off === 0 && summary.early === 0,
    };
  }

  /** The verdict as a summary line. */
  static format(v: ScheduleVerdict): string {
    return `schedules: ${v.created} in ${v.zones} time zones, ${v.created - v.offPlan} due once at their planned instant, ${v.offPlan} off plan, ${v.early} runs early by store time`;
  }

  /** Removes the demo's schedules (their run records stay) and closes the store. */
  async close(): Promise<void> {
    try {
      await this.schedules.removeMany(
        this.plan.map((p) => ({ task: DEMO_TASK, key: p.input.key })),
      );
    } finally {
      await this.store.close();
    }
  }
}
