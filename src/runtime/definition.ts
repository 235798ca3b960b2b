import { z } from "zod";
import { definitionHash, JobSeries } from "../coordination/series.js";
import type { JobState } from "../coordination/job-state.js";
import { BelfryError, quote } from "../errors.js";
import { toJobConfig, type JobConfig, type JobOptions } from "../options.js";
import type { Schedule, ScheduleSpec } from "../schedules/schedule.js";
import { readTimezone } from "../schedules/schedule.js";
import { scheduleFromSpec } from "../schedules/spec.js";
import { scheduleJobId } from "../stores/shared/schedules.js";
import type { ScheduleRecord, ScheduleWrite } from "../stores/store.js";
import { parseOptions, strictOptions } from "../validation.js";
import { checkTaskName, type TaskEntry } from "./tasks.js";

/**
 * A runtime schedule's definition: what `scheduler.schedules.create` validates and writes, and
 * how a replica turns the stored row back into the job state one pass claims with.
 */

/** A schedule's own options: the serialisable {@link JobOptions}, stored with its row. */
export type ScheduleOptions = Omit<JobOptions, "beforeRun" | "afterRun" | "afterError">;

/** What `scheduler.schedules.create` takes. */
export interface ScheduleInput {
  /** The task (`scheduler.task(name, …)`) whose handler runs it. */
  readonly task: string;
  /** Unique per task, e.g. a user id: letters, digits, marks and `. _ : @ / -`. */
  readonly key: string;
  /** `cron(…)`, `every(…)`, … or their serialisable spec (`schedule.spec`). */
  readonly schedule: Schedule | ScheduleSpec;
  /** The schedule's own IANA time zone (default: the scheduler's `timezone`). */
  readonly timezone?: string;
  /** Handed to the handler as `run.data`: anything `JSON.stringify` keeps, at most 64 KiB. */
  readonly data?: unknown;
  /** Policies of this schedule (overlap, missed, retries, maxRuns, startAt, …). */
  readonly options?: ScheduleOptions;
}

/** Most bytes of a schedule's `data` as JSON. */
export const MAX_DATA_BYTES = 65_536;

/** Key characters: those of a job id (the job id is `<task>:<key>`). */
const KEY = /^[\p{L}\p{M}\p{N}_.:@/-]{1,199}$/u;

const HOOKS = ["beforeRun", "afterRun", "afterError"] as const;

// Every field optional here: the schema only refuses unknown keys (naming the nearest one);
// the checks below say what a missing or bad task, key or schedule should be.
const inputSchema = strictOptions({
  task: z.unknown().optional(),
  key: z.unknown().optional(),
  schedule: z.unknown().optional(),
  timezone: z.unknown().optional(),
  data: z.unknown().optional(),
  options: z.unknown().optional(),
});

/** What a replica reads of a schedule's stored definition (the row's `definition` JSON). */
export interface StoredDefinition {
  readonly task: string;
  readonly schedule: ScheduleSpec;
  readonly timezone: string;
  readonly options: Readonly<Record<string, unknown>>;
}

const INPUT_KEYS = new Set(Object.keys(inputSchema.shape));

/**
 * True for an object with only known keys: the common case skips the schema parse (a third of
 * the cost of a write in `createMany`); anything else goes through it for its message.
 */
function knownKeysOnly(input: unknown): input is ScheduleInput {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return false;
  for (const key in input) if (!INPUT_KEYS.has(key)) return false;
  return true;
}

/** `where` for messages about one schedule. */
export function scheduleWhere(task: unknown, key: unknown): string {
  return `schedule ${quote(task)}/${quote(key)}`;
}

/** Throws `INVALID_OPTION` unless `key` is a valid schedule key. */
export function checkKey(key: unknown, where: string): asserts key is string {
  if (typeof key !== "string" || !KEY.test(key)) {
    throw new BelfryError(
      "INVALID_OPTION",
      `${where}: a key is 1-199 letters, digits, marks or . _ : @ / - (got ${quote(key)})`,
    );
  }
}

