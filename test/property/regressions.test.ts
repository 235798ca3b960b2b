import { describe, expect, it } from "vitest";
import {
  daily,
  every,
  FakeClock,
  MemoryStore,
  monthly,
  scheduleFromSpec,
  Scheduler,
  weekly,
  type JobRegistration,
} from "../../src/index.js";
import { readStoredJob } from "../../src/observe/stored-job.js";
import { parseJobRow, parseRunRow } from "../../src/stores/shared/rows.js";
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

describe("the scheduler loop: regressions found by the property tests", () => {
  // Property seed -164497186. MemoryStore.registerJob handed back the raw row: its bigint
  // watermark became the victim's cursor and planning the victim threw a TypeError that rejected
  // the whole claim pass. It now reads the row back through the row checks (watermark 12), and a
  // pass never counts from before the job's first registration (JobSeries.floor), so a watermark
  // of 12 no longer walks every second since 1970.
  it("a corrupt victim row (watermark 12n, then another hash) does not stop a good job", async () => {
    const T0 = Date.UTC(2026, 0, 1);
    const clock = new FakeClock(T0);
    const store = new MemoryStore({ clock });
    const scheduler = new Scheduler({ store, clock, replicaId: "a", leaseDuration: "10s" });
    const ran: number[] = [];
    scheduler.job("good", every("1s"), (run) => void ran.push(run.scheduledAt.getTime()));
    scheduler.job("victim", every("1s"), () => {});
    await scheduler.start();
    const row = { jobId: "victim", definition: "{}", anchor: 0, overlap: "allow" };
    const base = { ...row, onAbandoned: "retry", maxAttempts: 2, maxRuns: null };
    // A bigint is a valid driver value: the row reads back with watermark 12.
    const written = await store.registerJob({
      ...base,
      hash: "x",
      watermark: 12n,
    } as unknown as JobRegistration);
    expect(written.job.watermark).toBe(12);
    await store.registerJob({ ...base, hash: "garbage" } as unknown as JobRegistration);
    for (let i = 0; i < 20; i++) await clock.advance(1_000);
    await scheduler.stop();
    expect(ran).toEqual(Array.from({ length: 20 }, (_, i) => T0 + (i + 1) * 1_000));
  });

  // Property seed 1759710955 (a CI run). The memory claim decided on the checked row but wrote
  // the new run count from the raw one: a stored bigint runCount threw "Cannot mix BigInt" and
  // rejected every claim pass that held the victim, so the good job stopped too.
  it("a victim row with a bigint runCount (12n) does not stop a good job", async () => {
    const T0 = Date.UTC(2026, 0, 1);
    const clock = new FakeClock(T0);
    const store = new MemoryStore({ clock });
    const scheduler = new Scheduler({ store, clock, replicaId: "a", leaseDuration: "10s" });
    const ran: number[] = [];
    scheduler.job("good", every("1s"), (run) => void ran.push(run.scheduledAt.getTime()));
    scheduler.job("victim", every("1s"), () => {});
    await scheduler.start();
    const row = { jobId: "victim", hash: "corrupt", definition: "{}", anchor: 0 };
    const base = { ...row, overlap: "allow", onAbandoned: "retry", maxAttempts: 2, maxRuns: null };
    await store.registerJob({ ...base, runCount: 12n } as unknown as JobRegistration);
    for (let i = 0; i < 20; i++) await clock.advance(1_000);
    await scheduler.stop();
    expect(ran).toEqual(Array.from({ length: 20 }, (_, i) => T0 + (i + 1) * 1_000));
  });

  // Same root cause: after a foreign registration (hash "garbage") the victim backs off, its row
  // then gets watermark "garbage"; when it re-registered, the raw row made its cursor NaN and it
  // never claimed again, silently. The read-back now refuses the row (CORRUPT_ROW), reported.
  it("a victim whose row stays corrupt is reported as CORRUPT_ROW, naming it", async () => {
    const T0 = Date.UTC(2026, 0, 1);
    const clock = new FakeClock(T0);
    const store = new MemoryStore({ clock });
    const scheduler = new Scheduler({ store, clock, replicaId: "a", leaseDuration: "10s" });
    const errors: string[] = [];
    scheduler.on("store:error", (e) => errors.push((e.error as Error).message));
    scheduler.job("victim", every("1s"), () => {});
    await scheduler.start();
    const row = { jobId: "victim", definition: "{}", anchor: 0, overlap: "allow" };
    const base = { ...row, onAbandoned: "retry", maxAttempts: 2, maxRuns: null };
    await store.registerJob({ ...base, hash: "garbage" } as unknown as JobRegistration);
    await clock.advance(1_000);
    // The row is written, then read back through the row checks: CORRUPT_ROW, as on every store.
    await expect(
      store.registerJob({ ...base, hash: "g2", watermark: "garbage" } as never),
    ).rejects.toMatchObject({ code: "CORRUPT_ROW" });
    for (let i = 0; i < 19; i++) await clock.advance(1_000);
    await scheduler.stop();
    await expect(store.getJob("victim")).rejects.toMatchObject({ code: "CORRUPT_ROW" });
    expect(errors.some((m) => m.includes("victim") && m.includes("garbage"))).toBe(true);
  });
});
