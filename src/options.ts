import { toMs, toPositiveMs, type Duration } from "./duration.js";
import { BelfryError } from "./errors.js";
import type { Logger } from "./observe/logger.js";
import type { Schedule } from "./schedules/schedule.js";
import type { AbandonPolicy, OverlapPolicy, RunTrigger } from "./stores/store.js";

/** What a handler receives for one attempt of one occurrence. */
export interface RunContext {
  readonly jobId: string;
  /** Nominal instant of the occurrence (UTC). */
  readonly scheduledAt: Date;
  /**
   * `<jobId>@<ISO scheduledAt>` (manual runs: `<jobId>@<ISO>#manual`): the same for every attempt
   * of the occurrence on every replica, so a handler can make its side effects idempotent.
   */
  readonly idempotencyKey: string;
  /** 1 for the first attempt; grows with retries and with recovery under `retry`. */
  readonly attempt: number;
  readonly runId: string;
  readonly trigger: RunTrigger;
  /** Aborted when the lease is lost, the timeout passes or the scheduler stops. */
  readonly signal: AbortSignal;
  readonly replicaId: string;
  /** The scheduler's logger, bound to this run. */
  readonly logger: Logger;
}

/** The job's work. A rejected promise or a throw is a failed attempt. */
export type Handler = (run: RunContext) => unknown;

/** What happens to occurrences that nobody started in time. */
export type MissedPolicy = "skip" | "latest" | "all";

/** Retries of a failed attempt, on the same replica, with the same idempotency key. */
export interface RetryOptions {
  /** Extra attempts after the first (0 = none). */
  readonly max: number;
  /** `exponential` doubles the delay each attempt (default), `fixed` keeps it. */
  readonly backoff?: "fixed" | "exponential";
  /** Delay before the first retry (default 1 s). */
  readonly delay?: Duration;
  /** Upper bound of the delay (default 5 min). */
  readonly maxDelay?: Duration;
}

/** Per-job options (gocron's job options, cluster-wide). */
export interface JobOptions {
  /** Labels for `removeByTag` and filtering. */
  readonly tags?: readonly string[];
  /** What to do when the previous run is still active on any replica (default `allow`). */
  readonly overlap?: OverlapPolicy;
  /** Stop after this many scheduled runs across the cluster. */
  readonly maxRuns?: number;
  /** No occurrence before this instant; also the anchor of `every` and multi-day intervals. */
  readonly startAt?: Date | number | string;
  /** Add one occurrence at the job's start (`startAt`, else its first registration). */
  readonly startImmediately?: boolean;
  /** No occurrence after this instant. */
  readonly stopAt?: Date | number | string;
  /** Abort the handler's signal and fail the attempt after this long. */
  readonly timeout?: Duration;
  /** Retries of a failed attempt: a count, or {@link RetryOptions}. */
  readonly retries?: number | RetryOptions;
  /** Policy for occurrences older than `missedAfter` (default `skip`). */
  readonly missed?: MissedPolicy;
  /**
   * An occurrence not claimed within this long after its instant is missed (default: the gap to
   * the next occurrence, clamped to 1 s … 1 min).
   */
  readonly missedAfter?: Duration;
  /** With `missed: "all"`, how far back missed occurrences still run (default 1 h). */
  readonly catchUpWindow?: Duration;
  /** A run whose replica died: `retry` it (default) or record it `abandoned`. */
  readonly onAbandoned?: AbandonPolicy;
  /** Called before each run; returning `false` skips the occurrence (recorded `skipped`). */
  readonly beforeRun?: (run: RunContext) => boolean | void | Promise<boolean | void>;
  /** Called after a successful run with the handler's result. */
  readonly afterRun?: (run: RunContext, result: unknown) => void | Promise<void>;
  /** Called after each failed attempt. */
  readonly afterError?: (run: RunContext, error: unknown) => void | Promise<void>;
}

/** {@link JobOptions} validated and normalised. */
export interface JobConfig {
  readonly id: string;
  readonly schedule: Schedule;
  readonly handler: Handler;
  readonly tags: readonly string[];
  readonly overlap: OverlapPolicy;
  readonly maxRuns: number | null;
  readonly startAt: number | null;
  readonly startImmediately: boolean;
  readonly stopAt: number | null;
  readonly timeoutMs: number | null;
  readonly retry: { max: number; exponential: boolean; delayMs: number; maxDelayMs: number };
  readonly missed: MissedPolicy;
  readonly missedAfterMs: number | null;
  readonly catchUpWindowMs: number;
  readonly onAbandoned: AbandonPolicy;
  readonly beforeRun: JobOptions["beforeRun"];
  readonly afterRun: JobOptions["afterRun"];
  readonly afterError: JobOptions["afterError"];
}

const JOB_ID = /^[\w.:@/-]{1,200}$/u;

