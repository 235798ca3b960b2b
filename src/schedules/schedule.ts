import { BelfryError, quote } from "../errors.js";

/** JSON-serialisable description of a schedule; its canonical JSON is part of a job's hash. */
export type ScheduleSpec = { readonly kind: string } & Readonly<Record<string, unknown>>;

/**
 * What every replica knows about a job when it computes that job's occurrences. Nothing local
 * (process start, last local run) enters here, so every replica computes the same instants.
 */
export interface ScheduleContext {
  /** The job's stable id (seeds `everyRandom`). */
  readonly jobId: string;
  /**
   * The instant the series counts from, epoch ms: the job's `startAt` if it has one, else 0 (the
   * Unix epoch). `every` counts its grid from here; `daily`/`weekly`/`monthly` with an interval
   * above 1 count days/weeks/months from the anchor's calendar date; `everyRandom` chains from it.
   */
  readonly anchor: number;
  /** IANA time zone for schedules that did not name their own (the scheduler's `timezone`). */
  readonly timezone: string;
}

/**
 * A schedule: a pure function from a definition and an instant to the next occurrence.
 * Implementations validate their input when constructed and throw {@link BelfryError}.
 */
export interface Schedule {
  /** Canonical description, used for the definition hash and shown in `jobs()`. */
  readonly spec: ScheduleSpec;
  /**
   * The first occurrence strictly after `after` (epoch ms, UTC), or `null` when the schedule has
   * no more occurrences. Pure: same arguments, same answer, on every replica.
   */
  next(after: number, context: ScheduleContext): number | null;
}

/** Canonical spelling of each zone name seen (a memo: building an `Intl` formatter is slow). */
const zones = new Map<string, string>();

/**
 * The canonical spelling of an IANA zone (`"europe/berlin"` → `"Europe/Berlin"`, `"utc"` →
 * `"UTC"`), or `null` when this runtime does not know it. Each name is resolved once and
 * remembered, so calling this on every `next()` costs a map lookup.
 */
export function readTimezone(timezone: unknown): string | null {
  if (typeof timezone !== "string") return null;
  const known = zones.get(timezone);
  if (known !== undefined) return known;
  try {
    const format = new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    const canonical = format.resolvedOptions().timeZone;
    zones.set(timezone, canonical);
    return canonical;
  } catch {
    return null;
  }
}

/** The message for a zone {@link readTimezone} does not know. */
export function unknownZone(timezone: unknown): string {
  return `unknown time zone ${quote(timezone)}; use an IANA name such as "Europe/Berlin" or "UTC"`;
}

/** {@link readTimezone}, or `INVALID_TIMEZONE` naming `where`. */
export function canonicalTimezone(timezone: unknown, where: string): string {
  const canonical = readTimezone(timezone);
  if (canonical === null) {
    throw new BelfryError("INVALID_TIMEZONE", `${where}: ${unknownZone(timezone)}`);
  }
  return canonical;
}
