import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cron, scheduleFromSpec } from "../../src/index.js";
import type { ScheduleContext } from "../../src/schedules/schedule.js";
import {
  assertBehaves,
  belfryOrValue,
  contextArb,
  instantArb,
  mutate,
  RUNS,
  ZONES,
} from "./helpers.js";

/** One cron field in `[min, max]`: `*`, a value, a range, a step or a list of those. */
function fieldArb(min: number, max: number): fc.Arbitrary<string> {
  const value = fc.integer({ min, max });
  const range = fc.tuple(value, value).map(([a, b]) => (a <= b ? `${a}-${b}` : `${b}-${a}`));
  const step = fc
    .tuple(fc.constantFrom("*", `${min}-${max}`), fc.integer({ min: 1, max: max - min + 1 }))
    .map(([base, s]) => `${base}/${s}`);
  const item = fc.oneof(value.map(String), range, step);
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant("*") },
    { weight: 3, arbitrary: item },
    {
      weight: 1,
      arbitrary: fc.array(item, { minLength: 2, maxLength: 3 }).map((l) => l.join(",")),
    },
  );
}

const WEEKDAY_EXTRAS = ["MON-FRI", "SUN", "5L", "1#2", "SAT,SUN"];
const DAY_EXTRAS = ["L", "15W", "?"];

/** A cron expression made of valid fields (5 or 6; it may still never fire, e.g. Feb 30). */
export const validCronArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.boolean(),
    fieldArb(0, 59),
    fieldArb(0, 59),
    fieldArb(0, 23),
    fc.oneof({ weight: 4, arbitrary: fieldArb(1, 31) }, fc.constantFrom(...DAY_EXTRAS)),
    fc.oneof(fieldArb(1, 12), fc.constantFrom("JAN", "FEB-MAR", "*/3")),
    fc.oneof({ weight: 4, arbitrary: fieldArb(0, 6) }, fc.constantFrom(...WEEKDAY_EXTRAS)),
  )
  .map(([seconds, s, ...rest]) => (seconds ? [s, ...rest] : rest).join(" "));

const DESCRIPTORS = [
  "@yearly",
  "@annually",
  "@monthly",
  "@weekly",
  "@daily",
  "@midnight",
  "@hourly",
];

/** A valid expression, a descriptor, or either with a zone prefix. */
const cronLikeArb = fc.oneof(
  { weight: 4, arbitrary: validCronArb },
  { weight: 1, arbitrary: fc.constantFrom(...DESCRIPTORS) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom("CRON_TZ", "TZ"), fc.constantFrom(...ZONES), validCronArb)
      .map(([key, zone, expr]) => `${key}=${zone} ${expr}`),
  },
);

describe("cron() on arbitrary input (property)", () => {
  it("random strings give a schedule that behaves, or a coded BelfryError", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), contextArb, instantArb, (expr, context, after) => {
        const built = belfryOrValue(() => cron(expr));
        if ("ok" in built) assertBehaves(built.ok, context, after);
      }),
      { numRuns: RUNS },
    );
  });

  it("near-valid mutations of valid expressions give a schedule that behaves, or a coded BelfryError", () => {
    fc.assert(
      fc.property(
        cronLikeArb.chain((expr) => mutate(expr)),
        contextArb,
        instantArb,
        (expr, context, after) => {
          const built = belfryOrValue(() => cron(expr));
          if ("ok" in built) assertBehaves(built.ok, context, after);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("non-string expressions are INVALID_CRON", () => {
    fc.assert(
      fc.property(
        fc.anything().filter((v) => typeof v !== "string"),
        (expr) => {
          const built = belfryOrValue(() => cron(expr as string));
          expect("error" in built && built.error.code).toBe("INVALID_CRON");
        },
      ),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });
});

/** A valid expression and zone, skipping the (rare) ones that never fire. */
const firingCronArb = fc
  .tuple(cronLikeArb, fc.option(fc.constantFrom(...ZONES), { nil: undefined }))
  .map(([expr, timezone]) => {
    const prefixed = expr.startsWith("CRON_TZ=") || expr.startsWith("TZ=");
    const built = belfryOrValue(() => cron(expr, prefixed ? {} : { timezone }));
    return { expr, built };
  })
  .filter(({ built }) => "ok" in built);

describe("cron() on valid expressions and zones (property)", () => {
  it("next(after) > after and the sequence strictly increases", () => {
    fc.assert(
      fc.property(firingCronArb, contextArb, instantArb, ({ built }, context, after) => {
        if (!("ok" in built)) return;
        assertBehaves(built.ok, context, after, 5);
      }),
      { numRuns: RUNS },
    );
  });

  it("scheduleFromSpec(s.spec) has the same spec and gives the same instants", () => {
    fc.assert(
      fc.property(firingCronArb, contextArb, instantArb, ({ built }, context, after) => {
        if (!("ok" in built)) return;
        const schedule = built.ok;
        const rebuilt = scheduleFromSpec(JSON.parse(JSON.stringify(schedule.spec)));
        expect(rebuilt.spec).toEqual(schedule.spec);
        expect(sequence(rebuilt, context, after)).toEqual(sequence(schedule, context, after));
      }),
      { numRuns: RUNS },
    );
  });
});

function sequence(
  schedule: { next(after: number, context: ScheduleContext): number | null },
  context: ScheduleContext,
  after: number,
): (number | null)[] {
  const out: (number | null)[] = [];
  let at: number | null = after;
  for (let i = 0; i < 4 && at !== null; i++) {
    at = schedule.next(at, context);
    out.push(at);
  }
  return out;
}
