import { runSteps, type RedisArg, type RedisContext, type Step } from "./connection.js";

/**
 * The store-wide lease index `<prefix>:{<prefix>}:leases`: the run ids of active and queued
 * runs, scored by when recovery should look at them (never later than the run's lease expiry).
 * It is a hint for `recoverExpired`, which must find expired leases across all jobs without a
 * cross-slot script; every decision is taken by the job's own script.
 *
 * An entry is written only after a job script made the run active or queued (a won claim, a
 * manual run, a retry or promotion by recovery), and removed when the run is terminal (its
 * `finishRun`, or recovery abandoning it or finding it terminal). So the index holds about as
 * many entries as there are active and queued runs; a lost claim writes nothing here.
 */

/** A run id and its index score (store time, ms). */
export type LeaseEntry = readonly [score: RedisArg, runId: string];

/** The step that adds or re-scores entries (`flags`: `NX`, `XX`…); null for no entries. */
export function indexStep(
  context: RedisContext,
  entries: readonly LeaseEntry[],
  ...flags: string[]
): Step | null {
  if (entries.length === 0) return null;
  return { command: "zadd", args: [context.keys.leases, ...flags, ...entries.flat()] };
}

/** The step that removes runs from the index. */
export function unindexStep(context: RedisContext, runIds: readonly string[]): Step {
  return { command: "zrem", args: [context.keys.leases, ...runIds] };
}

/** Adds or re-scores entries in one command (nothing to send for no entries). */
export async function indexRuns(
  context: RedisContext,
  entries: readonly LeaseEntry[],
): Promise<void> {
  const step = indexStep(context, entries);
  if (step) await runSteps(context.client, [step]);
}
