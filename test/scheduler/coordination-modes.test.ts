import { describe, expect, it } from "vitest";
import { sleep } from "../../src/clock.js";
import { every, MemoryLocker, OffsetClock, Scheduler, type Coordination } from "../../src/index.js";
import { cluster } from "./harness.js";

/**
 * gocron#841 in miniature: two replicas, one whose clock lags 500 ms, a 1-second job whose
 * handler takes 100 ms. Returns how many times each occurrence ran.
 */
async function laggingPair(coordination: Coordination): Promise<number[]> {
  const c = cluster();
  const lagging = new OffsetClock(c.clock);
  lagging.offset = -500;
  const runs = new Map<number, number>();
  for (const [replicaId, clock] of [
    ["on-time", c.clock],
    ["lagging", lagging],
  ] as const) {
    const scheduler = new Scheduler({ store: c.store, clock, replicaId, coordination });
    scheduler.job("report", every("1s"), async (run) => {
      const at = run.scheduledAt.getTime();
      runs.set(at, (runs.get(at) ?? 0) + 1);
      await sleep(c.clock, 100);
    });
    await scheduler.start();
    c.track(scheduler);
  }
  // Past the lagging replica's last run (10.5 s), before the next occurrence (11 s).
  await c.clock.advance(10_700);
  expect(await c.stopAll()).toBe(0);
  return [...runs.values()];
}

describe("coordination modes", () => {
  it("a per-job lock (gocron Locker) lets a lagging replica run an occurrence again", async () => {
    const counts = await laggingPair({ locker: new MemoryLocker() });
    expect(counts.length).toBeGreaterThan(8);
    expect(counts.filter((n) => n > 1).length).toBeGreaterThan(5);
  });

  it("the default occurrence claim runs each occurrence once with the same lagging replica", async () => {
    const counts = await laggingPair("occurrence");
    expect(counts).toHaveLength(10);
    expect(counts.every((n) => n === 1)).toBe(true);
  });

  it("leader mode: one replica, elected per term through the store, runs everything", async () => {
    const c = cluster();
    const ran: string[] = [];
    const schedulers = ["a", "b"].map((replicaId) => {
      const scheduler = c.replica({ replicaId, coordination: "leader", leaderTerm: "10s" });
      scheduler.job("tick", every("1s"), (run) => void ran.push(run.replicaId));
      return scheduler;
    });
    for (const scheduler of schedulers) await scheduler.start();
    await c.clock.advance(9_000);
    expect(ran).toHaveLength(9);
    expect(new Set(ran).size).toBe(1);
    const leader = ran[0] === "a" ? schedulers[0]! : schedulers[1]!;
    await leader.stop();
    ran.length = 0;
    await c.clock.advance(11_000);
    expect(ran.length).toBeGreaterThanOrEqual(10);
    expect(new Set(ran)).toEqual(new Set([leader === schedulers[0] ? "b" : "a"]));
    const terms = await c.store.history({ jobId: "belfry:leader" });
    expect(terms.length).toBeGreaterThanOrEqual(2);
    expect(await c.stopAll()).toBe(0);
  });
});
