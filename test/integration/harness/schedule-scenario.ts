import type { ReplicaArgs, ReplicaWindow } from "../../../src/cli/replica.js";
import type { ScheduleInput } from "../../../src/runtime/definition.js";
import { infoOf } from "../../../src/runtime/schedules.js";
import { daily, every, cron, preview, scheduleFromSpec } from "../../../src/schedules/index.js";
import type { ScheduleRecord } from "../../../src/stores/store.js";

/**
 * The runtime-schedules multi-process scenario: a creator process (no task) writes
 * {@link SCHEDULE_COUNT} schedules of the task {@link TASK} at run time; runner processes define
 * the task and run them, each appending its runs to a ledger file.
 */

/** The task every schedule of the scenario names. */
export const TASK = "tick";
/** Schedules the creator writes with one `createMany`. */
export const SCHEDULE_COUNT = 2_000;
/** Every schedule fires once per period, at one of PERIOD_S offsets (seconds) in it. */
export const PERIOD_S = 5;
/** How long a handler holds its run, so a kill finds runs in flight. */
export const HANDLER_MS = 250;
/** Zones of the `daily` and `cron` schedules (half-hour and quarter-hour offsets included). */
const ZONES = ["Asia/Kathmandu", "America/St_Johns", "Asia/Kolkata", "Australia/Eucla", "UTC"];

/** What a scenario process is told (in the environment, see `spawnReplica`). */
export interface ScheduleReplicaArgs extends ReplicaArgs {
  /** `creator` writes, removes and triggers schedules and defines no task; `runner` runs them. */
  readonly role: "creator" | "runner";
  /** The runner's ledger file (JSON lines). */
  readonly ledger: string;
}

/** What the test asks the creator, one JSON line each on its stdin after the window. */
export type CreatorCommand = { readonly op: "remove" } | { readonly op: "trigger" };

/** What the creator reports of each command (the `detail` of an `event` report, as JSON). */
export interface CreatorStep {
  /** Schedules the step wrote or removed (1 for a trigger). */
  readonly count: number;
  /** Store time right before and right after the call. */
  readonly before: number;
  readonly after: number;
}

/** One line of a runner's ledger: a handler started or ended one attempt of one run. */
export interface LedgerEntry {
  readonly phase: "start" | "end";
  readonly replica: string;
  readonly jobId: string;
  readonly scheduledAt: number;
  readonly attempt: number;
  readonly trigger: string;
  readonly runId: string;
}

/** The key of the `i`-th schedule. */
export function keyOf(i: number): string {
  return `s${String(i).padStart(4, "0")}`;
}

/**
 * A tenth of the schedules, removed mid-window: one in each ten, at a position that moves so
 * they cover every offset and kind (the 10k + (k mod 5)-th: offset k mod 5, kind 2k mod 3),
 * and some are due at the removal's instant whatever its offset.
 */
export const REMOVED_KEYS = new Set(
  Array.from({ length: SCHEDULE_COUNT / 10 }, (_, k) => keyOf(10 * k + (k % PERIOD_S))),
);

/** The schedule the creator triggers once the window is over. */
export const TRIGGERED_KEY = keyOf(1);

/** `at` as the wall-clock time `HH:MM:SS` in `zone`. */
function wallClock(at: number, zone: string): string {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).format(at);
}

/**
 * The scenario's schedules for `window`, bounded to it (`startAt`/`stopAt`) and with
 * `missed: "all"`, so an occurrence that comes late (a killed replica's) still runs. They are
 * spread over {@link PERIOD_S} offsets and three kinds: `every` anchored at its offset, a cron
 * with seconds, and `daily` at the wall-clock times of its instants in its zone.
 */
export function scheduleInputs(window: ReplicaWindow): ScheduleInput[] {
  const periodMs = PERIOD_S * 1000;
  const fires = Math.ceil((window.stopAt - window.startAt) / periodMs);
  return Array.from({ length: SCHEDULE_COUNT }, (_, i) => {
    const offset = i % PERIOD_S;
    const timezone = ZONES[i % ZONES.length]!;
    const first = window.startAt + offset * 1000;
    const kind = Math.floor(i / PERIOD_S) % 3;
    const schedule =
      kind === 0
        ? every(`${PERIOD_S}s`)
        : kind === 1
          ? cron(`${new Date(first).getUTCSeconds() % PERIOD_S}-59/${PERIOD_S} * * * * *`)
          : daily(
              1,
              Array.from({ length: fires }, (_, k) => wallClock(first + k * periodMs, timezone)),
            );
    return {
      task: TASK,
      key: keyOf(i),
      schedule,
      timezone,
      data: { i },
      options: { startAt: first, stopAt: window.stopAt, missed: "all" },
    };
  });
}

/**
 * The occurrences of a stored schedule in `window` (epoch ms), recomputed from its stored
 * definition with the public `preview`: after the row's creation, within its own bounds.
 */
export function expectedOccurrences(row: ScheduleRecord, window: ReplicaWindow): number[] {
  const info = infoOf(row);
  const startAt = Number(info.options.startAt ?? window.startAt);
  const stopAt = Math.min(Number(info.options.stopAt ?? window.stopAt), window.stopAt);
  const schedule = scheduleFromSpec(info.schedule);
  const context = { anchor: startAt, timezone: info.timezone, jobId: row.jobId };
  const instants: number[] = [];
  // A few at a time: a zoned calendar instant costs ~0.1 ms, and the window holds a handful.
  for (let from = Math.max(startAt, window.startAt, row.createdAt + 1); ;) {
    const batch = preview(schedule, { ...context, count: 8, from }).map((at) => at.getTime());
    instants.push(...batch.filter((at) => at <= stopAt));
    const last = batch.at(-1);
    if (batch.length < 8 || last === undefined || last > stopAt) return instants;
    from = last + 1;
  }
}
