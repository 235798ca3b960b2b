import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  canonicalTimezone,
  cron,
  daily,
  every,
  everyRandom,
  monthly,
  once,
  scheduleFromSpec,
  weekly,
  type Weekday,
} from "../../src/index.js";
import { MAX_DURATION_MS, readDuration, toMs } from "../../src/duration.js";
import {
  anyValueArb,
  assertBehaves,
  belfryOrValue,
  contextArb,
  instantArb,
  mutate,
  recase,
  RUNS,
  ZONES,
} from "./helpers.js";

const zoneArb = fc.constantFrom(...ZONES);

describe("time zones on arbitrary input (property)", () => {
  it("random strings and values are a canonical zone or INVALID_TIMEZONE", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 30 }), zoneArb.chain(mutate), anyValueArb),
        (zone) => {
          const read = belfryOrValue(() => canonicalTimezone(zone, "test"));
          if ("error" in read) expect(read.error.code).toBe("INVALID_TIMEZONE");
          else expect(canonicalTimezone(read.ok, "test")).toBe(read.ok);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("any casing of a known zone reads as that zone", () => {
    fc.assert(
      fc.property(
        zoneArb.chain((zone) => fc.tuple(fc.constant(zone), recase(zone))),
        ([zone, cased]) => {
          expect(canonicalTimezone(cased, "test")).toBe(canonicalTimezone(zone, "test"));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("a schedule asked with an arbitrary context zone behaves or throws INVALID_TIMEZONE", () => {
    const schedules = [cron("*/7 * * * *"), cron("30 2 * * *"), daily(1, "02:30"), every("1h")];
    fc.assert(
      fc.property(
        fc.constantFrom(...schedules),
        fc.oneof(fc.string({ maxLength: 20 }), zoneArb, zoneArb.chain(recase)),
        instantArb,
        (schedule, timezone, after) => {
          const context = { jobId: "j", anchor: 0, timezone };
          const first = belfryOrValue(() => schedule.next(after, context));
          if ("error" in first) expect(first.error.code).toBe("INVALID_TIMEZONE");
          else assertBehaves(schedule, context, after);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

const durationTextArb = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc
    .constantFrom("250ms", "90s", "5m", "1h30m", "2d", "1w", "5 minutes", "PT5M", "P1DT2H")
    .chain(mutate),
  fc
    .tuple(
      fc.double({ noNaN: false }),
      fc.constantFrom("ms", "s", "m", "h", "d", "w", "mo", "y", ""),
    )
    .map(([n, unit]) => `${n}${unit}`),
);

describe("durations on arbitrary input (property)", () => {
  it("strings, numbers, NaN, ±Infinity, negative and huge values: whole ms in range, or INVALID_INTERVAL", () => {
    fc.assert(
      fc.property(
        fc.oneof(durationTextArb, fc.double(), fc.integer(), anyValueArb),
        fc.constantFrom(0, 1, 1_000),
        (value, minMs) => {
          const reading = readDuration(value, minMs);
          const ms = belfryOrValue(() => toMs(value as number, "test", minMs));
          if ("problem" in reading) {
            expect("error" in ms && ms.error.code).toBe("INVALID_INTERVAL");
            return;
          }
          expect(ms).toEqual({ ok: reading.ms });
          expect(Number.isSafeInteger(reading.ms)).toBe(true);
          expect(reading.ms).toBeGreaterThanOrEqual(minMs);
          expect(reading.ms).toBeLessThanOrEqual(MAX_DURATION_MS);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it("every() and everyRandom() build a schedule that behaves, or a coded BelfryError", () => {
    const durationArb = fc.oneof(durationTextArb, fc.double(), fc.integer({ min: -10, max: 1e12 }));
    fc.assert(
      fc.property(durationArb, durationArb, contextArb, instantArb, (a, b, context, after) => {
        for (const make of [
          () => every(a as number),
          () => everyRandom(a as number, b as number),
        ]) {
          const built = belfryOrValue(make);
          if ("ok" in built) assertBehaves(built.ok, context, after);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

const timeArb = fc
  .tuple(
    fc.integer({ min: 0, max: 23 }),
    fc.integer({ min: 0, max: 59 }),
    fc.option(fc.integer({ min: 0, max: 59 })),
  )
  .map(([h, m, s]) =>
    [h, m, ...(s === null ? [] : [s])].map((part) => String(part).padStart(2, "0")).join(":"),
  );
const atTimesArb = fc.oneof(
  timeArb,
  timeArb.chain(mutate),
  fc.array(fc.oneof(timeArb, timeArb.chain(mutate)), { maxLength: 3 }),
  anyValueArb,
);
/** Intervals: small, huge (a far-away anchor must not overflow the date range) and hostile. */
const intervalArb = fc.oneof(
  fc.integer({ min: 1, max: 5 }),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  anyValueArb,
);
const calendarOptionsArb = fc.oneof(
  fc.constant(undefined),
  fc.record({ timezone: fc.oneof(zoneArb, zoneArb.chain(recase), fc.string({ maxLength: 10 })) }),
  fc.dictionary(fc.string({ maxLength: 10 }), anyValueArb, { maxKeys: 2 }),
  anyValueArb,
);
const weekdaysArb = fc.oneof(
  fc.array(fc.integer({ min: -1, max: 7 }), { maxLength: 3 }),
  fc.array(fc.constantFrom("mon", "Tuesday", "SUN", "funday", ""), { maxLength: 3 }),
  anyValueArb,
);
const daysArb = fc.oneof(
  fc.array(fc.integer({ min: -32, max: 32 }), { maxLength: 3 }),
  anyValueArb,
);

describe("daily / weekly / monthly on arbitrary input (property)", () => {
  it("build a schedule that behaves and round-trips through its spec, or a coded BelfryError", () => {
    fc.assert(
      fc.property(
        intervalArb,
        weekdaysArb,
        daysArb,
        atTimesArb,
        calendarOptionsArb,
        contextArb,
        instantArb,
        (interval, weekdays, days, atTimes, options, context, after) => {
          const i = interval as number;
          const t = atTimes as string[];
          const o = options as { timezone?: string };
          const makers = [
            () => daily(i, t, o),
            () => weekly(i, weekdays as Weekday[], t, o),
            () => monthly(i, days as number[], t, o),
          ];
          for (const make of makers) {
            const built = belfryOrValue(make);
            if (!("ok" in built)) continue;
            assertBehaves(built.ok, context, after);
            const rebuilt = scheduleFromSpec(JSON.parse(JSON.stringify(built.ok.spec)));
            expect(belfryOrValue(() => rebuilt.next(after, context))).toEqual(
              belfryOrValue(() => built.ok.next(after, context)),
            );
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("once() on arbitrary instants behaves, or INVALID_DATE", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyValueArb,
          fc.array(fc.oneof(instantArb, fc.date(), fc.string()), { maxLength: 3 }),
        ),
        instantArb,
        (at, after) => {
          const built = belfryOrValue(() => once(at as number));
          if ("error" in built) expect(built.error.code).toBe("INVALID_DATE");
          else assertBehaves(built.ok, { jobId: "j", anchor: 0, timezone: "UTC" }, after);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
