import { expect } from "vitest";
import { Temporal } from "temporal-polyfill";
import type { BelfryErrorCode } from "../../src/errors.js";
import { BelfryError } from "../../src/errors.js";
import type { Schedule, ScheduleContext } from "../../src/schedules/index.js";

/** A context for `next`, UTC and anchored at the epoch unless told otherwise. */
export function context(overrides: Partial<ScheduleContext> = {}): ScheduleContext {
  return { jobId: "job", anchor: 0, timezone: "UTC", ...overrides };
}

/** Epoch ms of an ISO instant. */
export const at = (iso: string): number => Date.parse(iso);

/** ISO strings of the occurrences in `(from, to]`. */
export function between(
  schedule: Schedule,
  from: number,
  to: number,
  ctx: ScheduleContext,
): string[] {
  const found: string[] = [];
  for (
    let next = schedule.next(from, ctx);
    next !== null && next <= to;
    next = schedule.next(next, ctx)
  ) {
    found.push(new Date(next).toISOString());
  }
  return found;
}

/** ISO strings of the occurrences during the calendar date `date` (YYYY-MM-DD) in `zone`. */
export function onDate(
  schedule: Schedule,
  date: string,
  zone: string,
  ctx?: ScheduleContext,
): string[] {
  const start = Temporal.PlainDate.from(date).toZonedDateTime(zone).epochMilliseconds;
  const end = Temporal.PlainDate.from(date)
    .add({ days: 1 })
    .toZonedDateTime(zone).epochMilliseconds;
  return between(schedule, start - 1, end - 1, ctx ?? context({ timezone: zone }));
}

/** The wall-clock reading of an ISO instant in `zone`, e.g. `"2026-03-08T03:30:00-04:00"`. */
export function wall(iso: string, zone: string): string {
  return Temporal.Instant.from(iso).toZonedDateTimeISO(zone).toString({ timeZoneName: "never" });
}

/** Asserts that `make` throws a BelfryError with `code` whose message contains each of `parts`. */
export function expectError(
  make: () => unknown,
  code: BelfryErrorCode,
  ...parts: string[]
): BelfryError {
  let caught: unknown;
  try {
    make();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(BelfryError);
  const error = caught as BelfryError;
  expect(error.code).toBe(code);
  for (const part of parts) expect(error.message).toContain(part);
  return error;
}

/** A small deterministic generator for property-style checks (mulberry32). */
export { prng as random } from "../../chaos/faults.js";
