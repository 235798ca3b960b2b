import { describe, expect, it } from "vitest";
import {
  cron,
  daily,
  every,
  everyRandom,
  monthly,
  once,
  preview,
  scheduleFromSpec,
  weekly,
  type Schedule,
  type ScheduleSpec,
} from "../../src/index.js";
import { at, expectError } from "./helpers.js";

const ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"];
const FROM = [
  at("2026-01-01T00:00:00Z"),
  at("2026-03-07T12:34:56.789Z"),
  at("2026-10-24T23:00:00Z"),
];

const SCHEDULES: Readonly<Record<string, Schedule>> = {
  every: every("90s"),
  everyRandom: everyRandom("4m", "6m"),
  cron: cron("*/15 * * * * *"),
  "cron with zone and seconds": cron("CRON_TZ=Europe/Berlin 30 0 9 * * MON-FRI"),
  "cron descriptor": cron("@daily", { timezone: "America/New_York" }),
  "cron fixed time in a DST gap": cron("30 2 * * *"),
  daily: daily(2, ["02:30", "14:00"]),
  "daily with zone": daily(1, "09:00", { timezone: "Asia/Tokyo" }),
  weekly: weekly(2, ["monday", "thu"], "09:30", { timezone: "America/New_York" }),
  monthly: monthly(1, [1, -1], ["06:00", "18:30:15"]),
  once: once(["2026-06-01T09:00:00Z", "2026-01-05T00:00:00+01:00", "2027-01-01T00:00:00Z"]),
};

const iso = (dates: Date[]) => dates.map((date) => date.toISOString());

describe("scheduleFromSpec", () => {
  for (const [name, schedule] of Object.entries(SCHEDULES)) {
    it(`rebuilds ${name} with the same spec and the same next 20 instants in every zone`, () => {
      const rebuilt = scheduleFromSpec(schedule.spec);
      expect(rebuilt.spec).toEqual(schedule.spec);
      // Through JSON, as a stored definition reads it back.
      const fromJson = scheduleFromSpec(JSON.parse(JSON.stringify(schedule.spec)) as ScheduleSpec);
      expect(fromJson.spec).toEqual(schedule.spec);
      for (const timezone of ZONES) {
        for (const from of FROM) {
          const options = { count: 20, from, timezone, jobId: "job-1", anchor: FROM[0] };
          const expected = iso(preview(schedule, options));
          expect(expected.length).toBeGreaterThan(0);
          expect(iso(preview(rebuilt, options))).toEqual(expected);
          expect(iso(preview(fromJson, options))).toEqual(expected);
        }
      }
    });
  }

  it("covers every kind", () => {
    const kinds = new Set(Object.values(SCHEDULES).map((s) => s.spec.kind));
    expect([...kinds].sort()).toEqual(
      ["cron", "daily", "every", "everyRandom", "monthly", "once", "weekly"].sort(),
    );
  });

  it("accepts a hand-written spec without a timezone and in non-canonical form", () => {
    const schedule = scheduleFromSpec({ kind: "daily", interval: 1, atTimes: ["15:00", "3:00"] });
    expect(schedule.spec).toEqual(daily(1, ["03:00", "15:00"]).spec);
  });

  it("refuses an unknown kind or a malformed spec with INVALID_SCHEDULE", () => {
    expectError(
      () => scheduleFromSpec({ kind: "hourly" }),
      "INVALID_SCHEDULE",
      '"hourly"',
      "every",
    );
    expectError(() => scheduleFromSpec({ kind: "toString" }), "INVALID_SCHEDULE", "unknown kind");
    expectError(
      () => scheduleFromSpec(null as unknown as ScheduleSpec),
      "INVALID_SCHEDULE",
      "scheduleFromSpec(null)",
    );
    expectError(
      () => scheduleFromSpec({ kind: "every", intervalMs: "5m" }),
      "INVALID_SCHEDULE",
      'intervalMs must be a number, got "5m"',
    );
    expectError(
      () => scheduleFromSpec({ kind: "weekly", interval: 1, weekdays: [1], atTimes: "09:00" }),
      "INVALID_SCHEDULE",
      "atTimes must be an array of strings",
    );
    expectError(
      () => scheduleFromSpec({ kind: "cron", expr: "0 3 * * *", timezone: 5 }),
      "INVALID_SCHEDULE",
      "timezone must be a string, got 5",
    );
    expectError(() => scheduleFromSpec({ kind: "once" }), "INVALID_SCHEDULE", "got undefined");
  });

  it("keeps the factory's own code for a value of the right type that is invalid", () => {
    expectError(() => scheduleFromSpec({ kind: "cron", expr: "61 * * * *" }), "INVALID_CRON");
    expectError(
      () => scheduleFromSpec({ kind: "daily", interval: 1, atTimes: ["24:00"], timezone: null }),
      "INVALID_TIME",
    );
    expectError(
      () =>
        scheduleFromSpec({
          kind: "monthly",
          interval: 1,
          days: [1],
          atTimes: ["01:00"],
          timezone: "Mars/Base",
        }),
      "INVALID_TIMEZONE",
    );
  });
});
