import { expect, it } from "vitest";
import type { ClaimResult, JobRegistration, Recovered, Store } from "../../src/stores/store.js";
import { claimWon, job, pastBase, request, waitPast, type Harness } from "./harness.js";

/** Racing replicas: each occurrence is won exactly once, each expired run recovered once. */
export function concurrencyCases(h: Harness): void {
  const timeout = h.heavy ? 900_000 : 60_000;

  it("20 concurrent claims of one occurrence from several replicas: exactly one wins", async () => {
    const stores = await h.replicas(h.instanceCount);
    const reg = job();
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    for (let k = 0; k < 10; k++) {
      const claims = Array.from({ length: 20 }, (_, i) =>
        pick(stores, i).claim([request(reg, t + k * 1000, { replicaId: `r${i}` })]),
      );
      const statuses = (await Promise.all(claims)).map((r) => r[0]?.status);
      expect(statuses.filter((s) => s === "won")).toHaveLength(1);
      expect(statuses.filter((s) => s === "lost")).toHaveLength(19);
    }
  });

  it("racing claims of successive occurrences of a skip job never leave two active runs", async () => {
    const stores = await h.replicas(h.instanceCount);
    const reg = job({ overlap: "skip" });
    await h.store.registerJob(reg);
    const t = await pastBase(h.store);
    for (let round = 0; round < 30; round++) {
      const base = t + round * 100_000;
      const results: ClaimResult[] = (
        await Promise.all(
          stores.map((s, i) => s.claim([request(reg, base + i * 1000, { replicaId: `r${i}` })])),
        )
      ).flat();
      const won = results.filter((r) => r.status === "won");
      expect(won.length, results.map((r) => r.status).join(",")).toBe(1);
      const active = await h.store.history({ jobId: reg.jobId, states: ["claimed"] });
      expect(active).toHaveLength(1);
      const run = won[0]?.status === "won" ? won[0].run : null;
      await h.store.finishRun(run!.runId, run!.token, { state: "succeeded" }, 1000);
    }
  });

  it(
    "racing batched claims over many occurrences and two jobs: each occurrence won exactly once",
    async () => {
      const occurrences = h.heavy ? 3000 : 200;
      const stores = await h.replicas(h.instanceCount);
      const jobs = [job(), job({ overlap: "skip" })];
      for (const reg of jobs) await h.store.registerJob(reg);
      const t = (await h.store.now()) - occurrences * 1000 - 60_000;
      for (let k = 0; k < occurrences; k++) {
        const at = t + k * 1000;
        const batches = stores.map((store, i) => {
          const ordered = i % 2 === 0 ? jobs : [...jobs].reverse();
          return store.claim(ordered.map((reg) => request(reg, at, { replicaId: `r${i}` })));
        });
        const results = await Promise.all(batches);
        for (const reg of jobs) {
          const statuses = results.map((batch, i) => resultFor(batch, i, jobs, reg).status);
          const detail = `${reg.jobId} @ ${k}: ${statuses.join(",")}`;
          expect(
            statuses.filter((s) => s === "won"),
            detail,
          ).toHaveLength(1);
          expect(
            statuses.filter((s) => s === "lost"),
            detail,
          ).toHaveLength(stores.length - 1);
        }
        await finishAll(stores[0]!, results.flat());
      }
      const rows = await h.store.history({ jobId: jobs[0]!.jobId, limit: occurrences + 10 });
      expect(rows).toHaveLength(occurrences);
      expect(new Set(rows.map((r) => r.scheduledAt)).size).toBe(occurrences);
      expect(await h.store.getJob(jobs[0]!.jobId)).toMatchObject({
        runCount: occurrences,
        watermark: t + (occurrences - 1) * 1000,
      });
    },
    timeout,
  );

  it(
    "concurrent recoverExpired from several replicas recovers each expired run exactly once",
    async () => {
      const count = h.heavy ? 500 : 40;
      const stores = await h.replicas(h.instanceCount);
      const retry = job({ onAbandoned: "retry", maxAttempts: 3 });
      const abandon = job({ onAbandoned: "abandon" });
      await h.store.registerJob(retry);
      await h.store.registerJob(abandon);
      const t = await pastBase(h.store);
      const claims = Array.from({ length: count }, (_, i) =>
        request(i % 2 === 0 ? retry : abandon, t + i * 1000, { leaseMs: 50 }),
      );
      const runs = (await h.store.claim(claims)).map((r) => r.status === "won" && r.run);
      expect(runs.every(Boolean)).toBe(true);
      await waitPast(h.store, Math.max(...runs.map((r) => (r ? r.leaseExpiresAt : 0))));
      const recovered = await recoverRacing(stores, count);
      const ids = recovered.map((r) => (r.action === "abandoned" ? r.runId : r.run.runId));
      expect(ids).toHaveLength(count);
      expect(new Set(ids).size).toBe(count);
      expect(recovered.filter((r) => r.action === "retried")).toHaveLength(count / 2);
      for (const r of recovered) if (r.action === "retried") expect(r.run.token).toBe(2);
    },
    timeout,
  );

  it("concurrent claimManual calls each create their own manual run", async () => {
    const stores = await h.replicas(h.instanceCount);
    const reg = job();
    await h.store.registerJob(reg);
    const runs = await Promise.all(
      Array.from({ length: 16 }, (_, i) => pick(stores, i).claimManual(reg.jobId, `r${i}`, 5000)),
    );
    expect(new Set(runs.map((r) => r?.runId)).size).toBe(16);
    expect(new Set(runs.map((r) => r?.scheduledAt)).size).toBe(16);
    const rows = await h.store.history({ jobId: reg.jobId });
    expect(rows.filter((r) => r.trigger === "manual")).toHaveLength(16);
  });

  it("a heartbeat after its lease expired is refused, and racing recoveries take the run exactly once", async () => {
    const [a, b] = await h.replicas(2);
    const reg = job({ onAbandoned: "abandon" });
    await a!.registerJob(reg);
    const run = await claimWon(a!, request(reg, await pastBase(a!), { leaseMs: 50 }));
    await waitPast(a!, run.leaseExpiresAt);
    const [heartbeat, first, second] = await Promise.all([
      a!.heartbeat(run.runId, run.token, 60_000),
      b!.recoverExpired("rb", 60_000, 10),
      a!.recoverExpired("ra", 60_000, 10),
    ]);
    expect(heartbeat).toBe(false);
    expect([...first, ...second]).toEqual([
      { action: "abandoned", runId: run.runId, jobId: reg.jobId, scheduledAt: run.scheduledAt },
    ]);
    const rows = await a!.history({ jobId: reg.jobId });
    expect(rows[0]?.state).toBe("abandoned");
    expect(await a!.heartbeat(run.runId, run.token, 60_000)).toBe(false);
  });
}

