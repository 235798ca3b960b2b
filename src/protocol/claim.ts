import { BelfryError, type BelfryErrorCode } from "../errors.js";
import type { ClaimRequest, ClaimResult, JobRecord, RunState } from "../stores/store.js";

/**
 * The claim decision, as a pure function of what the store read inside its atomic step. Stores
 * that decide in JavaScript within a transaction or under a lock (memory, SQLite, MySQL) call it;
 * stores that decide in one SQL statement or Lua script (PostgreSQL, Redis) encode the same rules
 * and pass the same conformance suite.
 */

/** What the store saw of the job's other runs when the claim was made. */
export interface ClaimSnapshot {
  /** The job row, or null when the job is not registered. */
  readonly job: JobRecord | null;
  /** Store now, epoch ms. */
  readonly now: number;
  /** A run of this job is `claimed`/`running` with a lease that has not expired. */
  readonly hasActiveRun: boolean;
  /** A run of this job is `queued`. */
  readonly hasQueuedRun: boolean;
}

/** What the store must write for a claim that advances the watermark. */
export interface ClaimWrite {
  /** State of the new row for `scheduledAt` (`missed`: the step ran past `lateAfter`). */
  readonly state: Extract<RunState, "claimed" | "skipped" | "queued" | "missed">;
  /** Occurrences to record as `missed` (above the old watermark, below `scheduledAt`). */
  readonly missed: readonly number[];
  /** Whether the job's `runCount` grows by one. */
  readonly countsAsRun: boolean;
  /**
   * Why the `skipped` row was written when it is not the overlap policy: `paused` (the job is
   * paused), kept in the row's `error` column and answered as a `paused` result.
   */
  readonly reason?: "paused";
}

/** Either a refusal to return as is, or the write to perform. */
export type ClaimDecision =
  | { readonly kind: "refuse"; readonly result: ClaimResult }
  | { readonly kind: "write"; readonly write: ClaimWrite };

/**
 * Applies the claim rules in order: unknown job, definition changed, not due, at or below the
 * watermark (`lost` when equal, `stale` when below), `maxRuns` reached, paused (recorded
 * `skipped` with reason `paused`), late (store now past `lateAfter`: recorded `missed`), then
 * the overlap policy.
 *
 * Paused and late come after the refusals so that they write only what a won claim would have
 * written: an occurrence a peer took stays `lost`/`stale` (so one paused occurrence gets one
 * row, however many replicas claim it), one not yet due is looked at again when it is due (a
 * job resumed by then runs it), and an exhausted job records nothing. Paused comes before late
 * because a paused job's occurrence would not have run in time or not: the pause is the reason
 * to record. Late comes before the overlap policy because an occurrence that will not run is
 * missed whatever other run is active.
 */
export function decideClaim(request: ClaimRequest, snapshot: ClaimSnapshot): ClaimDecision {
  const { job, now } = snapshot;
  const refuse = (result: ClaimResult): ClaimDecision => ({ kind: "refuse", result });
  if (!job) return refuse({ status: "unknownJob" });
  if (job.hash !== request.hash) return refuse({ status: "definitionChanged", hash: job.hash });
  const dueAt = request.scheduledAt - (request.toleranceMs ?? 0);
  if (dueAt > now) return refuse({ status: "notDue", retryAfterMs: dueAt - now });
  if (job.watermark !== null && request.scheduledAt <= job.watermark) {
    const status = request.scheduledAt === job.watermark ? "lost" : "stale";
    return refuse({ status, watermark: job.watermark });
  }
  if (job.maxRuns !== null && job.runCount >= job.maxRuns) return refuse({ status: "exhausted" });
  const missed = missedToRecord(request, job.watermark);
  if (job.paused) {
    return {
      kind: "write",
      write: { state: "skipped", missed, countsAsRun: false, reason: "paused" },
    };
  }
  if (request.lateAfter !== undefined && now > request.lateAfter) {
    return { kind: "write", write: { state: "missed", missed, countsAsRun: false } };
  }
  if (snapshot.hasActiveRun && job.overlap === "skip") {
    return { kind: "write", write: { state: "skipped", missed, countsAsRun: false } };
  }
  if (snapshot.hasActiveRun && job.overlap === "queueOne") {
    const state = snapshot.hasQueuedRun ? "skipped" : "queued";
    return { kind: "write", write: { state, missed, countsAsRun: state === "queued" } };
  }
  return { kind: "write", write: { state: "claimed", missed, countsAsRun: true } };
}

/** The request's `missed` instants that lie strictly between the watermark and `scheduledAt`. */
export function missedToRecord(request: ClaimRequest, watermark: number | null): number[] {
  const floor = watermark ?? Number.NEGATIVE_INFINITY;
  const unique = new Set(
    (request.missed ?? []).filter((at) => at > floor && at < request.scheduledAt),
  );
  return [...unique].sort((a, b) => a - b);
}

/** Codes that mean the store itself failed: they reject a whole `claim` call. */
const INFRASTRUCTURE: readonly BelfryErrorCode[] = ["STORE_ERROR", "STORE_CONNECT", "NOT_STARTED"];

/**
 * The `error` result of one claim request that failed for a reason specific to its job (a
 * `BelfryError` such as `CORRUPT_ROW`), or null when `error` is an infrastructure failure that
 * must reject the whole call.
 */
export function requestError(error: unknown): ClaimResult | null {
  if (!(error instanceof BelfryError) || INFRASTRUCTURE.includes(error.code)) return null;
  return { status: "error", code: error.code, message: error.message };
}

/**
 * {@link decideClaim} on what `read` returns (read inside the store's atomic step). When reading
 * fails for a reason specific to the request's job (a corrupt row), the request is refused with
 * its `error` result and nothing is written for it; an infrastructure failure is thrown.
 */
export function decideOrRefuse(request: ClaimRequest, read: () => ClaimSnapshot): ClaimDecision {
  let snapshot: ClaimSnapshot;
  try {
    snapshot = read();
  } catch (error) {
    const result = requestError(error);
    if (result) return { kind: "refuse", result };
    throw error;
  }
  return decideClaim(request, snapshot);
}