function toSchedule(value: unknown, where: string): Schedule {
  if (value === undefined) {
    throw new BelfryError(
      "INVALID_SCHEDULE",
      `${where}: schedule is missing: give cron(…), every(…), daily(…), weekly(…), monthly(…), once(…) or a spec`,
    );
  }
  if (typeof value === "object" && value !== null && "next" in value && "spec" in value) {
    return value as Schedule;
  }
  try {
    return scheduleFromSpec(value as ScheduleSpec);
  } catch (error) {
    if (error instanceof BelfryError)
      throw new BelfryError(error.code, `${where}: ${error.message}`);
    throw error;
  }
}

function toDataJson(data: unknown, where: string): string | null {
  if (data === undefined) return null;
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw new BelfryError(
      "INVALID_OPTION",
      `${where}: data must be JSON-serialisable (${(error as Error).message})`,
    );
  }
  if (json === undefined) {
    throw new BelfryError(
      "INVALID_OPTION",
      `${where}: data must be JSON-serialisable, got ${quote(data)}`,
    );
  }
  if (Buffer.byteLength(json) > MAX_DATA_BYTES) {
    throw new BelfryError(
      "INVALID_OPTION",
      `${where}: data is ${Buffer.byteLength(json)} bytes as JSON; at most ${MAX_DATA_BYTES}`,
    );
  }
  return json;
}

/** The options as stored: Dates as epoch ms, keys sorted (so equal options hash equal). */
function toStoredOptions(options: unknown, where: string): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new BelfryError(
      "INVALID_OPTION",
      `${where}: options must be an object, got ${quote(options)}`,
    );
  }
  const stored: Record<string, unknown> = {};
  for (const name of Object.keys(options).sort()) {
    if ((HOOKS as readonly string[]).includes(name)) {
      throw new BelfryError(
        "INVALID_OPTION",
        `${where}: options.${name} is code: give it to scheduler.task(), not to a stored schedule`,
      );
    }
    const value = (options as Record<string, unknown>)[name];
    stored[name] = value instanceof Date ? value.getTime() : value;
  }
  return stored;
}

/** A handler placeholder: the writer validates a definition it may have no handler for. */
const noHandler = (): void => undefined;

/** What writes of one definition share (see {@link scheduleWrite}'s `shared`). */
interface BuiltDefinition {
  readonly registration: Omit<ScheduleWrite, "jobId" | "task" | "key" | "data">;
}

/** Schedule kinds whose occurrences depend on the job id (seeded randomness). */
const PER_JOB_KINDS = new Set(["everyRandom"]);

/**
 * Validates `input` and builds the row to write: job id `<task>:<key>`, the definition (a code
 * job's stored definition plus the task and the options as given) and its hash, the data as
 * JSON, and the first occurrence after `now` (store time). Throws a `BelfryError` naming the
 * schedule and the bad value.
 *
 * `shared` caches what writes of the same task, schedule, zone and options at the same `now`
 * have in common (the checks, the hash, the first occurrence: a cron in a zone costs ~0.15 ms),
 * so `createMany` of 100,000 schedules in a few zones costs a few lookups per schedule.
 */
export function scheduleWrite(
  input: ScheduleInput,
  timezone: string,
  now: number,
  shared: Map<string, BuiltDefinition> = new Map(),
): ScheduleWrite {
  const given = knownKeysOnly(input)
    ? input
    : parseOptions(inputSchema, input, "schedules.create()");
  const where = scheduleWhere(given.task, given.key);
  checkTaskName(given.task, where);
  checkKey(given.key, where);
  const zone = given.timezone === undefined ? timezone : readTimezone(given.timezone);
  if (zone === null) {
    throw new BelfryError(
      "INVALID_TIMEZONE",
      `${where}: unknown time zone ${quote(given.timezone)}`,
    );
  }
  const schedule = toSchedule(given.schedule, where);
  const options = toStoredOptions(given.options, where);
  const jobId = scheduleJobId(given.task, given.key);
  const perJob = PER_JOB_KINDS.has(schedule.spec.kind) ? jobId : "";
  const cacheKey = JSON.stringify([given.task, schedule.spec, zone, options, now, perJob]);
  let built = shared.get(cacheKey);
  if (!built) {
    built = buildDefinition(jobId, given.task, schedule, zone, options, now, where);
    shared.set(cacheKey, built);
  }
  return {
    ...built.registration,
    jobId,
    task: given.task,
    key: given.key,
    data: toDataJson(given.data, where),
  };
}