function pick(stores: readonly Store[], i: number): Store {
  return stores[i % stores.length] as Store;
}

/** The result for `reg` in replica `i`'s batch (odd replicas sent the jobs in reverse). */
function resultFor(
  batch: readonly ClaimResult[],
  i: number,
  jobs: readonly JobRegistration[],
  reg: JobRegistration,
): ClaimResult {
  const order = i % 2 === 0 ? jobs : [...jobs].reverse();
  return batch[order.indexOf(reg)] as ClaimResult;
}

/** Finishes every won run so that the next round's `skip` job is not blocked. */
async function finishAll(store: Store, results: readonly ClaimResult[]): Promise<void> {
  for (const result of results) {
    if (result.status !== "won") continue;
    const done = await store.finishRun(
      result.run.runId,
      result.run.token,
      { state: "succeeded" },
      1,
    );
    expect(done.ok).toBe(true);
  }
}

/** All replicas call recoverExpired at once, repeatedly, until `expected` runs were taken. */
async function recoverRacing(stores: readonly Store[], expected: number): Promise<Recovered[]> {
  const recovered: Recovered[] = [];
  for (let round = 0; round < 20 && recovered.length < expected; round++) {
    const batches = await Promise.all(
      stores.map((store, i) => store.recoverExpired(`r${i}`, 600_000, Math.ceil(expected / 3))),
    );
    recovered.push(...batches.flat());
  }
  return recovered;
}
