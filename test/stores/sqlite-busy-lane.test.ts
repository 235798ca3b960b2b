import { describe, expect, it } from "vitest";
import { FakeClock } from "../../src/clock.js";
import { BusyLane, isBusy } from "../../src/stores/sqlite/busy.js";

const locked = () => Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });

/** A step that is busy until `free()` is called, then returns `value`, counting its attempts. */
function lockedStep<T>(value: T) {
  let isFree = false;
  const step = () => {
    step.attempts += 1;
    if (!isFree) throw locked();
    return value;
  };
  step.attempts = 0;
  return Object.assign(step, { free: () => void (isFree = true) });
}

describe("isBusy", () => {
  it("knows SQLITE_BUSY from better-sqlite3 and node:sqlite, and nothing else", () => {
    expect(isBusy(locked())).toBe(true);
    expect(isBusy(Object.assign(new Error("x"), { code: "SQLITE_BUSY_RECOVERY" }))).toBe(true);
    expect(isBusy(Object.assign(new Error("x"), { errcode: 5 | (2 << 8) }))).toBe(true);
    expect(isBusy(new Error("no such table: t"))).toBe(false);
    expect(isBusy("database is locked")).toBe(false);
  });
});

describe("BusyLane", () => {
  it("runs a free step at once, without a timer", async () => {
    const clock = new FakeClock(0);
    await expect(new BusyLane(clock, 1_000).run(() => 7)).resolves.toBe(7);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("retries a busy step with backoff until it is free; later steps queue behind it in order", async () => {
    const clock = new FakeClock(0);
    const lane = new BusyLane(clock, 10_000);
    const first = lockedStep("first");
    const order: string[] = [];
    const a = lane.run(first).then((v) => order.push(v));
    const b = lane.run(() => "second").then((v) => order.push(v));
    await clock.advance(1_000);
    expect(order).toEqual([]);
    const attempts = first.attempts;
    // Backoff is capped at 100 ms: about 1 s / 100 ms more attempts, not one per millisecond.
    expect(attempts).toBeGreaterThan(5);
    expect(attempts).toBeLessThan(40);
    first.free();
    await clock.advance(200);
    await Promise.all([a, b]);
    expect(order).toEqual(["first", "second"]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("gives up once the deadline passed, naming the wait; other errors pass through at once", async () => {
    const clock = new FakeClock(0);
    const lane = new BusyLane(clock, 500);
    const failed = lane.run(lockedStep(0)).then(
      () => new Error("resolved"),
      (error: Error) => error,
    );
    await clock.advance(1_000);
    const error = await failed;
    expect(error.message).toMatch(
      /database is locked \(still busy after \d+ ms; busyTimeoutMs 500\)/,
    );
    expect(isBusy(error.cause)).toBe(true);
    const broken = () => {
      throw new Error("no such table: t");
    };
    await expect(lane.run(broken)).rejects.toThrow("no such table");
  });
});
