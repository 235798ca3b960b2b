import type { Clock } from "../clock.js";
import type { Store } from "../stores/store.js";

/** One measurement of the offset between the store clock and a local clock. */
export interface OffsetSample {
  /** store − local, ms: add it to local time to get store time. */
  readonly offsetMs: number;
  /** Round trip of the best sample, ms; the offset is accurate to about half of it. */
  readonly rttMs: number;
}

/**
 * Estimates the store clock's offset from `local` (NTP-style): each sample reads local time
 * before and after `store.now()` and assumes the store read happened halfway; the sample with
 * the shortest round trip wins.
 */
export async function measureOffset(
  store: Store,
  local: Clock,
  samples = 5,
): Promise<OffsetSample> {
  let best: OffsetSample | null = null;
  for (let i = 0; i < samples; i++) {
    const before = local.now();
    const storeNow = await store.now();
    const after = local.now();
    const rttMs = after - before;
    const sample = { offsetMs: Math.round(storeNow - (before + after) / 2), rttMs };
    if (!best || sample.rttMs < best.rttMs) best = sample;
  }
  return best as OffsetSample;
}
