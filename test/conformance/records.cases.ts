import { expect, it } from "vitest";
import { claimOne, claimWon, job, pastBase, request, runRow, type Harness } from "./harness.js";

/** Missed and manual runs, history, pruning, replicas and warnings. */
export function recordCases(h: Harness): void {
  it("recordMissed records rows above the watermark and advances it to the newest", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    expect(await h.store.recordMissed(reg.jobId, reg.hash, [t + 2000, t, t + 1000, t])).toEqual([
      t,
      t + 1000,
      t + 2000,
    ]);
    expect((await h.store.getJob(reg.jobId))?.watermark).toBe(t + 2000);
    expect(await h.store.recordMissed(reg.jobId, reg.hash, [t + 1000, t + 2000, t + 3000])).toEqual(
      [t + 3000],
    );
    const rows = await h.store.history({ jobId: reg.jobId });
    expect(rows.map((r) => [r.scheduledAt, r.state])).toEqual([
      [t + 3000, "missed"],
      [t + 2000, "missed"],
      [t + 1000, "missed"],
      [t, "missed"],
    ]);
    expect(await h.store.getJob(reg.jobId)).toMatchObject({ watermark: t + 3000, runCount: 0 });
    expect(await claimOne(h.store, request(reg, t + 3000))).toMatchObject({ status: "lost" });
    expect(await claimOne(h.store, request(reg, t + 1000))).toMatchObject({ status: "stale" });
  });

  it("recordMissed never records an instant still in the future by the store's clock", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const now = await h.store.now();
    const future = now + 60_000;
    expect(await h.store.recordMissed(reg.jobId, reg.hash, [now - 1000, future])).toEqual([
      now - 1000,
    ]);
    expect((await h.store.getJob(reg.jobId))?.watermark).toBe(now - 1000);
    expect(await h.store.recordMissed(reg.jobId, reg.hash, [future])).toEqual([]);
    const rows = await h.store.history({ jobId: reg.jobId });
    expect(rows.map((r) => r.scheduledAt)).toEqual([now - 1000]);
  });

  it("recordMissed records nothing for an unknown job, a wrong hash or nothing new", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    expect(await h.store.recordMissed("nope", reg.hash, [t])).toEqual([]);
    expect(await h.store.recordMissed(reg.jobId, "other-hash", [t])).toEqual([]);
    expect(await h.store.recordMissed(reg.jobId, reg.hash, [])).toEqual([]);
    expect(await h.store.history({ jobId: reg.jobId })).toEqual([]);
    expect((await h.store.getJob(reg.jobId))?.watermark).toBeNull();
  });

  it("claimManual creates a manual claimed run at store now without touching watermark or runCount", async () => {
    const reg = job({ overlap: "skip", maxRuns: 1 });
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    await claimWon(h.store, request(reg, t));
    const before = await h.store.now();
    const run = await h.store.claimManual(reg.jobId, "r9", 10_000);
    const after = await h.store.now();
    expect(run).toMatchObject({ jobId: reg.jobId, trigger: "manual", token: 1, attempt: 1 });
    expect(run?.scheduledAt).toBeGreaterThanOrEqual(before);
    expect(run?.scheduledAt).toBeLessThanOrEqual(after + 1);
    expect(await h.store.getJob(reg.jobId)).toMatchObject({ watermark: t, runCount: 1 });
    const row = await runRow(h.store, reg.jobId, run!.runId);
    expect(row).toMatchObject({ state: "claimed", trigger: "manual", replicaId: "r9" });
    expect(row.claimedAt).toBeGreaterThanOrEqual(before);
    expect(row.claimedAt).toBeLessThanOrEqual(run!.scheduledAt);
    expect((row.leaseExpiresAt ?? 0) - (row.claimedAt ?? 0)).toBe(10_000);
    expect(await h.store.startRun(run!.runId, run!.token, run!.attempt)).toBe(true);
  });

  it("claimManual returns null for an unknown job", async () => {
    expect(await h.store.claimManual("nope", "r1", 1000)).toBeNull();
  });

  it("history filters by job, states, from (inclusive) and to (exclusive), newest first", async () => {
    const a = job();
    const b = job();
    await h.store.registerJob(a);
    await h.store.registerJob(b);
    const t = await pastBase(h.store);
    await h.store.recordMissed(a.jobId, a.hash, [t, t + 1000, t + 2000]);
    const run = await claimWon(h.store, request(a, t + 3000));
    await h.store.finishRun(run.runId, run.token, { state: "succeeded" }, 1);
    await claimWon(h.store, request(a, t + 4000));
    await claimWon(h.store, request(b, t + 500));
    const at = async (q: Parameters<typeof h.store.history>[0]) =>
      (await h.store.history(q)).map((r) => r.scheduledAt);
    expect(await at({ jobId: a.jobId })).toEqual([4, 3, 2, 1, 0].map((i) => t + i * 1000));
    expect(await at({})).toEqual([4, 3, 2, 1, 0.5, 0].map((i) => t + i * 1000));
    expect(await at({ jobId: a.jobId, states: ["missed", "claimed"] })).toEqual(
      [4, 2, 1, 0].map((i) => t + i * 1000),
    );
    expect(await at({ jobId: a.jobId, states: ["succeeded"] })).toEqual([t + 3000]);
    expect(await at({ from: t + 1000, to: t + 3000 })).toEqual([t + 2000, t + 1000]);
    expect(await at({ jobId: a.jobId, limit: 2 })).toEqual([t + 4000, t + 3000]);
    expect(await at({ jobId: "nope" })).toEqual([]);
  });

  it("history orders rows with the same scheduledAt by runId descending", async () => {
    const [a, b, c, d] = [job(), job(), job(), job()];
    for (const reg of [a, b, c, d]) await h.store.registerJob(reg!);
    const manual = await h.store.claimManual(a!.jobId, "r1", 30_000);
    const at = manual!.scheduledAt;
    const scheduled = await claimWon(h.store, request(a!, at));
    const ids = [manual!.runId, scheduled.runId].sort().reverse();
    expect((await h.store.history({ jobId: a!.jobId })).map((r) => r.runId)).toEqual(ids);
    const t = await pastBase(h.store);
    for (const reg of [b, c, d]) await h.store.recordMissed(reg!.jobId, reg!.hash, [t]);
    const tied = (await h.store.history({ from: t, to: t + 1 })).map((r) => r.runId);
    expect(tied).toHaveLength(3);
    expect(tied).toEqual([...tied].sort().reverse());
    expect((await h.store.history({ from: t, to: t + 1, limit: 1 })).map((r) => r.runId)).toEqual(
      tied.slice(0, 1),
    );
  });

  it("history returns at most 100 rows by default", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    const instants = Array.from({ length: 105 }, (_, i) => t + i);
    expect(await h.store.recordMissed(reg.jobId, reg.hash, instants)).toEqual(instants);
    const rows = await h.store.history();
    expect(rows).toHaveLength(100);
    expect(rows[0]?.scheduledAt).toBe(t + 104);
  });

  it("prune deletes only terminal rows older than the cutoff and pruned occurrences stay refused", async () => {
    const reg = job({ overlap: "queueOne" });
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    await h.store.recordMissed(reg.jobId, reg.hash, [t]);
    const done = await claimWon(h.store, request(reg, t + 1000));
    await h.store.finishRun(done.runId, done.token, { state: "failed", error: "x" }, 1);
    const active = await claimWon(h.store, request(reg, t + 2000));
    expect((await claimOne(h.store, request(reg, t + 3000))).status).toBe("queued");
    expect((await claimOne(h.store, request(reg, t + 4000))).status).toBe("skipped");
    expect(await h.store.recordMissed(reg.jobId, reg.hash, [t + 6000])).toEqual([t + 6000]);
    expect(await h.store.prune(t + 5000)).toBe(3);
    const left = await h.store.history({ jobId: reg.jobId });
    expect(left.map((r) => [r.scheduledAt, r.state])).toEqual([
      [t + 6000, "missed"],
      [t + 3000, "queued"],
      [t + 2000, "claimed"],
    ]);
    expect(await claimOne(h.store, request(reg, t + 1000))).toMatchObject({ status: "stale" });
    expect(await claimOne(h.store, request(reg, t))).toMatchObject({ status: "stale" });
    expect((await h.store.getJob(reg.jobId))?.watermark).toBe(t + 6000);
    expect(await h.store.prune(t + 5000)).toBe(0);
    expect(active.runId).toBe(left[2]?.runId);
  });

  it("touchReplica upserts the replica and listReplicas filters by last seen", async () => {
    const info = {
      replicaId: "replica-a",
      host: "host-a",
      pid: 42,
      startedAt: 1000,
      clockOffsetMs: 3,
    };
    const before = await h.store.now();
    await h.store.touchReplica(info);
    await h.store.touchReplica({ ...info, clockOffsetMs: -7 });
    await h.store.touchReplica({ ...info, replicaId: "replica-b", pid: 43, clockOffsetMs: 2.6 });
    const seen = (await h.store.listReplicas(before)).sort((x, y) => x.pid - y.pid);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({ ...info, clockOffsetMs: -7 });
    expect(seen[1]?.clockOffsetMs).toBe(3);
    expect(seen[0]?.lastSeenAt).toBeGreaterThanOrEqual(before);
    expect(seen[0]?.lastSeenAt).toBeLessThanOrEqual(await h.store.now());
    expect(await h.store.listReplicas((await h.store.now()) + 60_000)).toEqual([]);
  });

  it("addWarning persists warnings at store time and listWarnings returns newest first", async () => {
    // A store may add warnings of its own at init (risky settings): look at this test's kind.
    const kind = "conformance-test";
    const before = await h.store.now();
    for (const message of ["first", "second", "third"]) {
      await h.store.addWarning({ replicaId: "r1", kind, message });
    }
    const all = (await h.store.listWarnings()).filter((w) => w.kind === kind);
    expect(all.map((w) => w.message)).toEqual(["third", "second", "first"]);
    expect(all[0]).toMatchObject({ replicaId: "r1", kind });
    expect(all[0]?.at).toBeGreaterThanOrEqual(before);
    expect(all[0]?.at).toBeLessThanOrEqual(await h.store.now());
    expect((await h.store.listWarnings(2)).map((w) => w.message)).toEqual(["third", "second"]);
  });

  it("listWarnings(0) returns no warnings", async () => {
    await h.store.addWarning({ replicaId: "r1", kind: "conformance-test", message: "one" });
    expect(await h.store.listWarnings(0)).toEqual([]);
  });
}
