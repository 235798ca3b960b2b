import type { ClaimWrite } from "./claim.js";
import type { RecoveryAction } from "./recovery.js";
import { ACTIVE_STATES, type RunTrigger } from "./vocabulary.js";
import type {
  ClaimedRun,
  ClaimRequest,
  ClaimResult,
  Recovered,
  RunOutcome,
  RunRecord,
} from "../stores/store.js";

/**
 * The run rows a store writes, as pure functions of what it read: every store that decides in
 * JavaScript (SQLite, MySQL; memory follows the same shapes) builds the same rows, so history
 * looks the same on every backend. Each function returns the whole row after the change; the
 * store writes it back (for SQL, fenced by the token it read).
 */

/** Rows to insert and the result to return for a claim that `decideClaim` allowed. */
export interface ClaimRows {
  /** `missed` rows first (oldest first), then the occurrence's own row. */
  readonly rows: readonly RunRecord[];
  readonly result: ClaimResult;
}

/** A `missed` row: no owner, no token, recorded (finished) at `now`. */
export function missedRow(
  jobId: string,
  scheduledAt: number,
  now: number,
  runId: string,
): RunRecord {
  return baseRow({
    runId,
    jobId,
    scheduledAt,
    trigger: "schedule",
    state: "missed",
    finishedAt: now,
  });
}

/**
 * The rows a permitted claim writes: its `missed` rows and the occurrence's row (`claimed` with
 * token 1 and a lease, a `skipped` / `queued` record without one — a `skipped` row of a paused
 * job with error `paused`, answered `paused` — or a `missed` row when the step ran past the
 * request's `lateAfter`).
 */
export function claimRows(
  request: ClaimRequest,
  write: ClaimWrite,
  now: number,
  newId: () => string,
): ClaimRows {
  const missed = write.missed.map((at) => missedRow(request.jobId, at, now, newId()));
  const recordedMissed = [...write.missed];
  if (write.state === "missed") {
    const row = missedRow(request.jobId, request.scheduledAt, now, newId());
    recordedMissed.push(request.scheduledAt);
    return {
      rows: [...missed, row],
      result: { status: "missed", runId: row.runId, recordedMissed },
    };
  }
  const claimed = write.state === "claimed";
  const row = baseRow({
    runId: newId(),
    jobId: request.jobId,
    scheduledAt: request.scheduledAt,
    trigger: "schedule",
    state: write.state,
    token: claimed ? 1 : 0,
    replicaId: request.replicaId,
    claimedAt: claimed ? now : null,
    finishedAt: write.state === "skipped" ? now : null,
    leaseExpiresAt: claimed ? now + request.leaseMs : null,
    error: write.reason ?? null,
  });
  const result: ClaimResult = claimed
    ? { status: "won", run: toClaimedRun(row), recordedMissed }
    : { status: write.reason ?? write.state, runId: row.runId, recordedMissed };
  return { rows: [...missed, row], result };
}

/** A `manual` run claimed at `scheduledAt` (store now, moved past any manual run at that ms). */
export function manualRow(
  jobId: string,
  scheduledAt: number,
  replicaId: string,
  now: number,
  leaseMs: number,
  runId: string,
): RunRecord {
  return ownedRow("manual", jobId, scheduledAt, replicaId, now, leaseMs, runId);
}

/** A `backfill` run of the past occurrence `scheduledAt`, claimed at store `now`. */
export function backfillRow(
  jobId: string,
  scheduledAt: number,
  replicaId: string,
  now: number,
  leaseMs: number,
  runId: string,
): RunRecord {
  return ownedRow("backfill", jobId, scheduledAt, replicaId, now, leaseMs, runId);
}

/**
 * The instants a backfill claims of those asked for: deduplicated, none after store `now` (an
 * occurrence still to come is the schedule's to claim), oldest first.
 */
export function backfillInstants(instants: readonly number[], now: number): number[] {
  return newMissedInstants(null, instants, now);
}

/** A run outside the series' claim (`manual`, `backfill`): `claimed`, token 1, a fresh lease. */
function ownedRow(
  trigger: RunTrigger,
  jobId: string,
  scheduledAt: number,
  replicaId: string,
  now: number,
  leaseMs: number,
  runId: string,
): RunRecord {
  return baseRow({
    runId,
    jobId,
    scheduledAt,
    trigger,
    state: "claimed",
    token: 1,
    replicaId,
    claimedAt: now,
    leaseExpiresAt: now + leaseMs,
  });
}

