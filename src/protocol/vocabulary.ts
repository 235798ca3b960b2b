/**
 * The claim protocol's vocabulary: run states and the policies a job declares. Shared by the
 * user-facing options, the stores and the coordination layer, and owned by none of them.
 */

/** `claimed → running → succeeded | failed | abandoned`; `missed` and `skipped` record
 * occurrences that did not run, `queued` one that waits. */
export type RunState =
  "claimed" | "running" | "succeeded" | "failed" | "abandoned" | "missed" | "skipped" | "queued";

/** States in which a run holds (or held, until its lease expired) a lease. */
export const ACTIVE_STATES: readonly RunState[] = ["claimed", "running"];

/** States a run ends in; only these are ever pruned. */
export const TERMINAL_STATES: readonly RunState[] = [
  "succeeded",
  "failed",
  "abandoned",
  "missed",
  "skipped",
];

/** A SQL list of {@link ACTIVE_STATES}, `('claimed', 'running')`. */
export const ACTIVE_STATES_SQL = `(${ACTIVE_STATES.map((s) => `'${s}'`).join(", ")})`;

/** What happens when another run of the same job is still active, across all replicas. */
export type OverlapPolicy = "allow" | "skip" | "queueOne";

/** What recovery does with a run whose lease expired (its replica died or hung). */
export type AbandonPolicy = "retry" | "abandon";

/**
 * Why a run exists: its schedule, an explicit `runNow` / `schedules.trigger` (`manual`), or a
 * runtime schedule's `schedules.backfill` of a past occurrence (`backfill`).
 */
export type RunTrigger = "schedule" | "manual" | "backfill";

/** Every {@link RunTrigger}, as stores read them back from `trigger_kind`. */
export const RUN_TRIGGERS: readonly RunTrigger[] = ["schedule", "manual", "backfill"];
