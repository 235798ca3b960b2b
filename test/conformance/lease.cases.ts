import { expect, it } from "vitest";
import type { ClaimedRun, Recovered } from "../../src/stores/store.js";
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

/** Invariant 5: a durable run record with a fenced lease, recovered by policy. */
export function leaseCases(h: Harness): void {
  it("startRun, heartbeat, finishRun and releaseRun refuse a wrong token", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const run = await claimWon(h.store, request(reg, await pastBase(h.store)));
    const bad = run.token + 1;
    expect(await h.store.startRun(run.runId, bad, 1)).toBe(false);
    expect(await h.store.heartbeat(run.runId, bad, 60_000)).toBe(false);
    expect(await h.store.releaseRun(run.runId, bad)).toBe(false);
    expect(await h.store.finishRun(run.runId, bad, { state: "failed" }, 1000)).toEqual({
      ok: false,
      next: null,
    });
    expect(await h.store.startRun("no-such-run", 1, 1)).toBe(false);
    expect(await runRow(h.store, reg.jobId, run.runId)).toMatchObject({ state: "claimed" });
  });

  it("startRun marks the run running and finishRun records the outcome and error", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const run = await claimWon(h.store, request(reg, await pastBase(h.store)));
    expect(await h.store.startRun(run.runId, run.token, run.attempt)).toBe(true);
    const running = await runRow(h.store, reg.jobId, run.runId);
    expect(running.state).toBe("running");
    expect(running.startedAt).not.toBeNull();
    const done = await h.store.finishRun(
      run.runId,
      run.token,
      { state: "failed", error: "boom" },
      1,
    );
    expect(done.ok).toBe(true);
    const row = await runRow(h.store, reg.jobId, run.runId);
    expect(row).toMatchObject({ state: "failed", error: "boom" });
    expect(row.finishedAt).not.toBeNull();
  });

  it("startRuns and finishRuns fence each item on its own: a stale token is refused, the others land", async () => {
    const regs = [job(), job(), job()];
    const base = await pastBase(h.store);
    const claimed = [];
    for (const reg of regs) {
      await h.store.registerJob(reg);
      claimed.push(await claimWon(h.store, request(reg, base)));
    }
    const [a, b, c] = claimed as [ClaimedRun, ClaimedRun, ClaimedRun];
    expect(
      await h.store.startRuns([
        { runId: a.runId, token: a.token, attempt: 1 },
        { runId: b.runId, token: b.token + 1, attempt: 1 },
        { runId: c.runId, token: c.token, attempt: 2 },
      ]),
    ).toEqual([true, false, true]);
    expect(await runRow(h.store, regs[0]!.jobId, a.runId)).toMatchObject({ state: "running" });
    expect(await runRow(h.store, regs[1]!.jobId, b.runId)).toMatchObject({ state: "claimed" });
    expect(await runRow(h.store, regs[2]!.jobId, c.runId)).toMatchObject({
      state: "running",
      attempt: 2,
    });
    const results = await h.store.finishRuns([
      { runId: c.runId, token: c.token, outcome: { state: "failed", error: "boom" }, leaseMs: 1 },
      { runId: b.runId, token: b.token + 1, outcome: { state: "succeeded" }, leaseMs: 1 },
      { runId: "no-such-run", token: 1, outcome: { state: "succeeded" }, leaseMs: 1 },
      { runId: a.runId, token: a.token, outcome: { state: "succeeded" }, leaseMs: 1 },
    ]);
    expect(results).toEqual([
      { ok: true, next: null },
      { ok: false, next: null },
      { ok: false, next: null },
      { ok: true, next: null },
    ]);
    expect(await runRow(h.store, regs[0]!.jobId, a.runId)).toMatchObject({ state: "succeeded" });
    expect(await runRow(h.store, regs[1]!.jobId, b.runId)).toMatchObject({ state: "claimed" });
    expect(await runRow(h.store, regs[2]!.jobId, c.runId)).toMatchObject({
      state: "failed",
      error: "boom",
    });
    expect(await h.store.startRuns([])).toEqual([]);
    expect(await h.store.finishRuns([])).toEqual([]);
  });

  it("a finished run refuses further writes with its own token", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const run = await claimWon(h.store, request(reg, await pastBase(h.store)));
    await h.store.finishRun(run.runId, run.token, { state: "succeeded" }, 1000);
    expect(await h.store.heartbeat(run.runId, run.token, 60_000)).toBe(false);
    expect((await h.store.finishRun(run.runId, run.token, { state: "failed" }, 1000)).ok).toBe(
      false,
    );
    expect(await runRow(h.store, reg.jobId, run.runId)).toMatchObject({ state: "succeeded" });
  });

  it("heartbeat extends leaseExpiresAt to store now + leaseMs", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const run = await claimWon(h.store, request(reg, await pastBase(h.store), { leaseMs: 1000 }));
    const before = await h.store.now();
    expect(await h.store.heartbeat(run.runId, run.token, 120_000)).toBe(true);
    const row = await runRow(h.store, reg.jobId, run.runId);
    expect(row.leaseExpiresAt).toBeGreaterThanOrEqual(before + 120_000);
    expect(row.leaseExpiresAt).toBeLessThanOrEqual((await h.store.now()) + 120_000);
  });

  it("releaseRun sets the lease to store now: the owner's later writes are refused and the run is recoverable at once", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    const run = await claimWon(
      h.store,
      request(reg, await pastBase(h.store), { leaseMs: 600_000 }),
    );
    expect(await h.store.recoverExpired("r2", 10_000, 10)).toEqual([]);
    const before = await h.store.now();
    expect(await h.store.releaseRun(run.runId, run.token)).toBe(true);
    const row = await runRow(h.store, reg.jobId, run.runId);
    expect(row.leaseExpiresAt).toBeGreaterThanOrEqual(before);
    expect(row.leaseExpiresAt).toBeLessThanOrEqual(await h.store.now());
    expect(await h.store.heartbeat(run.runId, run.token, 60_000)).toBe(false);
    expect(await h.store.releaseRun(run.runId, run.token)).toBe(false);
    const recovered = await h.store.recoverExpired("r2", 10_000, 10);
    expect(recovered.map((r) => (r.action === "abandoned" ? r.runId : r.run.runId))).toEqual([
      run.runId,
    ]);
  });

  it("an expired lease is lost: startRun, heartbeat, finishRun and releaseRun are refused before anyone recovered the run", async () => {
    const reg = job({ onAbandoned: "retry", maxAttempts: 2 });
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    const idle = await claimWon(h.store, request(reg, t, { leaseMs: 50 }));
    const busy = await claimWon(h.store, request(reg, t + 1000, { leaseMs: 50 }));
    expect(await h.store.startRun(busy.runId, busy.token, busy.attempt)).toBe(true);
    await waitPast(h.store, Math.max(idle.leaseExpiresAt, busy.leaseExpiresAt));
    expect(await h.store.startRun(idle.runId, idle.token, idle.attempt)).toBe(false);
    for (const run of [idle, busy]) {
      expect(await h.store.heartbeat(run.runId, run.token, 60_000)).toBe(false);
      expect(await h.store.releaseRun(run.runId, run.token)).toBe(false);
      const finished = await h.store.finishRun(run.runId, run.token, { state: "succeeded" }, 1);
      expect(finished).toEqual({ ok: false, next: null });
    }
    expect(await runRow(h.store, reg.jobId, idle.runId)).toMatchObject({
      state: "claimed",
      token: 1,
    });
    expect(await runRow(h.store, reg.jobId, busy.runId)).toMatchObject({
      state: "running",
      token: 1,
    });
    const recovered = await h.store.recoverExpired("r2", 30_000, 10);
    expect(recovered.map((r) => r.action)).toEqual(["retried", "retried"]);
    expect(await h.store.recoverExpired("r2", 30_000, 10)).toEqual([]);
  });

  it("recoverExpired under retry with attempts left: token + 1, attempt + 1, owned by the recoverer", async () => {
    const [a, b] = await h.replicas(2);
    const reg = job({ onAbandoned: "retry", maxAttempts: 2 });
    await a!.registerJob(reg);
    const run = await claimWon(a!, request(reg, await pastBase(a!), { leaseMs: 50 }));
    await a!.startRun(run.runId, run.token, run.attempt);
    await waitPast(b!, run.leaseExpiresAt);
    const recovered = await b!.recoverExpired("rb", 30_000, 10);
    expect(recovered).toHaveLength(1);
    const [entry] = recovered as [Recovered];
    expect(entry.action).toBe("retried");
    if (entry.action !== "retried") return;
    expect(entry.run).toMatchObject({ runId: run.runId, token: 2, attempt: 2 });
    expect(entry.run.scheduledAt).toBe(run.scheduledAt);
    const row = await runRow(a!, reg.jobId, run.runId);
    expect(row).toMatchObject({ state: "claimed", replicaId: "rb", token: 2, attempt: 2 });
    expect(await b!.recoverExpired("rb", 30_000, 10)).toEqual([]);
  });

  it("after recovery the old owner's writes are refused and the new owner's accepted", async () => {
    const reg = job({ onAbandoned: "retry", maxAttempts: 3 });
    await h.store.registerJob(reg);
    const old = await claimWon(h.store, request(reg, await pastBase(h.store), { leaseMs: 50 }));
    await waitPast(h.store, old.leaseExpiresAt);
    const [entry] = await h.store.recoverExpired("r2", 30_000, 10);
    if (entry?.action !== "retried") throw new Error("expected a retried run");
    expect(await h.store.startRun(old.runId, old.token, old.attempt)).toBe(false);
    expect(await h.store.heartbeat(old.runId, old.token, 60_000)).toBe(false);
    expect(await h.store.releaseRun(old.runId, old.token)).toBe(false);
    expect((await h.store.finishRun(old.runId, old.token, { state: "succeeded" }, 1)).ok).toBe(
      false,
    );
    const fresh = entry.run;
    expect(await h.store.startRun(fresh.runId, fresh.token, fresh.attempt)).toBe(true);
    expect(await h.store.heartbeat(fresh.runId, fresh.token, 60_000)).toBe(true);
    expect((await h.store.finishRun(fresh.runId, fresh.token, { state: "succeeded" }, 1)).ok).toBe(
      true,
    );
    expect(await runRow(h.store, reg.jobId, old.runId)).toMatchObject({ state: "succeeded" });
  });

  it("recoverExpired abandons under abandon, and under retry once attempts are used up", async () => {
    const abandon = job({ onAbandoned: "abandon", maxAttempts: 5 });
    const spent = job({ onAbandoned: "retry", maxAttempts: 1 });
    await h.store.registerJob(abandon);
    await h.store.registerJob(spent);
    const t = await pastBase(h.store);
    const a = await claimWon(h.store, request(abandon, t, { leaseMs: 50 }));
    const b = await claimWon(h.store, request(spent, t, { leaseMs: 50 }));
    await waitPast(h.store, Math.max(a.leaseExpiresAt, b.leaseExpiresAt));
    const recovered = await h.store.recoverExpired("r2", 30_000, 10);
    expect(recovered).toHaveLength(2);
    for (const run of [a, b]) {
      expect(recovered).toContainEqual({
        action: "abandoned",
        runId: run.runId,
        jobId: run.jobId,
        scheduledAt: t,
      });
      const row = await runRow(h.store, run.jobId, run.runId);
      expect(row.state).toBe("abandoned");
      expect(row.finishedAt).not.toBeNull();
      const late = await h.store.finishRun(run.runId, run.token, { state: "succeeded" }, 1);
      expect(late.ok).toBe(false);
    }
  });

  it("a retried run recovered again after its last attempt is abandoned", async () => {
    const reg = job({ onAbandoned: "retry", maxAttempts: 2 });
    await h.store.registerJob(reg);
    const run = await claimWon(h.store, request(reg, await pastBase(h.store), { leaseMs: 50 }));
    await waitPast(h.store, run.leaseExpiresAt);
    const [first] = await h.store.recoverExpired("r2", 50, 10);
    if (first?.action !== "retried") throw new Error("expected a retried run");
    await waitPast(h.store, first.run.leaseExpiresAt);
    const [second] = await h.store.recoverExpired("r3", 50, 10);
    expect(second).toMatchObject({ action: "abandoned", runId: run.runId });
  });

  it("recoverExpired returns at most limit runs per call", async () => {
    const reg = job({ onAbandoned: "abandon" });
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    const runs = await h.store.claim(
      [0, 1, 2, 3, 4].map((i) => request(reg, t + i * 1000, { leaseMs: 50 })),
    );
    const last = runs.map((r) => (r.status === "won" ? r.run.leaseExpiresAt : 0));
    await waitPast(h.store, Math.max(...last));
    expect(await h.store.recoverExpired("r2", 1000, 3)).toHaveLength(3);
    expect(await h.store.recoverExpired("r2", 1000, 3)).toHaveLength(2);
    expect(await h.store.recoverExpired("r2", 1000, 3)).toHaveLength(0);
  });

  it("a queued run whose blocker's lease expired is promoted by recovery", async () => {
    const reg = job({ overlap: "queueOne", onAbandoned: "abandon" });
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    const blocker = await claimWon(h.store, request(reg, t, { leaseMs: 50 }));
    const queued = await claimOne(h.store, request(reg, t + 1000));
    if (queued.status !== "queued") throw new Error(`expected queued, got ${queued.status}`);
    await waitPast(h.store, blocker.leaseExpiresAt);
    const recovered = [
      ...(await h.store.recoverExpired("r2", 30_000, 10)),
      ...(await h.store.recoverExpired("r2", 30_000, 10)),
    ];
    expect(recovered).toHaveLength(2);
    expect(recovered).toContainEqual({
      action: "abandoned",
      runId: blocker.runId,
      jobId: reg.jobId,
      scheduledAt: t,
    });
    const promoted = recovered.find((r) => r.action === "promoted");
    expect(promoted?.action === "promoted" && promoted.run).toMatchObject({
      runId: queued.runId,
      scheduledAt: t + 1000,
      token: 1,
      attempt: 1,
    });
    expect(await runRow(h.store, reg.jobId, queued.runId)).toMatchObject({
      state: "claimed",
      replicaId: "r2",
    });
  });
}
