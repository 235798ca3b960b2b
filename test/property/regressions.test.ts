import { describe, expect, it } from "vitest";
import { daily, monthly, Scheduler, weekly } from "../../src/index.js";
import type { Schedule } from "../../src/schedules/schedule.js";

/** Counterexamples the property tests found, kept as plain examples. */
describe("regressions found by the property tests", () => {
  const context = { jobId: "j", anchor: Date.UTC(1990, 0, 1), timezone: "UTC" };

  /** Follows `next` from the anchor until it returns null (at most 5 steps). */
  function walk(schedule: Schedule): (number | null)[] {
    const seen: (number | null)[] = [];
    for (let at: number | null = context.anchor; at !== null && seen.length < 5;) {
      at = schedule.next(at, context);
      seen.push(at);
    }
    return seen;
  }

  it("a calendar interval that leaves the date range ends the series (was a RangeError)", () => {
    // Property seed 1909504828: weekly's 3rd occurrence would lie past year 275760.
    const week = 7 * 86_400_000;
    expect(walk(weekly(4_761_557, ["mon"], "00:00"))).toEqual([
      context.anchor + 4_761_557 * week,
      context.anchor + 2 * 4_761_557 * week,
      null,
    ]);
    expect(walk(daily(Number.MAX_SAFE_INTEGER, "23:59:59"))).toEqual([
      context.anchor + 86_399_000,
      null,
    ]);
    expect(walk(monthly(2 ** 40, [-1], "12:00"))).toEqual([Date.UTC(1990, 0, 31, 12), null]);
  });
});

describe("Scheduler({ shutdownSignals }) regressions found by the property tests", () => {
  it("a value that is not a list is INVALID_OPTION (NaN was a TypeError: not iterable)", () => {
    for (const shutdownSignals of [Number.NaN, "SIGTERM", {}, 1]) {
      expect(() => new Scheduler({ shutdownSignals } as never)).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION" }),
      );
    }
  });

  it("a list holding a symbol is INVALID_OPTION (was a TypeError from JSON.stringify)", () => {
    expect(() => new Scheduler({ shutdownSignals: [Symbol("SIGTERM")] } as never)).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION" }),
    );
  });
});
