import { describe, expect, it } from "vitest";
import { cron, daily, every, everyRandom, once, preview } from "../../src/schedules/index.js";
import { at, expectError } from "./helpers.js";

const iso = (dates: Date[]) => dates.map((date) => date.toISOString());

describe("preview", () => {
  it("lists the next instants from `from` on, inclusive", () => {
    const from = at("2026-01-05T09:00:00Z");
    expect(iso(preview(cron("0 9 * * MON"), { count: 3, from }))).toEqual([
      "2026-01-05T09:00:00.000Z",
      "2026-01-12T09:00:00.000Z",
      "2026-01-19T09:00:00.000Z",
    ]);
    expect(preview(every("1h"), { from: new Date(from) })).toHaveLength(10);
  });

  it("reads times in `timezone` and counts from `anchor`", () => {
    const from = at("2026-01-01T00:00:00Z");
    expect(iso(preview(daily(1, "09:00"), { count: 1, from, timezone: "Asia/Tokyo" }))).toEqual([
      "2026-01-01T00:00:00.000Z",
    ]);
    expect(
      iso(preview(every("1h"), { count: 2, from, anchor: at("2026-01-01T00:20:00Z") })),
    ).toEqual(["2026-01-01T00:20:00.000Z", "2026-01-01T01:20:00.000Z"]);
  });

  it("matches what the job id seeds, and stops when the schedule ends", () => {
    const from = at("2026-01-01T00:00:00Z");
    const a = preview(everyRandom("1m", "2m"), { from, jobId: "a" });
    expect(iso(preview(everyRandom("1m", "2m"), { from, jobId: "a" }))).toEqual(iso(a));
    expect(iso(preview(everyRandom("1m", "2m"), { from, jobId: "b" }))).not.toEqual(iso(a));
    expect(preview(once(["2026-02-01T00:00:00Z", "2025-01-01T00:00:00Z"]), { from })).toHaveLength(
      1,
    );
  });

  it("defaults `from` to now", () => {
    const [first] = preview(every("1s"), { count: 1 });
    expect(Math.abs((first as Date).getTime() - Date.now())).toBeLessThan(60_000);
  });

  it("rejects a bad count, from or time zone", () => {
    expectError(() => preview(every("1s"), { count: -1 }), "INVALID_OPTION", "count", "-1");
    expectError(() => preview(every("1s"), { from: new Date("x") }), "INVALID_DATE", "from");
    expectError(
      () => preview(every("1s"), { timezone: "Moon/Base" }),
      "INVALID_TIMEZONE",
      '"Moon/Base"',
    );
  });
});
