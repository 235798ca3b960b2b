import { Cron, CronPattern } from "croner";

/** croner options belfry uses: never started, 5 or 6 fields, fixed time means no wildcard. */
export const CRONER = { paused: true, mode: "5-or-6-parts", fixedTimeRule: "no-wildcard" } as const;

/**
 * Most compiled expressions kept. croner allocates ~80 KiB per compiled pattern (a 10,000-slot
 * year table), so one per job made 10,000 cron jobs cost ~1.8 GiB; most jobs share a few
 * expressions, and this bound keeps the worst case (every job its own expression) near 80 MiB.
 */
export const MAX_COMPILED = 1_000;

/** A least-recently-used map of at most `limit` entries (a `Map` keeps insertion order). */
class Bounded<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly limit: number) {}

  get(key: string, make: () => V): V {
    let value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
    } else {
      value = make();
      if (this.entries.size >= this.limit) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, value);
    return value;
  }
}

const patterns = new Bounded<CronPattern>(MAX_COMPILED);
const crons = new Bounded<Cron>(MAX_COMPILED);

/**
 * The compiled pattern of a normalised expression, shared by every schedule that uses it. Throws
 * croner's error for an invalid expression (nothing is kept then).
 */
export function compiledPattern(body: string): CronPattern {
  return patterns.get(body, () => new CronPattern(body, undefined, CRONER));
}

/**
 * A never-started croner job for a normalised expression in a canonical zone, shared by every
 * schedule with the same pair (`UTC` is computed as offset 0, the same instants). belfry only calls its pure methods (`nextRun(after)`, `match`):
 * a paused job without `maxRuns`, `startAt` or `stopAt` keeps no state between calls.
 */
export function compiledCron(body: string, zone: string): Cron {
  return crons.get(`${zone} ${body}`, () =>
    // croner reads a named zone through `Intl` at every step; UTC as offset 0 is plain arithmetic.
    zone === "UTC"
      ? new Cron(body, { ...CRONER, utcOffset: 0 })
      : new Cron(body, { ...CRONER, timezone: zone }),
  );
}
