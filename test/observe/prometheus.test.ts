import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { every, Scheduler, type Store } from "../../src/index.js";
import { registerMetrics } from "../../src/observe/prometheus.js";
import { cluster, deferred, T0 } from "../scheduler/harness.js";
import { parseScrape, valueOf } from "./scrape.js";

async function scrape(registry: Registry) {
  return parseScrape(await registry.metrics());
}

describe("registerMetrics (belfry/prometheus)", () => {
  it("counts runs by outcome, claims won and lost, start lag and store calls of two replicas", async () => {
    const c = cluster();
    const registry = new Registry();
    const replicas = ["a", "b"].map((replicaId) => {
      const scheduler = c.replica({ replicaId });
      scheduler.job("tick", every("1s"), () => {});
      scheduler.job("boom", every("1s"), () => {
        throw new Error("boom");
      });
      registerMetrics(scheduler, { registry });
      return scheduler;
    });
    const won: unknown[] = [];
    const lost: unknown[] = [];
    for (const scheduler of replicas) {
      scheduler.on("run:claimed", (e) => won.push(e)).on("run:lost", (e) => lost.push(e));
    }
    for (const scheduler of replicas) await scheduler.start();
    await c.clock.advance(10_000);
    const samples = await scrape(registry);

    expect(valueOf(samples, "belfry_runs_total", { job: "tick", outcome: "succeeded" })).toBe(10);
    expect(valueOf(samples, "belfry_runs_total", { job: "boom", outcome: "failed" })).toBe(10);
    expect(won).toHaveLength(20);
    expect(lost.length).toBeGreaterThan(0);
    const claims = (result: string) =>
      ["tick", "boom"].reduce(
        (sum, job) => sum + valueOf(samples, "belfry_claims_total", { job, result }),
        0,
      );
    expect(claims("won")).toBe(won.length);
    expect(claims("lost")).toBe(lost.length);
    // On a fake clock every run starts at its instant: 10 first attempts, all in the lowest bucket.
    expect(valueOf(samples, "belfry_run_start_lag_seconds_count", { job: "tick" })).toBe(10);
    expect(
      valueOf(samples, "belfry_run_start_lag_seconds_bucket", { job: "tick", le: "0.005" }),
    ).toBe(10);
    expect(
      valueOf(samples, "belfry_store_call_duration_seconds_count", { operation: "claim" }),
    ).toBeGreaterThan(0);
    // 20 outcomes, coalesced into batch calls (one per flush).
    const finishCalls = valueOf(samples, "belfry_store_call_duration_seconds_count", {
      operation: "finishRuns",
    });
    expect(finishCalls).toBeGreaterThan(0);
    expect(finishCalls).toBeLessThanOrEqual(20);
    for (const replica of ["a", "b"]) {
      expect(valueOf(samples, "belfry_store_up", { replica })).toBe(1);
      expect(valueOf(samples, "belfry_running_runs", { replica })).toBe(0);
      expect(valueOf(samples, "belfry_clock_offset_seconds", { replica })).toBe(0);
    }
    expect(await c.stopAll()).toBe(0);
  });

  it("shows a running run in the gauge and retried attempts apart from final failures", async () => {
    const c = cluster();
    const registry = new Registry();
    const scheduler = c.replica({ replicaId: "a" });
    const held = deferred();
    scheduler.job("slow", every("1m"), () => held.promise);
    scheduler.job(
      "flaky",
      every("1m"),
      (run) => {
        if (run.attempt === 1) throw new Error("first attempt fails");
      },
      { retries: { max: 1, delay: "1s" } },
    );
    registerMetrics(scheduler, { registry, prefix: "app_belfry_" });
    await scheduler.start();
    await c.clock.advance(60_000);
    let samples = await scrape(registry);
    // "slow" runs, "flaky" waits out its retry delay: both hold a run slot.
    expect(valueOf(samples, "app_belfry_running_runs", { replica: "a" })).toBe(2);
    await c.clock.advance(1_000);
    samples = await scrape(registry);
    expect(valueOf(samples, "app_belfry_running_runs", { replica: "a" })).toBe(1);
    held.resolve();
    await c.clock.advance(1_000);
    samples = await scrape(registry);
    expect(valueOf(samples, "app_belfry_running_runs", { replica: "a" })).toBe(0);
    expect(valueOf(samples, "app_belfry_runs_total", { job: "flaky", outcome: "retried" })).toBe(1);
    expect(valueOf(samples, "app_belfry_runs_total", { job: "flaky", outcome: "succeeded" })).toBe(
      1,
    );
    // The retry's start is not a scheduling lag: only first attempts are observed.
    expect(valueOf(samples, "app_belfry_run_start_lag_seconds_count", { job: "flaky" })).toBe(1);
    expect(await c.stopAll()).toBe(0);
  });

  it("records missed occurrences and the lag of a catch-up run after downtime", async () => {
    const c = cluster();
    const first = c.replica();
    first.job("hourly", every("1h"), () => {});
    await first.start();
    await c.clock.advance(3_600_000);
    await first.stop();
    c.clock.set(T0 + 5 * 3_600_000 + 30 * 60_000); // the cluster was down for 4.5 hours
    const registry = new Registry();
    const second = c.replica();
    second.job("hourly", every("1h"), () => {}, { missed: "latest" });
    registerMetrics(second, { registry });
    await second.start();
    await c.clock.advance(1_000);
    const samples = await scrape(registry);
    expect(valueOf(samples, "belfry_runs_total", { job: "hourly", outcome: "missed" })).toBe(3);
    expect(valueOf(samples, "belfry_run_start_lag_seconds_count", { job: "hourly" })).toBe(1);
    // The 05:00 occurrence ran at 05:30.
    expect(valueOf(samples, "belfry_run_start_lag_seconds_sum", { job: "hourly" })).toBe(1_800);
    expect(await c.stopAll()).toBe(0);
  });

  it("counts store errors by operation and reports the store down at scrape time", async () => {
    const c = cluster();
    let failing = false;
    const flaky = new Proxy(c.store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) =>
          failing && (property === "claim" || property === "now")
            ? Promise.reject(new Error("connection reset"))
            : (value as (...a: unknown[]) => unknown).apply(target, args);
      },
    }) as Store;
    const scheduler = new Scheduler({ store: flaky, clock: c.clock, replicaId: "a" });
    c.track(scheduler);
    scheduler.job("tick", every("1s"), () => {});
    const registry = new Registry();
    registerMetrics(scheduler, { registry });
    await scheduler.start();
    failing = true;
    await c.clock.advance(3_000);
    const samples = await scrape(registry);
    expect(valueOf(samples, "belfry_store_errors_total", { operation: "claim" })).toBeGreaterThan(
      0,
    );
    expect(valueOf(samples, "belfry_store_up", { replica: "a" })).toBe(0);
    failing = false;
    expect(await c.stopAll()).toBe(0);
  });

  it("stops counting once detached", async () => {
    const c = cluster();
    const registry = new Registry();
    const scheduler = c.replica({ replicaId: "a" });
    scheduler.job("tick", every("1s"), () => {});
    const detach = registerMetrics(scheduler, { registry });
    await scheduler.start();
    await c.clock.advance(2_000);
    detach();
    await c.clock.advance(2_000);
    const samples = await scrape(registry);
    expect(valueOf(samples, "belfry_runs_total", { job: "tick", outcome: "succeeded" })).toBe(2);
    expect(samples.some((s) => s.name === "belfry_running_runs")).toBe(false);
    expect(await c.stopAll()).toBe(0);
  });
});
