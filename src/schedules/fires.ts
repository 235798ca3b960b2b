import { BelfryError } from "../errors.js";
import type { Schedule, ScheduleContext } from "./schedule.js";

/** What bounds a job's series: its window, its anchor and the zone it runs in. */
export interface SeriesWindow {
  readonly id: string;
  readonly startAt: number | null;
  readonly stopAt: number | null;
  readonly startImmediately: boolean;
  /** The scheduler's zone, or undefined when not known yet. */
  readonly timezone: string | undefined;
}

/**
 * Zones at the two ends of the offsets in use (UTC-12, UTC+14). An instant's month in any zone
 * is its month in one of these, so a series that is empty in both is empty in every zone.
 */
const EXTREME_ZONES = ["Etc/GMT+12", "Etc/GMT-14"];

/**
 * Kinds with an occurrence after any anchor (cron expressions are checked when built), so only a
 * `stopAt` can empty them. `monthly` can miss its days in the anchored months, `once` can lie
 * before `startAt`; a kind not listed here is always computed.
 */
const ENDLESS_KINDS = new Set(["every", "everyRandom", "cron", "daily", "weekly"]);

/**
 * Refuses a job whose series has no occurrence (`NEVER_FIRES`): `startAt` after `stopAt`, or a
 * schedule with nothing in its window, such as `monthly(12, [30], …)` anchored in February.
 * Only a window or an anchor can empty a schedule that was valid on its own, so without
 * `startAt`/`stopAt` there is nothing to compute.
 */
export function assertFires(schedule: Schedule, window: SeriesWindow, where: string): void {
  const { startAt, stopAt } = window;
  if (startAt !== null && stopAt !== null && startAt > stopAt) {
    throw neverFires(where, `startAt (${iso(startAt)}) is after stopAt (${iso(stopAt)})`);
  }
  const endless = ENDLESS_KINDS.has(schedule.spec.kind) && stopAt === null;
  // `startImmediately` adds an occurrence at the job's start, which is at or before `stopAt`.
  if (endless || window.startImmediately || (startAt === null && stopAt === null)) return;
  const own = schedule.spec.timezone;
  const dependsOnZone = "timezone" in schedule.spec && typeof own !== "string";
  const known = !dependsOnZone || window.timezone !== undefined;
  const zones = known ? [window.timezone ?? "UTC"] : EXTREME_ZONES;
  const firsts = zones.map((timezone) => {
    const context: ScheduleContext = { jobId: window.id, anchor: startAt ?? 0, timezone };
    return schedule.next((startAt ?? 0) - 1, context);
  });
  if (firsts.every((first) => first === null)) {
    throw neverFires(where, `the schedule has no occurrence from ${iso(startAt ?? 0)} on`);
  }
  // Without the zone, an occurrence's instant is not known, only that one exists.
  if (known && stopAt !== null && (firsts[0] as number) > stopAt) {
    throw neverFires(
      where,
      `the first occurrence, ${iso(firsts[0] as number)}, is after stopAt (${iso(stopAt)})`,
    );
  }
}

function neverFires(where: string, why: string): BelfryError {
  return new BelfryError("NEVER_FIRES", `${where}: the job can never run: ${why}`);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
