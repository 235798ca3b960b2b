import { describe, expect, it } from "vitest";
import { Temporal } from "temporal-polyfill";
import { cron, daily, monthly, weekly } from "../../src/schedules/index.js";
import { at, between, context, onDate, wall } from "./helpers.js";

const NEW_YORK = "America/New_York";
const BERLIN = "Europe/Berlin";
const LORD_HOWE = "Australia/Lord_Howe";

// Each case: a wall time on a transition day, and the one instant it must run at.
const cases = [
  { zone: NEW_YORK, date: "2026-03-08", time: "02:30", expected: "2026-03-08T03:30:00-04:00" },
  { zone: NEW_YORK, date: "2026-11-01", time: "01:30", expected: "2026-11-01T01:30:00-04:00" },
  { zone: BERLIN, date: "2026-03-29", time: "02:30", expected: "2026-03-29T03:30:00+02:00" },
  { zone: BERLIN, date: "2026-10-25", time: "02:30", expected: "2026-10-25T02:30:00+02:00" },
  { zone: LORD_HOWE, date: "2026-04-05", time: "01:45", expected: "2026-04-05T01:45:00+11:00" },
  { zone: LORD_HOWE, date: "2026-10-04", time: "02:15", expected: "2026-10-04T02:45:00+11:00" },
] as const;

describe("schedules.dst: a wall time in a gap or an overlap runs exactly once", () => {
  for (const { zone, date, time, expected } of cases) {
    const [hour, minute] = time.split(":").map(Number);
    const instant = [new Date(Temporal.Instant.from(expected).epochMilliseconds).toISOString()];

    it(`daily ${time} in ${zone} on ${date} → ${expected}`, () => {
      expect(onDate(daily(1, time), date, zone)).toEqual(instant);
      expect(wall(instant[0] as string, zone)).toBe(expected);
    });

    it(`cron "${minute} ${hour} * * *" in ${zone} on ${date} → ${expected}`, () => {
      expect(onDate(cron(`${minute} ${hour} * * *`), date, zone)).toEqual(instant);
      expect(
        onDate(cron(`0 ${minute} ${hour} * * *`, { timezone: zone }), date, zone, context()),
      ).toEqual(instant);
    });

    it(`weekly and monthly at ${time} in ${zone} on ${date} → ${expected}`, () => {
      const weekday = Temporal.PlainDate.from(date).dayOfWeek % 7;
      const dayOfMonth = Temporal.PlainDate.from(date).day;
      expect(onDate(weekly(1, weekday as 0, time), date, zone)).toEqual(instant);
      expect(onDate(monthly(1, dayOfMonth, time), date, zone)).toEqual(instant);
    });
  }

  it("the days around a transition keep their normal instant", () => {
    const runs = between(
      daily(1, "02:30"),
      at("2026-03-06T12:00:00Z"),
      at("2026-03-10T12:00:00Z"),
      context({ timezone: NEW_YORK }),
    );
    expect(runs.map((iso) => wall(iso, NEW_YORK))).toEqual([
      "2026-03-07T02:30:00-05:00",
      "2026-03-08T03:30:00-04:00",
      "2026-03-09T02:30:00-04:00",
      "2026-03-10T02:30:00-04:00",
    ]);
  });

  it("after the first pass of a repeated time, the second pass does not run", () => {
    const ctx = context({ timezone: NEW_YORK });
    const firstPass = at("2026-11-01T05:30:00Z"); // 01:30 EDT
    const nextDay = at("2026-11-02T06:30:00Z"); // 01:30 EST, a day later
    expect(daily(1, "01:30").next(firstPass, ctx)).toBe(nextDay);
    expect(cron("30 1 * * *").next(firstPass, ctx)).toBe(nextDay);
    expect(daily(1, "01:30").next(at("2026-11-01T06:10:00Z"), ctx)).toBe(nextDay);
    expect(cron("30 1 * * *").next(at("2026-11-01T06:10:00Z"), ctx)).toBe(nextDay);
  });

  it("an `after` inside the moved window still finds the moved run", () => {
    const ctx = context({ timezone: NEW_YORK });
    // 02:30 runs at 03:30 EDT (07:30Z); asking from 03:10 EDT must still return it.
    expect(daily(1, "02:30").next(at("2026-03-08T07:10:00Z"), ctx)).toBe(
      at("2026-03-08T07:30:00Z"),
    );
    expect(cron("30 2 * * *").next(at("2026-03-08T07:10:00Z"), ctx)).toBe(
      at("2026-03-08T07:30:00Z"),
    );
  });
});

