import { BelfryError } from "../errors.js";
import type { EventHub } from "../observe/events.js";
import type { Logger } from "../observe/logger.js";
import type { ClaimedRun, ClaimRequest, ClaimResult, Store } from "../stores/store.js";
import { claimDeadlines, planCatchUp } from "./catch-up.js";
import { reportDefinitionChange, supersededBackoffMs } from "./definition-changes.js";
import type { JobState } from "./job-state.js";
import { advancedNextAt } from "../stores/shared/schedules.js";

/** What a pass decided for one job. */
export interface PassResult {
  readonly state: JobState;
  /** Runs this replica won and must execute now. */
  readonly won: ClaimedRun[];
  /** When to look at the job again (store time), or null when its series is over. */
  readonly wakeAt: number | null;
}

/** Dependencies of {@link claimDue}. */
export interface ClaimDeps {
  readonly store: Store;
  readonly hub: EventHub;
  readonly logger: Logger;
  readonly replicaId: string;
  readonly leaseMs: number;
}

const BROKEN_JOB_RETRY_MS = 60_000;

interface Planned {
  readonly state: JobState;
  readonly requests: ClaimRequest[];
  readonly recordOnly: readonly number[];
  /** Some due occurrences were left for a later pass (no free run slot). */
  deferred: boolean;
}

/**
 * Most claim requests in one store round trip. A burst of thousands of due occurrences is
 * claimed a chunk at a time, each chunk's won runs starting as it returns, so the first runs
 * start after one short round trip instead of after one giant transaction.
 */
export const MAX_CLAIMS_PER_ROUND_TRIP = 200;

/** What a pass needs besides the jobs: free run slots, and where won runs start. */
export interface PassSlots {
  /** Runs this replica can start now (read again before every chunk). */
  readonly room: () => number;
  /** Starts a run this replica just won. */
  readonly start: (state: JobState, run: ClaimedRun) => void;
}

/**
 * One dispatch pass over the jobs that are due: applies each job's missed policy, records
 * missed-only jobs and claims the due occurrences in chunks of at most
 * {@link MAX_CLAIMS_PER_ROUND_TRIP} and of the replica's free run slots, starting each won run as
 * its chunk returns. Jobs are visited in the order given (the dispatch queue's: see `spread.ts`,
 * so replicas racing for one burst start on different jobs). Jobs left when no slot is free are
 * left to other replicas and looked at again at `now`.
 */
export async function claimDue(
  deps: ClaimDeps,
  states: readonly JobState[],
  now: number,
  slots: PassSlots,
): Promise<PassResult[]> {
  const passes: PassResult[] = [];
  let next = 0;
  while (next < states.length) {
    const budget = Math.min(MAX_CLAIMS_PER_ROUND_TRIP, slots.room());
    if (budget <= 0) break;
    const chunk: Planned[] = [];
    let size = 0;
    while (next < states.length && size < budget) {
      const p = plan(deps, states[next++] as JobState, now);
      p.deferred = p.requests.length > budget - size;
      p.requests.splice(budget - size);
      size += p.requests.length;
      chunk.push(p);
    }
    passes.push(...(await claimChunk(deps, chunk, now, slots)));
  }
  for (const state of states.slice(next)) passes.push({ state, won: [], wakeAt: now });
  return passes;
}

/**
 * Claims one chunk in one store call and starts what it won; then records missed-only
 * occurrences and reports definition changes (writes that no won run waits for).
 */
async function claimChunk(
  deps: ClaimDeps,
  planned: readonly Planned[],
  now: number,
  slots: PassSlots,
): Promise<PassResult[]> {
  const requests = planned.flatMap((p) => p.requests);
  const results = requests.length > 0 ? await deps.store.claim(requests) : [];
  let offset = 0;
  const decided = planned.map((p) => {
    const mine = results.slice(offset, offset + p.requests.length);
    offset += p.requests.length;
    return { p, mine, pass: p.requests.length > 0 ? applyResults(deps, p, mine, now) : null };
  });
  for (const { p, pass } of decided) for (const run of pass?.won ?? []) slots.start(p.state, run);
  const passes: PassResult[] = [];
  for (const { p, mine, pass } of decided) {
    const { state } = p;
    // A missed-only job: its cursor moves past what it records before its wake-up is computed.
    if (p.recordOnly.length > 0) await recordMissed(deps, state, p.recordOnly);
    passes.push(pass ?? applyResults(deps, p, mine, now));
    const refused = mine.find((result) => result.status === "definitionChanged");
    // A runtime schedule's hash is its row's: a claim refused for another one means the row was
    // changed after this replica read it (the next read takes the new one), not that replicas
    // define the job differently, so there is nothing to report.
    if (refused && !state.schedule) {
      await reportDefinitionChange(deps, {
        jobId: state.series.config.id,
        hash: state.hash,
        storedHash: refused.hash,
        change: "superseded",
      });
    }
  }
  return passes;
}

function plan(deps: ClaimDeps, state: JobState, now: number): Planned {
  const { series } = state;
  const floor = series.floor(state.cursor, now);
  const due = series.due(floor, now);
  if (due.dropped > 0) {
    deps.logger.warn(
      { jobId: series.config.id, dropped: due.dropped },
      "belfry: more missed occurrences than one pass records; only the newest are recorded",
    );
  }
  const policy = {
    policy: series.config.missed,
    missedAfterMs: (at: number) => series.missedAfterMs(at),
    catchUpWindowMs: series.config.catchUpWindowMs,
  };
  const catchUp = planCatchUp({ ...policy, due: due.at, now });
  // The store decides on time or missed by its own clock when the claim arrives.
  const deadlines = claimDeadlines({ ...policy, claims: catchUp.claims });
  const requests = catchUp.claims.map((scheduledAt, index) => ({
    jobId: series.config.id,
    scheduledAt,
    hash: state.hash,
    replicaId: deps.replicaId,
    leaseMs: deps.leaseMs,
    missed: index === 0 ? catchUp.missed : [],
    lateAfter: deadlines[index],
    // A runtime schedule's row learns its next instant in the claim's own step.
    ...(state.schedule ? { nextAt: series.next(scheduledAt) } : {}),
  }));
  const recordOnly = requests.length === 0 ? catchUp.missed : [];
  return { state, requests, recordOnly, deferred: false };
}

