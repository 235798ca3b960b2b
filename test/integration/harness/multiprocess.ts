import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { spawnReplica, startWindow, type ReplicaProcess } from "../../../src/cli/cluster.js";
import { dueInWindow, summarize } from "../../../src/cli/summary.js";
import { sleep, systemClock } from "../../../src/clock.js";
import { openStore } from "../../../src/stores/open.js";
import { scenarioJobs, type TestReplicaArgs } from "./scenarios.js";
import { runSources } from "./sources.js";

/** Where each test's replicas meet: a store URL with an isolated prefix. */
export type StoreUrlFactory = (label: string) => string;

/** From the moment every replica has loaded to the window's start: connect and register. */
const LEAD_MS = 3_000;
/** Each test replica runs `./replica.ts` from sources. */
const REPLICA = runSources(fileURLToPath(new URL("./replica.ts", import.meta.url)));

function replicaArgs(storeUrl: string, overrides: Partial<TestReplicaArgs>): TestReplicaArgs {
  return {
    storeUrl,
    replicaId: "replica",
    scenario: "stress",
    clockSkewMs: 0,
    leaseMs: 3_000,
    onAbandoned: "retry",
    holdMs: 0,
    ...overrides,
  };
}

/** Sends SIGTERM to every replica and waits until each has exited. */
export async function stopAll(replicas: readonly ReplicaProcess[]): Promise<void> {
  for (const replica of replicas) replica.child.kill("SIGTERM");
  await Promise.all(replicas.map((r) => r.exited));
}

/**
 * Runs real replica processes (`./replica.ts`, from sources) against one store: three
 * replicas, one 10 s fast and one 10 s slow, share a 1-second cron and a 250 ms interval for
 * ~10 s; then kill -9 of the replica holding a run, under `retry` and `abandon`.
 */
export function describeMultiProcess(name: string, storeUrl: StoreUrlFactory): void {
  describe(`${name}: replicas in separate processes`, () => {
    const running: ReplicaProcess[] = [];
    afterAll(() => stopAll(running));

    it("runs every occurrence exactly once, never early by store time, none missed (clocks ±10 s)", async () => {
      const url = storeUrl("stress");
      const skews = [0, 10_000, -10_000];
      const replicas = skews.map((clockSkewMs, i) =>
        spawnReplica(REPLICA, replicaArgs(url, { replicaId: `r${i + 1}`, clockSkewMs })),
      );
      running.push(...replicas);
      const window = await startWindow(replicas, LEAD_MS, 10_000);
      await sleep(systemClock, window.stopAt + 1_500 - systemClock.now());
      await stopAll(replicas);
      const summary = summarize(
        dueInWindow(scenarioJobs(replicaArgs(url, {}), window), window),
        replicas.flatMap((r) => r.reports),
      );
      expect(summary.due).toBe(50);
      expect(summary).toMatchObject({ duplicates: 0, misses: 0, early: 0, runs: 50 });
      const store = await openStore(url);
      await store.init();
      const rows = await store.history({ limit: 1_000 });
      await store.close();
      expect(rows).toHaveLength(50);
      expect(rows.every((row) => row.state === "succeeded")).toBe(true);
    });

    for (const onAbandoned of ["retry", "abandon"] as const) {
      it(`recovers a run whose replica was killed with SIGKILL (onAbandoned: ${onAbandoned})`, async () => {
        const url = storeUrl(`crash_${onAbandoned}`);
        const replicas = ["k1", "k2", "k3"].map((replicaId) =>
          spawnReplica(
            REPLICA,
            replicaArgs(url, { replicaId, scenario: "crash", onAbandoned, holdMs: 60_000 }),
          ),
        );
        running.push(...replicas);
        await startWindow(replicas, LEAD_MS, 1);
        const owner = await waitFor(
          () => replicas.find((r) => r.reports.some((x) => x.type === "start")),
          // Generous: on a loaded 2-core machine a replica can take many seconds to get going.
          45_000,
        );
        owner.child.kill("SIGKILL");
        await owner.exited;
        const others = replicas.filter((r) => r !== owner);
        const store = await openStore(url);
        await store.init();
        const final = await waitFor(async () => {
          const [row] = await store.history({ jobId: "long-run" });
          return row && (row.state === "succeeded" || row.state === "abandoned") ? row : undefined;
        }, 45_000);
        await store.close();
        await stopAll(others);
        const restarts = others.flatMap((r) => r.reports).filter((x) => x.type === "start");
        if (onAbandoned === "retry") {
          expect(final).toMatchObject({ state: "succeeded", attempt: 2 });
          expect(final.replicaId).not.toBe(owner.id);
          expect(restarts).toHaveLength(1);
        } else {
          expect(final.state).toBe("abandoned");
          expect(restarts).toHaveLength(0);
        }
      }, 150_000);
    }
  });
}

/** Polls `probe` every `everyMs` until it gives a value; throws after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = systemClock.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (systemClock.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(systemClock, everyMs);
  }
}