/** Validates a job definition; throws `BelfryError` naming the job and the bad value. */
export function toJobConfig(
  id: string,
  schedule: Schedule,
  handler: Handler,
  options: JobOptions = {},
): JobConfig {
  const where = `job(${JSON.stringify(id)})`;
  if (typeof id !== "string" || !JOB_ID.test(id)) {
    throw new BelfryError(
      "INVALID_OPTION",
      `job(${JSON.stringify(id)}): a job id is 1-200 letters, digits or . _ : @ / -`,
    );
  }
  if (!schedule || typeof schedule.next !== "function" || !schedule.spec) {
    throw new BelfryError(
      "INVALID_OPTION",
      `${where}: the schedule must come from every(), cron(), daily(), weekly(), monthly(), once() or everyRandom()`,
    );
  }
  if (typeof handler !== "function") {
    throw new BelfryError(
      "INVALID_HANDLER",
      `${where}: the handler must be a function, got ${typeof handler}`,
    );
  }
  return {
    id,
    schedule,
    handler,
    tags: validateTags(options.tags, where),
    overlap: oneOf(options.overlap, ["allow", "skip", "queueOne"], "allow", `${where}.overlap`),
    maxRuns: optionalCount(options.maxRuns, `${where}.maxRuns`),
    startAt: optionalInstant(options.startAt, `${where}.startAt`),
    startImmediately: options.startImmediately === true,
    stopAt: optionalInstant(options.stopAt, `${where}.stopAt`),
    timeoutMs:
      options.timeout === undefined ? null : toPositiveMs(options.timeout, `${where}.timeout`),
    retry: toRetry(options.retries, `${where}.retries`),
    missed: oneOf(options.missed, ["skip", "latest", "all"], "skip", `${where}.missed`),
    missedAfterMs:
      options.missedAfter === undefined
        ? null
        : toPositiveMs(options.missedAfter, `${where}.missedAfter`),
    catchUpWindowMs: toMs(options.catchUpWindow ?? "1h", `${where}.catchUpWindow`),
    onAbandoned: oneOf(options.onAbandoned, ["retry", "abandon"], "retry", `${where}.onAbandoned`),
    beforeRun: optionalFunction(options.beforeRun, `${where}.beforeRun`),
    afterRun: optionalFunction(options.afterRun, `${where}.afterRun`),
    afterError: optionalFunction(options.afterError, `${where}.afterError`),
  };
}

function oneOf<T extends string>(
  value: T | undefined,
  allowed: readonly T[],
  fallback: T,
  where: string,
): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value)) {
    throw new BelfryError(
      "INVALID_OPTION",
      `${where}: ${JSON.stringify(value)} is not one of ${allowed.map((a) => `"${a}"`).join(", ")}`,
    );
  }
  return value;
}

function optionalCount(value: number | undefined, where: string): number | null {
  if (value === undefined) return null;
  if (!Number.isInteger(value) || value < 1) {
    throw new BelfryError("INVALID_OPTION", `${where}: must be a whole number ≥ 1, got ${value}`);
  }
  return value;
}

/** Parses an instant given as a Date, epoch ms or ISO string. */
export function optionalInstant(
  value: Date | number | string | undefined,
  where: string,
): number | null {
  if (value === undefined) return null;
  const ms =
    value instanceof Date ? value.getTime() : typeof value === "number" ? value : Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new BelfryError(
      "INVALID_DATE",
      `${where}: ${JSON.stringify(value)} is not a valid instant; use a Date, epoch milliseconds or an ISO 8601 string`,
    );
  }
  return ms;
}

function validateTags(tags: readonly string[] | undefined, where: string): readonly string[] {
  if (tags === undefined) return [];
  if (!Array.isArray(tags) || tags.some((tag) => typeof tag !== "string" || tag === "")) {
    throw new BelfryError("INVALID_OPTION", `${where}.tags: must be an array of non-empty strings`);
  }
  return [...tags];
}

function optionalFunction<T>(value: T | undefined, where: string): T | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw new BelfryError("INVALID_HANDLER", `${where}: must be a function, got ${typeof value}`);
  }
  return value;
}

function toRetry(value: number | RetryOptions | undefined, where: string): JobConfig["retry"] {
  const options: RetryOptions = typeof value === "number" ? { max: value } : (value ?? { max: 0 });
  if (!Number.isInteger(options.max) || options.max < 0) {
    throw new BelfryError("INVALID_OPTION", `${where}: max must be a whole number ≥ 0`);
  }
  return {
    max: options.max,
    exponential: oneOf(options.backoff, ["fixed", "exponential"], "exponential", where) !== "fixed",
    delayMs: toMs(options.delay ?? "1s", `${where}.delay`),
    maxDelayMs: toMs(options.maxDelay ?? "5m", `${where}.maxDelay`),
  };
}

/** Delay before retry number `attempt` (the attempt that just failed). */
export function retryDelay(retry: JobConfig["retry"], attempt: number): number {
  const delay = retry.exponential ? retry.delayMs * 2 ** (attempt - 1) : retry.delayMs;
  return Math.min(delay, retry.maxDelayMs);
}