/**
 * Records occurrences that will not run. A failure is reported and left for the next pass (the
 * cursor stays), so it never costs the runs already won in the same pass.
 */
async function recordMissed(deps: ClaimDeps, state: JobState, missed: readonly number[]) {
  try {
    const recorded = await deps.store.recordMissed(state.series.config.id, state.hash, missed);
    for (const at of recorded) emitMissed(deps, state, at);
    state.cursor = Math.max(state.cursor ?? Number.NEGATIVE_INFINITY, ...missed);
  } catch (error) {
    deps.hub.emit("store:error", { replicaId: deps.replicaId, operation: "recordMissed", error });
    deps.logger.error({ err: error, jobId: state.series.config.id }, "belfry: recordMissed failed");
  }
}

function emitMissed(deps: ClaimDeps, state: JobState, at: number): void {
  const event = {
    jobId: state.series.config.id,
    scheduledAt: new Date(at),
    replicaId: deps.replicaId,
  };
  deps.logger.warn(
    { jobId: event.jobId, scheduledAt: event.scheduledAt },
    "belfry: occurrence missed",
  );
  deps.hub.emit("run:missed", event);
}

function applyResults(
  deps: ClaimDeps,
  planned: Planned,
  results: readonly ClaimResult[],
  now: number,
): PassResult {
  const { state } = planned;
  const won: ClaimedRun[] = [];
  let wakeAt: number | null = null;
  results.forEach((result, index) => {
    const request = planned.requests[index] as ClaimRequest;
    if ("recordedMissed" in result) {
      for (const at of result.recordedMissed) emitMissed(deps, state, at);
    }
    // Every result that wrote a row (won, skipped, queued, missed, paused) moved `nextAt` too.
    if (state.schedule && "recordedMissed" in result) {
      state.schedule.storedNextAt = advancedNextAt(state.schedule.storedNextAt, request.nextAt);
    }
    const retryAt = applyOne(deps, state, request, result, won, now);
    if (retryAt !== null) wakeAt = Math.min(wakeAt ?? retryAt, retryAt);
  });
  if (state.exhausted) return { state, won, wakeAt: null };
  if (wakeAt === null) {
    // Occurrences left unclaimed for lack of slots wait for the next pass.
    // After the pass the cursor is the newest due occurrence, so the next one is after it (and
    // was computed ahead of time: see JobSeries.prefetch).
    const next = planned.deferred ? now : state.series.next(state.cursor ?? now);
    wakeAt = next === null ? null : Math.max(next, now);
  }
  return { state, won, wakeAt };
}

/** Applies one claim result; returns when to retry the job if it must be looked at early. */
function applyOne(
  deps: ClaimDeps,
  state: JobState,
  request: ClaimRequest,
  result: ClaimResult,
  won: ClaimedRun[],
  now: number,
): number | null {
  const jobId = request.jobId;
  const base = { jobId, scheduledAt: new Date(request.scheduledAt), replicaId: deps.replicaId };
  const advance = (to: number) => (state.cursor = Math.max(state.cursor ?? -Infinity, to));
  switch (result.status) {
    case "won":
      advance(request.scheduledAt);
      won.push(result.run);
      return null;
    case "lost":
    case "stale":
      advance(result.watermark);
      if (result.status === "lost") deps.hub.emit("run:lost", base);
      return null;
    case "skipped":
    case "queued":
      advance(request.scheduledAt);
      deps.hub.emit("run:skipped", {
        ...base,
        reason: result.status === "queued" ? "queued" : "overlap",
      });
      return null;
    case "missed":
      // The store's clock said the claim came too late: recorded missed, reported above.
      advance(request.scheduledAt);
      return null;
    case "paused":
      // This replica's claim recorded the paused occurrence's `skipped` row: one event per row
      // (the replicas that lost it hear `lost`), so metrics count what the audit counts.
      advance(request.scheduledAt);
      deps.hub.emit("run:skipped", { ...base, reason: "paused" });
      return null;
    case "notDue":
      // Our estimate of the store clock ran ahead: look again when the store says it is due.
      return now + Math.max(1, result.retryAfterMs);
    case "definitionChanged":
      // Another definition was registered last. Stand back for one lease (the other one runs
      // the job meanwhile), then register ours again: last writer wins, so a job that a live
      // replica defines never stops running when the replicas defining the other one are gone.
      state.registered = false;
      return now + supersededBackoffMs(deps.leaseMs);
    case "exhausted":
      state.exhausted = true;
      return null;
    case "error": {
      // One broken job (a corrupt row) must not stop the others: report it, look again later.
      const error = new BelfryError(result.code, `job ${JSON.stringify(jobId)}: ${result.message}`);
      deps.logger.error({ err: error, jobId }, error.message);
      deps.hub.emit("store:error", { replicaId: deps.replicaId, operation: "claim", error });
      return now + BROKEN_JOB_RETRY_MS;
    }
    case "unknownJob":
      state.registered = false;
      return now;
  }
}
