import { describe, expect, it } from "vitest";
import { BelfryError, every, MemoryStore, OffsetClock, once, Scheduler } from "../../src/index.js";
import type { Duration } from "../../src/index.js";
import { cluster, deferred, recordEvents, replicaDiesMidRun, T0 } from "./harness.js";

describe("Scheduler cluster behaviour on a shared memory store", () => {
  it("overlap skip holds across replicas: a second occurrence is skipped while one runs", async () => {
    const c = cluster();
    const gate = deferred();
    let started = 0;
    for (const id of ["a", "b"]) {
      const scheduler = c.replica({ replicaId: id });
      scheduler.job("single", every("1s"), () => (started++, gate.promise), { overlap: "skip" });
      await scheduler.start();
    }
    await c.clock.advance(3_000);
    expect(started).toBe(1);
    gate.resolve();
    await c.clock.advance(1_000);
    expect(started).toBe(2);
    const states = (await c.store.history({ jobId: "single" })).map((r) => r.state).reverse();
    expect(states).toEqual(["succeeded", "skipped", "skipped", "succeeded"]);
    expect(await c.stopAll()).toBe(0);
  });

  it("overlap queueOne runs one queued occurrence after the active run ends", async () => {
    const c = cluster();
    const gate = deferred();
    const ran: number[] = [];
    const scheduler = c.replica();
    scheduler.job(
      "queued",
      every("1s"),
      async (run) => {
        ran.push(run.scheduledAt.getTime());
        if (ran.length === 1) await gate.promise;
      },
      { overlap: "queueOne" },
    );
    await scheduler.start();
    await c.clock.advance(3_500);
    expect(ran).toEqual([T0 + 1_000]);
    gate.resolve();
    await c.clock.advance(100);
    expect(ran).toEqual([T0 + 1_000, T0 + 2_000]);
    const states = (await c.store.history({ jobId: "queued" })).map((r) => r.state).reverse();
    expect(states).toEqual(["succeeded", "succeeded", "skipped"]);
    expect(await c.stopAll()).toBe(0);
  });

  it("a replica whose run was taken over loses its lease: signal aborts, no write", async () => {
    const c = cluster();
    const a = c.replica({ replicaId: "a", leaseDuration: "9s", recoveryInterval: "1h" });
    let signal: AbortSignal | undefined;
    a.job("long", once(T0 + 1_000), (run) => {
      signal = run.signal;
      return new Promise(() => {});
    });
    const lost = recordEvents(a, "run:leaseLost");
    await a.start();
    await c.clock.advance(1_000);
    const [run] = await c.store.history({ jobId: "long" });
    // Simulate a partition: the lease lapses and another replica recovers the run.
    await c.store.releaseRun(run!.runId, run!.token);
    const recovered = await c.store.recoverExpired("b", 30_000, 10);
    expect(recovered[0]?.action).toBe("retried");
    await c.clock.advance(3_000);
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as BelfryError).code).toBe("LEASE_LOST");
    expect(lost).toHaveLength(1);
    const [after] = await c.store.history({ jobId: "long" });
    expect(after).toMatchObject({ replicaId: "b", attempt: 2, token: 2, state: "claimed" });
    expect(await c.stopAll()).toBe(0);
  });

  it("recovers a run whose replica vanished: retried elsewhere with the same idempotency key", async () => {
    const c = cluster();
    // Replica a "dies": its timers stop firing, its lease is never renewed again.
    await replicaDiesMidRun(c, "work");
    const keys: string[] = [];
    const b = c.replica({ replicaId: "b", leaseDuration: "6s" });
    b.job(
      "work",
      once(T0 + 1_000),
      (run) => void keys.push(`${run.idempotencyKey}#${run.attempt}`),
      {
        onAbandoned: "retry",
      },
    );
    await b.start();
    await c.clock.advance(10_000);
    expect(keys).toEqual(["work@2026-01-01T00:00:01.000Z#2"]);
    expect(await c.stopAll()).toBe(0);
  });

  it("records an abandoned run (at-most-once) when onAbandoned is abandon", async () => {
    const c = cluster();
    const a = c.replica({ replicaId: "a", leaseDuration: "6s" });
    a.job("once-only", once(T0 + 1_000), () => new Promise(() => {}), { onAbandoned: "abandon" });
    await a.start();
    await c.clock.advance(1_000);
    await a.stop({ drain: false });
    let reran = false;
    const b = c.replica({ replicaId: "b", leaseDuration: "6s" });
    const abandoned = recordEvents(b, "run:abandoned");
    b.job("once-only", once(T0 + 1_000), () => void (reran = true), { onAbandoned: "abandon" });
    await b.start();
    await c.clock.advance(10_000);
    expect(reran).toBe(false);
    expect(abandoned).toHaveLength(1);
    const [record] = await c.store.history({ jobId: "once-only" });
    expect(record?.state).toBe("abandoned");
    expect(await c.stopAll()).toBe(0);
  });

  describe("missed occurrences after the whole cluster was down", () => {
    async function downtime(policy: "skip" | "latest" | "all", catchUpWindow: Duration = "1h") {
      const c = cluster();
      const first = c.replica();
      first.job("hourly", every("1h"), () => {}, { missed: policy });
      await first.start();
      await c.clock.advance(3_600_000);
      await first.stop();
      c.clock.set(T0 + 5 * 3_600_000 + 30 * 60_000); // down for 4.5 hours
      const ran: number[] = [];
      const second = c.replica();
      second.job("hourly", every("1h"), (run) => void ran.push(run.scheduledAt.getTime()), {
        missed: policy,
        catchUpWindow,
      });
      const missed = recordEvents(second, "run:missed");
      await second.start();
      await c.clock.advance(1_000);
      const states = (await c.store.history({ jobId: "hourly" })).map((r) => r.state).reverse();
      expect(await c.stopAll()).toBe(0);
      return { ran: ran.map((t) => (t - T0) / 3_600_000), missed: missed.length, states };
    }

    it("skip records every missed occurrence and runs none", async () => {
      const r = await downtime("skip");
      expect(r.ran).toEqual([]);
      expect(r.missed).toBe(4);
      expect(r.states).toEqual(["succeeded", "missed", "missed", "missed", "missed"]);
    });

    it("latest runs the newest missed occurrence once and records the rest", async () => {
      const r = await downtime("latest");
      expect(r.ran).toEqual([5]);
      expect(r.missed).toBe(3);
      expect(r.states).toEqual(["succeeded", "missed", "missed", "missed", "succeeded"]);
    });

    it("all runs every missed occurrence within the catch-up window, in order", async () => {
      const r = await downtime("all", "6h");
      expect(r.ran).toEqual([2, 3, 4, 5]);
      expect(r.missed).toBe(0);
    });

    it("all records as missed what is older than the catch-up window", async () => {
      const r = await downtime("all", "2h");
      expect(r.ran).toEqual([4, 5]);
      expect(r.states).toEqual(["succeeded", "missed", "missed", "succeeded", "succeeded"]);
    });
  });

  it("a replica with an outdated definition stops claiming instead of starting a second series", async () => {
    const c = cluster();
    const oldRuns: number[] = [];
    const newRuns: number[] = [];
    const a = c.replica({ replicaId: "old" });
    a.job("report", every("1s"), (run) => void oldRuns.push(run.scheduledAt.getTime()));
    const changed = recordEvents(a, "job:definitionChanged");
    await a.start();
    await c.clock.advance(2_000);
    const b = c.replica({ replicaId: "new" });
    b.job("report", every("3s"), (run) => void newRuns.push(run.scheduledAt.getTime()));
    await b.start();
    await c.clock.advance(6_000);
    expect(changed).toHaveLength(1);
    expect(oldRuns).toEqual([T0 + 1_000, T0 + 2_000]);
    expect(newRuns).toEqual([T0 + 3_000, T0 + 6_000]);
    const job = (await c.store.listJobs()).jobs[0];
    expect(job?.version).toBe(2);
    expect(await c.stopAll()).toBe(0);
  });

  it("a replica whose clock is 10 s fast runs on store time and reports the skew", async () => {
    const storeClock = cluster();
    const fastLocal = new OffsetClock(storeClock.clock);
    fastLocal.offset = 10_000;
    const scheduler = new Scheduler({
      store: storeClock.store,
      clock: fastLocal,
      replicaId: "fast",
    });
    const started: { scheduledAt: number; storeNow: number }[] = [];
    scheduler.job("tick", every("1s"), async (run) => {
      started.push({
        scheduledAt: run.scheduledAt.getTime(),
        storeNow: await storeClock.store.now(),
      });
    });
    const skew = recordEvents(scheduler, "clock:skew");
    await scheduler.start();
    await storeClock.clock.advance(3_000);
    await scheduler.stop();
    expect(started.map((s) => s.scheduledAt)).toEqual([T0 + 1_000, T0 + 2_000, T0 + 3_000]);
    expect(started.every((s) => s.storeNow >= s.scheduledAt)).toBe(true);
    expect(skew[0]?.offsetMs).toBe(-10_000);
    expect((await storeClock.store.listWarnings())[0]?.kind).toBe("clock-skew");
    expect(storeClock.clock.pendingTimers()).toBe(0);
  });

  it("keeps serving other jobs while one job's store calls fail, and reports store errors", async () => {
    const c = cluster();
    let failures = 3;
    // Fault injection around the real store: registering job "bad" (alone or in a batch, as
    // at start) fails three times.
    type Registration = Parameters<MemoryStore["registerJob"]>[0];
    const failBad = (registrations: readonly Registration[]) => {
      const hit = registrations.some((r) => r.jobId === "bad");
      if (hit && failures-- > 0) throw new Error("connection reset");
    };
    const flaky = new Proxy(c.store, {
      get(target, property, receiver) {
        if (property === "registerJob") {
          return async (registration: Registration) => {
            failBad([registration]);
            return target.registerJob(registration);
          };
        }
        if (property === "registerJobs") {
          return async (registrations: readonly Registration[]) => {
            failBad(registrations);
            return target.registerJobs(registrations);
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const scheduler = new Scheduler({ store: flaky, clock: c.clock });
    const errors = recordEvents(scheduler, "store:error");
    let ok = 0;
    let bad = 0;
    scheduler.job("ok", every("1s"), () => void ok++);
    scheduler.job("bad", every("1s"), () => void bad++, { missed: "skip" });
    await scheduler.start();
    await c.clock.advance(20_000);
    expect(ok).toBe(20);
    expect(errors.length).toBeGreaterThanOrEqual(3);
    expect((errors[0]?.error as BelfryError).code).toBe("STORE_ERROR");
    expect(bad).toBeGreaterThan(5);
    await scheduler.stop();
    expect(c.clock.pendingTimers()).toBe(0);
  });

  it("rejects bad definitions with typed errors", () => {
    const scheduler = new Scheduler({ store: new MemoryStore() });
    scheduler.job("dup", every("1s"), () => {});
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return (error as BelfryError).code;
      }
      return "no error";
    };
    expect(code(() => scheduler.job("dup", every("1s"), () => {}))).toBe("DUPLICATE_JOB");
    expect(code(() => scheduler.job("h", every("1s"), "nope" as never))).toBe("INVALID_HANDLER");
    expect(code(() => scheduler.job("o", every("1s"), () => {}, { overlap: "x" as never }))).toBe(
      "INVALID_OPTION",
    );
    expect(code(() => scheduler.job("", every("1s"), () => {}))).toBe("INVALID_OPTION");
    expect(code(() => scheduler.job("d", every("1s"), () => {}, { startAt: "soon" }))).toBe(
      "INVALID_DATE",
    );
    expect(code(() => new Scheduler({ timezone: "Mars/Olympus" }))).toBe("INVALID_TIMEZONE");
    expect(code(() => scheduler.nextRun("missing"))).toBe("UNKNOWN_JOB");
  });
});
