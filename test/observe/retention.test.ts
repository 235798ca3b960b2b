import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  BelfryError,
  every,
  FakeClock,
  MemoryStore,
  once,
  Scheduler,
  type Clock,
  type Store,
} from "../../src/index.js";
import { SqliteStore } from "../../src/stores/sqlite/index.js";
import { deferred, T0 } from "../scheduler/harness.js";
import type { HistoryRetention } from "../../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "belfry-retention-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stores: Array<[string, (clock: Clock, name: string) => Store]> = [
  ["memory", (clock) => new MemoryStore({ clock })],
  ["sqlite", (clock, name) => new SqliteStore({ path: join(dir, `${name}.db`), clock })],
];

describe.each(stores)("history retention on the %s store", (kind, makeStore) => {
  async function setup(name: string, options: { historyRetention?: HistoryRetention } = {}) {
    const clock = new FakeClock(T0);
    const store = makeStore(clock, `${kind}-${name}`);
    const scheduler = new Scheduler({ store, clock, replicaId: "a", ...options });
    const held = deferred();
    scheduler.job("tick", every("1s"), () => {});
    // Active for the whole test: its row is older than maxAge but must never be pruned.
    scheduler.job("stuck", once(T0 + 1_000), () => held.promise);
    await scheduler.start();
    const done = async () => {
      held.resolve();
      await scheduler.stop();
      await store.close();
      expect(clock.pendingTimers()).toBe(0);
    };
    return { clock, store, scheduler, done };
  }

  it("prunes old terminal rows periodically, never active ones", async () => {
    const { clock, store, done } = await setup("periodic", {
      historyRetention: { maxAge: "10s", interval: "5s" },
    });
    await clock.advance(30_000);
    // The last prune ran at T0+30s and removed what was scheduled before T0+20s.
    const rows = await store.history({ limit: 1_000 });
    const ticks = rows.filter((r) => r.jobId === "tick").map((r) => (r.scheduledAt - T0) / 1_000);
    expect(Math.min(...ticks)).toBe(20);
    expect(ticks).toHaveLength(11);
    expect(rows.filter((r) => r.jobId === "stuck").map((r) => r.state)).toEqual(["running"]);
    await done();
  });

  it("scheduler.prune(before) deletes once and never lets an old occurrence be claimed again", async () => {
    const { clock, store, scheduler, done } = await setup("once");
    await clock.advance(10_000);
    const deleted = await scheduler.prune(new Date(T0 + 10_001));
    expect(deleted).toBe(10);
    const rows = await store.history({ limit: 1_000 });
    expect(rows.map((r) => [r.jobId, r.state])).toEqual([["stuck", "running"]]);
    // A lagging replica asks for an occurrence whose row is gone: the watermark refuses it.
    const [job] = (await store.listJobs()).jobs.filter((j) => j.jobId === "tick");
    const [result] = await store.claim([
      {
        jobId: "tick",
        scheduledAt: T0 + 5_000,
        hash: job!.hash,
        replicaId: "late",
        leaseMs: 30_000,
      },
    ]);
    expect(result?.status).toBe("stale");
    expect(await store.history({ jobId: "tick" })).toEqual([]);
    await done();
  });
});

describe("retention options", () => {
  it("rejects a historyRetention without maxAge or with unknown keys", () => {
    for (const bad of [{}, { maxAge: "1d", maxRows: 10 }, { maxAge: 0 }]) {
      expect(() => new Scheduler({ historyRetention: bad as HistoryRetention })).toThrow(
        BelfryError,
      );
    }
  });

  it("prune() throws UNSUPPORTED on a store without the prune capability", async () => {
    const clock = new FakeClock(T0);
    const memory = new MemoryStore({ clock });
    const coreOnly = new Proxy(memory, {
      get: (target, property) =>
        property === "prune" ? undefined : (Reflect.get(target, property) as unknown),
    }) as Store;
    const scheduler = new Scheduler({ store: coreOnly, clock });
    await expect(scheduler.prune(T0)).rejects.toMatchObject({ code: "UNSUPPORTED" });
  });
});
