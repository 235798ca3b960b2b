import { expect, it } from "vitest";
import { claimOne, claimWon, job, pastBase, request, type Harness } from "./harness.js";

/** Invariant 9: registration is idempotent, versioned by hash and keeps the series. */
export function registrationCases(h: Harness): void {
  it("registerJob creates a job at version 1 with no watermark, unpaused", async () => {
    const reg = job({ maxRuns: 5, overlap: "queueOne", onAbandoned: "abandon", anchor: 1234 });
    const result = await h.store.registerJob(reg);
    expect(result.outcome).toBe("created");
    expect(result.previousHash).toBeNull();
    expect(result.job).toMatchObject({ ...reg, watermark: null, paused: false, runCount: 0 });
    expect(result.job.version).toBe(1);
    expect(await h.store.getJob(reg.jobId)).toEqual(result.job);
  });

  it("registerJob with the same hash is unchanged and keeps the version", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const again = await h.store.registerJob(reg);
    expect(again.outcome).toBe("unchanged");
    expect(again.previousHash).toBe(reg.hash);
    expect(again.job.version).toBe(1);
    expect(again.job.hash).toBe(reg.hash);
  });

  it("registerJob with a new hash updates the definition, bumps the version, keeps watermark and runCount", async () => {
    const reg = job({ maxAttempts: 2 });
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    await claimWon(h.store, request(reg, t));
    const changed = { ...reg, hash: "hash-2", definition: '{"v":2}', overlap: "skip" as const };
    const result = await h.store.registerJob(changed);
    expect(result.outcome).toBe("updated");
    expect(result.previousHash).toBe("hash-1");
    expect(result.job).toMatchObject({ ...changed, watermark: t, runCount: 1, version: 2 });
    expect(await h.store.getJob(reg.jobId)).toMatchObject({ hash: "hash-2", version: 2 });
  });

  it("a changed definition never starts a second series: the claimed occurrence stays lost", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    await claimWon(h.store, request(reg, t));
    const changed = { ...reg, hash: "hash-2" };
    await h.store.registerJob(changed);
    expect(await claimOne(h.store, request(changed, t))).toEqual({ status: "lost", watermark: t });
    expect(await claimOne(h.store, request(reg, t + 1000))).toEqual({
      status: "definitionChanged",
      hash: "hash-2",
    });
    await claimWon(h.store, request(changed, t + 1000));
  });

  it("registering the old hash again (a rollback) is another update, version 3", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    await h.store.registerJob({ ...reg, hash: "hash-2" });
    const back = await h.store.registerJob(reg);
    expect(back.outcome).toBe("updated");
    expect(back.previousHash).toBe("hash-2");
    expect(back.job.version).toBe(3);
  });

  it("a paused job stays paused when its definition changes", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    expect(await h.store.setPaused(reg.jobId, true)).toBe(true);
    const result = await h.store.registerJob({ ...reg, hash: "hash-2" });
    expect(result.job.paused).toBe(true);
  });

  it("N concurrent identical registrations converge: exactly one created, the rest unchanged", async () => {
    const stores = await h.replicas(h.instanceCount);
    const reg = job();
    const results = await Promise.all(
      [...stores, ...stores].map((store) => store.registerJob(reg)),
    );
    const outcomes = results.map((r) => r.outcome).sort();
    expect(outcomes.filter((o) => o === "created")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "unchanged")).toHaveLength(results.length - 1);
    expect(new Set(results.map((r) => r.job.version))).toEqual(new Set([1]));
    expect((await h.store.listJobs()).jobs).toHaveLength(1);
  });

  it("concurrent registrations of two definitions converge on one stored hash", async () => {
    const stores = await h.replicas(h.instanceCount);
    const reg = job();
    const results = await Promise.all(
      stores.map((store, i) => store.registerJob({ ...reg, hash: `hash-${i % 2}` })),
    );
    expect(results.filter((r) => r.outcome === "created")).toHaveLength(1);
    const stored = await h.store.getJob(reg.jobId);
    expect(["hash-0", "hash-1"]).toContain(stored?.hash);
    const versions = results.filter((r) => r.outcome !== "unchanged").length;
    expect(stored?.version).toBe(versions);
  });

  it("getJob returns null and setPaused false for an unknown job", async () => {
    expect(await h.store.getJob("nope")).toBeNull();
    expect(await h.store.setPaused("nope", true)).toBe(false);
  });

  it("listJobs lists every registered job of this store", async () => {
    const a = job();
    const b = job();
    await h.store.registerJob(a);
    await h.store.registerJob(b);
    const ids = (await h.store.listJobs()).jobs.map((j) => j.jobId).sort();
    expect(ids).toEqual([a.jobId, b.jobId].sort());
  });

  it("setPaused pauses and resumes a job for every replica", async () => {
    const [a, b] = await h.replicas(2);
    const reg = job();
    await a!.registerJob(reg);
    expect(await a!.setPaused(reg.jobId, true)).toBe(true);
    expect((await b!.getJob(reg.jobId))?.paused).toBe(true);
    const t = await pastBase(a!);
    expect(await claimOne(b!, request(reg, t))).toMatchObject({ status: "paused" });
    expect(await b!.setPaused(reg.jobId, false)).toBe(true);
    await claimWon(a!, request(reg, t + 1000));
  });

  it("registerJobs answers created, unchanged and updated in request order, keeping the series", async () => {
    const [same, changed] = [job(), job({ maxAttempts: 2 })];
    await h.store.registerJobs([same, changed]);
    const t = await pastBase(h.store);
    await claimWon(h.store, request(changed, t));
    const fresh = job({ maxRuns: 7 });
    const update = { ...changed, hash: "hash-2", definition: '{"v":2}', overlap: "skip" as const };
    const results = await h.store.registerJobs([update, fresh, same]);
    expect(results.map((r) => [r.job.jobId, r.outcome, r.previousHash])).toEqual([
      [changed.jobId, "updated", "hash-1"],
      [fresh.jobId, "created", null],
      [same.jobId, "unchanged", "hash-1"],
    ]);
    expect(results[0]?.job).toMatchObject({ ...update, watermark: t, runCount: 1, version: 2 });
    expect(results[1]?.job).toMatchObject({ ...fresh, watermark: null, runCount: 0, version: 1 });
    expect(results[2]?.job).toMatchObject({ ...same, version: 1 });
    for (const result of results) {
      expect(await h.store.getJob(result.job.jobId)).toEqual(result.job);
    }
    expect(await h.store.registerJobs([])).toEqual([]);
  });

  it("registerJobs with a job named twice applies both in order, as one call each would", async () => {
    const reg = job();
    const results = await h.store.registerJobs([reg, reg, { ...reg, hash: "hash-2" }]);
    expect(results.map((r) => [r.outcome, r.previousHash, r.job.version])).toEqual([
      ["created", null, 1],
      ["unchanged", "hash-1", 1],
      ["updated", "hash-1", 2],
    ]);
  });

  it("registerJobs registers batches larger than one round trip's chunk", async () => {
    const regs = Array.from({ length: 1100 }, () => job());
    const results = await h.store.registerJobs(regs);
    expect(results.map((r) => r.job.jobId)).toEqual(regs.map((r) => r.jobId));
    expect(new Set(results.map((r) => r.outcome))).toEqual(new Set(["created"]));
    const again = await h.store.registerJobs(regs);
    expect(new Set(again.map((r) => r.outcome))).toEqual(new Set(["unchanged"]));
    expect((await h.store.listJobs()).jobs).toHaveLength(regs.length);
  });

  it("racing registerJobs batches from several replicas converge: each job created once, version 1", async () => {
    const stores = await h.replicas(h.instanceCount);
    const regs = Array.from({ length: 40 }, () => job());
    const batches = await Promise.all(
      stores.map((store, i) => store.registerJobs(i % 2 === 0 ? regs : [...regs].reverse())),
    );
    regs.forEach((reg) => {
      const outcomes = batches.map((b) => b.find((r) => r.job.jobId === reg.jobId)?.outcome);
      expect(outcomes.filter((o) => o === "created")).toHaveLength(1);
      expect(outcomes.filter((o) => o === "unchanged")).toHaveLength(stores.length - 1);
    });
    expect(new Set(batches.flat().map((r) => r.job.version))).toEqual(new Set([1]));
    expect((await h.store.listJobs()).jobs).toHaveLength(regs.length);
  });

  it("racing registerJobs batches of two definitions converge on one stored hash per job", async () => {
    const stores = await h.replicas(h.instanceCount);
    const regs = Array.from({ length: 20 }, () => job());
    const batches = await Promise.all(
      stores.map((store, i) =>
        store.registerJobs(regs.map((r) => ({ ...r, hash: `hash-${i % 2}` }))),
      ),
    );
    for (const [index, reg] of regs.entries()) {
      const results = batches.map((b) => b[index]);
      expect(results.filter((r) => r?.outcome === "created")).toHaveLength(1);
      const stored = await h.store.getJob(reg.jobId);
      expect(["hash-0", "hash-1"]).toContain(stored?.hash);
      expect(stored?.version).toBe(results.filter((r) => r?.outcome !== "unchanged").length);
      for (const r of results)
        if (r?.outcome === "updated") expect(r.previousHash).not.toBe(r.job.hash);
    }
  });
}
