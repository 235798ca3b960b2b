import { describe, expect, it } from "vitest";
import { every, type JobOptions } from "../../src/index.js";
import type { RunRecord } from "../../src/stores/store.js";
import { cluster, recordEvents, T0 } from "../scheduler/harness.js";

// Two versions of one job: the same series, a different definition hash.
const NEW: JobOptions = { onAbandoned: "abandon" };
const OLD: JobOptions = { onAbandoned: "retry" };

/** The seconds after T0 of `rows`, oldest first. */
const seconds = (rows: readonly RunRecord[]) =>
  rows.map((row) => (row.scheduledAt - T0) / 1000).sort((a, b) => a - b);

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

describe("definition changes never silence a job", () => {
  it("an old replica that re-registers the old definition and dies leaves the job running on the new one", async () => {
    const c = cluster();
    const ran: { replica: string; at: number }[] = [];
    const replica = (id: string, options: JobOptions) => {
      const scheduler = c.replica({ replicaId: id, leaseDuration: "6s" });
      scheduler.job(
        "report",
        every("1s"),
        (run) => {
          ran.push({ replica: id, at: (run.scheduledAt.getTime() - T0) / 1000 });
        },
        options,
      );
      return scheduler;
    };
    const current = replica("new", NEW);
    const changes = recordEvents(current, "job:definitionChanged");
    await current.start();
    await c.clock.advance(3_000);
    // A crash-looping pod of the previous version comes up, registers its definition, runs
    // for two seconds and dies.
    const old = replica("old", OLD);
    await old.start();
    await c.clock.advance(2_000);
    await old.stop({ drain: false });
    await c.clock.advance(25_000);

    expect(changes.map((e) => e.change)).toEqual(["superseded", "replaced"]);
    expect(changes[0]).toMatchObject({ replicaId: "new", jobId: "report" });
    expect(changes[0]?.storedHash).not.toBe(changes[0]?.hash);
    expect(ran.filter((r) => r.replica === "old").map((r) => r.at)).toEqual([4, 5]);
    // Refused at 4 s, the up-to-date replica stands back one lease (6 s), registers its
    // definition again at 10 s and runs the job from there (9 s is within its missedAfter).
    const resumed = ran.filter((r) => r.replica === "new" && r.at > 5).map((r) => r.at);
    expect(resumed).toEqual(range(9, 30));
    // Every occurrence has exactly one row: run, or missed while nobody could run it.
    const rows = await c.store.history({ jobId: "report", limit: 100 });
    expect(seconds(rows)).toEqual(range(1, 30));
    expect(seconds(rows.filter((row) => row.state === "missed"))).toEqual([6, 7, 8]);
    const warnings = await c.store.listWarnings();
    expect(warnings.filter((w) => w.kind === "definition-changed")).toHaveLength(3);
    expect(await c.stopAll()).toBe(0);
  });

  it("while both versions are live the job keeps running, each occurrence once, every flip reported", async () => {
    const c = cluster();
    const ran: number[] = [];
    const changes: string[] = [];
    for (const [id, options] of [
      ["new", NEW],
      ["old", OLD],
    ] as const) {
      const scheduler = c.replica({ replicaId: id, leaseDuration: "6s" });
      scheduler.job(
        "report",
        every("1s"),
        (run) => void ran.push(run.scheduledAt.getTime()),
        options,
      );
      scheduler.on("job:definitionChanged", (e) => changes.push(`${e.replicaId}:${e.change}`));
      await scheduler.start();
    }
    await c.clock.advance(60_000);
    expect(new Set(ran).size).toBe(ran.length);
    // At most the occurrence of each flip goes to neither version (it is recorded missed).
    expect(ran.length).toBeGreaterThanOrEqual(50);
    const rows = await c.store.history({ jobId: "report", limit: 100 });
    expect(seconds(rows)).toEqual(range(1, 60));
    expect(changes.filter((e) => e === "new:superseded").length).toBeGreaterThan(1);
    expect(changes.filter((e) => e === "old:superseded").length).toBeGreaterThan(1);
    expect(await c.stopAll()).toBe(0);
  });
});
