import { afterEach, describe, expect, it, vi } from "vitest";
import { cron } from "../../src/schedules/index.js";
import { at, between, context, expectError } from "./helpers.js";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

describe("cron", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("computes the next run of a 5-field expression, exclusive of `after`", () => {
    const schedule = cron("0 9 * * MON");
    const ctx = context();
    expect(iso(schedule.next(at("2026-01-01T00:00:00Z"), ctx))).toBe("2026-01-05T09:00:00.000Z");
    expect(iso(schedule.next(at("2026-01-05T09:00:00Z"), ctx))).toBe("2026-01-12T09:00:00.000Z");
    expect(iso(schedule.next(at("2026-01-05T08:59:59.999Z"), ctx))).toBe(
      "2026-01-05T09:00:00.000Z",
    );
  });

  it("handles milliseconds in `after`: the next whole second that matches, never `after` itself", () => {
    const schedule = cron("* * * * * *");
    const ctx = context();
    expect(schedule.next(at("2026-01-01T00:00:00.000Z"), ctx)).toBe(at("2026-01-01T00:00:01Z"));
    expect(schedule.next(at("2026-01-01T00:00:00.500Z"), ctx)).toBe(at("2026-01-01T00:00:01Z"));
    expect(schedule.next(at("2026-01-01T00:00:00.999Z"), ctx)).toBe(at("2026-01-01T00:00:01Z"));
  });

  it("accepts 6 fields with seconds first", () => {
    const schedule = cron("*/10 * * * * *");
    const runs = between(
      schedule,
      at("2026-01-01T00:00:00Z"),
      at("2026-01-01T00:00:30Z"),
      context(),
    );
    expect(runs).toEqual([
      "2026-01-01T00:00:10.000Z",
      "2026-01-01T00:00:20.000Z",
      "2026-01-01T00:00:30.000Z",
    ]);
    expect(schedule.spec).toMatchObject({ seconds: true });
    expect(
      cron("30 0 9 * * *", { seconds: true }).next(at("2026-01-01T00:00:00Z"), context()),
    ).toBe(at("2026-01-01T09:00:30Z"));
    expect(cron("0 9 * * *", { seconds: true }).spec).toMatchObject({ seconds: false });
  });

  it("supports the descriptors", () => {
    const from = at("2026-03-05T12:34:00Z");
    const expected: Record<string, string> = {
      "@yearly": "2027-01-01T00:00:00.000Z",
      "@annually": "2027-01-01T00:00:00.000Z",
      "@monthly": "2026-04-01T00:00:00.000Z",
      "@weekly": "2026-03-08T00:00:00.000Z",
      "@daily": "2026-03-06T00:00:00.000Z",
      "@midnight": "2026-03-06T00:00:00.000Z",
      "@hourly": "2026-03-05T13:00:00.000Z",
    };
    for (const [descriptor, next] of Object.entries(expected)) {
      expect(iso(cron(descriptor).next(from, context())), descriptor).toBe(next);
    }
    expect(cron("@ANNUALLY").spec).toEqual(cron("@yearly").spec);
    expect(cron("@midnight").spec).toEqual({
      kind: "cron",
      expr: "@daily",
      timezone: null,
      seconds: false,
    });
  });

  it("reads a CRON_TZ= or TZ= prefix as the schedule's time zone", () => {
    const winter = at("2026-01-10T00:00:00Z");
    for (const expr of ["CRON_TZ=Europe/Berlin 0 9 * * *", "TZ=Europe/Berlin 0 9 * * *"]) {
      const schedule = cron(expr);
      expect(schedule.spec).toEqual({
        kind: "cron",
        expr: "0 9 * * *",
        timezone: "Europe/Berlin",
        seconds: false,
      });
      expect(iso(schedule.next(winter, context({ timezone: "Asia/Tokyo" })))).toBe(
        "2026-01-10T08:00:00.000Z",
      );
    }
    expect(
      cron("CRON_TZ=Europe/Berlin 0 9 * * *", { timezone: "Europe/Berlin" }).spec,
    ).toMatchObject({
      timezone: "Europe/Berlin",
    });
  });

  it("uses options.timezone, else the scheduler's zone from the context", () => {
    const from = at("2026-07-01T00:00:00Z");
    expect(iso(cron("0 9 * * *", { timezone: "America/New_York" }).next(from, context()))).toBe(
      "2026-07-01T13:00:00.000Z",
    );
    expect(iso(cron("0 9 * * *").next(from, context({ timezone: "Asia/Kolkata" })))).toBe(
      "2026-07-01T03:30:00.000Z",
    );
  });

  it("has a canonical spec: spaces and descriptor spelling do not change it", () => {
    expect(cron("  0   9 * *  MON ").spec).toEqual(cron("0 9 * * MON").spec);
    expect(JSON.parse(JSON.stringify(cron("0 9 * * *").spec))).toEqual(cron("0 9 * * *").spec);
  });

  it("refuses an expression that never matches with NEVER_FIRES (it used to return null)", () => {
    expectError(() => cron("0 0 30 2 *"), "NEVER_FIRES", 'cron("0 0 30 2 *")', "matches no date");
    expectError(() => cron("0 0 31 4,6,9,11 *"), "NEVER_FIRES");
    expect(cron("0 0 29 2 *").next(0, context())).toBe(at("1972-02-29T00:00:00Z"));
  });

  it("supports croner's extensions: last day of month, nth weekday", () => {
    expect(iso(cron("0 0 L * *").next(at("2028-02-01T00:00:00Z"), context()))).toBe(
      "2028-02-29T00:00:00.000Z",
    );
    expect(iso(cron("0 12 * * FRI#2").next(at("2026-03-01T00:00:00Z"), context()))).toBe(
      "2026-03-13T12:00:00.000Z",
    );
  });

  it("never starts a croner timer", () => {
    vi.useFakeTimers();
    const schedule = cron("* * * * * *", { timezone: "Europe/Berlin" });
    schedule.next(at("2026-01-01T00:00:00Z"), context());
    cron("30 2 * * *").next(at("2026-03-08T00:00:00Z"), context({ timezone: "America/New_York" }));
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects a malformed expression with INVALID_CRON, keeping croner's message as cause", () => {
    const error = expectError(() => cron("61 * * * *"), "INVALID_CRON", 'cron("61 * * * *")', "61");
    expect(error.cause).toBeInstanceOf(Error);
    expectError(() => cron("* * * *"), "INVALID_CRON", "expected 5 fields", "got 4");
    expectError(() => cron("0 0 0 * * * 2026"), "INVALID_CRON", "got 7");
    expectError(() => cron("0 25 * * *"), "INVALID_CRON", "25");
    expectError(() => cron("@reboot"), "INVALID_CRON", '"@reboot"');
    expectError(() => cron("@every 5m"), "INVALID_CRON", "expected 5 fields");
    expectError(() => cron(""), "INVALID_CRON", "got 0");
  });

  it("rejects an unknown time zone with INVALID_TIMEZONE naming it", () => {
    expectError(
      () => cron("0 9 * * *", { timezone: "Mars/Olympus" }),
      "INVALID_TIMEZONE",
      '"Mars/Olympus"',
    );
    expectError(() => cron("CRON_TZ=Mars/Olympus 0 9 * * *"), "INVALID_TIMEZONE", '"Mars/Olympus"');
    expectError(
      () => cron("0 9 * * *").next(0, context({ timezone: "Nowhere/Land" })),
      "INVALID_TIMEZONE",
      "Nowhere",
    );
  });

  it("rejects a prefix and an option naming different zones with INVALID_OPTION", () => {
    expectError(
      () => cron("CRON_TZ=Europe/Berlin 0 9 * * *", { timezone: "UTC" }),
      "INVALID_OPTION",
      '"Europe/Berlin"',
      '"UTC"',
    );
  });
});
