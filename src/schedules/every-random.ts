import { type Duration, toPositiveMs } from "../duration.js";
import { BelfryError, quote } from "../errors.js";
import type { Schedule, ScheduleContext, ScheduleSpec } from "./schedule.js";

/** Canonical description of an {@link everyRandom} schedule. */
export interface EveryRandomSpec extends ScheduleSpec {
  readonly kind: "everyRandom";
  readonly minMs: number;
  readonly maxMs: number;
}

/** A block holds about this many gaps of `max` (see docs/schedules.md). */
const BLOCK_GAPS = 1024;
/** Above this block length (ms) the chain is walked from the anchor without blocks. */
const MAX_BLOCK_MS = 2 ** 50;

interface Chain {
  readonly min: number;
  readonly max: number;
  /** Largest gap, `max - 1`. */
  readonly hi: number;
  /** Block length in ms, or null when the chain has no blocks. */
  readonly block: number | null;
  /** Closer than this to the end of its block, a chain point steers onto the block's end. */
  readonly reach: number;
}

/**
 * Runs at random gaps in `[min, max)` (gocron's `DurationRandomJob`), chosen so that every replica
 * picks the same instants: the first occurrence is the anchor (`startAt`, else the Unix epoch) and
 * each gap is derived from a hash of the job id and the previous occurrence
 * (`gap = min + floor(u × (max − min))`, `u = cyrb53(jobId + "|" + previous) / 2^53`).
 *
 * To keep `next` fast however far `after` is from the anchor, the time line is cut into blocks
 * (about 1024 × `max` long, aligned to the epoch) and the chain lands exactly on every block
 * boundary, steering its last few gaps (still within `[min, max)`) onto it. `next` can then start
 * from the last boundary before `after` instead of walking from the anchor. Details and the exact
 * rules, for anyone porting them, are in docs/schedules.md.
 *
 * @param min - smallest gap, > 0 (`INVALID_INTERVAL`)
 * @param max - gaps are below this; must be greater than `min` (`INVALID_RANGE`)
 *
 * @example
 * ```ts
 * scheduler.job("poll", everyRandom("4m", "6m"), poll); // gaps of 4 to 6 minutes
 * ```
 */
export function everyRandom(min: Duration, max: Duration): Schedule {
  const where = `everyRandom(${quote(min)}, ${quote(max)})`;
  const minMs = toPositiveMs(min, where);
  const maxMs = toPositiveMs(max, where);
  if (maxMs <= minMs) {
    throw new BelfryError(
      "INVALID_RANGE",
      `${where}: min must be less than max, got min ${minMs} ms and max ${maxMs} ms`,
    );
  }
  const spec: EveryRandomSpec = { kind: "everyRandom", minMs, maxMs };
  const chain = planChain(minMs, maxMs);
  let memo: { jobId: string; anchor: number; at: number } | null = null;
  return {
    spec,
    next(after: number, context: ScheduleContext): number | null {
      const { anchor, jobId } = context;
      if (after < anchor) return anchor;
      if (chain.hi === chain.min)
        return anchor + (Math.floor((after - anchor) / minMs) + 1) * minMs;
      // Any known point of this chain at or before `after` is a valid place to start walking.
      const known = memo && memo.jobId === jobId && memo.anchor === anchor && memo.at <= after;
      let at = Math.max(startPoint(chain, anchor, after), known && memo ? memo.at : anchor);
      while (at <= after) at = step(chain, jobId, at);
      memo = { jobId, anchor, at };
      return at;
    },
  };
}

function planChain(min: number, max: number): Chain {
  const hi = max - 1;
  if (hi === min) return { min, max, hi, block: null, reach: 0 };
  // From n0 gaps on, every distance ≥ n0·min splits into gaps within [min, hi].
  const n0 = Math.max(1, Math.ceil((min - 1) / (hi - min)));
  const reach = n0 * min + hi;
  const block = Math.max(BLOCK_GAPS * max, reach + hi);
  return { min, max, hi, block: block <= MAX_BLOCK_MS ? block : null, reach };
}

/**
 * The last block boundary at or before `after` that is sure to be on the chain from `anchor`:
 * every boundary from the second one after the anchor's block on. Else the anchor itself.
 */
function startPoint(chain: Chain, anchor: number, after: number): number {
  if (chain.block === null) return anchor;
  const index = Math.floor(after / chain.block);
  return index >= Math.floor(anchor / chain.block) + 2 ? index * chain.block : anchor;
}

/** The chain point after `at`: a hashed gap in [min, max), steered onto the block's end. */
function step(chain: Chain, jobId: string, at: number): number {
  const { min, hi } = chain;
  const u = cyrb53(`${jobId}|${at}`) / 2 ** 53;
  if (chain.block !== null) {
    const rest = (Math.floor(at / chain.block) + 1) * chain.block - at;
    const gaps = Math.ceil(rest / hi);
    if (rest < chain.reach && gaps * min <= rest) {
      // Keep the remainder splittable into `gaps - 1` gaps within [min, hi].
      const low = Math.max(min, rest - (gaps - 1) * hi);
      const high = Math.min(hi, rest - (gaps - 1) * min);
      return at + low + Math.floor(u * (high - low + 1));
    }
  }
  return at + min + Math.floor(u * (chain.max - min));
}

/**
 * cyrb53 (bryc, public domain): a fast 53-bit string hash. Part of the schedule's definition:
 * changing it would move every `everyRandom` occurrence.
 */
export function cyrb53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
