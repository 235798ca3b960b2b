import { describe, expect, it } from "vitest";
import { MAX_DURATION_MS, toMs, type Duration } from "../../src/duration.js";
import { cron, daily, every, everyRandom } from "../../src/schedules/index.js";
import { expectError } from "../schedules/helpers.js";

const ms = (value: Duration) => toMs(value, "test");
const bad = (value: unknown) => value as Duration;

describe("Duration", () => {
  it("reads the forms users expect: short and long units, several parts, ISO 8601", () => {
    expect(ms("250ms")).toBe(250);
    expect(ms("1h30m")).toBe(5_400_000);
    expect(ms("1h30m15s")).toBe(5_415_000);
    expect(ms("1.5h")).toBe(5_400_000);
    expect(ms("1w")).toBe(604_800_000);
    expect(ms("5 minutes")).toBe(300_000);
    expect(ms("2days")).toBe(172_800_000);
    expect(ms("PT5M")).toBe(300_000);
    expect(ms(bad("pt1h30m"))).toBe(5_400_000);
    expect(ms("P1W")).toBe(604_800_000);
    expect(ms("P1DT2H")).toBe(93_600_000);
    expect(ms(1500.4)).toBe(1500);
  });

  it("refuses null, undefined and NaN with their own names (not a TypeError, not null)", () => {
    expectError(() => every(bad(null)), "INVALID_INTERVAL", "every(null): null is not a duration");
    expectError(() => every(bad(undefined)), "INVALID_INTERVAL", "every(undefined)");
    expectError(() => every(NaN), "INVALID_INTERVAL", "every(NaN): NaN is not a duration");
    expectError(() => every(Infinity), "INVALID_INTERVAL", "Infinity");
  });

  it("refuses absurd lengths, calendar units and trailing garbage", () => {
    expectError(() => every("999999999d"), "INVALID_INTERVAL", "longer than 100 years");
    expect(ms(MAX_DURATION_MS)).toBe(MAX_DURATION_MS);
    expectError(() => ms(MAX_DURATION_MS + 1), "INVALID_INTERVAL", "100 years");
    expectError(() => ms(bad("1mo")), "INVALID_INTERVAL", "monthly() or cron()");
    expectError(() => ms("P1M"), "INVALID_INTERVAL", "monthly() or cron()");
    expectError(() => ms("P1Y"), "INVALID_INTERVAL", "vary in length");
    expectError(() => ms(bad("5m x")), "INVALID_INTERVAL", '"5m x"');
    expectError(() => ms(bad("1h30")), "INVALID_INTERVAL", '"1h30"');
    expectError(() => ms(bad("5 parsecs")), "INVALID_INTERVAL", "parsecs");
    expectError(() => ms(bad("-5m")), "INVALID_INTERVAL");
    expectError(() => ms("-PT5M" as Duration), "INVALID_INTERVAL", "0 or more");
    expectError(() => ms(bad("")), "INVALID_INTERVAL");
    expectError(() => everyRandom("1m", bad({})), "INVALID_INTERVAL", "{}");
  });

  it("has a type that accepts only duration-shaped strings", () => {
    const ok: Duration[] = ["5m", "1h30m", "1.5h", "5 minutes", "PT5M", 250];
    expect(ok).toHaveLength(6);
    // @ts-expect-error: not a duration
    const soon: Duration = "soon";
    // @ts-expect-error: any string is no longer a Duration
    const text: Duration = String("5m");
    expect([soon, text]).toHaveLength(2);
  });
});

describe("schedule options", () => {
  it("refuse unknown keys and canonicalise zones", () => {
    expectError(
      () => cron("0 3 * * *", bad({ timezon: "UTC" }) as never),
      "UNKNOWN_OPTION",
      '"timezone"',
    );
    expectError(
      () => daily(1, "09:00", { tz: "UTC" } as never),
      "UNKNOWN_OPTION",
      "valid options: timezone",
    );
    expect(daily(1, "09:00", { timezone: "europe/berlin" }).spec.timezone).toBe("Europe/Berlin");
    expectError(() => daily(1, "09:00", { timezone: "Mars/Olympus" }), "INVALID_TIMEZONE", "Mars");
  });
});
