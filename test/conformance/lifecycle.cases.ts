import { expect, it } from "vitest";
import { claimWon, job, pastBase, rejectsWith, request, won, type Harness } from "./harness.js";

/** Initialisation, the store clock and corrupt rows. */
export function lifecycleCases(h: Harness): void {
  it("now() returns epoch milliseconds that do not go backwards", async () => {
    const first = await h.store.now();
    const second = await h.store.now();
    expect(Number.isSafeInteger(first)).toBe(true);
    expect(first).toBeGreaterThan(Date.parse("2020-01-01T00:00:00Z"));
    expect(second).toBeGreaterThanOrEqual(first);
    expect(h.store.kind).toMatch(/^[a-z]+$/);
  });

  it("init() a second time is a no-op that keeps the data", async () => {
    const reg = job();
    await h.store.registerJob(reg);
    await h.store.init();
    expect((await h.store.getJob(reg.jobId))?.hash).toBe(reg.hash);
  });

  it("two instances initialising the same prefix concurrently both work", async () => {
    const stores = await Promise.all([h.build(), h.build(), h.build()]);
    await Promise.all(stores.map((store) => store.init()));
    const reg = job();
    const results = await Promise.all(stores.map((store) => store.registerJob(reg)));
    const created = results.filter((r) => r.outcome === "created").length;
    expect(created).toBe(h.sharedInstances ? 1 : stores.length);
    for (const store of stores) expect((await store.getJob(reg.jobId))?.jobId).toBe(reg.jobId);
  });

  if (h.options.corrupt) {
    const corrupt = h.options.corrupt;
    const expectCorrupt = async (jobId: string, promise: Promise<unknown>) => {
      const message = await rejectsWith(promise, "CORRUPT_ROW");
      expect(message).toContain(jobId);
      return message;
    };

    it("a corrupt job row makes getJob reject with CORRUPT_ROW and its claim an error result naming the row", async () => {
      const reg = job();
      await h.store.registerJob(reg);
      const written = await corrupt(h.store, h.prefix, reg.jobId);
      const message = await expectCorrupt(reg.jobId, h.store.getJob(reg.jobId));
      if (written) {
        expect(message).toContain(written.column);
        expect(message).toContain(written.value);
      }
      const t = await pastBase(h.store);
      const [result] = await h.store.claim([request(reg, t, { missed: [t - 1000] })]);
      expect(result).toMatchObject({ status: "error", code: "CORRUPT_ROW" });
      if (result?.status !== "error") return;
      expect(result.message).toContain(reg.jobId);
      if (written) expect(result.message).toContain(written.value);
      expect(await h.store.history({ jobId: reg.jobId })).toEqual([]);
    });

    it("a corrupt job row is listed as unreadable by listJobs, beside the readable jobs", async () => {
      const [good, broken] = [job(), job()];
      for (const reg of [good, broken]) await h.store.registerJob(reg!);
      const written = await corrupt(h.store, h.prefix, broken!.jobId);
      const { jobs, unreadable } = await h.store.listJobs();
      const ids = jobs.map((j) => j.jobId);
      expect(ids).toContain(good!.jobId);
      expect(ids).not.toContain(broken!.jobId);
      const entry = unreadable.find((u) => u.jobId === broken!.jobId);
      expect(entry?.message).toContain(broken!.jobId);
      if (written) expect(entry?.message).toContain(written.value);
    });

    it("a corrupt job in a batch is that request's error result; the other requests are won and written", async () => {
      const [good, broken, good2] = [job(), job(), job()];
      for (const reg of [good, broken, good2]) await h.store.registerJob(reg!);
      const written = await corrupt(h.store, h.prefix, broken!.jobId);
      const t = await pastBase(h.store);
      const results = await h.store.claim([
        request(good!, t, { missed: [t - 1000] }),
        request(broken!, t),
        request(good2!, t),
      ]);
      expect(results.map((r) => r.status)).toEqual(["won", "error", "won"]);
      const failed = results[1];
      if (failed?.status !== "error") throw new Error("expected an error result");
      expect(failed.code).toBe("CORRUPT_ROW");
      expect(failed.message).toContain(broken!.jobId);
      if (written) {
        expect(failed.message).toContain(written.column);
        expect(failed.message).toContain(written.value);
      }
      for (const [i, reg] of [good!, good2!].entries()) {
        const run = won(results[i * 2]);
        const rows = await h.store.history({ jobId: reg.jobId });
        expect(rows.find((r) => r.runId === run.runId)).toMatchObject({ state: "claimed" });
        expect(await h.store.getJob(reg.jobId)).toMatchObject({ watermark: t, runCount: 1 });
      }
      expect((await h.store.history({ jobId: good!.jobId, states: ["missed"] })).length).toBe(1);
      expect(await h.store.history({ jobId: broken!.jobId })).toEqual([]);
    });

    it("a corrupt job row does not stop claims of other jobs", async () => {
      const broken = job();
      const healthy = job();
      await h.store.registerJob(broken);
      await h.store.registerJob(healthy);
      await corrupt(h.store, h.prefix, broken.jobId);
      await claimWon(h.store, request(healthy, await pastBase(h.store)));
      expect((await h.store.getJob(healthy.jobId))?.runCount).toBe(1);
    });
  }
}
