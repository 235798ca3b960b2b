import { describe, expect, it } from "vitest";
import { weekly } from "../../src/schedules/index.js";
import { at, between, context, expectError, random } from "./helpers.js";

describe("weekly", () => {
  it("runs on the given weekdays, by number or by name in any case", () => {
    const ctx = context();
    const byName = weekly(1, ["Friday", "mon"], "09:00");
    const byNumber = weekly(1, [5, 1], "09:00");
    expect(byName.spec).toEqual(byNumber.spec);
    expect(byName.spec).toEqual({
      kind: "weekly",
      interval: 1,
      weekdays: [1, 5],
      atTimes: ["09:00:00"],
      timezone: null,
    });
    expect(between(byName, at("2026-01-01T00:00:00Z"), at("2026-01-13T00:00:00Z"), ctx)).toEqual([
      "2026-01-02T09:00:00.000Z",
      "2026-01-05T09:00:00.000Z",
      "2026-01-09T09:00:00.000Z",
      "2026-01-12T09:00:00.000Z",
    ]);
    expect(weekly(1, "SUNDAY", "00:00").next(at("2026-01-01T00:00:00Z"), ctx)).toBe(
      at("2026-01-04T00:00:00Z"),
    );
  });

  it("with interval 2 runs every other ISO week counted from the anchor's week", () => {
    const anchor = at("2026-01-07T12:00:00Z"); // a Wednesday; its ISO week starts Monday 2026-01-05
    const ctx = context({ anchor });
    const runs = between(
      weekly(2, ["monday", "friday"], "09:00"),
      0,
      at("2026-02-07T00:00:00Z"),
      ctx,
    );
    expect(runs).toEqual([
      // Monday 2026-01-05 is before the anchor; Friday of the anchor's week runs.
      "2026-01-09T09:00:00.000Z",
      "2026-01-19T09:00:00.000Z",
      "2026-01-23T09:00:00.000Z",
      "2026-02-02T09:00:00.000Z",
      "2026-02-06T09:00:00.000Z",
    ]);
  });

  it("gives the same series whatever `after` is", () => {
    const anchor = at("2025-12-31T00:00:00Z");
    const ctx = context({ anchor, timezone: "Europe/Berlin" });
    const walked = between(
      weekly(3, [0, 3], ["07:30", "19:45"]),
      anchor,
      at("2028-01-01T00:00:00Z"),
      ctx,
    ).map(Date.parse);
    const next = random(5);
    for (let i = 0; i < 300; i++) {
      const after = anchor + Math.floor(next() * 6e10);
      expect(weekly(3, [0, 3], ["07:30", "19:45"]).next(after, ctx)).toBe(
        walked.find((t) => t > after),
      );
    }
  });

  it("rejects a weekday that is not 0-6 or a name, naming it", () => {
    expectError(() => weekly(1, 7 as 0, "09:00"), "INVALID_WEEKDAY", "7 is not a weekday");
    expectError(() => weekly(1, -1 as 0, "09:00"), "INVALID_WEEKDAY", "-1");
    expectError(() => weekly(1, "funday" as "mon", "09:00"), "INVALID_WEEKDAY", '"funday"');
    expectError(() => weekly(1, [], "09:00"), "INVALID_WEEKDAY", "at least one");
    expectError(() => weekly(0, "mon", "09:00"), "INVALID_INTERVAL", "weeks");
    expectError(() => weekly(1, "mon", "25:00"), "INVALID_TIME", "hour 25");
  });
});
