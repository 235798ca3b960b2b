import { describe, expect, it } from "vitest";
import { once, type Logger } from "../../src/index.js";
import { cluster, recordEvents, replicaDiesMidRun, T0 } from "../scheduler/harness.js";

/** A logger that keeps every line. */
function recordingLogger() {
  const lines: { level: string; fields: Record<string, unknown>; message?: string }[] = [];
  const at =
    (level: string) =>
    (fields: object, message?: string): void =>
      void lines.push({ level, fields: fields as Record<string, unknown>, message });
  const logger: Logger = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
  };
  return { logger, lines };
}

describe("failed runs are visible", () => {
  it("logs each failed attempt at warn with job, run, occurrence, attempt, replica and error", async () => {
    const c = cluster();
    const { logger, lines } = recordingLogger();
    const scheduler = c.replica({ replicaId: "a", logger });
    scheduler.job(
      "broken",
      once(T0 + 1_000),
      (run) => {
        throw new Error(`no database (attempt ${run.attempt})`);
      },
      { retries: { max: 1, delay: "1s" } },
    );
    await scheduler.start();
    await c.clock.advance(5_000);
    const [row] = await scheduler.history({ jobId: "broken" });
    const failures = lines.filter((l) => l.level === "warn" && l.fields.jobId === "broken");
    expect(failures.map((l) => [l.fields.attempt, l.fields.willRetry])).toEqual([
      [1, true],
      [2, false],
    ]);
    for (const line of failures) {
      expect(line.fields).toMatchObject({
        runId: row?.runId,
        scheduledAt: "2026-01-01T00:00:01.000Z",
        replicaId: "a",
      });
      expect((line.fields.err as Error).message).toContain("no database");
    }
    expect(await c.stopAll()).toBe(0);
  });

  it("keeps every attempt's error in the run row, also when a later attempt succeeds", async () => {
    const c = cluster();
    const scheduler = c.replica();
    const options = { retries: { max: 2, delay: "1s" } } as const;
    const fail = (run: { attempt: number }) => {
      throw new Error(`boom ${run.attempt}`);
    };
    scheduler.job(
      "flaky",
      once(T0 + 1_000),
      (run) => (run.attempt < 3 ? fail(run) : "ok"),
      options,
    );
    scheduler.job("broken", once(T0 + 1_000), fail, options);
    await scheduler.start();
    await c.clock.advance(10_000);
    const [flaky] = await scheduler.history({ jobId: "flaky" });
    const [broken] = await scheduler.history({ jobId: "broken" });
    expect(flaky).toMatchObject({
      state: "succeeded",
      attempt: 3,
      error: "attempt 1: Error: boom 1; attempt 2: Error: boom 2",
    });
    expect(broken).toMatchObject({
      state: "failed",
      attempt: 3,
      error: "attempt 1: Error: boom 1; attempt 2: Error: boom 2; attempt 3: Error: boom 3",
    });
    expect(await c.stopAll()).toBe(0);
  });

  it("a run retried after recovery keeps why its earlier attempt ended", async () => {
    const c = cluster();
    // Replica a "dies" mid-run; b recovers the run once its lease expired.
    await replicaDiesMidRun(c, "work");
    const b = c.replica({ replicaId: "b", leaseDuration: "6s" });
    b.job(
      "work",
      once(T0 + 1_000),
      (run) => {
        if (run.attempt === 2) throw new Error("still down");
      },
      { onAbandoned: "retry", retries: { max: 2, delay: "1s" } },
    );
    await b.start();
    await c.clock.advance(10_000);
    const [row] = await b.history({ jobId: "work" });
    expect(row).toMatchObject({ state: "succeeded", attempt: 3, replicaId: "b" });
    expect(row?.error).toBe("lease expired on replica a (attempt 1); attempt 2: Error: still down");
    expect(await c.stopAll()).toBe(0);
  });

  for (const outcome of ["succeeded", "failed"] as const) {
    it(`an outcome (${outcome}) the store refuses after a lost lease is run:leaseLost, not run:${outcome}`, async () => {
      const c = cluster();
      const scheduler = c.replica({ replicaId: "a", recoveryInterval: "1h" });
      const listeners: string[] = [];
      scheduler.job(
        "partitioned",
        once(T0 + 1_000),
        async (run) => {
          // A partition: the lease lapses and replica b recovers the run while this one works.
          const [row] = await c.store.history({ jobId: "partitioned" });
          await c.store.releaseRun(row!.runId, row!.token);
          await c.store.recoverExpired("b", 30_000, 10);
          if (outcome === "failed") throw new Error(`attempt ${run.attempt} failed`);
        },
        {
          afterRun: () => void listeners.push("afterRun"),
          afterError: () => void listeners.push("afterError"),
        },
      );
      const succeeded = recordEvents(scheduler, "run:succeeded");
      const failed = recordEvents(scheduler, "run:failed");
      const lost = recordEvents(scheduler, "run:leaseLost");
      await scheduler.start();
      await c.clock.advance(1_000);
      expect(lost).toHaveLength(1);
      expect(succeeded).toEqual([]);
      expect(failed).toEqual([]);
      expect(listeners).toEqual([]);
      const [row] = await c.store.history({ jobId: "partitioned" });
      expect(row).toMatchObject({ state: "claimed", replicaId: "b", attempt: 2 });
      expect(await c.stopAll()).toBe(0);
    });
  }

  it("run:succeeded and afterRun follow the accepted outcome", async () => {
    const c = cluster();
    const scheduler = c.replica();
    const order: string[] = [];
    scheduler.job("ok", once(T0 + 1_000), () => "done", {
      afterRun: async () => {
        const [row] = await c.store.history({ jobId: "ok" });
        order.push(`afterRun:${row?.state}`);
      },
    });
    scheduler.on("run:succeeded", () => order.push("run:succeeded"));
    await scheduler.start();
    await c.clock.advance(1_000);
    expect(order).toEqual(["run:succeeded", "afterRun:succeeded"]);
    expect(await c.stopAll()).toBe(0);
  });
});
