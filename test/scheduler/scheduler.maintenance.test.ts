import { describe, expect, it } from "vitest";
import { every, MemoryStore, OffsetClock, Scheduler, type Store } from "../../src/index.js";
import { cluster, deferred, recordEvents, T0 } from "./harness.js";

/** The memory store with `recoverExpired` held open until `release()`. */
function hangingRecovery(store: MemoryStore) {
  const held = deferred();
  let calls = 0;
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      if (property === "recoverExpired") {
        return async (...args: Parameters<Store["recoverExpired"]>) => {
          calls += 1;
          await held.promise;
          return target.recoverExpired(...args);
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store: proxy as Store, release: held.resolve, calls: () => calls };
}

const OPTIONAL = new Set([
  "getJob",
  "prune",
  "touchReplica",
  "listReplicas",
  "addWarning",
  "listWarnings",
]);

/** The memory store seen through the required `Store` core only: no optional capability. */
function coreOnly(store: MemoryStore): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (typeof property === "string" && OPTIONAL.has(property)) return undefined;
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("Scheduler maintenance on its own timers", () => {
  it("claims due jobs while recoverExpired hangs, and recovers again once it returns", async () => {
    const c = cluster();
    const slow = hangingRecovery(c.store);
    const scheduler = new Scheduler({ store: slow.store, clock: c.clock, replicaId: "a" });
    c.track(scheduler);
    const ran: number[] = [];
    scheduler.job("tick", every("1s"), (run) => void ran.push(run.scheduledAt.getTime()));
    await scheduler.start();
    await c.clock.advance(5_000);
    expect(slow.calls()).toBe(1);
    expect(ran).toEqual([1, 2, 3, 4, 5].map((s) => T0 + s * 1_000));
    slow.release();
    // The next recovery comes one interval (half the 30 s lease) after the slow one returned.
    await c.clock.advance(15_000);
    expect(slow.calls()).toBe(2);
    expect(ran).toHaveLength(20);
    expect(await c.stopAll()).toBe(0);
  });

  it("a step of the local wall clock re-measures the store offset at once: runs go on on time", async () => {
    const c = cluster();
    const local = new OffsetClock(c.clock);
    const scheduler = new Scheduler({ store: c.store, clock: local, replicaId: "stepped" });
    c.track(scheduler);
    const skew = recordEvents(scheduler, "clock:skew");
    const ran: number[] = [];
    scheduler.job("tick", every("1s"), (run) => void ran.push(run.scheduledAt.getTime()));
    await scheduler.start();
    await c.clock.advance(2_000);
    // The host's wall clock jumps 30 s back; its monotonic clock does not (as after an NTP step).
    local.offset = -30_000;
    await c.clock.advance(4_000);
    expect(ran).toEqual([1, 2, 3, 4, 5, 6].map((s) => T0 + s * 1_000));
    expect(skew.map((event) => event.offsetMs)).toEqual([30_000]);
    expect(await c.stopAll()).toBe(0);
  });

  it("a wall clock stepped ahead and back: no early run, and runs resume within a second or two", async () => {
    const c = cluster();
    const local = new OffsetClock(c.clock);
    const scheduler = new Scheduler({ store: c.store, clock: local, replicaId: "stepped" });
    c.track(scheduler);
    const ran: number[] = [];
    scheduler.job("tick", every("1s"), (run) => {
      expect(c.clock.now()).toBeGreaterThanOrEqual(run.scheduledAt.getTime());
      ran.push(run.scheduledAt.getTime());
    });
    await scheduler.start();
    await c.clock.advance(2_200);
    local.offset = 30_000;
    await c.clock.advance(3_000);
    local.offset = 0;
    await c.clock.advance(4_800);
    // The claim step refuses what is early by store time; once the clock is back, runs go on.
    expect(ran.filter((at) => at > T0 + 7_000)).toEqual([8, 9, 10].map((s) => T0 + s * 1_000));
    expect(await c.stopAll()).toBe(0);
  });

  it("audit() lists the jobs, this replica's row and the persisted skew warning", async () => {
    const c = cluster();
    const fast = new OffsetClock(c.clock);
    fast.offset = 10_000;
    const scheduler = new Scheduler({ store: c.store, clock: fast, replicaId: "fast" });
    c.track(scheduler);
    scheduler.job("tick", every("1s"), () => {});
    await scheduler.start();
    await c.clock.advance(1_000);
    const report = await scheduler.audit();
    expect(report.jobs.map((j) => j.jobId)).toEqual(["tick"]);
    expect(report.replicas.map((r) => [r.replicaId, r.clockOffsetMs])).toEqual([["fast", -10_000]]);
    expect(report.clockSkew.items.map((w) => w.kind)).toEqual(["clock-skew"]);
    expect(await c.stopAll()).toBe(0);
  });

  it("runs on a store with the required core only: no replica rows or warnings, same runs", async () => {
    const c = cluster();
    const fast = new OffsetClock(c.clock);
    fast.offset = 10_000;
    const scheduler = new Scheduler({ store: coreOnly(c.store), clock: fast, replicaId: "fast" });
    c.track(scheduler);
    const skew = recordEvents(scheduler, "clock:skew");
    const errors = recordEvents(scheduler, "store:error");
    let runs = 0;
    scheduler.job("tick", every("1s"), () => void runs++);
    await scheduler.start();
    await c.clock.advance(3_000);
    expect(runs).toBe(3);
    expect(skew).toHaveLength(1);
    expect(errors).toEqual([]);
    const report = await scheduler.audit();
    expect(report.clockSkew.count).toBe(0);
    expect(report.replicas.map((r) => [r.replicaId, r.host])).toEqual([["fast", null]]);
    expect(report.jobs.map((j) => j.jobId)).toEqual(["tick"]);
    expect((await scheduler.history({ jobId: "tick" })).map((r) => r.state)).toEqual(
      Array(3).fill("succeeded"),
    );
    expect(await c.store.listReplicas(0)).toEqual([]);
    expect(await c.store.listWarnings()).toEqual([]);
    expect(await c.stopAll()).toBe(0);
  });
});
