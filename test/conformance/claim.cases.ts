import { expect, it } from "vitest";
import {
  claimOne,
  claimWon,
  job,
  pastBase,
  request,
  runRow,
  won,
  type Harness,
} from "./harness.js";

/** Invariants 2–4 and 8: one claim per occurrence, store clock, watermark, missed rows. */
export function claimCases(h: Harness): void {
  it("claim of a due occurrence wins with token 1, attempt 1 and a lease in store time", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    const run = await claimWon(h.store, request(reg, t, { replicaId: "r7", leaseMs: 45_000 }));
    expect(run).toMatchObject({ jobId: reg.jobId, scheduledAt: t, trigger: "schedule" });
    expect(run).toMatchObject({ attempt: 1, token: 1 });
    const row = await runRow(h.store, reg.jobId, run.runId);
    expect(row).toMatchObject({ state: "claimed", replicaId: "r7", attempt: 1, token: 1 });
    expect(row.claimedAt).not.toBeNull();
    expect(row.leaseExpiresAt).toBe(run.leaseExpiresAt);
    expect(run.leaseExpiresAt - (row.claimedAt ?? 0)).toBe(45_000);
    const job2 = await h.store.getJob(reg.jobId);
    expect(job2).toMatchObject({ watermark: t, runCount: 1 });
  });

  it("a second claim of the same occurrence is lost", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    await claimWon(h.store, request(reg, t));
    expect(await claimOne(h.store, request(reg, t, { replicaId: "r2" }))).toEqual({
      status: "lost",
      watermark: t,
    });
    expect(await h.store.history({ jobId: reg.jobId })).toHaveLength(1);
  });

  it("a claim below the watermark is stale", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    await claimWon(h.store, request(reg, t + 5000));
    expect(await claimOne(h.store, request(reg, t))).toEqual({
      status: "stale",
      watermark: t + 5000,
    });
  });

  it("a claim not yet due by the store clock is notDue with a positive retryAfterMs", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const now = await h.store.now();
    const result = await claimOne(h.store, request(reg, now + 60_000, { missed: [now - 5000] }));
    expect(result.status).toBe("notDue");
    if (result.status !== "notDue") return;
    expect(result.retryAfterMs).toBeGreaterThan(0);
    expect(result.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await h.store.getJob(reg.jobId)).toMatchObject({ watermark: null, runCount: 0 });
    expect(await h.store.history({ jobId: reg.jobId })).toEqual([]);
  });

  it("toleranceMs accepts an occurrence that far ahead of store now", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const now = await h.store.now();
    await claimWon(h.store, request(reg, now + 60_000, { toleranceMs: 120_000 }));
  });

  it("a paused job's due occurrence is recorded skipped (paused) with its missed list and moves the watermark", async () => {
    const [a, b] = await h.replicas(2);
    const reg = job();
    await a!.registerJob(reg);
    await a!.setPaused(reg.jobId, true);
    const t = await pastBase(a!);
    const claim = request(reg, t, { replicaId: "r1", missed: [t - 2000, t - 1000] });
    const result = await claimOne(a!, claim);
    expect(result).toEqual({
      status: "paused",
      runId: expect.any(String),
      recordedMissed: [t - 2000, t - 1000],
    });
    if (result.status !== "paused") throw new Error("unreachable");
    expect(await runRow(a!, reg.jobId, result.runId)).toMatchObject({
      scheduledAt: t,
      trigger: "schedule",
      state: "skipped",
      token: 0,
      replicaId: "r1",
      error: "paused",
      leaseExpiresAt: null,
    });
    expect(await a!.getJob(reg.jobId)).toMatchObject({ watermark: t, runCount: 0, paused: true });
    // Another replica claiming the same instant finds it decided and writes nothing.
    expect(await claimOne(b!, request(reg, t, { replicaId: "r2" }))).toEqual({
      status: "lost",
      watermark: t,
    });
    expect(await claimOne(b!, request(reg, t - 500, { replicaId: "r2" }))).toEqual({
      status: "stale",
      watermark: t,
    });
    const rows = await a!.history({ jobId: reg.jobId });
    expect(rows.map((r) => [r.scheduledAt, r.state])).toEqual([
      [t, "skipped"],
      [t - 1000, "missed"],
      [t - 2000, "missed"],
    ]);
    // After resume the next occurrence is claimed as usual.
    expect(await b!.setPaused(reg.jobId, false)).toBe(true);
    await claimWon(b!, request(reg, t + 1000));
    expect(await a!.getJob(reg.jobId)).toMatchObject({ watermark: t + 1000, runCount: 1 });
  });

  it("a paused job's occurrence not yet due is notDue and writes nothing", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    await h.store.setPaused(reg.jobId, true);
    const now = await h.store.now();
    const result = await claimOne(h.store, request(reg, now + 60_000));
    expect(result.status).toBe("notDue");
    expect(await h.store.getJob(reg.jobId)).toMatchObject({ watermark: null, runCount: 0 });
    expect(await h.store.history({ jobId: reg.jobId })).toEqual([]);
  });

  it("a batch of a paused job's occurrences records one skipped row each, in request order", async () => {
    const reg = job({ overlap: "skip" });
    const other = job();
    for (const r of [reg, other]) await h.store.registerJob(r);
    await h.store.setPaused(reg.jobId, true);
    const t = await pastBase(h.store);
    const results = await h.store.claim([
      request(reg, t),
      request(other, t),
      request(reg, t + 1000),
      request(reg, t + 1000),
    ]);
    expect(results.map((r) => r.status)).toEqual(["paused", "won", "paused", "lost"]);
    const rows = await h.store.history({ jobId: reg.jobId });
    expect(rows.map((r) => [r.scheduledAt, r.state, r.error])).toEqual([
      [t + 1000, "skipped", "paused"],
      [t, "skipped", "paused"],
    ]);
    expect(await h.store.getJob(reg.jobId)).toMatchObject({ watermark: t + 1000, runCount: 0 });
  });

  it("a hash mismatch refuses with definitionChanged and the stored hash", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    expect(await claimOne(h.store, request(reg, t, { hash: "other" }))).toEqual({
      status: "definitionChanged",
      hash: reg.hash,
    });
  });

  it("a claim for an unknown job is unknownJob", async () => {
    const t = await pastBase(h.store);
    expect(await claimOne(h.store, request(job(), t))).toEqual({ status: "unknownJob" });
  });

  it("maxRuns refuses further scheduled claims with exhausted", async () => {
    const reg = job({ maxRuns: 2 });
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    await claimWon(h.store, request(reg, t));
    await claimWon(h.store, request(reg, t + 1000));
    expect(await claimOne(h.store, request(reg, t + 2000))).toEqual({ status: "exhausted" });
    expect(await h.store.getJob(reg.jobId)).toMatchObject({ runCount: 2, watermark: t + 1000 });
  });

  it("missed instants are recorded only above the old watermark and below scheduledAt", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    await claimWon(h.store, request(reg, t + 3000, { missed: [t, t + 1000, t + 2000, t + 1000] }));
    const missed = [t + 2000, t + 3000, t + 4000, t + 6000, t + 7000, t + 8000, t + 9000];
    await claimWon(h.store, request(reg, t + 7000, { missed }));
    const rows = await h.store.history({ jobId: reg.jobId, states: ["missed"] });
    expect(rows.map((r) => r.scheduledAt)).toEqual([t + 6000, t + 4000, t + 2000, t + 1000, t]);
    for (const row of rows) {
      expect(row).toMatchObject({ trigger: "schedule", replicaId: null, token: 0 });
    }
    expect((await h.store.getJob(reg.jobId))?.watermark).toBe(t + 7000);
  });

  it("a claim whose lateAfter is past in store time is recorded missed and moves the watermark", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    const late = request(reg, t + 3000, { lateAfter: t + 4000, missed: [t, t + 1000] });
    const result = await claimOne(h.store, late);
    expect(result).toEqual({
      status: "missed",
      runId: expect.any(String),
      recordedMissed: [t, t + 1000, t + 3000],
    });
    if (result.status !== "missed") return;
    const row = await runRow(h.store, reg.jobId, result.runId);
    expect(row).toMatchObject({ scheduledAt: t + 3000, state: "missed", token: 0 });
    expect(row).toMatchObject({ trigger: "schedule", replicaId: null, leaseExpiresAt: null });
    const rows = await h.store.history({ jobId: reg.jobId });
    expect(rows.map((r) => [r.scheduledAt, r.state])).toEqual([
      [t + 3000, "missed"],
      [t + 1000, "missed"],
      [t, "missed"],
    ]);
    expect(await h.store.getJob(reg.jobId)).toMatchObject({ watermark: t + 3000, runCount: 0 });
    expect(await claimOne(h.store, request(reg, t + 3000, { replicaId: "r2" }))).toEqual({
      status: "lost",
      watermark: t + 3000,
    });
    expect(await claimOne(h.store, request(reg, t + 2000))).toEqual({
      status: "stale",
      watermark: t + 3000,
    });
  });

  it("a late claim leaves the other requests of its batch alone", async () => {
    const [a, b] = [job(), job()];
    for (const reg of [a, b]) await h.store.registerJob(reg!);
    const t = await pastBase(h.store);
    const now = await h.store.now();
    const results = await h.store.claim([
      request(a!, t, { lateAfter: t + 1000 }),
      request(b!, t, { missed: [t - 1000] }),
      request(a!, t + 1000, { lateAfter: now + 3_600_000 }),
    ]);
    expect(results.map((r) => r.status)).toEqual(["missed", "won", "won"]);
    expect(results.map((r) => ("recordedMissed" in r ? r.recordedMissed : null))).toEqual([
      [t],
      [t - 1000],
      [],
    ]);
    expect(await h.store.getJob(a!.jobId)).toMatchObject({ watermark: t + 1000, runCount: 1 });
    expect(await h.store.getJob(b!.jobId)).toMatchObject({ watermark: t, runCount: 1 });
    const states = (await h.store.history({ jobId: a!.jobId })).map((r) => r.state);
    expect(states).toEqual(["claimed", "missed"]);
  });

  it("recordedMissed names only what the step recorded when a peer moved the watermark", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    await claimWon(h.store, request(reg, t + 2000, { replicaId: "peer" }));
    const missed = [t, t + 1000, t + 2000, t + 3000];
    const first = await claimOne(h.store, request(reg, t + 4000, { missed }));
    expect(first).toMatchObject({ status: "won", recordedMissed: [t + 3000] });
    await claimWon(h.store, request(reg, t + 6000, { replicaId: "peer" }));
    const later = [t + 5000, t + 6000, t + 7000, t + 8000];
    const late = request(reg, t + 9000, { missed: later, lateAfter: t + 9000 });
    expect(await claimOne(h.store, late)).toMatchObject({
      status: "missed",
      recordedMissed: [t + 7000, t + 8000, t + 9000],
    });
    const rows = await h.store.history({ jobId: reg.jobId, states: ["missed"] });
    expect(rows.map((r) => r.scheduledAt)).toEqual([t + 9000, t + 8000, t + 7000, t + 3000]);
  });

  it("a late claim is refused as lost, stale or exhausted first, recorded paused, and missed before overlap", async () => {
    const reg = job({ overlap: "skip" });
    const once = job({ maxRuns: 1 });
    for (const r of [reg, once]) await h.store.registerJob(r);
    const t = await pastBase(h.store);
    const lateAt = (r: typeof reg, at: number) => request(r, at, { lateAfter: at });
    await claimWon(h.store, request(reg, t + 1000));
    expect(await claimOne(h.store, lateAt(reg, t + 1000))).toMatchObject({ status: "lost" });
    expect(await claimOne(h.store, lateAt(reg, t))).toMatchObject({ status: "stale" });
    // The run at t + 1000 is active under overlap `skip`: late is decided before overlap.
    expect(await claimOne(h.store, lateAt(reg, t + 2000))).toMatchObject({ status: "missed" });
    // A paused job's late occurrence is recorded for the pause (skipped), not as missed.
    await h.store.setPaused(reg.jobId, true);
    expect(await claimOne(h.store, lateAt(reg, t + 3000))).toMatchObject({
      status: "paused",
      recordedMissed: [],
    });
    expect((await h.store.getJob(reg.jobId))?.watermark).toBe(t + 3000);
    await claimWon(h.store, request(once, t));
    expect(await claimOne(h.store, lateAt(once, t + 1000))).toEqual({ status: "exhausted" });
    expect((await h.store.getJob(once.jobId))?.watermark).toBe(t);
  });

  it("claims for several jobs in one batch return results in request order", async () => {
    const [a, b, c] = [job(), job({ maxRuns: 0 }), job()];
    for (const reg of [a, b, c]) await h.store.registerJob(reg!);
    const t = await pastBase(h.store);
    const now = await h.store.now();
    const results = await h.store.claim([
      request(a!, t),
      request(job(), t),
      request(b!, t),
      request(c!, now + 60_000),
      request(c!, t),
      request(a!, t),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      "won",
      "unknownJob",
      "exhausted",
      "notDue",
      "won",
      "lost",
    ]);
    expect(won(results[0]).jobId).toBe(a!.jobId);
    expect(won(results[4]).jobId).toBe(c!.jobId);
  });

  it("claims of one job in one batch apply in request order (later then earlier is stale)", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    const results = await h.store.claim([
      request(reg, t),
      request(reg, t + 2000),
      request(reg, t + 1000),
    ]);
    expect(results.map((r) => r.status)).toEqual(["won", "won", "stale"]);
  });

  it("an empty batch returns no results", async () => {
    expect(await h.store.claim([])).toEqual([]);
  });
}
