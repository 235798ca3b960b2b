import { describe, expect, it } from "vitest";
import { every } from "../../src/index.js";
import { cluster, recordEvents, T0 } from "./harness.js";

/** A paused job leaves a row for every occurrence it did not run, so the audit stays ok. */
describe("Scheduler pause and resume", () => {
  it("occurrences while paused are recorded skipped (paused) once each; the audit is ok after resume", async () => {
    const c = cluster();
    const replicas = [c.replica({ replicaId: "a" }), c.replica({ replicaId: "b" })];
    const ran: number[] = [];
    const skipped = replicas.map((s) => {
      s.job("tick", every("1s"), (run) => void ran.push(run.scheduledAt.getTime()));
      return recordEvents(s, "run:skipped");
    });
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    await Promise.all(replicas.map((s) => s.start()));
    await c.clock.advance(1_000);
    await a.pause("tick");
    await c.clock.advance(5_000); // T0 + 2 s … T0 + 6 s fall due while paused
    await b.resume("tick");
    await c.clock.advance(2_000);

    expect(ran).toEqual([1, 7, 8].map((s) => T0 + s * 1_000));
    const paused = [2, 3, 4, 5, 6].map((s) => T0 + s * 1_000);
    const rows = await c.store.history({ jobId: "tick", states: ["skipped"] });
    expect(rows.map((r) => [r.scheduledAt, r.error, r.token]).reverse()).toEqual(
      paused.map((at) => [at, "paused", 0]),
    );
    // One event per recorded row, from the replica whose claim recorded it.
    const events = skipped.flat().map((e) => [e.scheduledAt.getTime(), e.reason, e.replicaId]);
    expect(events.map(([at]) => at).sort()).toEqual(paused);
    for (const [at, reason, replicaId] of events) {
      expect(reason).toBe("paused");
      expect(rows.find((r) => r.scheduledAt === at)?.replicaId).toBe(replicaId);
    }

    const report = await a.audit({ since: T0, until: T0 + 8_500 });
    expect(report.unexplainedMisses.count).toBe(0);
    expect(report.skipped.count).toBe(5);
    expect(report.due).toBe(8);
    expect(report.ok).toBe(true);
    expect(await c.stopAll()).toBe(0);
  });
});
