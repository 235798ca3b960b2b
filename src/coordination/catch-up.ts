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

/** Inputs of {@link claimDeadlines}. */
export interface DeadlineInput {
  /** The occurrences a pass claims for one job, oldest first (`CatchUpPlan.claims`). */
  readonly claims: readonly number[];
  readonly policy: MissedPolicy;
  /** How late each occurrence may be claimed before it counts as missed. */
  readonly missedAfterMs: (scheduledAt: number) => number;
  /** With `all`: how far back missed occurrences still run. */
  readonly catchUpWindowMs: number;
}

/**
 * The store-time deadline of each claim (`ClaimRequest.lateAfter`), aligned with `claims`;
 * undefined: none. The store records a claim that reaches it after its deadline as missed, so
 * the missed policy holds even when the claim is delivered late (a client's offline queue, a
 * slow pool): `skip` allows `missedAfter`; `latest` runs its newest claim whenever it arrives
 * and gives the older ones `missedAfter`; `all` allows the larger of `missedAfter` and the
 * catch-up window.
 */
export function claimDeadlines(input: DeadlineInput): (number | undefined)[] {
  const { claims, policy } = input;
  return claims.map((at, index) => {
    if (policy === "latest" && index === claims.length - 1) return undefined;
    const allowed = input.missedAfterMs(at);
    return at + (policy === "all" ? Math.max(allowed, input.catchUpWindowMs) : allowed);
  });
}