function buildDefinition(
  jobId: string,
  task: string,
  given: Schedule,
  zone: string,
  options: Record<string, unknown>,
  now: number,
  where: string,
): BuiltDefinition {
  // Rebuilt from its spec: a spec given by hand is checked and written canonically.
  const schedule = toSchedule(given.spec, where);
  const config = toJobConfig(jobId, schedule, noHandler, options as JobOptions, zone);
  const series = new JobSeries(config, zone);
  series.createdAt = now;
  const registration = series.registration();
  // A code job's stored definition (which audits and dashboards read) plus the task and the
  // options as given, from which every replica rebuilds the job's config.
  const json = JSON.stringify({ ...JSON.parse(registration.definition), task, options });
  return {
    registration: {
      ...registration,
      hash: definitionHash(json),
      definition: json,
      nextAt: series.next(series.initialCursor(now)),
    },
  };
}

/** The stored definition of `row`, parsed. @throws `INVALID_SCHEDULE`. */
export function storedDefinition(row: ScheduleRecord): StoredDefinition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.definition);
  } catch {
    parsed = null;
  }
  const ok =
    typeof parsed === "object" &&
    parsed !== null &&
    typeof (parsed as StoredDefinition).timezone === "string" &&
    typeof (parsed as StoredDefinition).schedule === "object" &&
    typeof (parsed as StoredDefinition).options === "object";
  if (!ok) {
    throw new BelfryError(
      "INVALID_SCHEDULE",
      `${scheduleWhere(row.task, row.key)}: stored definition ${quote(row.definition)} is not one this version writes`,
    );
  }
  return parsed as StoredDefinition;
}

/**
 * The job config a replica runs `row` with: the stored definition, the task's handler and hooks
 * (and its `timeout` unless the schedule has its own), and the row's data.
 * @throws BelfryError when the stored definition cannot be rebuilt (a newer writer's schedule).
 */
export function runtimeConfig(row: ScheduleRecord, task: TaskEntry): JobConfig {
  const stored = storedDefinition(row);
  const where = scheduleWhere(row.task, row.key);
  const options: JobOptions = {
    timeout: task.options.timeout,
    ...(stored.options as ScheduleOptions),
    beforeRun: task.options.beforeRun,
    afterRun: task.options.afterRun,
    afterError: task.options.afterError,
  };
  for (const hook of HOOKS)
    if (options[hook] === undefined) delete (options as Record<string, unknown>)[hook];
  if (options.timeout === undefined) delete (options as Record<string, unknown>).timeout;
  const config = toJobConfig(
    row.jobId,
    toSchedule(stored.schedule, where),
    task.handler,
    options,
    stored.timezone,
  );
  let data: unknown;
  try {
    data = row.data === null ? undefined : JSON.parse(row.data);
  } catch {
    throw new BelfryError("CORRUPT_ROW", `${where}: stored data ${quote(row.data)} is not JSON`);
  }
  return { ...config, runtime: { task: row.task, key: row.key, data } };
}

/** The state one pass claims `row` with (see `JobState.schedule`). */
export function runtimeState(row: ScheduleRecord, config: JobConfig): JobState {
  const series = new JobSeries(config, storedDefinition(row).timezone);
  series.createdAt = row.createdAt;
  return {
    series,
    hash: row.hash,
    cursor: row.watermark,
    nextAt: null,
    registered: true,
    exhausted: false,
    retired: false,
    schedule: { storedNextAt: row.nextAt },
  };
}
