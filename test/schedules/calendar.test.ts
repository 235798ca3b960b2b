import { describe, expect, it } from "vitest";
import { Temporal } from "temporal-polyfill";
import {
  civilDate,
  dayNumber,
  daysInMonth,
  formatTime,
  localDay,
  wallToInstant,
  weekdayOf,
} from "../../src/schedules/calendar.js";
import { at, random } from "./helpers.js";

describe("calendar", () => {
  it("day numbers round-trip and agree with Date.UTC, leap years and centuries included", () => {
    const next = random(11);
    for (let i = 0; i < 5000; i++) {
      const day = Math.floor((next() - 0.5) * 2 * 1_000_000);
      const date = civilDate(day);
      expect(dayNumber(date.year, date.month, date.day)).toBe(day);
      const utc = new Date(day * 86_400_000);
      expect([date.year, date.month, date.day]).toEqual([
        utc.getUTCFullYear(),
        utc.getUTCMonth() + 1,
        utc.getUTCDate(),
      ]);
      expect(weekdayOf(day)).toBe(utc.getUTCDay());
    }
    expect([
      daysInMonth(2028, 2),
      daysInMonth(2027, 2),
      daysInMonth(2100, 2),
      daysInMonth(2000, 2),
    ]).toEqual([29, 28, 28, 29]);
    expect(daysInMonth(2026, 12)).toBe(31);
  });

  it("maps a wall time to an instant with Temporal's compatible disambiguation", () => {
    const zone = "America/New_York";
    for (const text of ["2026-03-08T02:30:00", "2026-11-01T01:30:00", "2026-07-04T12:00:00"]) {
      const wall = Temporal.PlainDateTime.from(text);
      const expected = wall.toZonedDateTime(zone, {
        disambiguation: "compatible",
      }).epochMilliseconds;
      const day = dayNumber(wall.year, wall.month, wall.day);
      expect(wallToInstant(day, wall.hour * 3600 + wall.minute * 60, zone)).toBe(expected);
    }
    expect(localDay(at("2026-03-08T04:59:59Z"), zone)).toBe(dayNumber(2026, 3, 7));
    expect(localDay(at("2026-03-08T05:00:00Z"), zone)).toBe(dayNumber(2026, 3, 8));
    expect(formatTime(9 * 3600 + 5 * 60 + 7)).toBe("09:05:07");
  });
});
