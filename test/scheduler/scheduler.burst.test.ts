import { describe, expect, it } from "vitest";
import { once, type Scheduler } from "../../src/index.js";
import { MAX_CLAIMS_PER_ROUND_TRIP } from "../../src/coordination/claimer.js";
import { BurstOrder, replicaPoints, ringRank } from "../../src/coordination/spread.js";
import { cluster, deferred, recordEvents, T0 } from "./harness.js";

/** Defines `count` jobs `burst-0000`… all due once at T0 + 1 s. */
function burst(scheduler: Scheduler, count: number, handler: (jobId: string) => unknown): void {
  for (let i = 0; i < count; i++) {
    const id = `burst-${String(i).padStart(4, "0")}`;
    scheduler.job(id, once(T0 + 1_000), () => handler(id));
  }
}

describe("Scheduler bursts: many jobs due at one instant", () => {
  it("claims in bounded chunks and starts each chunk's runs before the next chunk is claimed", async () => {
    const c = cluster();
    const chunks: { size: number; startedBefore: number }[] = [];
    const started: string[] = [];
    const scheduler = c.replica({ replicaId: "a", concurrency: Infinity });
    const executing = recordEvents(scheduler, "run:claimed");
    const claim = c.store.claim.bind(c.store);
    c.store.claim = (requests) => {
      chunks.push({ size: requests.length, startedBefore: executing.length });
      return claim(requests);
    };
    burst(scheduler, 450, (id) => void started.push(id));
    await scheduler.start();
    await c.clock.advance(1_000);
    expect(MAX_CLAIMS_PER_ROUND_TRIP).toBe(200);
    expect(chunks.map((chunk) => chunk.size)).toEqual([200, 200, 50]);
    // The first chunk's 200 runs were handed to the runner before the second chunk was claimed.
    expect(chunks.map((chunk) => chunk.startedBefore)).toEqual([0, 200, 400]);
    expect(new Set(started).size).toBe(450);
    expect(await c.stopAll()).toBe(0);
  });

  it("claims only what it can start: a replica at its limit waits for a slot, no lease runs down", async () => {
    const c = cluster();
    const sizes: number[] = [];
    const claim = c.store.claim.bind(c.store);
    c.store.claim = (requests) => {
      sizes.push(requests.length);
      return claim(requests);
    };
    const scheduler = c.replica({ replicaId: "a", concurrency: 10 });
    const lost = recordEvents(scheduler, "run:leaseLost");
    const hold = deferred();
    let running = 0;
    let most = 0;
    const ran = new Set<string>();
    burst(scheduler, 25, async (id) => {
      ran.add(id);
      most = Math.max(most, ++running);
      await hold.promise;
      running--;
    });
    await scheduler.start();
    await c.clock.advance(1_000);
    expect(ran.size).toBe(10);
    // Held past a lease (30 s): nothing it claimed waits unstarted, so no lease is lost; the
    // 15 jobs left wait in the store (still within `once`'s 60 s before counting as missed).
    await c.clock.advance(40_000);
    expect(ran.size).toBe(10);
    hold.resolve();
    await c.clock.advance(1_000);
    expect(ran.size).toBe(25);
    expect(most).toBeLessThanOrEqual(10);
    expect(sizes.every((size) => size <= 10)).toBe(true);
    expect(lost).toHaveLength(0);
    expect(await c.stopAll()).toBe(0);
  });

  it("spreads a burst over replicas at their limit: each runs a share, every job once", async () => {
    const c = cluster();
    const ranBy = new Map<string, string[]>();
    const hold = deferred();
    for (const replicaId of ["a", "b", "c"]) {
      const scheduler = c.replica({ replicaId, concurrency: 50 });
      burst(scheduler, 600, async (id) => {
        ranBy.set(id, [...(ranBy.get(id) ?? []), replicaId]);
        await hold.promise;
      });
      await scheduler.start();
    }
    await c.clock.advance(1_000);
    // All three at their limit: 50 each, the rest left in the store.
    expect(ranBy.size).toBe(150);
    hold.resolve();
    await c.clock.advance(5_000);
    expect(ranBy.size).toBe(600);
    expect([...ranBy.values()].every((replicas) => replicas.length === 1)).toBe(true);
    const shares = ["a", "b", "c"].map(
      (r) => [...ranBy.values()].filter(([by]) => by === r).length / 600,
    );
    for (const share of shares) expect(share).toBeGreaterThanOrEqual(0.05);
    expect(await c.stopAll()).toBe(0);
  });

  /**
   * Three replicas racing at equal speed through their own orders of 10,000 jobs: in turn each
   * claims up to 100 jobs (its free slots) with at most 200 requests (a chunk), a job another
   * replica already took being a lost request. Returns each replica's share and the rounds.
   */
  function race(known: readonly string[]): { shares: number[]; rounds: number } {
    const ids = Array.from({ length: 10_000 }, (_, i) => `job-${i}`);
    const replicas = ["replica-1", "replica-2", "replica-3"].map((replicaId) => {
      const order = new BurstOrder(replicaId);
      order.setReplicas(known);
      const ranked = ids.map((id) => ({ id, rank: order.rank(id) }));
      ranked.sort((x, y) => x.rank - y.rank);
      return { order: ranked.map((r) => r.id), next: 0, won: 0 };
    });
    const taken = new Set<string>();
    let rounds = 0;
    while (taken.size < ids.length) {
      rounds++;
      for (const replica of replicas) {
        let won = 0;
        for (let asked = 0; asked < 200 && won < 100 && replica.next < ids.length; asked++) {
          const id = replica.order[replica.next++] as string;
          if (!taken.has(id)) {
            taken.add(id);
            won++;
          }
        }
        replica.won += won;
      }
    }
    return { shares: replicas.map((r) => r.won / ids.length), rounds };
  }

  it("spreads a burst on the hash ring while a replica knows no peer: 20–50 % each", () => {
    const { shares, rounds } = race([]);
    for (const share of shares) expect(share).toBeGreaterThanOrEqual(0.2);
    for (const share of shares) expect(share).toBeLessThanOrEqual(0.5);
    // Collisions cost rounds only where windows meet: well under twice the ideal 34 rounds.
    expect(rounds).toBeLessThan(60);
  });

  it("splits a burst by owner once the replicas know each other: even shares, almost no lost round", () => {
    const { shares, rounds } = race(["replica-1", "replica-2", "replica-3"]);
    for (const share of shares) expect(share).toBeGreaterThanOrEqual(0.3);
    for (const share of shares) expect(share).toBeLessThanOrEqual(0.37);
    expect(rounds).toBeLessThanOrEqual(37);
  });

  it("passes a replica at most as many due jobs as it has free slots, in ring order", async () => {
    const c = cluster();
    const passed: string[][] = [];
    const scheduler = c.replica({ replicaId: "a", concurrency: 7 });
    const claim = c.store.claim.bind(c.store);
    c.store.claim = (requests) => {
      passed.push(requests.map((request) => request.jobId));
      return claim(requests);
    };
    const hold = deferred();
    burst(scheduler, 30, () => hold.promise);
    await scheduler.start();
    await c.clock.advance(1_000);
    const points = replicaPoints("a");
    const all = Array.from({ length: 30 }, (_, i) => `burst-${String(i).padStart(4, "0")}`);
    const ring = all.sort((x, y) => ringRank(x, points) - ringRank(y, points));
    expect(passed).toEqual([ring.slice(0, 7)]);
    hold.resolve();
    await c.clock.advance(1_000);
    expect(passed.flat().sort()).toEqual([...ring].sort());
    expect(await c.stopAll()).toBe(0);
  });
});
