import { describe, expect, it } from "vitest";
import { once } from "../../src/schedules/index.js";
import { at, context, expectError } from "./helpers.js";

describe("once", () => {
  it("runs at each instant once, earliest first, then never", () => {
    const schedule = once([
      "2026-06-01T10:00:00+02:00",
      new Date("2026-05-01T00:00:00Z"),
      at("2026-07-01T00:00:00Z"),
    ]);
    const ctx = context();
    expect(schedule.next(0, ctx)).toBe(at("2026-05-01T00:00:00Z"));
    expect(schedule.next(at("2026-05-01T00:00:00Z"), ctx)).toBe(at("2026-06-01T08:00:00Z"));
    expect(schedule.next(at("2026-06-15T00:00:00Z"), ctx)).toBe(at("2026-07-01T00:00:00Z"));
    expect(schedule.next(at("2026-07-01T00:00:00Z"), ctx)).toBeNull();
  });

  it("has a canonical spec: ISO UTC strings, sorted, without duplicates", () => {
    const spec = once([
      "2026-06-01T10:00:00+02:00",
      "2026-06-01T08:00:00Z",
      at("2026-01-01T00:00:00Z"),
    ]).spec;
    expect(spec).toEqual({
      kind: "once",
      at: ["2026-01-01T00:00:00.000Z", "2026-06-01T08:00:00.000Z"],
    });
    expect(once(new Date("2026-01-01T00:00:00Z")).spec).toEqual(once("2026-01-01T00:00:00Z").spec);
  });

  it("rejects what is not an instant, naming it", () => {
    expectError(
      () => once("tomorrow"),
      "INVALID_DATE",
      'once("tomorrow")',
      '"tomorrow" is not a valid instant',
    );
    // A wall time without an offset would mean different instants on replicas in different zones.
    expectError(
      () => once("2026-03-08T10:00:00"),
      "INVALID_DATE",
      '"2026-03-08T10:00:00"',
      "offset",
    );
    expectError(() => once(new Date("nope")), "INVALID_DATE", "Invalid Date");
    expectError(() => once(Number.NaN), "INVALID_DATE", "NaN");
    expectError(() => once([at("2026-01-01T00:00:00Z"), Infinity]), "INVALID_DATE", "Infinity");
    expectError(() => once([]), "INVALID_DATE", "at least one");
  });
});
