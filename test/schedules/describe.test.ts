import { describe, expect, it } from "vitest";
import {
  cron,
  daily,
  every,
  everyRandom,
  monthly,
  once,
  weekly,
} from "../../src/schedules/index.js";
import { describeSchedule } from "../../src/schedules/describe.js";

describe("describeSchedule", () => {
  it.each([
    [every("5s").spec, "UTC", "every 5 s"],
    [every("1h30m").spec, "UTC", "every 1 h 30 min"],
    [every(250).spec, "UTC", "every 250 ms"],
    [everyRandom("1m", "5m").spec, "UTC", "every 1 min to 5 min (random)"],
    [
      cron("0 3 * * *", { timezone: "Europe/Berlin" }).spec,
      "UTC",
      "cron 0 3 * * * (Europe/Berlin)",
    ],
    [cron("*/15 * * * * *").spec, "UTC", "cron */15 * * * * *"],
    [cron("0 9 * * MON").spec, "America/New_York", "cron 0 9 * * MON (America/New_York)"],
    [daily(1, ["17:30", "09:00"]).spec, "UTC", "daily at 09:00, 17:30"],
    [daily(2, "09:00:30").spec, "UTC", "every 2 days at 09:00:30"],
    [weekly(2, ["friday", "monday"], "08:00").spec, "UTC", "every 2 weeks on Mon, Fri at 08:00"],
    [monthly(1, [1, -1, -2], "06:00").spec, "UTC", "monthly on day 1, 2nd last, last at 06:00"],
    [once("2026-06-01T09:00:00Z").spec, "UTC", "once at 2026-06-01 09:00:00Z"],
  ])("%j in %s → %s", (spec, zone, words) => {
    expect(describeSchedule(spec, zone)).toBe(words);
  });

  it("shows an unknown kind as its JSON", () => {
    expect(describeSchedule({ kind: "lunar", phase: "full" })).toBe(
      '{"kind":"lunar","phase":"full"}',
    );
  });
});
