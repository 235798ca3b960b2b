import { describe, expect, it } from "vitest";
import { monthly } from "../../src/schedules/index.js";
import { at, between, context, expectError } from "./helpers.js";

const runs = (schedule: ReturnType<typeof monthly>, from: string, to: string, anchor = 0) =>
  between(schedule, at(from), at(to), context({ anchor })).map((iso) => iso.slice(0, 10));

describe("monthly", () => {
  it("-1 is the last day: 29 February in a leap year, 28 otherwise", () => {
    expect(runs(monthly(1, [-1], "12:00"), "2028-01-31T13:00:00Z", "2028-03-01T00:00:00Z")).toEqual(
      ["2028-02-29"],
    );
    expect(runs(monthly(1, -1, "12:00"), "2027-01-31T13:00:00Z", "2027-03-01T00:00:00Z")).toEqual([
      "2027-02-28",
    ]);
    expect(runs(monthly(1, -31, "12:00"), "2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z")).toEqual([
      "2026-01-01",
      "2026-03-01",
      "2026-05-01",
    ]);
  });

  it("skips a month without the day, as gocron does", () => {
    expect(runs(monthly(1, [31], "00:00"), "2026-03-01T00:00:00Z", "2026-08-01T00:00:00Z")).toEqual(
      ["2026-03-31", "2026-05-31", "2026-07-31"],
    );
    expect(runs(monthly(1, [30], "00:00"), "2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z")).toEqual(
      ["2026-01-30", "2026-03-30"],
    );
  });

  it("runs once when a positive and a negative day fall on the same date", () => {
    expect(
      runs(monthly(1, [31, -1, 1], "00:00"), "2026-03-01T00:00:00Z", "2026-05-01T00:00:00Z"),
    ).toEqual(["2026-03-31", "2026-04-01", "2026-04-30", "2026-05-01"]);
    expect(monthly(1, [31, -1, 1, 1], "00:00").spec).toMatchObject({ days: [-1, 1, 31] });
  });

  it("with interval 2 counts months from the anchor's month", () => {
    const anchor = at("2026-02-10T00:00:00Z");
    expect(
      runs(monthly(2, 15, "08:00"), "2026-01-01T00:00:00Z", "2026-09-01T00:00:00Z", anchor),
    ).toEqual(["2026-02-15", "2026-04-15", "2026-06-15", "2026-08-15"]);
  });

  it("returns null when the chosen months never have the day", () => {
    const anchor = at("2026-02-01T00:00:00Z");
    expect(monthly(12, [30], "00:00").next(anchor, context({ anchor }))).toBeNull();
    expect(monthly(12, [29], "00:00").next(anchor, context({ anchor }))).toBe(
      at("2028-02-29T00:00:00Z"),
    );
    expect(
      monthly(1200, [29], "00:00").next(
        at("2000-03-01T00:00:00Z"),
        context({ anchor: at("2000-02-01T00:00:00Z") }),
      ),
    ).toBe(at("2400-02-29T00:00:00Z"));
  });

  it("rejects day 0, 32 and -32, naming the value", () => {
    expectError(
      () => monthly(1, 0, "00:00"),
      "INVALID_DAY",
      "monthly(1, 0,",
      "day 0 is out of range",
    );
    expectError(() => monthly(1, [1, 32], "00:00"), "INVALID_DAY", "day 32");
    expectError(() => monthly(1, -32, "00:00"), "INVALID_DAY", "day -32");
    expectError(() => monthly(1, 1.5, "00:00"), "INVALID_DAY", "1.5");
    expectError(() => monthly(1, [], "00:00"), "INVALID_DAY", "at least one");
    expectError(() => monthly(0, 1, "00:00"), "INVALID_INTERVAL", "months");
  });
});
