import { expect, it } from "vitest";
import type { JobRegistration } from "../../src/stores/store.js";
import {
  claimOne,
  claimWon,
  job,
  pastBase,
  request,
  runRow,
  waitPast,
  type Harness,
} from "./harness.js";

/** Invariant 7: the overlap policy holds across replicas. */
export function overlapCases(h: Harness): void {
  it("overlap allow: a second occurrence is won while the first is active", async () => {
    const reg = job({ overlap: "allow" });
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    await claimWon(h.store, request(reg, t));
    await claimWon(h.store, request(reg, t + 1000));
  });

  it("overlap skip: an occurrence during an active run is recorded skipped and advances the watermark", async () => {
    const [a, b] = await h.replicas(2);
    const reg = job({ overlap: "skip" });
    await a!.registerJob(reg);
    const t = await pastBase(a!);
    const first = await claimWon(a!, request(reg, t));
    const result = await claimOne(b!, request(reg, t + 1000, { replicaId: "r2" }));
    expect(result.status).toBe("skipped");
    if (result.status !== "skipped") return;
    expect(await runRow(a!, reg.jobId, result.runId)).toMatchObject({
      state: "skipped",
      scheduledAt: t + 1000,
    });
    expect(await a!.getJob(reg.jobId)).toMatchObject({ watermark: t + 1000, runCount: 1 });
    expect(await claimOne(a!, request(reg, t + 1000))).toMatchObject({ status: "lost" });
    expect((await a!.finishRun(first.runId, first.token, { state: "succeeded" }, 1000)).ok).toBe(
      true,
    );
    await claimWon(b!, request(reg, t + 2000));
  });

  it("overlap queueOne: first waiting occurrence is queued, a second one skipped", async () => {
    const reg = job({ overlap: "queueOne" });
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    await claimWon(h.store, request(reg, t));
    const queued = await claimOne(h.store, request(reg, t + 1000));
    expect(queued.status).toBe("queued");
    if (queued.status !== "queued") return;
    expect(await runRow(h.store, reg.jobId, queued.runId)).toMatchObject({
      state: "queued",
      token: 0,
    });
    const skipped = await claimOne(h.store, request(reg, t + 2000));
    expect(skipped.status).toBe("skipped");
    if (skipped.status !== "skipped") return;
    expect(await runRow(h.store, reg.jobId, skipped.runId)).toMatchObject({ token: 0 });
    expect((await h.store.getJob(reg.jobId))?.watermark).toBe(t + 2000);
  });

  it("finishRun of the active run hands the queued run over, claimed with token 1", async () => {
    const [a, b] = await h.replicas(2);
    const reg = job({ overlap: "queueOne" });
    await a!.registerJob(reg);
    const t = await pastBase(a!);
    const first = await claimWon(a!, request(reg, t, { replicaId: "ra" }));
    const queued = await claimOne(b!, request(reg, t + 1000, { replicaId: "rb" }));
    if (queued.status !== "queued") throw new Error(`expected queued, got ${queued.status}`);
    const finished = await a!.finishRun(first.runId, first.token, { state: "succeeded" }, 20_000);
    expect(finished.ok).toBe(true);
    expect(finished.next).toMatchObject({
      runId: queued.runId,
      jobId: reg.jobId,
      scheduledAt: t + 1000,
      trigger: "schedule",
      token: 1,
      attempt: 1,
    });
    const row = await runRow(a!, reg.jobId, queued.runId);
    expect(row).toMatchObject({ state: "claimed", replicaId: "ra", token: 1 });
    expect(row.leaseExpiresAt).toBe(finished.next?.leaseExpiresAt);
    expect((row.leaseExpiresAt ?? 0) - (row.claimedAt ?? 0)).toBe(20_000);
    const next = finished.next!;
    expect(await a!.startRun(next.runId, next.token, next.attempt)).toBe(true);
    expect((await b!.finishRun(next.runId, next.token, { state: "failed" }, 1000)).next).toBe(null);
  });

  it("finishRuns hands each job's queued run to that job's finished item", async () => {
    const [a, b] = await h.replicas(2);
    const queuing = job({ overlap: "queueOne" });
    const plain = job();
    await a!.registerJobs([queuing, plain]);
    const t = await pastBase(a!);
    const first = await claimWon(a!, request(queuing, t, { replicaId: "ra" }));
    const other = await claimWon(a!, request(plain, t, { replicaId: "ra" }));
    const queued = await claimOne(b!, request(queuing, t + 1000, { replicaId: "rb" }));
    if (queued.status !== "queued") throw new Error(`expected queued, got ${queued.status}`);
    const [plainDone, queuingDone] = await a!.finishRuns([
      { runId: other.runId, token: other.token, outcome: { state: "succeeded" }, leaseMs: 1000 },
      { runId: first.runId, token: first.token, outcome: { state: "succeeded" }, leaseMs: 20_000 },
    ]);
    expect(plainDone).toEqual({ ok: true, next: null });
    expect(queuingDone?.ok).toBe(true);
    expect(queuingDone?.next).toMatchObject({ runId: queued.runId, token: 1, attempt: 1 });
    expect(await runRow(a!, queuing.jobId, queued.runId)).toMatchObject({
      state: "claimed",
      replicaId: "ra",
      token: 1,
    });
  });

  it("finishRun without a queued run returns next null", async () => {
    const reg = job({ overlap: "queueOne" });
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    const run = await claimWon(h.store, request(reg, t));
    expect(await h.store.finishRun(run.runId, run.token, { state: "succeeded" }, 1000)).toEqual({
      ok: true,
      next: null,
    });
  });

  it("overlap ignores an active run whose lease expired", async () => {
    for (const overlap of ["skip", "queueOne"] as const) {
      const reg = job({ overlap });
      await h.store.registerJob(reg);
      const t = await pastBase(h.store);
      const first = await claimWon(h.store, request(reg, t, { leaseMs: 50 }));
      await waitPast(h.store, first.leaseExpiresAt);
      await claimWon(h.store, request(reg, t + 1000));
    }
  });

  it("skipped occurrences do not count toward maxRuns, queued ones do", async () => {
    const reg = job({ overlap: "queueOne", maxRuns: 2 });
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    await claimWon(h.store, request(reg, t));
    expect((await claimOne(h.store, request(reg, t + 1000))).status).toBe("queued");
    expect((await h.store.getJob(reg.jobId))?.runCount).toBe(2);
    expect(await claimOne(h.store, request(reg, t + 2000))).toEqual({ status: "exhausted" });
  });

  /** Registers `reg`, claims at t with a 50 ms lease, waits past it, then claims t + 1 s. */
  async function expiredThenClaimed(reg: JobRegistration, secondLeaseMs = 30_000) {
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    const first = await claimWon(h.store, request(reg, t, { leaseMs: 50 }));
    await waitPast(h.store, first.leaseExpiresAt);
    const second = await claimWon(h.store, request(reg, t + 1000, { leaseMs: secondLeaseMs }));
    return { t, first, second };
  }

  /** The runs of the job that are claimed or running. */
  async function activeRunIds(jobId: string): Promise<string[]> {
    const rows = await h.store.history({ jobId, states: ["claimed", "running"] });
    return rows.map((r) => r.runId);
  }

  it("recovery does not retry an expired run while another run of a skip or queueOne job is active: it is abandoned as superseded", async () => {
    for (const overlap of ["skip", "queueOne"] as const) {
      const reg = job({ overlap, onAbandoned: "retry", maxAttempts: 3 });
      const { t, first, second } = await expiredThenClaimed(reg);
      const recovered = await h.store.recoverExpired("r2", 30_000, 10);
      expect(recovered).toEqual([
        { action: "abandoned", runId: first.runId, jobId: reg.jobId, scheduledAt: t },
      ]);
      const row = await runRow(h.store, reg.jobId, first.runId);
      expect(row).toMatchObject({ state: "abandoned", token: 2, attempt: 1 });
      expect(row.error).toContain("superseded");
      expect(await activeRunIds(reg.jobId)).toEqual([second.runId]);
    }
  });

  it("recovery of two expired runs of a skip job retries the older one and supersedes the other", async () => {
    const reg = job({ overlap: "skip", onAbandoned: "retry", maxAttempts: 3 });
    const { t, first, second } = await expiredThenClaimed(reg, 50);
    await waitPast(h.store, second.leaseExpiresAt);
    const recovered = await h.store.recoverExpired("r2", 30_000, 10);
    expect(recovered).toHaveLength(2);
    expect(recovered).toContainEqual({
      action: "abandoned",
      runId: second.runId,
      jobId: reg.jobId,
      scheduledAt: t + 1000,
    });
    const retried = recovered.find((r) => r.action === "retried");
    expect(retried?.action === "retried" && retried.run).toMatchObject({
      runId: first.runId,
      attempt: 2,
    });
    expect((await runRow(h.store, reg.jobId, second.runId)).error).toContain("superseded");
    expect(await activeRunIds(reg.jobId)).toEqual([first.runId]);
  });

  it("under overlap allow, recovery retries an expired run while another run is active", async () => {
    const reg = job({ overlap: "allow", onAbandoned: "retry", maxAttempts: 3 });
    const { first } = await expiredThenClaimed(reg);
    const [entry] = await h.store.recoverExpired("r2", 30_000, 10);
    expect(entry?.action === "retried" && entry.run).toMatchObject({
      runId: first.runId,
      attempt: 2,
      token: 2,
    });
  });
}
