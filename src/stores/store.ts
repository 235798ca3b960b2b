import { BelfryError } from "../errors.js";

/**
 * The one contract between the scheduler and a backend. Every method that changes state is a
 * single atomic step in the backend (one SQL statement or transaction, one Lua script), so that
 * replicas racing on the same occurrence can never both win. All instants are epoch
 * milliseconds (UTC) and "now" is always the store's own clock, never the caller's.
 *
 * The memory store (`memory.ts`) is the reference implementation; every store passes the same
 * conformance suite (`test/conformance/`).
 */

/** Lifecycle of a run row. `claimed → running → succeeded | failed | abandoned`; the others are
 * terminal records of occurrences that did not run here (`missed`, `skipped`) or wait (`queued`). */
export type RunState =
  "claimed" | "running" | "succeeded" | "failed" | "abandoned" | "missed" | "skipped" | "queued";

/** States in which a run holds (or held, until its lease expired) a lease. */
export const ACTIVE_STATES: readonly RunState[] = ["claimed", "running"];

/** What happens when another run of the same job is still active, across all replicas. */
export type OverlapPolicy = "allow" | "skip" | "queueOne";

/** What recovery does with a run whose lease expired (its replica died or hung). */
export type AbandonPolicy = "retry" | "abandon";

/** Why a run exists: its schedule, or an explicit `runNow`. */
export type RunTrigger = "schedule" | "manual";

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

/** Result of {@link Store.registerJob}. */
export interface RegisterResult {
  readonly job: JobRecord;
  /** `updated` when the stored hash differed and was replaced (watermark kept). */
  readonly outcome: "created" | "unchanged" | "updated";
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

/** Outcome of one claim. Only `won` lets the replica run the occurrence. */
export type ClaimResult =
  | { readonly status: "won"; readonly run: ClaimedRun }
  /** Another replica claimed exactly this occurrence. */
  | { readonly status: "lost"; readonly watermark: number }
  /** The watermark is already past this occurrence. */
  | { readonly status: "stale"; readonly watermark: number }
  /** Not yet due by the store's clock; ask again after `retryAfterMs`. */
  | { readonly status: "notDue"; readonly retryAfterMs: number }
  /** Overlap `skip` (or a full `queueOne` slot): recorded as a `skipped` row. */
  | { readonly status: "skipped"; readonly runId: string }
  /** Overlap `queueOne`: recorded as `queued`, started when the active run ends. */
  | { readonly status: "queued"; readonly runId: string }
  | { readonly status: "paused" }
  /** The stored definition has another hash: this replica runs an old (or newer) version. */
  | { readonly status: "definitionChanged"; readonly hash: string }
  /** `maxRuns` reached. */
  | { readonly status: "exhausted" }
  | { readonly status: "unknownJob" };

/** Terminal outcome written by the run's owner. */
export interface RunOutcome {
  readonly state: "succeeded" | "failed" | "skipped";
  readonly error?: string | null;
}

/** Result of {@link Store.finishRun}. */
export interface FinishResult {
  /** False when the token was no longer current: the write was refused. */
  readonly ok: boolean;
  /** A `queued` occurrence of the same job, now claimed by the finishing replica. */
  readonly next: ClaimedRun | null;
}

/** One run found by {@link Store.recoverExpired}. */
export type Recovered =
  /** Expired lease under `retry` (or a queued run whose blocker is gone): now owned by the caller. */
  | { readonly action: "retried" | "promoted"; readonly run: ClaimedRun }
  /** Expired lease under `abandon`, or out of attempts: recorded `abandoned`, not re-run. */
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

/** Filter for {@link Store.history}; newest `scheduledAt` first. */
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
  /** Measured store − local clock offset, ms. */
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

/** The storage backend contract. See the file comment for the atomicity rules. */
export interface Store {
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
  getJob(jobId: string): Promise<JobRecord | null>;
  listJobs(): Promise<JobRecord[]>;
  /** Pauses or resumes a job for every replica; false if the job is unknown. */
  setPaused(jobId: string, paused: boolean): Promise<boolean>;

  /**
   * Claims occurrences, each in one atomic step: refuses unless the job exists, is not paused,
   * has the same hash, `scheduledAt ≤ now + tolerance`, `scheduledAt > watermark`, `maxRuns` is
   * not reached and the overlap policy allows it; then records the `missed` occurrences,
   * advances the watermark, inserts the run row (`claimed`, token 1, attempt 1) and returns it.
   * Results are in request order. Many requests share one round trip where the backend allows.
   */
  claim(requests: readonly ClaimRequest[]): Promise<ClaimResult[]>;
  /**
   * Creates a `manual` run at store now for `runNow`. It never touches the watermark or run count
   * and ignores the overlap policy.
   */
  claimManual(jobId: string, replicaId: string, leaseMs: number): Promise<ClaimedRun | null>;
  /**
   * Records occurrences that will not run (the missed policy decided so, with no run to claim):
   * inserts `missed` rows for those above the watermark and advances the watermark to the
   * newest. Returns how many rows were recorded.
   */
  recordMissed(jobId: string, hash: string, instants: readonly number[]): Promise<number>;

  /** Marks the run `running` with `attempt`; false if the token is no longer current. */
  startRun(runId: string, token: number, attempt: number): Promise<boolean>;
  /** Extends the lease to store now + leaseMs; false if the token is no longer current. */
  heartbeat(runId: string, token: number, leaseMs: number): Promise<boolean>;
  /**
   * Writes the terminal state (fenced by token). When the job has a `queued` run, the same step
   * hands it to the caller (`next`) with a fresh lease of `leaseMs`.
   */
  finishRun(
    runId: string,
    token: number,
    outcome: RunOutcome,
    leaseMs: number,
  ): Promise<FinishResult>;
  /** Lets the lease expire now so another replica recovers the run; false if fenced. */
  releaseRun(runId: string, token: number): Promise<boolean>;
  /**
   * Takes over runs whose lease expired by store time, each in one atomic step so exactly one
   * replica recovers a run: under `retry` with attempts left the caller owns a new attempt
   * (token + 1), otherwise the run is `abandoned`. Also promotes `queued` runs whose job has no
   * active run. At most `limit` runs per call.
   */
  recoverExpired(replicaId: string, leaseMs: number, limit: number): Promise<Recovered[]>;

  /** Run rows, newest `scheduledAt` first. */
  history(query?: HistoryQuery): Promise<RunRecord[]>;
  /** Deletes finished rows with `scheduledAt < before`; never touches watermarks. */
  prune(before: number): Promise<number>;

  /** Upserts this replica's row and sets `lastSeenAt` to store now. */
  touchReplica(info: ReplicaInfo): Promise<void>;
  /** Replicas seen at or after `since` (store time). */
  listReplicas(since: number): Promise<ReplicaRecord[]>;
  /** Persists a warning (kept for audit). */
  addWarning(warning: Omit<WarningRecord, "at">): Promise<void>;
  /** Newest warnings first. */
  listWarnings(limit?: number): Promise<WarningRecord[]>;
}

/** Table-name prefixes must be plain SQL identifiers: letters, digits, underscores. */
export const PREFIX_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,40}$/;

/** Throws `INVALID_PREFIX` unless `prefix` matches {@link PREFIX_PATTERN}. */
export function assertPrefix(prefix: string, where: string): void {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new BelfryError(
      "INVALID_PREFIX",
      `${where}: table prefix ${JSON.stringify(prefix)} is not allowed; use letters, digits and underscores, starting with a letter or underscore (at most 41 characters)`,
    );
  }
}
