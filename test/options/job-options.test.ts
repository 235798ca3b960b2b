import { describe, expect, it } from "vitest";
import { JobSeries } from "../../src/coordination/series.js";
import { toJobConfig, type JobOptions } from "../../src/options.js";
import { cron, every, monthly, once } from "../../src/schedules/index.js";
import { expectError } from "../schedules/helpers.js";

const handler = () => {};
const job = (options: Record<string, unknown>, schedule = every("1m"), timezone?: string) =>
  toJobConfig("job", schedule, handler, options as JobOptions, timezone);

describe("job options", () => {
  it("refuses unknown keys, naming the nearest valid one", () => {
    const error = expectError(
      () => job({ overlapp: "skip", retry: 3 }),
      "UNKNOWN_OPTION",
      'unknown option "overlapp"; did you mean "overlap"?',
      'unknown option "retry"; did you mean "retries"?',
    );
    expect(error.message).toMatch(/^job\("job"\): /);
    expectError(() => job({ retries: { max: 1, dealy: "1s" } }), "UNKNOWN_OPTION", '"delay"');
  });

  it("refuses negative, NaN and absurd values", () => {
    expectError(() => job({ retries: { max: 1, delay: -5 } }), "INVALID_INTERVAL", "retries.delay");
    expectError(() => job({ retries: 1e9 }), "INVALID_OPTION", "retries.max", "1000000000");
    expectError(() => job({ retries: -1 }), "INVALID_OPTION", "retries");
    expectError(() => job({ retries: { max: 2, delay: "1m", maxDelay: "1s" } }), "INVALID_OPTION");
    expectError(() => job({ catchUpWindow: -1 }), "INVALID_INTERVAL", "catchUpWindow", "-1");
    expectError(() => job({ timeout: 0 }), "INVALID_INTERVAL", "timeout");
    expectError(() => job({ missedAfter: NaN }), "INVALID_INTERVAL", "missedAfter", "NaN");
    expectError(() => job({ maxRuns: 0 }), "INVALID_OPTION", "maxRuns");
    expectError(() => job({ maxRuns: NaN }), "INVALID_OPTION", "maxRuns", "NaN");
    expectError(() => job({ startAt: 1e20 }), "INVALID_DATE", "startAt");
    expectError(() => job({ startAt: "2026-01-01T00:00:00" }), "INVALID_DATE", "offset");
    expectError(() => job({ startImmediately: "yes" }), "INVALID_OPTION", "startImmediately");
    expectError(() => job({ tags: ["a", ""] }), "INVALID_OPTION", "tags");
    expectError(() => job({ overlap: "never" }), "INVALID_OPTION", '"allow", "skip", "queueOne"');
    expectError(() => job({ beforeRun: "x" }), "INVALID_HANDLER", "beforeRun");
  });

  it("applies the defaults", () => {
    expect(job({})).toMatchObject({
      tags: [],
      overlap: "allow",
      maxRuns: null,
      startAt: null,
      stopAt: null,
      timeoutMs: null,
      retry: { max: 0, exponential: true, delayMs: 1000, maxDelayMs: 300_000 },
      missed: "skip",
      missedAfterMs: null,
      catchUpWindowMs: 3_600_000,
      onAbandoned: "retry",
    });
    expect(job({ retries: 2 }).retry).toEqual({
      max: 2,
      exponential: true,
      delayMs: 1000,
      maxDelayMs: 300_000,
    });
  });

  it("refuses a job that can never run", () => {
    expectError(
      () => job({ startAt: "2026-02-01T00:00:00Z", stopAt: "2026-01-01T00:00:00Z" }),
      "NEVER_FIRES",
      "startAt (2026-02-01T00:00:00.000Z) is after stopAt",
    );
    const feb = { startAt: "2026-02-10T00:00:00Z" };
    expectError(() => job(feb, monthly(12, [30], "09:00"), "UTC"), "NEVER_FIRES", "no occurrence");
    expectError(() => job(feb, monthly(12, [30], "09:00")), "NEVER_FIRES");
    expectError(
      () => job(feb, monthly(12, [30], "09:00", { timezone: "Asia/Tokyo" })),
      "NEVER_FIRES",
    );
    expectError(
      () => job({ stopAt: "2026-01-01T00:00:00Z" }, once("2026-06-01T00:00:00Z")),
      "NEVER_FIRES",
      "after stopAt",
    );
    // Anchored on 28 February UTC, which is already March in Tokyo: fires there.
    const edge = { startAt: "2026-02-28T23:30:00Z" };
    expect(job(edge, monthly(12, [30], "09:00"), "Asia/Tokyo").startAt).toBe(
      Date.parse(edge.startAt),
    );
    expectError(() => job(edge, monthly(12, [30], "09:00"), "UTC"), "NEVER_FIRES");
    expect(job(edge, monthly(12, [30], "09:00")).id).toBe("job"); // zone unknown: may fire
    expect(job({ ...feb, startImmediately: true }, monthly(12, [30], "09:00"), "UTC").id).toBe(
      "job",
    );
  });

  it("accepts Unicode job ids and reserves the belfry: prefix", () => {
    expect(toJobConfig("rapport-täglich", every("1m"), handler).id).toBe("rapport-täglich");
    expect(toJobConfig("日次レポート", every("1m"), handler).id).toBe("日次レポート");
    expectError(() => toJobConfig("belfry:leader", every("1m"), handler), "RESERVED_ID", "belfry:");
    expectError(() => toJobConfig("Belfry:mine", every("1m"), handler), "RESERVED_ID");
    expectError(() => toJobConfig("a b", every("1m"), handler), "INVALID_OPTION", "job id");
    expectError(() => toJobConfig("", every("1m"), handler), "INVALID_OPTION");
  });

  it("quotes at most about 80 characters of an offending value", () => {
    const long = "x".repeat(500);
    const error = expectError(() => toJobConfig(long, every("1m"), handler), "INVALID_OPTION");
    expect(error.message.length).toBeLessThan(200);
    const overlap = expectError(() => job({ overlap: long }), "INVALID_OPTION");
    expect(overlap.message).not.toContain("x".repeat(81));
    expect(overlap.message).toContain("…");
  });

  it("hashes two spellings of a time zone as one definition", () => {
    const hash = (zone: string) =>
      new JobSeries(
        toJobConfig("j", cron("0 3 * * *", { timezone: zone }), handler),
        "UTC",
      ).registration().hash;
    expect(hash("europe/berlin")).toBe(hash("Europe/Berlin"));
    expect(cron("CRON_TZ=europe/berlin 0 3 * * *").spec).toEqual(
      cron("0 3 * * *", { timezone: "Europe/Berlin" }).spec,
    );
    expect(monthly(1, 1, "09:00", { timezone: "utc" }).spec.timezone).toBe("UTC");
  });
});
