import type { BelfryErrorCode } from "../errors.js";
import type { AbandonPolicy, OverlapPolicy, RunState, RunTrigger } from "../protocol/vocabulary.js";

export type { AbandonPolicy, OverlapPolicy, RunState, RunTrigger };

/**
 * The one contract between the scheduler and a backend. Every method that changes state is a
 * single atomic step in the backend (one SQL statement or transaction, one Lua script), so that
 * replicas racing on the same occurrence can never both win. All instants are epoch
 * milliseconds (UTC) and "now" is always the store's own clock, never the caller's.
 *
 * Rules every store keeps (the conformance suite checks them):
 *
 * - **Atomicity.** Every step that makes a run active — `claim`, `claimManual`, the hand-over
 *   of a queued run in `finishRun`, and the retry or promotion in `recoverExpired` — is atomic
 *   with respect to claims of the same job: a claim sees either none or all of its effects.
 * - **Lease boundary.** A run is active while `state` is `claimed`/`running` and
 *   `leaseExpiresAt > store now`; its lease is expired when `leaseExpiresAt ≤ store now`. An
 *   expired lease is lost: the owner's `startRun`, `heartbeat`, `finishRun` and `releaseRun`
 *   are refused from then on, even before anyone recovered the run, and only `recoverExpired`
 *   can take it over.
 * - **Tokens.** Rows never owned (`missed`, `skipped`, `queued`) have token 0; a claim sets
 *   token 1 and every take-over (promotion of a queued run, retry, abandonment) adds 1, so a
 *   promoted queued run has token 1. A retried run keeps its `runId`.
 * - **Errors.** Infrastructure failures reject the call with `STORE_ERROR`; an unreadable row
 *   rejects with `CORRUPT_ROW` naming row, column and value (in `claim`: that request's `error`).
 *
 * **Required core and optional capabilities.** {@link Store} requires only what the claim path
 * needs: clock, registration, claim, the fenced run writes, recovery, history. Replica records
 * ({@link ReplicaRecords}), persisted warnings ({@link WarningRecords}), retention
 * ({@link Retention}), {@link JobLookup} and {@link Transactions} (SQL stores only) are optional
 * capabilities, each a small interface of
 * its own (gocron's `Elector` and `Locker` are the model), so a new backend can start with the
 * core and add them later. The scheduler checks for them in one place
 * (`capabilities(store)` in `src/stores/shared/capabilities.ts`) and does without the ones a
 * store lacks: no replica rows or warnings in `audit()`, no persisted skew warning. The five
 * bundled stores implement all of them ({@link CompleteStore}) but {@link Transactions}, which
 * only the SQL stores (PostgreSQL, MySQL/MariaDB, SQLite) have.
 *
 * The memory store (`stores/memory/`) is the reference implementation; every store passes the
 * same conformance suite (`test/conformance/`).
 */

/** A job definition as the store keeps it (what the claim step must check). */
export interface JobRegistration {
  readonly jobId: string;
  /** Hash of the definition (schedule spec, anchor and policies). */
  readonly hash: string;
  /** Canonical JSON of the definition, for display and audit. */
  readonly definition: string;
  /** The instant the series counts from (see `ScheduleContext.anchor`). */
  readonly anchor: number;
  readonly overlap: OverlapPolicy;
  readonly onAbandoned: AbandonPolicy;
  /** Recovery under `retry` re-runs while `attempt < maxAttempts`. */
  readonly maxAttempts: number;
  /** Claims refused (`exhausted`) once this many scheduled runs were claimed; null: unlimited. */
  readonly maxRuns: number | null;
}

