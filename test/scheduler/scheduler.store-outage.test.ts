import { describe, expect, it } from "vitest";
import { BelfryError, every, Scheduler } from "../../src/index.js";
import { cluster, outage, recordEvents, T0 } from "./harness.js";

describe("Scheduler when its store stops answering", () => {
  it("resumes within a second of the store coming back, however long it was gone", async () => {
    const c = cluster();
    const faulty = outage(c.store);
    const scheduler = new Scheduler({ store: faulty.store, clock: c.clock, replicaId: "a" });
    c.track(scheduler);
    const ran: number[] = [];
    scheduler.job("tick", every("1s"), (run) => void ran.push(run.scheduledAt.getTime()));
    await scheduler.start();
    await c.clock.advance(2_000);
    faulty.setDown(true);
    await c.clock.advance(180_000);
    faulty.setDown(false);
    const back = c.clock.now();
    await c.clock.advance(1_000);
    expect(ran.some((at) => at > back - 1_000)).toBe(true);
    expect(await c.stopAll()).toBe(0);
  });

  it("a blackholed store call times out (STORE_ERROR, cause TIMEOUT) and the replica carries on", async () => {
    const c = cluster();
    const faulty = outage(c.store);
    const scheduler = new Scheduler({
      store: faulty.store,
      clock: c.clock,
      replicaId: "a",
      storeTimeout: "2s",
    });
    c.track(scheduler);
    const errors = recordEvents(scheduler, "store:error");
    const ran: number[] = [];
    scheduler.job("tick", every("1s"), (run) => void ran.push(run.scheduledAt.getTime()));
    await scheduler.start();
    await c.clock.advance(2_000);
    faulty.setHung(true);
    // The pass at T0 + 3 s is the first call left hanging: it gives up 2 s later.
    await c.clock.advance(2_999);
    expect(errors).toHaveLength(0);
    await c.clock.advance(1);
    const error = errors[0]?.error as BelfryError;
    expect(error.code).toBe("STORE_ERROR");
    expect((error.cause as BelfryError).code).toBe("TIMEOUT");
    expect(error.message).toContain("timed out");
    await c.clock.advance(10_000);
    // The store answers again (the hung calls, unseen, land now): runs go on.
    faulty.setHung(false);
    const back = c.clock.now();
    await c.clock.advance(2_000);
    expect(ran.filter((at) => at > back)).not.toHaveLength(0);
    expect(await c.stopAll()).toBe(0);
  });

  it("run:missed after a partition names only occurrences the store recorded missed", async () => {
    const c = cluster();
    const a = c.replica({ replicaId: "a" });
    const faulty = outage(c.store);
    const b = new Scheduler({ store: faulty.store, clock: c.clock, replicaId: "b" });
    c.track(b);
    const ranOnA: number[] = [];
    a.job("tick", every("1s"), (run) => void ranOnA.push(run.scheduledAt.getTime()), {
      missed: "latest",
    });
    b.job("tick", every("1s"), () => {}, { missed: "latest" });
    const missed = recordEvents(b, "run:missed");
    await a.start();
    await b.start();
    await c.clock.advance(2_000);
    faulty.setDown(true); // b is cut off; a runs every occurrence meanwhile
    await c.clock.advance(19_500);
    await a.stop(); // a leaves just before T0 + 22 s: b will win that one, its missed list stale
    await c.clock.advance(1_000);
    faulty.setDown(false);
    await c.clock.advance(40_000);
    const rows = await c.store.history({ jobId: "tick", limit: 100 });
    const stateAt = new Map(rows.map((row) => [row.scheduledAt, row.state]));
    expect(ranOnA.filter((at) => at > T0 + 3_000).length).toBeGreaterThan(10);
    for (const event of missed) expect(stateAt.get(event.scheduledAt.getTime())).toBe("missed");
    const recorded = rows.filter((row) => row.state === "missed").length;
    expect(missed).toHaveLength(recorded);
    expect(await c.stopAll()).toBe(0);
  });
});
