import { describe, expect, it } from "vitest";
import { every, once, Scheduler } from "../../src/index.js";
import { cluster, heldClaims, recordEvents, T0 } from "./harness.js";

/** A claim that reaches the store after its deadline: the store's clock decides, not the plan. */
describe("Scheduler when a claim reaches the store late", () => {
  it("skip: the occurrence is recorded missed, its handler never runs, run:missed fires once", async () => {
    const c = cluster();
    const slow = heldClaims(c.store);
    const scheduler = new Scheduler({ store: slow.store, clock: c.clock, replicaId: "a" });
    c.track(scheduler);
    const ran: number[] = [];
    scheduler.job("report", once(T0 + 1_000), (run) => void ran.push(run.scheduledAt.getTime()), {
      missedAfter: "1s",
    });
    const missed = recordEvents(scheduler, "run:missed");
    const claimed = recordEvents(scheduler, "run:claimed");
    await scheduler.start();
    slow.setHold(true);
    await c.clock.advance(1_000);
    expect(slow.held()).toBe(1); // planned on time, stuck on the way
    await c.clock.advance(1_500); // store time T0 + 2.5 s: past T0 + 1 s + missedAfter
    slow.setHold(false);
    await c.clock.advance(1_000);
    expect(ran).toEqual([]);
    expect(claimed).toEqual([]);
    expect(missed.map((e) => e.scheduledAt.getTime())).toEqual([T0 + 1_000]);
    const rows = await c.store.history({ jobId: "report" });
    expect(rows).toEqual([
      expect.objectContaining({ scheduledAt: T0 + 1_000, state: "missed", token: 0 }),
    ]);
    expect(await c.stopAll()).toBe(0);
  });

  it("skip: a claim that arrives within missedAfter still runs", async () => {
    const c = cluster();
    const slow = heldClaims(c.store);
    const scheduler = new Scheduler({ store: slow.store, clock: c.clock, replicaId: "a" });
    c.track(scheduler);
    const ran: number[] = [];
    scheduler.job("report", once(T0 + 1_000), (run) => void ran.push(run.scheduledAt.getTime()), {
      missedAfter: "1s",
    });
    const missed = recordEvents(scheduler, "run:missed");
    await scheduler.start();
    slow.setHold(true);
    await c.clock.advance(1_500);
    slow.setHold(false);
    await c.clock.advance(100);
    expect(ran).toEqual([T0 + 1_000]);
    expect(missed).toEqual([]);
    expect(await c.stopAll()).toBe(0);
  });

  it("latest: an older claim of the pass is recorded missed, the newest still runs", async () => {
    const c = cluster();
    const slow = heldClaims(c.store);
    const scheduler = new Scheduler({ store: slow.store, clock: c.clock, replicaId: "a" });
    c.track(scheduler);
    const ran: number[] = [];
    scheduler.job("tick", every("500ms"), (run) => void ran.push(run.scheduledAt.getTime()), {
      missed: "latest",
      missedAfter: "2s",
    });
    const missed = recordEvents(scheduler, "run:missed");
    await scheduler.start();
    slow.setHold(true);
    // The pass at T0 + 0.5 s claims T0 + 0.5 s alone (the newest: no deadline) and is held
    // while T0 + 1 s and T0 + 1.5 s fall due.
    await c.clock.advance(1_600);
    expect(slow.held()).toBe(1);
    slow.release();
    await c.clock.advance(0);
    // The next pass claims T0 + 1 s (deadline T0 + 3 s) and T0 + 1.5 s (the newest, none), held.
    expect(slow.held()).toBe(1);
    await c.clock.advance(1_900); // store time T0 + 3.5 s
    slow.setHold(false);
    await c.clock.advance(1_000);
    expect(ran.slice(0, 2)).toEqual([T0 + 500, T0 + 1_500]);
    expect(ran).not.toContain(T0 + 1_000);
    expect(missed.map((e) => e.scheduledAt.getTime())).toEqual([T0 + 1_000]);
    const rows = await c.store.history({ jobId: "tick", states: ["missed"] });
    expect(rows.map((row) => [row.scheduledAt, row.token])).toEqual([[T0 + 1_000, 0]]);
    expect(await c.stopAll()).toBe(0);
  });
});