/**
 * The `missed` instants strictly above `watermark` and not after store `now`, deduplicated,
 * oldest first. An instant still in the future by the store's clock cannot be missed: a replica
 * whose clock runs ahead must not record an occurrence before it was due.
 */
export function newMissedInstants(
  watermark: number | null,
  instants: readonly number[],
  now: number,
): number[] {
  const floor = watermark ?? Number.NEGATIVE_INFINITY;
  return [...new Set(instants)].filter((at) => at > floor && at <= now).sort((a, b) => a - b);
}

/** True when `run` is `claimed`/`running` with a lease that has not expired at `now`. */
export function isActive(run: RunRecord, now: number): boolean {
  return ACTIVE_STATES.includes(run.state) && (run.leaseExpiresAt ?? 0) > now;
}

/** True when `run` is active at `now` and `token` is its current token: the owner may write. */
export function isOwned(
  run: RunRecord | null | undefined,
  token: number,
  now: number,
): run is RunRecord {
  return !!run && run.token === token && isActive(run, now);
}

/** The run marked `running` by its owner. */
export function startedRow(run: RunRecord, attempt: number, now: number): RunRecord {
  return { ...run, state: "running", attempt, startedAt: now };
}

/** The run with its terminal outcome; the lease is gone. */
export function finishedRow(run: RunRecord, outcome: RunOutcome, now: number): RunRecord {
  return {
    ...run,
    state: outcome.state,
    error: outcome.error ?? null,
    finishedAt: now,
    leaseExpiresAt: null,
  };
}

/**
 * `run` handed to `replicaId` as a fresh claim with a new token, fencing any previous owner:
 * a promoted `queued` run (`nextAttempt` false) or a retried expired run (`nextAttempt` true).
 */
export function takenOverRow(
  run: RunRecord,
  replicaId: string,
  leaseMs: number,
  now: number,
  nextAttempt: boolean,
): RunRecord {
  return {
    ...run,
    state: "claimed",
    token: run.token + 1,
    attempt: nextAttempt ? run.attempt + 1 : run.attempt,
    replicaId,
    claimedAt: now,
    startedAt: null,
    leaseExpiresAt: now + leaseMs,
    error: nextAttempt ? expiryReason(run) : run.error,
  };
}

/**
 * The expired run recorded `abandoned`, with a new token so its old owner is fenced; its error
 * says `superseded` when it was not retried because another run of the job is active.
 */
export function abandonedRow(run: RunRecord, now: number, superseded = false): RunRecord {
  return {
    ...run,
    state: "abandoned",
    token: run.token + 1,
    finishedAt: now,
    leaseExpiresAt: null,
    error: superseded ? `${expiryReason(run)}${SUPERSEDED}` : expiryReason(run),
  };
}

/** Appended to the expiry reason of a run that recovery did not retry because of overlap. */
export const SUPERSEDED = "; superseded: not retried while another run of the job is active";

/** Why recovery took a run: kept in its `error` column for audit. */
export function expiryReason(run: RunRecord): string {
  return `lease expired on replica ${run.replicaId ?? "?"} (attempt ${run.attempt})`;
}

/** The row an expired run becomes under `action`, and what `recoverExpired` reports for it. */
export function recoveredRow(
  run: RunRecord,
  action: RecoveryAction,
  replicaId: string,
  leaseMs: number,
  now: number,
): { readonly row: RunRecord; readonly recovered: Recovered } {
  if (action === "retried") {
    const row = takenOverRow(run, replicaId, leaseMs, now, true);
    return { row, recovered: { action, run: toClaimedRun(row) } };
  }
  const row = abandonedRow(run, now, action === "superseded");
  const { runId, jobId, scheduledAt } = run;
  return { row, recovered: { action: "abandoned", runId, jobId, scheduledAt } };
}

/** The owner's view of a run row. */
export function toClaimedRun(run: RunRecord): ClaimedRun {
  return {
    runId: run.runId,
    jobId: run.jobId,
    scheduledAt: run.scheduledAt,
    trigger: run.trigger,
    attempt: run.attempt,
    token: run.token,
    leaseExpiresAt: run.leaseExpiresAt ?? 0,
  };
}

type RowFields = Pick<RunRecord, "runId" | "jobId" | "scheduledAt" | "trigger" | "state"> &
  Partial<RunRecord>;

/** A run row with defaults: attempt 1, token 0, no owner, no times, no error. */
function baseRow(fields: RowFields): RunRecord {
  return {
    attempt: 1,
    token: 0,
    replicaId: null,
    claimedAt: null,
    startedAt: null,
    finishedAt: null,
    leaseExpiresAt: null,
    error: null,
    ...fields,
  };
}
