import { describe, expect, it } from "vitest";
import { daily, monthly, scheduleFromSpec, Scheduler, weekly } from "../../src/index.js";
import { readStoredJob } from "../../src/observe/stored-job.js";
import { parseJobRow, parseRunRow } from "../../src/stores/rows.js";
import type { JobRecord } from "../../src/stores/store.js";
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

describe("rows and specs read back from a store: regressions found by the property tests", () => {
  it("a column holding a bigint inside an array or object is CORRUPT_ROW (was a TypeError from JSON.stringify)", () => {
    // Property seeds -621104477 (job_id [0n]) and -504354389 (run_id { "": 0n }).
    expect(() => parseJobRow({ job_id: [0n] }, "t_jobs")).toThrow(
      expect.objectContaining({ code: "CORRUPT_ROW" }),
    );
    expect(() => parseRunRow({ run_id: { x: 0n } }, "t_runs")).toThrow(
      expect.objectContaining({ code: "CORRUPT_ROW" }),
    );
  });

  it("a spec holding a bigint is INVALID_SCHEDULE, and a newer version's bigint field is ignored", () => {
    // Property seeds 2092056441 ([0n]) and -249220736 (an extra field { "": 12n }).
    expect(() => scheduleFromSpec([0n] as never)).toThrow(
      expect.objectContaining({ code: "INVALID_SCHEDULE" }),
    );
    expect(() => scheduleFromSpec({ kind: "every", intervalMs: 5n })).toThrow(
      expect.objectContaining({ code: "INVALID_SCHEDULE" }),
    );
    expect(scheduleFromSpec({ kind: "every", intervalMs: 1_000, added: 12n }).spec).toEqual({
      kind: "every",
      intervalMs: 1_000,
    });
  });

  it("a stored definition with an unknown zone is CORRUPT_ROW at read time (next() threw INVALID_TIMEZONE)", () => {
    // Property seed 1037953442: "Europe/Berlin" lost its first letter.
    const definition = JSON.stringify({
      schedule: { kind: "daily", interval: 1, atTimes: ["02:30:00"], timezone: null },
      timezone: "urope/Berlin",
      startAt: null,
      stopAt: null,
      startImmediately: false,
      overlap: "allow",
      onAbandoned: "retry",
      maxRuns: null,
      missed: "skip",
    });
    const record = { jobId: "nightly", createdAt: 0, definition } as JobRecord;
    expect(() => readStoredJob(record)).toThrow(
      expect.objectContaining({
        code: "CORRUPT_ROW",
        message: expect.stringContaining("urope/Berlin"),
      }),
    );
  });
});
