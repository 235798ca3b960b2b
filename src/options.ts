import { z } from "zod";
import type { Duration } from "./duration.js";
import { BelfryError, quote } from "./errors.js";
import type { Logger } from "./observe/logger.js";
import { assertFires } from "./schedules/fires.js";
import type { Schedule } from "./schedules/schedule.js";
import {
  durationField,
  functionField,
  instantField,
  oneOf,
  parseOptions,
  strictOptions,
  wholeNumber,
} from "./validation.js";
import type { AbandonPolicy, OverlapPolicy, RunTrigger } from "./stores/store.js";

/** What a handler receives for one attempt of one occurrence. */
export interface RunContext {
  readonly jobId: string;
  /** Nominal instant of the occurrence (UTC). */
  readonly scheduledAt: Date;
  /**
   * `<jobId>@<ISO scheduledAt>` (manual runs: `<jobId>@<ISO>#manual`, backfill runs:
   * `<jobId>@<ISO>#backfill`): the same for every attempt
   * of the occurrence on every replica, so a handler can make its side effects idempotent.
   */
  readonly idempotencyKey: string;
  /** 1 for the first attempt; grows with retries and with recovery under `retry`. */
  readonly attempt: number;
  readonly runId: string;
  readonly trigger: RunTrigger;
  /**
   * Aborted when the lease is lost (refused by the store, or its local deadline passed), the
   * timeout passes or the scheduler stops. After a long pause the handler's own timers can fire
   * before the abort does: check {@link assertLease} right before a side effect.
   */
  readonly signal: AbortSignal;
  /**
   * When this replica's hold on the run ends unless a heartbeat extends it (store time, a safety
   * margin before the store's own expiry). Read it again for the current value: heartbeats move
   * it on. The `leader` and lock modes keep no lease: there it is an invalid `Date`.
   */
  readonly leaseExpiresAt: Date;
  /**
   * The run's fencing token: it grows each time the occurrence changes hands (a retry after an
   * expired lease, a take-over), so a downstream system that remembers the highest token it saw
   * per {@link idempotencyKey} can refuse a write from an older holder.
   */
  readonly fencingToken: number;
  /**
   * Throws a `BelfryError` `LEASE_LOST` once the lease was lost or its local deadline (on the
   * monotonic clock) passed; synchronous, with no store round trip. Call it right before each
   * side effect: a handler that does never overlaps its own retry on another replica.
   */
  assertLease(): void;
  readonly replicaId: string;
  /** The task of a runtime schedule (`scheduler.task`); null for a job defined with `job()`. */
  readonly task: string | null;
  /** The key of a runtime schedule (unique per task); null for a job defined with `job()`. */
  readonly scheduleKey: string | null;
  /** The runtime schedule's `data`, parsed from its stored JSON; undefined for `job()` jobs. */
  readonly data: unknown;
  /** The scheduler's logger, bound to this run. */
  readonly logger: Logger;
  /**
   * Effects that commit with the run (PostgreSQL, MySQL/MariaDB, SQLite): runs `fn` in one
   * transaction of the store's database, checked to still own the run (token current, lease
   * not expired by the store's clock), and commits the run's `succeeded` outcome in the same
   * transaction. Writes `fn` makes through `tx` therefore happen exactly once per occurrence,
   * even across crashes and pauses: a retry finds the outcome committed and never runs, or finds
   * none of the writes. Call it at most once per attempt, as the handler's last step: the run
   * is `succeeded` once it resolves, whatever the handler does afterwards.
   *
   * `tx` is the store's own handle for the transaction: `PgTransaction` (the `pg` client),
   * `MysqlTransaction` (the `mysql2` connection) or `SqliteTransaction` (synchronous
   * statements; on SQLite `fn` must be synchronous). Annotate it: `async (tx: PgTransaction) => …`.
   *
   * @throws BelfryError `LEASE_LOST` (rolled back) when the run is no longer this attempt's;
   *   `UNSUPPORTED` on the memory and Redis stores and in the `leader` / `lock` modes;
   *   `INVALID_HANDLER` for a second call; what `fn` throws (rolled back).
   */
  transaction<T, Tx = unknown>(fn: (tx: Tx) => T | Promise<T>): Promise<T>;
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
  /** Set for a runtime schedule: its task, key and data as the handler sees them. */
  readonly runtime: RuntimeSource | null;
}

/** Where a runtime schedule's run comes from (see `RunContext.task`). */
export interface RuntimeSource {
  readonly task: string;
  readonly key: string;
  readonly data: unknown;
}

/** Job ids starting with this (any case) are belfry's own, such as the leader mode's. */
export const RESERVED_PREFIX = "belfry:";

/** Letters and digits of any script, combining marks, and `. _ : @ / -`. */
const JOB_ID = /^[\p{L}\p{M}\p{N}_.:@/-]{1,200}$/u;
/** Most retries of one attempt: beyond this a job is failing, not flaky. */
const MAX_RETRIES = 100;

const retryObject = strictOptions({
  max: wholeNumber(0, MAX_RETRIES),
  backoff: oneOf(["fixed", "exponential"]).default("exponential"),
  delay: durationField(0).default(1_000),
  maxDelay: durationField(0).default(300_000),
});

