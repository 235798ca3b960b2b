import { describe, expect, it } from "vitest";
import { every, OffsetClock, Scheduler, type Store } from "../../src/index.js";
import { cluster, deferred, T0 } from "../scheduler/harness.js";

/** The cluster's memory store, with `now` and `claim` failing or hanging on demand. */
function controllable(store: Store) {
  const mode = { now: "ok" as "ok" | "fail" | "hang", claim: "ok" as "ok" | "fail" };
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (property === "now" && mode.now === "hang") return new Promise(() => {});
        if (
          (property === "now" && mode.now === "fail") ||
          (property === "claim" && mode.claim === "fail")
        )
          return Promise.reject(new Error("connection refused"));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Store;
  return { store: proxy, mode };
}

describe("scheduler.health()", () => {
  it("reports started, the last successful pass, running runs and jobs", async () => {
    const c = cluster();
    const scheduler = c.replica({ replicaId: "a" });
    const held = deferred();
    scheduler.job("slow", every("1m"), () => held.promise);
    scheduler.job("tick", every("1s"), () => {});
    expect(await scheduler.health()).toEqual({
      started: false,
      storeReachable: true,
      lastSuccessfulPassAt: null,
      clockOffsetMs: 0,
      running: 0,
      jobs: 2,
    });
    await scheduler.start();
    await c.clock.advance(60_000);
    expect(await scheduler.health()).toEqual({
      started: true,
      storeReachable: true,
      lastSuccessfulPassAt: new Date(T0 + 60_000),
      clockOffsetMs: 0,
      running: 1,
      jobs: 2,
    });
    held.resolve();
    await c.clock.advance(1);
    expect((await scheduler.health()).running).toBe(0);
    await scheduler.stop();
    expect((await scheduler.health()).started).toBe(false);
    expect(await c.stopAll()).toBe(0);
  });

  it("reports the measured offset to the store clock", async () => {
    const c = cluster();
    const fast = new OffsetClock(c.clock);
    fast.offset = 10_000;
    const scheduler = new Scheduler({ store: c.store, clock: fast, replicaId: "fast" });
    c.track(scheduler);
    await scheduler.start();
    expect((await scheduler.health()).clockOffsetMs).toBe(-10_000);
    expect(await c.stopAll()).toBe(0);
  });

  it("says the store is unreachable when it fails or does not answer within the timeout", async () => {
    const c = cluster();
    const { store, mode } = controllable(c.store);
    const scheduler = new Scheduler({ store, clock: c.clock, replicaId: "a" });
    c.track(scheduler);
    await scheduler.start();
    mode.now = "fail";
    expect((await scheduler.health()).storeReachable).toBe(false);
    mode.now = "hang";
    const pending = scheduler.health({ timeout: "2s" });
    await c.clock.advance(2_000);
    expect((await pending).storeReachable).toBe(false);
    expect(c.clock.pendingTimers()).toBeGreaterThan(0); // the scheduler's own timers only
    mode.now = "ok";
    expect((await scheduler.health()).storeReachable).toBe(true);
    await c.clock.advance(10_000); // the hung now() call gives up at storeTimeout (default 10 s)
    expect(await c.stopAll()).toBe(0);
  });

  it("stops moving lastSuccessfulPassAt while claims fail, and moves it again after", async () => {
    const c = cluster();
    const { store, mode } = controllable(c.store);
    const scheduler = new Scheduler({ store, clock: c.clock, replicaId: "a" });
    c.track(scheduler);
    scheduler.job("tick", every("1s"), () => {});
    await scheduler.start();
    await c.clock.advance(2_000);
    const before = (await scheduler.health()).lastSuccessfulPassAt;
    expect(before).toEqual(new Date(T0 + 2_000));
    mode.claim = "fail";
    // Lease recovery (every 15 s) still succeeds meanwhile, but claims failed since: no pass.
    await c.clock.advance(30_000);
    expect((await scheduler.health()).lastSuccessfulPassAt).toEqual(before);
    mode.claim = "ok";
    await c.clock.advance(20_000);
    const after = (await scheduler.health()).lastSuccessfulPassAt;
    expect(after?.getTime()).toBeGreaterThan(T0 + 32_000);
    expect(await c.stopAll()).toBe(0);
  });
});
