import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { spawnReplica, startWindow } from "../../src/cli/cluster.js";
import { sleep, systemClock } from "../../src/clock.js";
import { openStore } from "../../src/stores/open.js";
import { BURST_JOBS, type TestReplicaArgs } from "./harness/scenarios.js";
import { dropPrefixed } from "./harness/cleanup.js";
import { stopAll } from "./harness/multiprocess.js";
import { runSources } from "./harness/sources.js";

// A burst of BURST_JOBS jobs due at one instant, three replica processes: every occurrence runs
// once, and the work is spread (each replica runs some of it). Shares are printed, not pinned:
// timings are never asserted. One file, stores one after another, so replicas never compete
// with another store's replicas for the machine's cores.
const POSTGRES = process.env.BELFRY_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS = process.env.BELFRY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const run = `bu${randomBytes(3).toString("hex")}`;
const withPrefix = (url: string) => `${url}${url.includes("?") ? "&" : "?"}prefix=${run}_`;
const folder = mkdtempSync(join(tmpdir(), "belfry-burst-"));
const REPLICA = runSources(fileURLToPath(new URL("./harness/replica.ts", import.meta.url)));
/**
 * Time to register 2,000 jobs before the instant (one round trip per job today; on a loaded
 * machine 15 s was once too short on PostgreSQL: two replicas were not started in time).
 */
const LEAD_MS = 30_000;
const IDS = ["r1", "r2", "r3"];

function burstSpread(name: string, storeUrl: string): void {
  it(`${name}: 3 replicas run a burst of ${BURST_JOBS} jobs once each, spread over all three`, async () => {
    const replicas = IDS.map((replicaId) => {
      const args: TestReplicaArgs = {
        storeUrl,
        replicaId,
        scenario: "burst",
        clockSkewMs: 0,
        leaseMs: 30_000,
        onAbandoned: "retry",
        holdMs: 0,
      };
      return spawnReplica(REPLICA, args);
    });
    try {
      const window = await startWindow(replicas, LEAD_MS, 1);
      const store = await openStore(storeUrl);
      await store.init();
      const deadline = window.startAt + 60_000;
      let rows = await store.history({ limit: BURST_JOBS * 2 });
      while (rows.filter((r) => r.state === "succeeded").length < BURST_JOBS) {
        if (systemClock.now() > deadline) break;
        await sleep(systemClock, 250);
        rows = await store.history({ limit: BURST_JOBS * 2 });
      }
      await store.close();
      await stopAll(replicas);
      const starts = replicas.flatMap((r) => r.reports).filter((x) => x.type === "start");
      const occurrences = new Set(starts.map((s) => `${s.job}@${s.scheduledAt}`));
      const shares = IDS.map((id) => starts.filter((s) => s.replica === id).length / BURST_JOBS);
      console.log(
        `${name} burst shares`,
        IDS.map((id, i) => `${id} ${(shares[i]! * 100).toFixed(1)}%`).join(", "),
      );
      expect(starts).toHaveLength(BURST_JOBS);
      expect(occurrences.size).toBe(BURST_JOBS);
      expect(starts.every((s) => s.scheduledAt === window.startAt)).toBe(true);
      expect(rows).toHaveLength(BURST_JOBS);
      expect(rows.every((row) => row.state === "succeeded")).toBe(true);
      for (const share of shares) expect(share).toBeGreaterThanOrEqual(0.05);
    } finally {
      await stopAll(replicas);
    }
  }, 120_000);
}

describe("a burst in separate processes", () => {
  burstSpread("sqlite", `sqlite:${join(folder, "burst.db")}`);
  burstSpread("postgres", withPrefix(POSTGRES));
  burstSpread("redis", withPrefix(REDIS));
});

afterAll(() => dropPrefixed({ postgres: POSTGRES, redis: REDIS }, run));
