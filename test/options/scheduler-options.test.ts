import { describe, expect, it } from "vitest";
import { MemoryStore, Scheduler } from "../../src/index.js";
import { toSchedulerConfig, type SchedulerOptions } from "../../src/scheduler-options.js";
import { expectError } from "../schedules/helpers.js";

const config = (options: Record<string, unknown>) => toSchedulerConfig(options as SchedulerOptions);

describe("Scheduler options", () => {
  it("refuses an unknown key, naming the nearest one, instead of falling back to a MemoryStore", () => {
    expectError(
      () => new Scheduler({ stor: new MemoryStore() } as SchedulerOptions),
      "UNKNOWN_OPTION",
      'unknown option "stor"; did you mean "store"?',
    );
    expectError(() => config({ leaseDurationMs: 5000 }), "UNKNOWN_OPTION", '"leaseDuration"');
    expectError(() => config({ zzz: 1 }), "UNKNOWN_OPTION", "valid options: store, clock");
  });

  it("refuses durations that are negative, too short or absurd", () => {
    expectError(
      () => config({ leaseDuration: "1ms" }),
      "INVALID_INTERVAL",
      "leaseDuration",
      "1000 ms",
    );
    expectError(() => config({ stopTimeout: -1 }), "INVALID_INTERVAL", "stopTimeout", "-1");
    expectError(() => config({ leaderTerm: "10ms" }), "INVALID_INTERVAL", "leaderTerm");
    expectError(() => config({ skewThreshold: 0 }), "INVALID_INTERVAL", "skewThreshold");
    expectError(() => config({ clockSyncInterval: NaN }), "INVALID_INTERVAL", "NaN");
    expectError(() => config({ recoveryInterval: "200y" }), "INVALID_INTERVAL", "200y");
    expect(config({ stopTimeout: 0, leaseDuration: "1s" })).toMatchObject({
      stopTimeoutMs: 0,
      leaseMs: 1000,
      recoveryMs: 500,
    });
  });

  it("refuses an empty replica id, a bad concurrency, store, clock, logger or coordination", () => {
    expectError(() => config({ replicaId: "" }), "INVALID_OPTION", "replicaId", "empty");
    expectError(() => config({ replicaId: "  " }), "INVALID_OPTION", "replicaId");
    expectError(() => config({ concurrency: NaN }), "INVALID_OPTION", "concurrency", "NaN");
    expectError(() => config({ concurrency: 0 }), "INVALID_OPTION", "concurrency");
    expectError(() => config({ concurrency: 1.5 }), "INVALID_OPTION", "concurrency");
    expectError(() => config({ store: "postgres://x" }), "INVALID_OPTION", "store");
    expectError(() => config({ clock: {} }), "INVALID_OPTION", "clock");
    expectError(() => config({ logger: console.log }), "INVALID_OPTION", "logger");
    expectError(() => config({ coordination: "leaders" }), "INVALID_OPTION", "coordination");
    expect(config({ concurrency: Number.POSITIVE_INFINITY }).concurrency).toBe(Infinity);
    expect(config({ coordination: { locker: { lock: async () => null } } })).toBeTruthy();
  });

  it("canonicalises the time zone and refuses an unknown one", () => {
    expect(config({ timezone: "europe/berlin" }).timezone).toBe("Europe/Berlin");
    expect(config({ timezone: "utc" }).timezone).toBe("UTC");
    expectError(() => config({ timezone: "Mars/Olympus" }), "INVALID_TIMEZONE", "Mars/Olympus");
    expectError(() => config({ timezone: 1 }), "INVALID_TIMEZONE");
  });

  it("refuses options that are not an object", () => {
    expectError(() => config(5 as never), "INVALID_OPTION", "must be an object");
  });
});