/** A stored job row. */
export interface JobRecord extends JobRegistration {
  /** Newest claimed or recorded `scheduledAt`; claims at or below it are refused. */
  readonly watermark: number | null;
  readonly paused: boolean;
  /** Scheduled runs claimed so far (counts toward `maxRuns`). */
  readonly runCount: number;
  /** 1 at creation, +1 each time a registration changes the hash. */
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/**
 * A job row {@link Store.listJobs} could not read (`CORRUPT_ROW`): listed beside the readable
 * jobs, so one corrupt row neither hides the others nor disappears from view.
 */
export interface UnreadableJob {
  /** The row's job id as stored, or `"?"` when even that cannot be read. */
  readonly jobId: string;
  /** The `CORRUPT_ROW` message, naming the row, the column and the value. */
  readonly message: string;
}

/** Result of {@link Store.listJobs}. */
export interface JobListing {
  /** The readable jobs, by job id. */
  readonly jobs: JobRecord[];
  /** Rows that could not be read, by job id. */
  readonly unreadable: UnreadableJob[];
}

/** Result of {@link Store.registerJob} (one per job of {@link Store.registerJobs}). */
export interface RegisterResult {
  readonly job: JobRecord;
  /** `updated` when the stored hash differed and was replaced (watermark kept). */
  readonly outcome: "created" | "unchanged" | "updated";
  /** The stored hash before this call (so for `unchanged` the same hash); null when `created`. */
  readonly previousHash: string | null;
}

/** One occurrence a replica asks to run. */
export interface ClaimRequest {
  readonly jobId: string;
  readonly scheduledAt: number;
  /** The claiming replica's definition hash; a mismatch refuses the claim. */
  readonly hash: string;
  readonly replicaId: string;
  /** Lease length; the lease expires at store now + leaseMs. */
  readonly leaseMs: number;
  /**
   * Earlier occurrences the replica decided will not run (its missed policy). Those above the
   * stored watermark are recorded as `missed` rows in the same atomic step.
   */
  readonly missed?: readonly number[];
  /** Accept an occurrence this many ms ahead of store now (default 0). */
  readonly toleranceMs?: number;
  /**
   * The latest store time (epoch ms) at which the occurrence may still start; absent: no limit.
   * When the claim step runs later than this by the store's clock (the request sat in a
   * client's offline queue, a slow pool), the store does not claim it: it records the
   * occurrence `missed` (token 0), advances the watermark as a won claim would, records the
   * request's `missed` list too and answers `missed`. The replica sets it from the job's missed
   * policy (`claimDeadline` in `coordination/catch-up.ts`), so on time or missed is decided by
   * the store's clock, never by the replica that planned the pass.
   */
  readonly lateAfter?: number;
  /**
   * For a runtime schedule ({@link ScheduleRecords}): the occurrence after this one (null: none).
   * Whenever the step advances the watermark (every result that writes a row) it also moves the
   * row's `nextAt` forward to this, never back, and `dueAt` to the earlier of `nextAt` and a
   * pending `triggeredAt`. Absent: `nextAt` is left alone.
   */
  readonly nextAt?: number | null;
}

/** A run this replica now owns. Every later write about it carries `token`. */
export interface ClaimedRun {
  readonly runId: string;
  readonly jobId: string;
  readonly scheduledAt: number;
  readonly trigger: RunTrigger;
  readonly attempt: number;
  /** Fencing token: a write with an older token is refused. */
  readonly token: number;
  readonly leaseExpiresAt: number;
}

/**
 * What a claim that advanced the watermark recorded as `missed` in the same step: the
 * instants of the rows it wrote in state `missed`, oldest first (the request's `missed` instants
 * above the old watermark and, for a `missed` result, the occurrence itself, last). Instants a
 * peer had already moved the watermark over are not in it.
 */
export interface RecordedMisses {
  readonly recordedMissed: readonly number[];
}

/**
 * Outcome of one claim. Only `won` lets the replica run the occurrence. The checks apply in this
 * order: `unknownJob`, `definitionChanged`, `notDue`, `lost`/`stale`, `exhausted`, `paused`,
 * `missed` (store now past `lateAfter`), then the overlap policy (`skipped`/`queued`) or `won`.
 */
export type ClaimResult =
  | ({ readonly status: "won"; readonly run: ClaimedRun } & RecordedMisses)
  /** Another replica claimed exactly this occurrence. */
  | { readonly status: "lost"; readonly watermark: number }
  /** The watermark is already past this occurrence. */
  | { readonly status: "stale"; readonly watermark: number }
  /** Not yet due by the store's clock; ask again after `retryAfterMs`. */
  | { readonly status: "notDue"; readonly retryAfterMs: number }
  /** Overlap `skip` (or a full `queueOne` slot): recorded as a `skipped` row. */
  | ({ readonly status: "skipped"; readonly runId: string } & RecordedMisses)
  /** Overlap `queueOne`: recorded as `queued`, started when the active run ends. */
  | ({ readonly status: "queued"; readonly runId: string } & RecordedMisses)
  /**
   * The step ran after the request's `lateAfter` (store time): the occurrence is recorded as the
   * `missed` row `runId` (its instant is the last of `recordedMissed`) and the watermark moved
   * over it, so nobody runs it.
   */
  | ({ readonly status: "missed"; readonly runId: string } & RecordedMisses)
  /**
   * The job is paused: the occurrence is recorded as the `skipped` row `runId` (token 0, error
   * `paused`) and the watermark moved over it, so nobody runs it and a claim of it after resume
   * is `lost`/`stale`. Only a due occurrence above the watermark gets this answer.
   */
  | ({ readonly status: "paused"; readonly runId: string } & RecordedMisses)
  /** The stored definition has another hash: this replica runs an old (or newer) version. */
  | { readonly status: "definitionChanged"; readonly hash: string }
  /** `maxRuns` reached. */
  | { readonly status: "exhausted" }
  | { readonly status: "unknownJob" }
  /**
   * Something specific to this request's job is wrong (its job row or one of its run rows is
   * corrupt: `CORRUPT_ROW`, the message naming the row, column and value). Nothing was written
   * for this request; the other requests of the batch were decided and written normally.
   */
  | { readonly status: "error"; readonly code: BelfryErrorCode; readonly message: string };

/** Terminal outcome written by the run's owner. */
export interface RunOutcome {
  readonly state: "succeeded" | "failed" | "skipped";
  readonly error?: string | null;
}

/** One item of {@link Store.startRuns}: the arguments of one {@link Store.startRun}. */
export interface StartRequest {
  readonly runId: string;
  readonly token: number;
  readonly attempt: number;
}

/** One item of {@link Store.finishRuns}: the arguments of one {@link Store.finishRun}. */
export interface FinishRequest {
  readonly runId: string;
  readonly token: number;
  readonly outcome: RunOutcome;
  readonly leaseMs: number;
}

/** Result of {@link Store.finishRun}. */
export interface FinishResult {
  /** False when the write was refused (token not current, run not active, lease expired). */
  readonly ok: boolean;
  /** A `queued` occurrence of the same job, now claimed by the finishing replica. */
  readonly next: ClaimedRun | null;
}

/** One run found by {@link Store.recoverExpired}. */
export type Recovered =
  /** Expired lease under `retry` (or a queued run whose blocker is gone): now owned by the caller. */
  | { readonly action: "retried" | "promoted"; readonly run: ClaimedRun }
  /** Expired under `abandon`, out of attempts or superseded: recorded `abandoned`, not re-run. */
  | {
      readonly action: "abandoned";
      readonly runId: string;
      readonly jobId: string;
      readonly scheduledAt: number;
    };

/** A run row as history and audit show it. */
export interface RunRecord {
  readonly runId: string;
  readonly jobId: string;
  readonly scheduledAt: number;
  readonly trigger: RunTrigger;
  readonly state: RunState;
  readonly attempt: number;
  readonly token: number;
  /** Replica that owns or last owned the run; null for `missed` rows. */
  readonly replicaId: string | null;
  readonly claimedAt: number | null;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly leaseExpiresAt: number | null;
  readonly error: string | null;
}

/** Filter for {@link Store.history}; newest `scheduledAt` first, ties by `runId` descending. */
export interface HistoryQuery {
  readonly jobId?: string;
  readonly states?: readonly RunState[];
  /** Only runs with `scheduledAt` ≥ `from`. */
  readonly from?: number;
  /** Only runs with `scheduledAt` < `to`. */
  readonly to?: number;
  /** At most this many rows (default 100). */
  readonly limit?: number;
}

/** A replica's self-report, kept for audit ("what ran where"). */
export interface ReplicaInfo {
  readonly replicaId: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  /** Measured store − local clock offset, ms; stored as an integer (stores round it). */
  readonly clockOffsetMs: number;
}

/** A stored replica row. */
export interface ReplicaRecord extends ReplicaInfo {
  readonly lastSeenAt: number;
}

/** A persisted warning (clock skew, risky store settings). */
export interface WarningRecord {
  readonly at: number;
  readonly replicaId: string;
  readonly kind: string;
  readonly message: string;
}

/** Optional capability: the stored job row, for tools and tests (the scheduler never reads it). */
export interface JobLookup {
  getJob(jobId: string): Promise<JobRecord | null>;
}

/** Optional capability: deleting old run rows. */
export interface Retention {
  /**
   * Deletes rows in states `succeeded`, `failed`, `abandoned`, `missed` and `skipped` with
   * `scheduledAt < before` (never active or queued rows); never touches watermarks. Returns how
   * many rows were deleted.
   */
  prune(before: number): Promise<number>;
}

/** What {@link Transactions.transactional} returns. */
export interface TransactionResult<T> {
  /** What the callback returned. */
  readonly value: T;
  /** As in {@link FinishResult}: a `queued` run of the job, handed to the caller in the same commit. */
  readonly next: ClaimedRun | null;
}

/**
 * Optional capability (the SQL stores): effects that commit with the run. The handler's own
 * writes to the store's database and the run's outcome commit in one transaction, fenced by the
 * run's token, so an effect in that database happens exactly once: a retry after a crash or a
 * lost lease either finds the outcome committed (and the run finished, never recovered) or finds
 * nothing of the effect (rolled back).
 */
export interface Transactions {
  /**
   * Opens a transaction on the store's database, checks that the caller owns the run (token
   * current, state active, lease not expired by the store's clock), calls `fn` with the
   * driver's handle for that transaction (see each store's `…Transaction` type), then writes
   * `outcome` as {@link Store.finishRun} does (fenced again, with the hand-over of a `queued`
   * run) and commits. Nothing commits unless all of it does.
   *
   * @throws BelfryError `LEASE_LOST` (rolled back) when the run is not the caller's, before `fn`
   *   or when the outcome is written; what `fn` throws, unchanged (rolled back); `STORE_ERROR`
   *   for a failure of the store's own statements.
   */
  transactional<T>(
    runId: string,
    token: number,
    outcome: RunOutcome,
    leaseMs: number,
    fn: (tx: unknown) => T | Promise<T>,
  ): Promise<TransactionResult<T>>;
}

/** Optional capability: a row per replica, kept for audit ("what ran where"). */
export interface ReplicaRecords {
  /** Upserts this replica's row and sets `lastSeenAt` to store now. */
  touchReplica(info: ReplicaInfo): Promise<void>;
  /** Replicas seen at or after `since` (store time). */
  listReplicas(since: number): Promise<ReplicaRecord[]>;
}

/** Optional capability: persisted warnings (clock skew, risky settings), kept for audit. */
export interface WarningRecords {
  /** Persists a warning (kept for audit). */
  addWarning(warning: Omit<WarningRecord, "at">): Promise<void>;
  /** The newest `limit` warnings (default 100; 0: none), newest first. */
  listWarnings(limit?: number): Promise<WarningRecord[]>;
}

/**
 * A runtime schedule as its writer sends it (`scheduler.schedules.create`): a job row (the
 * claim protocol treats it as any job: watermark, hash, overlap, leases, history) plus what the
 * due query needs. Its `jobId` is `scheduleJobId(task, key)` (`stores/shared/schedules.ts`).
 */
export interface ScheduleWrite extends JobRegistration {
  /** The task (a handler defined by name in code) that runs it. */
  readonly task: string;
  /** Unique per task. */
  readonly key: string;
  /** JSON text handed to the handler as `run.data`; null for none. */
  readonly data: string | null;
  /** The first occurrence to claim, computed by the writer; null when the series has none. */
  readonly nextAt: number | null;
}

/** A stored runtime schedule: its job row plus the schedule columns. */
export interface ScheduleRecord extends JobRecord {
  readonly task: string;
  readonly key: string;
  readonly data: string | null;
  /**
   * The next occurrence to claim. Claims move it forward (never back); a write
   * (`putSchedules`) sets it; null when the series is over.
   */
  readonly nextAt: number | null;
  /** Store time of a pending `triggerSchedule` (a run owed now, outside the series); or null. */
  readonly triggeredAt: number | null;
  /** When the row is next due: the earlier of `nextAt` and `triggeredAt`; null when neither. */
  readonly dueAt: number | null;
}

/** Result of {@link ScheduleRecords.putSchedules} with `returning: "outcomes"`, one per write. */
export interface PutScheduleOutcome {
  /**
   * `created`; `unchanged` (same hash and data: nothing written); `updated` (an upsert replaced
   * the definition or data: version + 1 when the hash changed, watermark and run count kept,
   * `nextAt` taken from the write); `conflict` (a `create` of an existing key with another hash
   * or data: nothing written).
   */
  readonly outcome: "created" | "unchanged" | "updated" | "conflict";
}

/** Result of {@link ScheduleRecords.putSchedules}, one per write. */
export interface PutScheduleResult extends PutScheduleOutcome {
  /** The stored row after the write (for `conflict`: the row as it was, untouched). */
  readonly schedule: ScheduleRecord;
}

/**
 * What {@link ScheduleRecords.putSchedules} returns per write: the stored row and the outcome
 * (`rows`, the default), or the outcome only (`outcomes`: a bulk create needs no more, and the
 * store skips reading the rows back).
 */
export type PutScheduleReturning = "rows" | "outcomes";

/** Filter for {@link ScheduleRecords.listSchedules}; rows come ordered by `jobId`. */
export interface ScheduleQuery {
  readonly task?: string;
  /** Only keys starting with this (needs `task`). */
  readonly keyPrefix?: string;
  readonly paused?: boolean;
  /** Only rows with `jobId` greater than this (the `next` of the previous page). */
  readonly after?: string;
  /** At most this many rows (default 100, at most 1,000). */
  readonly limit?: number;
}

/** One page of {@link ScheduleRecords.listSchedules}. */
export interface SchedulePage {
  readonly schedules: ScheduleRecord[];
  /** Rows of the page that could not be read (`CORRUPT_ROW`), by job id. */
  readonly unreadable: UnreadableJob[];
  /** Pass as `after` for the next page; null on the last page. */
  readonly next: string | null;
}

/** Filter of {@link ScheduleRecords.countSchedules}. */
export interface ScheduleCountFilter {
  /** Only the schedules of this task; absent: every schedule. */
  readonly task?: string;
}

/** Query of {@link ScheduleRecords.dueSchedules}. */
export interface DueQuery {
  /** Only schedules of these tasks (the ones this replica can run). */
  readonly tasks: readonly string[];
  /** Rows with `dueAt ≤ until` (store time). */
  readonly until: number;
  /** At most this many rows. */
  readonly limit: number;
  /**
   * Picks the order of rows due at one instant (see below): any string. The poller passes its
   * replica id and a poll count, so each poll of each replica starts at another point.
   */
  readonly replicaId: string;
}

/** Result of {@link ScheduleRecords.dueSchedules}. */
export interface DueSchedules {
  /**
   * Rows of the tasks with `dueAt ≤ until`, by `dueAt`; rows with equal `dueAt` in an order
   * that differs per `replicaId` (`spreadRank` in `stores/shared/schedules.ts`), so replicas
   * racing for one burst start on different rows. At most `limit`.
   */
  readonly schedules: ScheduleRecord[];
  /** Due rows that could not be read (`CORRUPT_ROW`), by job id. */
  readonly unreadable: UnreadableJob[];
  /** The earliest `dueAt` after `until` among the tasks' rows, or null when none. */
  readonly nextDueAt: number | null;
}

/** One item of {@link ScheduleRecords.advanceSchedules}. */
export interface ScheduleAdvance {
  readonly jobId: string;
  /** Applied only while the stored hash is this one. */
  readonly hash: string;
  /** The new `nextAt`: applied only when later than the stored one (null: the series is over). */
  readonly nextAt: number | null;
}

/**
 * Optional capability: runtime schedules, stored as job rows with a task, a key, data and their
 * next instant, so that the store (not each replica's memory) knows what is due. Claims go
 * through {@link Store.claim} as for any job, with {@link ClaimRequest.nextAt}; pause and resume
 * through {@link Store.setPaused}. Wake-ups (`LISTEN/NOTIFY`, pub/sub) are the store's own
 * business: {@link ScheduleRecords.onScheduleChange}.
 */
export interface ScheduleRecords {
  /**
   * Creates (`create`) or creates-or-replaces (`upsert`) schedules; results in request order
   * (a key named twice: the second sees the first). One round trip per few hundred writes; each
   * write is atomic on its own. A new row starts unpaused with no watermark, at version 1.
   *
   * With `returning: "outcomes"` each result is the outcome only
   * ({@link PutScheduleReturning}).
   *
   * @throws BelfryError `DUPLICATE_JOB` when a write names the id of a job defined in code:
   *   that job is left untouched (other writes of the call may have been applied).
   */
  putSchedules(
    writes: readonly ScheduleWrite[],
    mode: "create" | "upsert",
    returning?: "rows",
  ): Promise<PutScheduleResult[]>;
  putSchedules(
    writes: readonly ScheduleWrite[],
    mode: "create" | "upsert",
    returning: "outcomes",
  ): Promise<PutScheduleOutcome[]>;
  /** The schedule stored under `jobId`, or null (also for a job row that is no schedule). */
  getSchedule(jobId: string): Promise<ScheduleRecord | null>;
  /** A page of schedules (see {@link ScheduleQuery}); code-defined jobs are not listed. */
  listSchedules(query?: ScheduleQuery): Promise<SchedulePage>;
  /**
   * Deletes the schedules' job rows (run rows stay, for history); true per id that was a
   * schedule. A claim of a removed schedule is `unknownJob`, so removal stops it at once on
   * every replica.
   */
  removeSchedules(jobIds: readonly string[]): Promise<boolean[]>;
  /** The schedules due for a replica (see {@link DueQuery}); cheap whatever the number of rows. */
  dueSchedules(query: DueQuery): Promise<DueSchedules>;
  /**
   * The tasks that have a schedule still to run (a `dueAt`), sorted: one index skip per task,
   * whatever the number of rows. With {@link dueSchedules} for one task and a past `until`, it
   * finds schedules nobody runs (a task no live replica defines).
   */
  scheduleTasks(): Promise<string[]>;
  /**
   * How many schedules are stored (all of them, or those of `filter.task`), finished series
   * included: one index count, never a read of the rows (SQL `COUNT` over an index on `task`;
   * Redis `ZLEXCOUNT` of the schedule list). With {@link scheduleTasks} it sums up the
   * schedules per task without listing them.
   */
  countSchedules(filter?: ScheduleCountFilter): Promise<number>;
  /** Moves `nextAt` forward where a claim did not (a pass found nothing to claim); batched. */
  advanceSchedules(items: readonly ScheduleAdvance[]): Promise<void>;
  /**
   * Owes the schedule one run now: sets `triggeredAt` to store now unless one is pending (two
   * triggers before a replica takes it are one run) and `dueAt` to it. False for no schedule.
   */
  triggerSchedule(jobId: string): Promise<boolean>;
  /**
   * Takes a pending trigger, in one atomic step so exactly one replica does: clears
   * `triggeredAt`, sets `dueAt` back to `nextAt` and creates the `manual` run as
   * {@link Store.claimManual} does, returned. Null when no trigger is pending.
   */
  claimTriggered(jobId: string, replicaId: string, leaseMs: number): Promise<ClaimedRun | null>;
  /**
   * Claims past occurrences of the schedule again, as `backfill` runs (`schedules.backfill`),
   * in one atomic step: for each of `instants` not after store now and with no `backfill` row
   * yet (the unique occurrence key `(jobId, scheduledAt, "backfill")`, whatever its state),
   * inserts a `backfill` run (`claimed`, token 1, attempt 1, `claimedAt` = store now, lease
   * until store now + `leaseMs`) and returns them, oldest first; the others are skipped, so an
   * occurrence is backfilled at most once while its row is kept (retention can delete it). A
   * `schedule` or `manual` row at the same instant does not count. Like
   * {@link Store.claimManual} it never touches the watermark, run count, `nextAt`,
   * `triggeredAt` or `paused`, and ignores `paused` and the overlap policy. The store does not
   * check that the instants are occurrences of the series (the caller computed them from the
   * definition); callers send a few hundred at a time. Null when `jobId` is no schedule (none,
   * or a job defined in code).
   */
  claimBackfill(
    jobId: string,
    instants: readonly number[],
    replicaId: string,
    leaseMs: number,
  ): Promise<ClaimedRun[] | null>;
  /**
   * Calls `listener` soon after a write on any replica made a schedule due earlier than before
   * (create, upsert, trigger, resume): PostgreSQL `LISTEN/NOTIFY`, Redis pub/sub. Returns the
   * unsubscribe function. Absent on stores that cannot (MySQL, SQLite, memory across
   * processes): the scheduler then polls at a short bounded interval.
   */
  onScheduleChange?(listener: () => void): Promise<() => Promise<void>>;
}

/**
 * The storage backend contract: the required core, plus the optional capabilities as optional
 * methods. See the file comment for the atomicity rules.
 */
export interface Store
  extends
    Partial<ReplicaRecords>,
    Partial<WarningRecords>,
    Partial<Retention>,
    Partial<JobLookup>,
    Partial<Transactions>,
    Partial<ScheduleRecords> {
  /** Short backend name (`memory`, `sqlite`, `postgres`, `mysql`, `redis`). */
  readonly kind: string;
  /**
   * Settings of the backend that can lose claims (Redis eviction policy, no persistence), found
   * by `init()`. The scheduler reports each as a `store:warning` event and a log line.
   */
  readonly settingsWarnings?: readonly string[];
  /** Connects and applies migrations; idempotent and safe for N replicas at once. */
  init(): Promise<void>;
  /** Releases connections the store opened (not ones the caller passed in). */
  close(): Promise<void>;
  /** The store's clock, epoch ms. */
  now(): Promise<number>;

  /**
   * Upserts a job definition. Identical concurrent registrations are no-ops; a different hash
   * replaces the definition (version + 1) but keeps the watermark and run count, so a changed
   * definition never starts a second series.
   */
  registerJob(registration: JobRegistration): Promise<RegisterResult>;
  /**
   * {@link registerJob} for many jobs, results in request order, each with the same meaning as
   * if the jobs were registered one after another (a job named twice: the second sees the
   * first). Costs one store round trip per few hundred jobs (a multi-row upsert, one
   * transaction or one pipeline), not one per job; each job's upsert is atomic on its own.
   */
  registerJobs(registrations: readonly JobRegistration[]): Promise<RegisterResult[]>;
  /**
   * Every job defined in code (a row without a task), by job id; runtime schedules
   * ({@link ScheduleRecords}) are not listed: read them a page at a time with
   * `listSchedules` and count them with `countSchedules`, so this stays as small as the code's
   * job list however many schedules the store holds, and the store reads only those rows. A
   * row that cannot be read is listed in `unreadable`, not thrown.
   */
  listJobs(): Promise<JobListing>;
  /** Pauses or resumes a job for every replica; false if the job is unknown. */
  setPaused(jobId: string, paused: boolean): Promise<boolean>;

  /**
   * Claims occurrences, each in one atomic step: refuses unless the job exists, has the same
   * hash, `scheduledAt ≤ now + tolerance`, `scheduledAt > watermark`, `maxRuns` is
   * not reached and the overlap policy allows it; then records the `missed` occurrences,
   * advances the watermark, inserts the run row (`claimed`, token 1, attempt 1) and returns it.
   * Past the request's `lateAfter` (store now) the occurrence's row is `missed` instead (see
   * {@link ClaimRequest.lateAfter}). Every result that wrote rows names the `missed` ones
   * (`recordedMissed`).
   *
   * A paused job's claim is not a bare refusal: once the occurrence is due, above the watermark
   * and within `maxRuns`, it is recorded as a `skipped` row with error `paused` (token 0, the
   * claiming replica's id), the request's `missed` instants are recorded as `missed` rows as a
   * won claim would (they must not vanish either), the watermark advances (the run count does
   * not) and the answer is `paused` with the row's id. So no occurrence vanishes without a row
   * while a job is paused, and after `setPaused(jobId, false)` the next occurrence is claimed as
   * usual.
   *
   * Results are in request order. Many requests share one round trip where the backend allows.
   *
   * A request whose job row (or one of its run rows read for the decision) is corrupt gets an
   * `error` result and writes nothing; the other requests are decided and written as if it were
   * not in the batch. Only an infrastructure failure rejects the whole call (`STORE_ERROR`).
   */
  claim(requests: readonly ClaimRequest[]): Promise<ClaimResult[]>;
  /**
   * Creates a `manual` run for `runNow` (`claimed`, token 1, attempt 1, `claimedAt` = store now,
   * lease until store now + `leaseMs`). Its `scheduledAt` is store now, moved to 1 ms past the
   * newest manual run of the job scheduled at or after now, so manual runs never collide. It
   * never touches the watermark or run count and ignores `paused` and the overlap policy.
   * Returns null for an unknown job.
   */
  claimManual(jobId: string, replicaId: string, leaseMs: number): Promise<ClaimedRun | null>;
  /**
   * Records occurrences that will not run (the missed policy decided so, with no run to claim):
   * inserts `missed` rows for those above the watermark and not after store now (an instant
   * still in the future cannot be missed: a replica whose clock runs ahead must not record it)
   * and advances the watermark to the newest recorded. Returns the instants recorded, oldest
   * first (none for an unknown job or hash).
   */
  recordMissed(jobId: string, hash: string, instants: readonly number[]): Promise<number[]>;

  /**
   * Marks the run `running` and records `attempt` as the run's attempt. This and the next three
   * methods are fenced: false (`ok: false`) when the token is not current, the run is not active
   * or its lease expired (an expired lease is lost, never renewed).
   */
  startRun(runId: string, token: number, attempt: number): Promise<boolean>;
  /** Extends the lease to store now + leaseMs (fenced). */
  heartbeat(runId: string, token: number, leaseMs: number): Promise<boolean>;
  /**
   * Writes the terminal state (fenced). When the job has a `queued` run, the same step hands
   * its oldest one to the caller (`next`: `claimed`, token + 1, the caller's replica id, a
   * fresh lease of `leaseMs`).
   */
  finishRun(
    runId: string,
    token: number,
    outcome: RunOutcome,
    leaseMs: number,
  ): Promise<FinishResult>;
  /**
   * {@link startRun} for many runs in one store round trip (one statement, transaction or
   * pipeline): results in request order, each item fenced on its own (a stale token refuses
   * that item only). The run ids of one call are distinct.
   */
  startRuns(requests: readonly StartRequest[]): Promise<boolean[]>;
  /**
   * {@link finishRun} for many runs in one store round trip: results in request order, each item
   * fenced on its own and each with the hand-over of its job's queued run (a job holds at most
   * one queued run, handed to the first item of that job the store accepted). The run ids of
   * one call are distinct.
   */
  finishRuns(requests: readonly FinishRequest[]): Promise<FinishResult[]>;
  /** Sets `leaseExpiresAt` to store now (fenced): expired at once, recovered by any replica. */
  releaseRun(runId: string, token: number): Promise<boolean>;
  /**
   * Takes over runs whose lease expired by store time, each in one atomic step so exactly one
   * replica recovers a run: under `retry` with attempts left the caller owns a new attempt
   * (same `runId`, attempt + 1, token + 1), otherwise the run is `abandoned` (token + 1).
   *
   * Under overlap `skip` or `queueOne` an expired run is never retried while the job has
   * another active run: it is recorded `abandoned` with an error naming it `superseded`, so a
   * job never has two active runs. Under `allow` it is retried as usual.
   *
   * Expired runs are handled first (oldest lease first), then `queued` runs whose job has no
   * active run are promoted to the caller (token + 1). `limit` counts both.
   */
  recoverExpired(replicaId: string, leaseMs: number, limit: number): Promise<Recovered[]>;

  /** Run rows, `ORDER BY scheduled_at DESC, run_id DESC` (see {@link HistoryQuery}). */
  history(query?: HistoryQuery): Promise<RunRecord[]>;
}

/** A store with every optional capability, as the five bundled stores are. */
export type CompleteStore = Store &
  JobLookup &
  Retention &
  ReplicaRecords &
  WarningRecords &
  ScheduleRecords;