const jobOptions = strictOptions({
  tags: z
    .array(z.string().min(1, { error: "a tag must not be empty" }), {
      error: (issue) => `must be an array of non-empty strings, got ${quote(issue.input)}`,
    })
    .default([]),
  overlap: oneOf(["allow", "skip", "queueOne"]).default("allow"),
  maxRuns: wholeNumber(1).nullable().default(null),
  startAt: instantField().nullable().default(null),
  startImmediately: z
    .boolean({ error: (issue) => `must be true or false, got ${quote(issue.input)}` })
    .default(false),
  stopAt: instantField().nullable().default(null),
  timeout: durationField(1).nullable().default(null),
  retries: z
    .unknown()
    .transform((value) => (typeof value === "number" ? { max: value } : value))
    .pipe(retryObject)
    .default({ max: 0, backoff: "exponential", delay: 1_000, maxDelay: 300_000 }),
  missed: oneOf(["skip", "latest", "all"]).default("skip"),
  missedAfter: durationField(1).nullable().default(null),
  catchUpWindow: durationField(0).default(3_600_000),
  onAbandoned: oneOf(["retry", "abandon"]).default("retry"),
  beforeRun: functionField<JobOptions["beforeRun"]>().optional(),
  afterRun: functionField<JobOptions["afterRun"]>().optional(),
  afterError: functionField<JobOptions["afterError"]>().optional(),
} satisfies Record<keyof JobOptions, z.ZodType>);

type ParsedJobOptions = z.output<typeof jobOptions>;
let defaults: ParsedJobOptions | null = null;

/**
 * The options every job without options gets, parsed once: registering 100,000 jobs spends no
 * time re-validating the same empty object (frozen, as they are shared).
 */
function defaultJobOptions(): ParsedJobOptions {
  if (defaults === null) {
    const parsed = parseOptions(jobOptions, {}, "job()");
    defaults = Object.freeze({ ...parsed, tags: Object.freeze([...parsed.tags]) as string[] });
  }
  return defaults;
}

function isEmpty(options: JobOptions): boolean {
  if (typeof options !== "object" || options === null || Array.isArray(options)) return false;
  for (const key in options) if (Object.hasOwn(options, key)) return false;
  return Object.getPrototypeOf(options) === Object.prototype;
}

/**
 * Validates a job definition in one place; throws `BelfryError` naming the job, the option and
 * the value: `INVALID_OPTION`, `UNKNOWN_OPTION` (naming the nearest option), `INVALID_INTERVAL`,
 * `INVALID_DATE`, `INVALID_HANDLER`, `RESERVED_ID`, and `NEVER_FIRES` for a definition that has
 * no occurrence (`startAt` after `stopAt`, a `monthly` whose anchor month lacks its days).
 * `timezone` is the scheduler's zone; without it, zone-dependent checks assume any zone.
 */
export function toJobConfig(
  id: string,
  schedule: Schedule,
  handler: Handler,
  options: JobOptions = {},
  timezone?: string,
): JobConfig {
  const where = `job(${quote(id)})`;
  checkId(id, where);
  if (!schedule || typeof schedule.next !== "function" || !schedule.spec) {
    throw new BelfryError(
      "INVALID_OPTION",
      `${where}: the schedule must come from every(), cron(), daily(), weekly(), monthly(), once() or everyRandom()`,
    );
  }
  if (typeof handler !== "function") {
    throw new BelfryError(
      "INVALID_HANDLER",
      `${where}: the handler must be a function, got ${quote(handler)}`,
    );
  }
  const parsed = isEmpty(options) ? defaultJobOptions() : parseOptions(jobOptions, options, where);
  const { retries } = parsed;
  if (retries.maxDelay < retries.delay) {
    throw new BelfryError(
      "INVALID_OPTION",
      `${where}: retries: maxDelay (${retries.maxDelay} ms) is shorter than delay (${retries.delay} ms)`,
    );
  }
  assertFires(schedule, { ...parsed, id, timezone }, where);
  return {
    id,
    schedule,
    handler,
    tags: parsed.tags,
    overlap: parsed.overlap,
    maxRuns: parsed.maxRuns,
    startAt: parsed.startAt,
    startImmediately: parsed.startImmediately,
    stopAt: parsed.stopAt,
    timeoutMs: parsed.timeout,
    retry: {
      max: retries.max,
      exponential: retries.backoff === "exponential",
      delayMs: retries.delay,
      maxDelayMs: retries.maxDelay,
    },
    missed: parsed.missed,
    missedAfterMs: parsed.missedAfter,
    catchUpWindowMs: parsed.catchUpWindow,
    onAbandoned: parsed.onAbandoned,
    beforeRun: parsed.beforeRun,
    afterRun: parsed.afterRun,
    afterError: parsed.afterError,
    runtime: null,
  };
}

function checkId(id: unknown, where: string): void {
  if (typeof id !== "string" || !JOB_ID.test(id)) {
    throw new BelfryError(
      "INVALID_OPTION",
      `${where}: a job id is 1-200 letters, digits, marks or . _ : @ / -`,
    );
  }
  if (id.toLowerCase().startsWith(RESERVED_PREFIX)) {
    throw new BelfryError(
      "RESERVED_ID",
      `${where}: ids starting with "${RESERVED_PREFIX}" are reserved for belfry's own jobs; choose another id`,
    );
  }
}

/** Delay before retry number `attempt` (the attempt that just failed). */
export function retryDelay(retry: JobConfig["retry"], attempt: number): number {
  const delay = retry.exponential ? retry.delayMs * 2 ** (attempt - 1) : retry.delayMs;
  return Math.min(delay, retry.maxDelayMs);
}
