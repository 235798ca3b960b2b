import { describe, expect, it } from "vitest";
import { BelfryError, cron, every, once, type RunContext } from "../../src/index.js";
import { cluster, deferred, recordEvents, T0 } from "./harness.js";

describe("Scheduler dispatch on a fake clock", () => {
  it("runs an every(1s) job once per occurrence with the occurrence's idempotency key", async () => {
    const c = cluster();
    const seen: RunContext[] = [];
    const scheduler = c.replica({ replicaId: "a" });
    scheduler.job("tick", every("1s"), (run) => void seen.push(run));
    await scheduler.start();
    await c.clock.advance(5_000);
    expect(seen.map((r) => r.scheduledAt.getTime())).toEqual(
      [1, 2, 3, 4, 5].map((s) => T0 + s * 1000),
    );
    expect(seen[0]?.idempotencyKey).toBe("tick@2026-01-01T00:00:01.000Z");
    expect(seen.every((r) => r.attempt === 1 && r.replicaId === "a")).toBe(true);
    const history = await scheduler.history({ jobId: "tick" });
    expect(history.map((r) => r.state)).toEqual(Array(5).fill("succeeded"));
    expect(await c.stopAll()).toBe(0);
  });

  it("runs each occurrence exactly once across three replicas sharing a store", async () => {
    const c = cluster();
    const runs: string[] = [];
    for (const id of ["a", "b", "c"]) {
      const scheduler = c.replica({ replicaId: id });
      scheduler.job("shared", every("250ms"), (run) => void runs.push(run.idempotencyKey));
      scheduler.job("cron", cron("* * * * * *"), (run) => void runs.push(run.idempotencyKey));
      await scheduler.start();
    }
    await c.clock.advance(10_000);
    expect(runs.filter((k) => k.startsWith("shared@"))).toHaveLength(40);
    expect(runs.filter((k) => k.startsWith("cron@"))).toHaveLength(10);
    expect(new Set(runs).size).toBe(runs.length);
    expect(await c.stopAll()).toBe(0);
  });

  it("does not poll: with one far-away occurrence only the capped timer and maintenance wake it", async () => {
    const c = cluster();
    let calls = 0;
    const scheduler = c.replica();
    scheduler.job("later", once(T0 + 3_600_000), () => void calls++);
    await scheduler.start();
    await c.clock.advance(3_599_000);
    expect(calls).toBe(0);
    await c.clock.advance(1_000);
    expect(calls).toBe(1);
    expect(scheduler.nextRun("later")).toBeNull();
    expect(await c.stopAll()).toBe(0);
  });

  it("retries a failing handler with backoff, same idempotency key, growing attempt", async () => {
    const c = cluster();
    const attempts: number[] = [];
    const keys = new Set<string>();
    const scheduler = c.replica();
    const failed = recordEvents(scheduler, "run:failed");
    scheduler.job(
      "flaky",
      once(T0 + 1_000),
      (run) => {
        attempts.push(run.attempt);
        keys.add(run.idempotencyKey);
        if (run.attempt < 3) throw new Error(`boom ${run.attempt}`);
      },
      { retries: { max: 3, delay: "1s" } },
    );
    await scheduler.start();
    await c.clock.advance(10_000);
    expect(attempts).toEqual([1, 2, 3]);
    expect(keys.size).toBe(1);
    expect(failed.map((f) => f.willRetry)).toEqual([true, true]);
    const [record] = await scheduler.history({ jobId: "flaky" });
    expect(record).toMatchObject({ state: "succeeded", attempt: 3 });
    expect(await c.stopAll()).toBe(0);
  });

  it("records a failure with its error once retries are used up", async () => {
    const c = cluster();
    const scheduler = c.replica();
    const afterError: unknown[] = [];
    scheduler.job(
      "broken",
      once(T0 + 1_000),
      () => {
        throw new Error("no database");
      },
      { retries: 1, afterError: (_run, error) => void afterError.push(error) },
    );
    await scheduler.start();
    await c.clock.advance(5_000);
    const [record] = await scheduler.history({ jobId: "broken" });
    expect(record).toMatchObject({ state: "failed", attempt: 2 });
    expect(record?.error).toContain("no database");
    expect(afterError).toHaveLength(2);
    expect(await c.stopAll()).toBe(0);
  });

  it("aborts the signal and fails the attempt when the timeout passes", async () => {
    const c = cluster();
    const scheduler = c.replica();
    let signal: AbortSignal | undefined;
    scheduler.job(
      "slow",
      once(T0 + 1_000),
      (run) => {
        signal = run.signal;
        return new Promise(() => {});
      },
      { timeout: "2s" },
    );
    await scheduler.start();
    await c.clock.advance(4_000);
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as BelfryError).code).toBe("TIMEOUT");
    const [record] = await scheduler.history({ jobId: "slow" });
    expect(record?.state).toBe("failed");
    expect(record?.error).toContain("timed out");
    expect(await c.stopAll()).toBe(0);
  });

  it("lets beforeRun skip an occurrence and calls afterRun with the result", async () => {
    const c = cluster();
    const scheduler = c.replica();
    const results: unknown[] = [];
    scheduler.job("gated", every("1s"), (run) => run.scheduledAt.getTime(), {
      beforeRun: (run) => run.scheduledAt.getTime() !== T0 + 2_000,
      afterRun: (_run, result) => void results.push(result),
    });
    await scheduler.start();
    await c.clock.advance(3_000);
    expect(results).toEqual([T0 + 1_000, T0 + 3_000]);
    const states = (await scheduler.history({ jobId: "gated" })).map((r) => r.state);
    expect(states).toEqual(["succeeded", "skipped", "succeeded"]);
    expect(await c.stopAll()).toBe(0);
  });

  it("stops a job after maxRuns across the whole cluster", async () => {
    const c = cluster();
    let runs = 0;
    for (const id of ["a", "b"]) {
      const scheduler = c.replica({ replicaId: id });
      scheduler.job("limited", every("1s"), () => void runs++, { maxRuns: 3 });
      await scheduler.start();
    }
    await c.clock.advance(10_000);
    expect(runs).toBe(3);
    expect(await c.stopAll()).toBe(0);
  });

  it("runNow records a manual run without touching the schedule", async () => {
    const c = cluster();
    const keys: string[] = [];
    const scheduler = c.replica();
    scheduler.job("report", every("1h"), (run) => void keys.push(run.idempotencyKey));
    await scheduler.start();
    await c.clock.advance(10);
    const manual = await scheduler.runNow("report");
    await manual.finished;
    expect(keys).toEqual(["report@2026-01-01T00:00:00.010Z#manual"]);
    await c.clock.advance(3_600_000);
    expect(keys).toHaveLength(2);
    expect(await c.stopAll()).toBe(0);
  });

  it("removeByTag stops the tagged jobs only; jobs() and update() reflect changes", async () => {
    const c = cluster();
    let a = 0;
    let b = 0;
    const scheduler = c.replica();
    scheduler.job("a", every("1s"), () => void a++, { tags: ["reports"] });
    scheduler.job("b", every("1s"), () => void b++);
    await scheduler.start();
    await c.clock.advance(2_000);
    expect(scheduler.removeByTag("reports")).toEqual(["a"]);
    scheduler.update("b", { schedule: every("2s") });
    await c.clock.advance(4_000);
    expect(a).toBe(2);
    expect(b).toBe(4);
    expect(scheduler.jobs().map((j) => j.id)).toEqual(["b"]);
    expect(await c.stopAll()).toBe(0);
  });

  it("holds a run open until stop({ drain }) lets it finish", async () => {
    const c = cluster();
    const gate = deferred();
    let finished = false;
    const scheduler = c.replica();
    scheduler.job("long", once(T0 + 1_000), async () => {
      await gate.promise;
      finished = true;
    });
    await scheduler.start();
    await c.clock.advance(1_000);
    const stopped = scheduler.stop({ drain: true });
    gate.resolve();
    await stopped;
    expect(finished).toBe(true);
    expect(c.clock.pendingTimers()).toBe(0);
  });

  it("can be stopped and started again, retrying failures as before", async () => {
    const c = cluster();
    const attempts: number[] = [];
    const scheduler = c.replica();
    scheduler.job(
      "again",
      every("10s"),
      (run) => {
        attempts.push(run.attempt);
        if (run.attempt === 1) throw new Error("first attempt fails");
      },
      { retries: { max: 1, delay: "1s" } },
    );
    await scheduler.start();
    await c.clock.advance(12_000);
    await scheduler.stop();
    await scheduler.start();
    await c.clock.advance(10_000);
    expect(attempts).toEqual([1, 2, 1, 2]);
    expect(await c.stopAll()).toBe(0);
  });

  it("a throwing listener never changes a run's outcome; a throwing beforeRun fails it", async () => {
    const c = cluster();
    const scheduler = c.replica();
    scheduler.job("noisy", once(T0 + 1_000), () => "ok", {
      afterRun: () => {
        throw new Error("listener bug");
      },
    });
    scheduler.job("gate-bug", once(T0 + 1_000), () => "never", {
      beforeRun: () => {
        throw new Error("gate bug");
      },
    });
    await scheduler.start();
    await c.clock.advance(2_000);
    const [noisy] = await scheduler.history({ jobId: "noisy" });
    const [gate] = await scheduler.history({ jobId: "gate-bug" });
    expect(noisy?.state).toBe("succeeded");
    expect(gate).toMatchObject({ state: "failed", error: expect.stringContaining("gate bug") });
    expect(await c.stopAll()).toBe(0);
  });
});
