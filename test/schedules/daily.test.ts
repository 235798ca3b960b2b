import { describe, expect, it } from "vitest";
import { Temporal } from "temporal-polyfill";
import { daily } from "../../src/schedules/index.js";
import { at, between, context, expectError, random, wall } from "./helpers.js";

describe("daily", () => {
  it("runs at each time of day, in the scheduler's zone unless it names its own", () => {
    const schedule = daily(1, ["17:00", "9:00"]);
    const ctx = context({ timezone: "Europe/Berlin" });
    expect(between(schedule, at("2026-01-10T00:00:00Z"), at("2026-01-11T23:59:59Z"), ctx)).toEqual([
      "2026-01-10T08:00:00.000Z",
      "2026-01-10T16:00:00.000Z",
      "2026-01-11T08:00:00.000Z",
      "2026-01-11T16:00:00.000Z",
    ]);
    const tokyo = daily(1, "09:00:30", { timezone: "Asia/Tokyo" });
    expect(tokyo.next(at("2026-01-10T00:00:00Z"), ctx)).toBe(at("2026-01-10T00:00:30Z"));
  });

  it("has a canonical spec: HH:MM:SS, sorted, without duplicates", () => {
    expect(daily(2, ["17:00", "9:00", "09:00:00"], { timezone: "UTC" }).spec).toEqual({
      kind: "daily",
      interval: 2,
      atTimes: ["09:00:00", "17:00:00"],
      timezone: "UTC",
    });
    expect(daily(1, "09:00").spec).toEqual(daily(1, ["09:00:00"]).spec);
  });

  it("with interval 3 runs every third day counted from the anchor, whatever `after` is", () => {
    const zone = "America/New_York";
    const anchor = at("2026-01-02T15:00:00Z"); // 10:00 on 2026-01-02 in New York
    const ctx = context({ timezone: zone, anchor });
    const schedule = daily(3, "08:15");
    const walked = between(schedule, anchor - 1, at("2027-12-31T00:00:00Z"), ctx).map(Date.parse);
    // The anchor's own day is too late (08:15 < 10:00); the series starts three days later.
    expect(wall(new Date(walked[0] as number).toISOString(), zone)).toBe(
      "2026-01-05T08:15:00-05:00",
    );
    const dates = walked.map((t) =>
      Temporal.Instant.fromEpochMilliseconds(t).toZonedDateTimeISO(zone).toPlainDate(),
    );
    for (let i = 1; i < dates.length; i++) {
      expect((dates[i - 1] as Temporal.PlainDate).until(dates[i] as Temporal.PlainDate).days).toBe(
        3,
      );
    }
    const next = random(3);
    for (let i = 0; i < 300; i++) {
      const after = anchor + Math.floor(next() * 6e10);
      expect(daily(3, "08:15").next(after, ctx)).toBe(walked.find((t) => t > after));
    }
  });

  it("runs nothing before the anchor", () => {
    const anchor = at("2026-05-01T12:00:00Z");
    expect(daily(1, "06:00").next(0, context({ anchor }))).toBe(at("2026-05-02T06:00:00Z"));
    expect(daily(1, "12:00").next(0, context({ anchor }))).toBe(anchor);
  });

  it("rejects hour 24, minute 60, second 60 and text that is no time, naming the value", () => {
    const error = expectError(() => daily(1, ["24:00"]), "INVALID_TIME");
    expect(error.message).toBe(
      'daily(1, ["24:00"]): hour 24 is out of range 0-23; use "HH:MM" or "HH:MM:SS"',
    );
    expectError(
      () => daily(1, "12:60"),
      "INVALID_TIME",
      'daily(1, "12:60")',
      "minute 60 is out of range 0-59",
    );
    expectError(() => daily(1, "12:00:60"), "INVALID_TIME", "second 60");
    expectError(() => daily(1, "noon"), "INVALID_TIME", '"noon" is not a time of day');
    expectError(() => daily(1, "9"), "INVALID_TIME", '"9"');
    expectError(() => daily(1, []), "INVALID_TIME", "at least one");
  });

  it("rejects an interval that is not a whole number ≥ 1", () => {
    expectError(() => daily(0, "09:00"), "INVALID_INTERVAL", "daily(0,", "got 0");
    expectError(() => daily(-2, "09:00"), "INVALID_INTERVAL", "-2");
    expectError(() => daily(1.5, "09:00"), "INVALID_INTERVAL", "1.5");
  });

  it("rejects an unknown time zone, its own or the scheduler's", () => {
    expectError(
      () => daily(1, "09:00").next(0, context({ timezone: "Nowhere/Land" })),
      "INVALID_TIMEZONE",
      "Nowhere/Land",
    );
    expectError(
      () => daily(1, "09:00", { timezone: "Europe/Atlantis" }),
      "INVALID_TIMEZONE",
      '"Europe/Atlantis"',
    );
  });
});
