import { describe, expect, it } from "vitest";
import { every, type Duration } from "../../src/schedules/index.js";
import { at, context, expectError, random } from "./helpers.js";

describe("every", () => {
  it("runs on a grid of the interval counted from the epoch", () => {
    const schedule = every("250ms");
    const ctx = context();
    expect(schedule.next(0, ctx)).toBe(250);
    expect(schedule.next(249, ctx)).toBe(250);
    expect(schedule.next(250, ctx)).toBe(500);
    expect(schedule.next(at("2026-01-01T00:00:00.100Z"), ctx)).toBe(at("2026-01-01T00:00:00.250Z"));
  });

  it("counts from the anchor (startAt) and runs nothing before it", () => {
    const anchor = at("2026-01-01T00:00:07Z");
    const ctx = context({ anchor });
    const schedule = every("1m");
    expect(schedule.next(0, ctx)).toBe(anchor);
    expect(schedule.next(anchor - 1, ctx)).toBe(anchor);
    expect(schedule.next(anchor, ctx)).toBe(at("2026-01-01T00:01:07Z"));
    expect(schedule.next(at("2026-01-01T10:30:00Z"), ctx)).toBe(at("2026-01-01T10:30:07Z"));
  });

  it("gives the grid point after `after`, whatever `after` is", () => {
    const anchor = 1_234_567;
    const interval = 90_000;
    const schedule = every(interval);
    const next = random(1);
    for (let i = 0; i < 1000; i++) {
      const after = anchor + Math.floor(next() * 1e10);
      const found = schedule.next(after, context({ anchor })) as number;
      expect(found).toBeGreaterThan(after);
      expect(found - interval).toBeLessThanOrEqual(after);
      expect((found - anchor) % interval).toBe(0);
    }
  });

  it("keeps the interval in ms in its spec", () => {
    expect(every("1h30m").spec).toEqual({ kind: "every", intervalMs: 5_400_000 });
    expect(every(5_400_000).spec).toEqual(every("90m").spec);
  });

  it("rejects an interval that is zero, negative or not a duration", () => {
    expectError(() => every(0), "INVALID_INTERVAL", "every(0)", "greater than 0");
    expectError(() => every(-5), "INVALID_INTERVAL", "-5");
    expectError(() => every("0s"), "INVALID_INTERVAL", '"0s"');
    expectError(() => every("5x" as string as Duration), "INVALID_INTERVAL", '"5x"');
  });
});
