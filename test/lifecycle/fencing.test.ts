import { describe, expect, it } from "vitest";
import {
  BelfryError,
  FakeClock,
  once,
  Scheduler,
  type RunContext,
  type Store,
} from "../../src/index.js";
import { Lease, unrecordedLedger } from "../../src/coordination/lease.js";
import { cluster, deferred, recordEvents, replicaDiesMidRun, T0 } from "../scheduler/harness.js";

/** The store with heartbeats that never answer (a hung connection, a paused store). */
function hungHeartbeats(store: Store): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === "heartbeat") return () => new Promise(() => {});
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function leaseLostCode(run: RunContext | undefined): string | undefined {
  try {
    run?.assertLease();
    return undefined;
  } catch (error) {
    return (error as BelfryError).code;
  }
}

describe("Runner fencing: the lease deadline on the local monotonic clock", () => {
  it("aborts the signal and fails assertLease at the deadline when no heartbeat answers", async () => {
    const c = cluster();
    const scheduler = new Scheduler({
      store: hungHeartbeats(c.store),
      clock: c.clock,
      leaseDuration: "30s",
      replicaId: "a",
    });
    c.track(scheduler);
    const lost = recordEvents(scheduler, "run:leaseLost");
    let run: RunContext | undefined;
    scheduler.job("long", once(T0 + 1_000), (context) => {
      run = context;
      return new Promise(() => {});
    });
    await scheduler.start();
    await c.clock.advance(1_000);
    // The store's lease ends at T0 + 31 s; the local fence one margin (1 s) earlier.
    expect(run?.leaseExpiresAt.getTime()).toBe(T0 + 30_000);
    expect(run?.fencingToken).toBe(1);
    expect(leaseLostCode(run)).toBeUndefined();
    await c.clock.advance(28_999);
    expect(run?.signal.aborted).toBe(false);
    await c.clock.advance(1);
    expect(run?.signal.aborted).toBe(true);
    expect((run?.signal.reason as BelfryError).code).toBe("LEASE_LOST");
    expect(leaseLostCode(run)).toBe("LEASE_LOST");
    expect(lost).toHaveLength(1);
    expect(await c.stopAll()).toBe(0);
  });

  describe("a process paused past its lease", () => {
    /**
     * The handler waits 5 s on its own timer, then does its side effect (`check`: after
     * `assertLease`). The process is paused 3 s into the run for 40 s: on resume the handler's
     * overdue timer fires before any of the lease's. Recovery then retries the occurrence
     * (attempt 2), here on the same replica.
     */
    async function pausedRun(check: boolean) {
      const c = cluster();
      const scheduler = c.replica({ replicaId: "a", leaseDuration: "30s" });
      const succeeded = recordEvents(scheduler, "run:succeeded");
      const lost = recordEvents(scheduler, "run:leaseLost");
      const effects: number[] = [];
      const refused: unknown[] = [];
      scheduler.job("effect", once(T0 + 1_000), async (run) => {
        await new Promise<void>((resolve) => c.clock.setTimer(5_000, resolve));
        try {
          if (check) run.assertLease();
          effects.push(run.attempt);
        } catch (error) {
          refused.push(error);
        }
      });
      await scheduler.start();
      await c.clock.advance(3_000);
      c.clock.stall(40_000);
      await c.clock.advance(0);
      // Attempt 1's late outcome was dropped: nothing written, no run:succeeded.
      expect(succeeded).toHaveLength(0);
      expect(lost).toHaveLength(1);
      const [late] = await c.store.history({ jobId: "effect" });
      expect(late?.finishedAt).toBeNull();
      await c.clock.advance(10_000);
      const [row] = await c.store.history({ jobId: "effect" });
      expect(row).toMatchObject({ state: "succeeded", attempt: 2, token: 2 });
      expect(succeeded).toHaveLength(1);
      expect(await c.stopAll()).toBe(0);
      return { effects, refused };
    }

    it("assertLease throws LEASE_LOST right before the side effect: the effect happens once", async () => {
      const { effects, refused } = await pausedRun(true);
      expect(effects).toEqual([2]);
      expect(refused.map((error) => (error as BelfryError).code)).toEqual(["LEASE_LOST"]);
    });

    it("a handler that finishes late has its outcome dropped, not written", async () => {
      const { effects } = await pausedRun(false);
      // Without assertLease the effect happened beside its retry: why the handler must check.
      expect(effects).toEqual([1, 2]);
    });
  });

  it("heartbeats move leaseExpiresAt on", async () => {
    const c = cluster();
    const scheduler = c.replica({ replicaId: "a", leaseDuration: "30s" });
    const hold = deferred();
    let run: RunContext | undefined;
    scheduler.job("long", once(T0 + 1_000), (context) => {
      run = context;
      return hold.promise;
    });
    await scheduler.start();
    await c.clock.advance(1_000);
    expect(run?.leaseExpiresAt.getTime()).toBe(T0 + 30_000);
    await c.clock.advance(10_000);
    // Renewed at T0 + 11 s: a full lease from when the heartbeat was sent, less the margin.
    expect(run?.leaseExpiresAt.getTime()).toBe(T0 + 40_000);
    await c.clock.advance(60_000);
    expect(run?.signal.aborted).toBe(false);
    expect(leaseLostCode(run)).toBeUndefined();
    hold.resolve();
    await c.clock.advance(0);
    const [row] = await c.store.history({ jobId: "long" });
    expect(row?.state).toBe("succeeded");
    expect(await c.stopAll()).toBe(0);
  });

  it("a retry after an expired lease gets a higher fencing token", async () => {
    const c = cluster();
    await replicaDiesMidRun(c, "work");
    const tokens: number[] = [];
    const b = c.replica({ replicaId: "b", leaseDuration: "6s" });
    b.job("work", once(T0 + 1_000), (run) => void tokens.push(run.fencingToken), {
      onAbandoned: "retry",
    });
    await b.start();
    await c.clock.advance(10_000);
    expect(tokens).toEqual([2]);
    expect(await c.stopAll()).toBe(0);
  });

  it("a wall-clock jump neither trips nor stretches the local deadline", () => {
    const clock = new FakeClock(T0);
    const run = {
      runId: "r",
      jobId: "j",
      scheduledAt: T0,
      trigger: "schedule" as const,
      attempt: 1,
      token: 1,
      leaseExpiresAt: T0 + 30_000,
    };
    const lease = new Lease(unrecordedLedger, clock, run, 30_000, {
      onLost: () => {},
      onStoreError: () => {},
    });
    clock.set(T0 + 3_600_000);
    expect(lease.held()).toBe(true);
    clock.stall(28_999);
    expect(lease.held()).toBe(true);
    clock.stall(1);
    expect(lease.held()).toBe(false);
    expect(() => lease.assertHeld()).toThrow(/lease lost/);
    expect(lease.signal.aborted).toBe(true);
    lease.stop();
    expect(clock.pendingTimers()).toBe(0);
  });
});