describe("schedules.dst: cron with wildcards or steps follows real instants", () => {
  const ctx = context({ timezone: NEW_YORK });
  const gaps = (runs: string[]) =>
    runs.slice(1).map((iso, i) => Date.parse(iso) - Date.parse(runs[i] as string));

  it("every 15 minutes is every real 15 minutes through the overlap and the gap", () => {
    const overlap = between(
      cron("*/15 * * * *"),
      at("2026-11-01T04:00:00Z"),
      at("2026-11-01T08:00:00Z"),
      ctx,
    );
    expect(overlap).toHaveLength(16);
    expect(new Set(gaps(overlap))).toEqual(new Set([15 * 60_000]));
    const gap = between(
      cron("*/15 * * * *"),
      at("2026-03-08T05:00:00Z"),
      at("2026-03-08T09:00:00Z"),
      ctx,
    );
    expect(gap).toHaveLength(16);
    expect(new Set(gaps(gap))).toEqual(new Set([15 * 60_000]));
  });

  it("an hourly expression runs on both 01:00s and skips the missing 02:00", () => {
    const overlap = between(
      cron("0 * * * *"),
      at("2026-11-01T04:30:00Z"),
      at("2026-11-01T07:30:00Z"),
      ctx,
    );
    expect(overlap.map((iso) => wall(iso, NEW_YORK))).toEqual([
      "2026-11-01T01:00:00-04:00",
      "2026-11-01T01:00:00-05:00",
      "2026-11-01T02:00:00-05:00",
    ]);
    const gap = between(
      cron("@hourly"),
      at("2026-03-08T05:30:00Z"),
      at("2026-03-08T07:30:00Z"),
      ctx,
    );
    expect(gap.map((iso) => wall(iso, NEW_YORK))).toEqual([
      "2026-03-08T01:00:00-05:00",
      "2026-03-08T03:00:00-04:00",
    ]);
  });

  it("a list of fixed times is fixed-time: each time in the gap moves by the gap's length", () => {
    expect(
      onDate(cron("15,45 2 * * *"), "2026-03-08", NEW_YORK).map((iso) => wall(iso, NEW_YORK)),
    ).toEqual(["2026-03-08T03:15:00-04:00", "2026-03-08T03:45:00-04:00"]);
    // Lord Howe's gap is 30 minutes: 02:10 moves to 02:40; 02:30 exists.
    expect(
      onDate(cron("10,30 2 * * *"), "2026-10-04", LORD_HOWE).map((iso) => wall(iso, LORD_HOWE)),
    ).toEqual(["2026-10-04T02:30:00+11:00", "2026-10-04T02:40:00+11:00"]);
  });
});

describe("schedules.dst: cron and daily agree around every transition", () => {
  const zones = [
    NEW_YORK,
    BERLIN,
    LORD_HOWE,
    "America/Santiago",
    "Australia/Sydney",
    "Asia/Tehran",
  ];
  const times = [
    "00:00",
    "00:30",
    "01:30",
    "01:45",
    "02:00",
    "02:15",
    "02:30",
    "02:45",
    "03:00",
    "03:15",
    "23:30",
  ];

  for (const zone of zones) {
    it(`in ${zone}`, () => {
      const ctx = context({ timezone: zone });
      let cursor = Temporal.Instant.from("2026-01-01T00:00:00Z").toZonedDateTimeISO(zone);
      for (let n = 0; n < 2; n++) {
        const transition = cursor.getTimeZoneTransition("next");
        if (transition === null) break;
        const from = transition.epochMilliseconds - 3 * 86_400_000;
        const to = transition.epochMilliseconds + 3 * 86_400_000;
        for (const time of times) {
          const [hour, minute] = time.split(":").map(Number);
          const expected = between(daily(1, time), from, to, ctx);
          expect(
            between(cron(`${minute} ${hour} * * *`), from, to, ctx),
            `${time} near ${transition}`,
          ).toEqual(expected);
          expect(expected.length).toBeGreaterThanOrEqual(5);
        }
        cursor = transition;
      }
    });
  }
});
