import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BelfryError, every, FakeClock, MemoryStore, once, Scheduler } from "../../src/index.js";
import { openSqliteDriver } from "../../src/stores/sqlite/driver.js";
import { SqliteStore } from "../../src/stores/sqlite/index.js";
import { cluster, outage, recordEvents, T0 } from "./harness.js";

describe("Scheduler when the store goes away", () => {
  it("survives an outage, reports store:error, and applies the missed policy afterwards", async () => {
    const c = cluster();
    const faulty = outage(c.store);
    const scheduler = new Scheduler({ store: faulty.store, clock: c.clock, replicaId: "a" });
    const errors = recordEvents(scheduler, "store:error");
    const ran: number[] = [];
    scheduler.job("tick", every("10s"), (run) => void ran.push(run.scheduledAt.getTime()));
    await scheduler.start();
    await c.clock.advance(20_000);
    faulty.setDown(true);
    await c.clock.advance(60_000);
    faulty.setDown(false);
    await c.clock.advance(40_000);
    await scheduler.stop();
    expect(errors.length).toBeGreaterThan(0);
    expect((errors[0]?.error as BelfryError).code).toBe("STORE_ERROR");
    const states = new Map(
      (await c.store.history({ limit: 50 })).map((r) => [r.scheduledAt, r.state]),
    );
    // Every occurrence has a row: run before and after the outage, missed during it.
    for (let at = T0 + 10_000; at <= T0 + 120_000; at += 10_000) expect(states.has(at)).toBe(true);
    expect([...states.values()].filter((s) => s === "missed").length).toBeGreaterThanOrEqual(4);
    expect(ran).toContain(T0 + 10_000);
    expect(ran).toContain(T0 + 120_000);
    expect(c.clock.pendingTimers()).toBe(0);
  });

  it("aborts a running handler when heartbeats fail until its lease expires", async () => {
    const c = cluster();
    const faulty = outage(c.store);
    const scheduler = new Scheduler({
      store: faulty.store,
      clock: c.clock,
      leaseDuration: "9s",
      replicaId: "a",
    });
    const lost = recordEvents(scheduler, "run:leaseLost");
    let signal: AbortSignal | undefined;
    scheduler.job("long", once(T0 + 1_000), (run) => {
      signal = run.signal;
      return new Promise(() => {});
    });
    await scheduler.start();
    await c.clock.advance(1_000);
    faulty.setDown(true);
    await c.clock.advance(5_000);
    expect(signal?.aborted).toBe(false);
    await c.clock.advance(6_000);
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as BelfryError).code).toBe("LEASE_LOST");
    expect(lost).toHaveLength(1);
    faulty.setDown(false);
    await scheduler.stop({ drain: false });
    expect(c.clock.pendingTimers()).toBe(0);
  });

  it("start() rejects with STORE_CONNECT-like errors from init and can be retried", async () => {
    const store = new MemoryStore();
    let fail = true;
    const flaky = new Proxy(store, {
      get(target, property, receiver) {
        if (property === "init") {
          return async () => {
            if (fail) throw new BelfryError("STORE_CONNECT", "memory: cannot connect (test)");
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const scheduler = new Scheduler({ store: flaky });
    await expect(scheduler.start()).rejects.toMatchObject({ code: "STORE_CONNECT" });
    fail = false;
    await scheduler.start();
    await scheduler.stop();
  });

  it("a corrupt job row stops only that job: the others keep running, the error is reported", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "belfry-corrupt-")), "store.db");
    const clock = new FakeClock(T0);
    const store = new SqliteStore({ path, clock });
    const scheduler = new Scheduler({ store, clock, replicaId: "a" });
    const errors = recordEvents(scheduler, "store:error");
    let healthy = 0;
    let broken = 0;
    scheduler.job("healthy", every("1s"), () => void healthy++);
    scheduler.job("broken", every("1s"), () => void broken++);
    await scheduler.start();
    await clock.advance(2_000);
    const db = openSqliteDriver(path, 1_000);
    db.prepare("UPDATE belfry_jobs SET overlap = 'bogus' WHERE job_id = ?").run("broken");
    db.close();
    await clock.advance(5_000);
    await scheduler.stop();
    await store.close();
    expect(healthy).toBe(7);
    expect(broken).toBe(2);
    const error = errors.find((e) => e.operation === "claim")?.error as BelfryError;
    expect(error.code).toBe("CORRUPT_ROW");
    expect(error.message).toContain("bogus");
  });
});
