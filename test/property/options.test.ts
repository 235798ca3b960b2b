import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cron,
  daily,
  every,
  FakeClock,
  MemoryStore,
  monthly,
  Scheduler,
  weekly,
  type JobOptions,
  type SchedulerOptions,
} from "../../src/index.js";
import { anyValueArb, belfryOrValue, recase, RUNS, ZONES } from "./helpers.js";

const durationArb = fc.constantFrom("5s", "1m", "PT2S", 1_000, 30_000, 0, -1, "1y", "5x");
const zoneArb = fc.constantFrom(...ZONES).chain(recase);
const instantArb = fc.constantFrom(
  "2026-01-01T00:00:00Z",
  "2025-06-01T00:00:00+02:00",
  Date.UTC(2027, 0, 1),
  new Date(Date.UTC(2024, 0, 1)),
  "2026-01-01",
);
const fn = fc.constant(() => {});

/** Per option, values that are mostly valid for it (and a few near misses). */
const SCHEDULER_VALUES: Record<string, fc.Arbitrary<unknown>> = {
  store: fc.constantFrom(undefined, {}, { claim: 1, registerJob: 2 }),
  clock: fc.constantFrom(undefined, new FakeClock(0), { now: () => 0 }),
  timezone: zoneArb,
  logger: fc.constantFrom(undefined, { debug() {}, info() {}, warn() {}, error() {} }, console),
  concurrency: fc.constantFrom(1, 4, Number.POSITIVE_INFINITY, 0, 1.5),
  stopTimeout: durationArb,
  replicaId: fc.string({ maxLength: 10 }),
  leaseDuration: durationArb,
  recoveryInterval: durationArb,
  clockSyncInterval: durationArb,
  skewThreshold: durationArb,
  coordination: fc.constantFrom("occurrence", "leader", "lock", { elector: {} }, { locker: 1 }),
  leaderTerm: durationArb,
  unref: fc.boolean(),
  shutdownSignals: fc.constantFrom(true, false, ["SIGTERM"], ["SIGNOPE"], []),
  historyRetention: fc.constantFrom({ maxAge: "1d" }, { maxAge: "1d", interval: "1h" }, {}),
};

const JOB_VALUES: Record<string, fc.Arbitrary<unknown>> = {
  tags: fc.constantFrom(["a"], [], ["a", "b"], [""], "a"),
  overlap: fc.constantFrom("allow", "skip", "queueOne", "Skip"),
  maxRuns: fc.constantFrom(1, 10, null, 0, 2.5),
  startAt: instantArb,
  startImmediately: fc.boolean(),
  stopAt: instantArb,
  timeout: durationArb,
  retries: fc.constantFrom(0, 3, 101, { max: 2 }, { max: 2, backoff: "fixed", delay: "1s" }),
  missed: fc.constantFrom("skip", "latest", "all", "none"),
  missedAfter: durationArb,
  catchUpWindow: durationArb,
  onAbandoned: fc.constantFrom("retry", "abandon"),
  beforeRun: fn,
  afterRun: fn,
  afterError: fn,
};

const CALENDAR_VALUES: Record<string, fc.Arbitrary<unknown>> = {
  timezone: zoneArb,
  seconds: fc.boolean(),
};

/**
 * An options object: some known keys, each with a value meant for it, a value meant for another
 * option or a hostile one, and now and then an unknown key; sometimes not an object at all.
 */
function optionsArb(values: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  const keys = Object.keys(values);
  const valueFor = (key: string) =>
    fc.oneof(
      { weight: 6, arbitrary: values[key] as fc.Arbitrary<unknown> },
      { weight: 1, arbitrary: fc.oneof(...Object.values(values)) },
      { weight: 1, arbitrary: anyValueArb },
    );
  const known = fc
    .subarray(keys, { maxLength: Math.min(4, keys.length) })
    .chain((chosen) =>
      fc.tuple(...chosen.map((key) => valueFor(key).map((v) => [key, v] as const))),
    );
  const unknown = fc.oneof(
    { weight: 6, arbitrary: fc.constant([]) },
    { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 8 }), anyValueArb).map((e) => [e]) },
  );
  return fc.oneof(
    {
      weight: 12,
      arbitrary: fc.tuple(known, unknown).map(([a, b]) => Object.fromEntries([...a, ...b])),
    },
    { weight: 1, arbitrary: anyValueArb },
  );
}

describe("options objects on arbitrary input (property)", () => {
  it("new Scheduler(options): a scheduler, or a coded BelfryError", () => {
    fc.assert(
      fc.property(optionsArb(SCHEDULER_VALUES), (options) => {
        belfryOrValue(() => new Scheduler(options as SchedulerOptions));
      }),
      { numRuns: RUNS },
    );
  });

  it("scheduler.job(id, schedule, handler, options): a job, or a coded BelfryError", () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1));
    const scheduler = new Scheduler({ clock, store: new MemoryStore({ clock }) });
    const schedules = [
      every("1m"),
      cron("0 3 * * *"),
      daily(2, "02:30"),
      monthly(1, [31], "00:00"),
    ];
    fc.assert(
      fc.property(
        fc.oneof(
          { weight: 4, arbitrary: fc.stringMatching(/^[a-z0-9._:@/-]{1,12}$/) },
          fc.constantFrom("belfry:x", "BELFRY:y", "", "a b", "x".repeat(201)),
          fc.string({ maxLength: 12 }),
          anyValueArb,
        ),
        fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...schedules) }, anyValueArb),
        fc.oneof({ weight: 5, arbitrary: fc.constant(() => {}) }, anyValueArb),
        optionsArb(JOB_VALUES),
        (id, schedule, handler, options) => {
          const defined = belfryOrValue(() =>
            scheduler.job(id as string, schedule as never, handler as never, options as JobOptions),
          );
          if ("ok" in defined) {
            expect(scheduler.remove(defined.ok.id)).toBe(true);
            const next = defined.ok.nextRun;
            expect(next === null || Number.isSafeInteger(next.getTime())).toBe(true);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("cron(expr, options) and daily/weekly/monthly(…, options): a schedule, or a coded BelfryError", () => {
    fc.assert(
      fc.property(optionsArb(CALENDAR_VALUES), (options) => {
        const o = options as { timezone?: string };
        for (const make of [
          () => cron("0 3 * * *", o),
          () => cron("CRON_TZ=Europe/Berlin 0 3 * * *", o),
          () => daily(1, "03:00", o),
          () => weekly(1, [1], "03:00", o),
          () => monthly(1, [1], "03:00", o),
        ]) {
          belfryOrValue(make);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
