import type { MissedPolicy } from "../options.js";

/** How the due occurrences of one job split into runs to claim and occurrences to record missed. */
export interface CatchUpPlan {
  /** Occurrences to claim, oldest first. */
  readonly claims: readonly number[];
  /** Occurrences to record as `missed`, oldest first. */
  readonly missed: readonly number[];
}

/** Inputs of {@link planCatchUp}. */
export interface CatchUpInput {
  /** Due occurrences above the known watermark, oldest first. */
  readonly due: readonly number[];
  /** Store now, ms. */
  readonly now: number;
  readonly policy: MissedPolicy;
  /** How late each occurrence may be claimed before it counts as missed. */
  readonly missedAfterMs: (scheduledAt: number) => number;
  /** With `all`: how far back missed occurrences still run. */
  readonly catchUpWindowMs: number;
}

/**
 * Applies the missed policy. Occurrences claimed within `missedAfter` of their instant are on
 * time and always claimed, so a replica that is merely slow never turns a healthy peer's
 * occurrence into a miss. Older ones are missed: `skip` records them all, `latest` runs the
 * newest of them when nothing on time is due, `all` runs those within the catch-up window.
 */
export function planCatchUp(input: CatchUpInput): CatchUpPlan {
  const { due, now } = input;
  const onTime = due.filter((at) => now - at <= input.missedAfterMs(at));
  const late = due.filter((at) => now - at > input.missedAfterMs(at));
  let rescued: number[] = [];
  if (input.policy === "latest" && onTime.length === 0) rescued = late.slice(-1);
  if (input.policy === "all") rescued = late.filter((at) => now - at <= input.catchUpWindowMs);
  return {
    claims: [...rescued, ...onTime],
    missed: late.filter((at) => !rescued.includes(at)),
  };
}
