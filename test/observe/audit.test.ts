import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { every, FakeClock, MemoryStore, type Store } from "../../src/index.js";
import { auditStore } from "../../src/observe/audit.js";
import { scheduleWrite } from "../../src/runtime/definition.js";
import { MAX_SCHEDULE_PAGE } from "../../src/stores/shared/schedules.js";
import { SqliteStore } from "../../src/stores/sqlite/index.js";
import type { RunRecord } from "../../src/stores/store.js";
import { fill, fillSchedules, sqliteDelete, sqliteDuplicate, T0, withExtraRows } from "./fill.js";

const dir = mkdtempSync(join(tmpdir(), "belfry-audit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A store under test, and how to tamper with it behind its back. */
interface Backend {
  readonly store: Store;
  /** A fresh handle on the same data (SQLite: a new connection after the tampering). */
  reopen(): Promise<Store>;
  duplicate(run: RunRecord): Promise<void>;
  remove(run: RunRecord): Promise<void>;
}

const backends: Record<string, (clock: FakeClock, name: string) => Backend> = {
  memory: (clock) => {
    const store = new MemoryStore({ clock });
    return {
      store,
      reopen: async () => store,
      duplicate: async (run) =>
        withExtraRows(store, [{ ...run, runId: `intruder-${run.runId}`, replicaId: "replica-b" }]),
      // Retention with the store's own API: every row of an occurrence before run's, of any job.
      remove: async (run) => void (await store.prune(run.scheduledAt + 1)),
    };
  },
  sqlite: (clock, name) => {
    const path = join(dir, `${name}.db`);
    const open = () => new SqliteStore({ path, clock, tablePrefix: "audit_" });
    return {
      store: open(),
      reopen: async () => {
        const store = open();
        await store.init();
        return store;
      },
      duplicate: async (run) => sqliteDuplicate(path, "audit_", run),
      remove: async (run) => sqliteDelete(path, "audit_", run),
    };
  },
};

const WINDOW = { since: T0, until: T0 + 60_001 };

for (const [kind, make] of Object.entries(backends)) {
  describe(`auditStore on ${kind}`, () => {
    async function filled(name: string) {
      const clock = new FakeClock(T0);
      const backend = make(clock, `${kind}-${name}`);
      await fill(backend.store, clock);
      return { clock, backend };
    }

    it("finds nothing wrong after a clean scheduler run", async () => {
      const { clock, backend } = await filled("clean");
      const report = await auditStore(backend.store, { ...WINDOW, now: clock.now() });
      expect(report.ok).toBe(true);
      expect(report.duplicates.count).toBe(0);
      expect(report.unexplainedMisses.count).toBe(0);
      const due = Object.fromEntries(report.jobs.map((job) => [job.jobId, job.due]));
      expect(due).toEqual({ tick: 60, five: 12, flaky: 6, broken: 3 });
      expect(report.due).toBe(81);
      expect(report.runs).toBe(81);
      expect(report.failures.count).toBe(3);
      expect(report.failures.items[0]?.error).toContain("always fails");
      expect(report.retries.count).toBe(6);
      expect(report.retries.items.every((run) => run.jobId === "flaky")).toBe(true);
      expect(report.overlaps.count).toBe(0);
      expect(report.unscheduled.count).toBe(0);
      expect(report.lateStarts.count).toBe(75);
      expect(report.lateStarts.maxMs).toBeLessThan(1_000);
      expect(report.lateStarts.worst).toHaveLength(5);
      expect(report.replicas.map((r) => [r.replicaId, r.runs])).toEqual([["replica-a", 81]]);
      expect(report.replicas[0]?.host).not.toBeNull();
      await backend.store.close();
    });

    it("finds a second run of one occurrence", async () => {
      const { clock, backend } = await filled("duplicate");
      const [run] = await backend.store.history({ jobId: "tick", from: T0 + 30_000, limit: 1 });
      await backend.store.close();
      await backend.duplicate(run as RunRecord);
      const store = await backend.reopen();
      const report = await auditStore(store, { ...WINDOW, now: clock.now(), pageSize: 7 });
      expect(report.ok).toBe(false);
      expect(report.duplicates.count).toBe(1);
      const [duplicate] = report.duplicates.items;
      expect(duplicate).toMatchObject({ jobId: "tick", scheduledAt: run?.scheduledAt });
      expect(duplicate?.runs.map((r) => r.replicaId).sort()).toEqual(["replica-a", "replica-b"]);
      expect(report.unexplainedMisses.count).toBe(0);
      expect(report.replicas.map((r) => r.replicaId)).toEqual(["replica-a", "replica-b"]);
      await store.close();
    });

    it("finds an occurrence that was due and left no row", async () => {
      const { clock, backend } = await filled("miss");
      const [first] = await backend.store.history({ jobId: "tick", to: T0 + 1_001, limit: 1 });
      expect(first?.scheduledAt).toBe(T0 + 1_000);
      await backend.store.close();
      await backend.remove(first as RunRecord);
      const store = await backend.reopen();
      const report = await auditStore(store, { ...WINDOW, now: clock.now() });
      expect(report.ok).toBe(false);
      expect(report.duplicates.count).toBe(0);
      expect(report.unexplainedMisses.items).toEqual([{ jobId: "tick", scheduledAt: T0 + 1_000 }]);
      await store.close();
    });

    it("audits runtime schedules per task in their own zones; a missed occurrence is reported", async () => {
      const clock = new FakeClock(T0);
      const backend = make(clock, `${kind}-schedules`);
      await fillSchedules(backend.store, clock);
      const clean = await auditStore(backend.store, { ...WINDOW, now: clock.now() });
      expect(clean.ok).toBe(true);
      expect(clean.jobs.map((job) => [job.jobId, job.due])).toEqual([["slow", 2]]);
      expect(clean.tasks).toEqual([
        { task: "digest", schedules: 2, due: 12, runs: 12, unexplainedMisses: 0, unchecked: 0 },
        { task: "feed", schedules: 1, due: 3, runs: 3, unexplainedMisses: 0, unchecked: 0 },
      ]);
      expect(clean).toMatchObject({ due: 17, runs: 17 });
      expect(clean.unscheduled.count).toBe(0);
      // The first run of all is digest:kolkata's, at second 5.
      const [first] = await backend.store.history({ to: T0 + 5_001, limit: 2 });
      expect(first).toMatchObject({ jobId: "digest:kolkata", scheduledAt: T0 + 5_000 });
      await backend.store.close();
      await backend.remove(first as RunRecord);
      const store = await backend.reopen();
      const report = await auditStore(store, { ...WINDOW, now: clock.now(), listLimit: 5 });
      expect(report.ok).toBe(false);
      expect(report.unexplainedMisses.items).toEqual([
        { jobId: "digest:kolkata", scheduledAt: T0 + 5_000 },
      ]);
      expect(report.tasks[0]).toEqual({
        task: "digest",
        schedules: 2,
        due: 12,
        runs: 11,
        unexplainedMisses: 1,
        unchecked: 0,
      });
      expect(report.jobs.map((job) => job.jobId)).toEqual(["slow"]);
      await store.close();
    });
  });
}

describe("auditStore and many runtime schedules", () => {
  it("reads the schedules a bounded page at a time and reports them per task, not per schedule", async () => {
    const store = new MemoryStore({ clock: new FakeClock(T0) });
    const shared = new Map();
    const writes = Array.from({ length: 2_500 }, (_, i) =>
      scheduleWrite({ task: "digest", key: `user-${i}`, schedule: every("1h") }, "UTC", T0, shared),
    );
    await store.putSchedules(writes, "create");
    const pages: (number | undefined)[] = [];
    const listSchedules = store.listSchedules.bind(store);
    store.listSchedules = async (query) => {
      pages.push(query?.limit);
      return listSchedules(query);
    };
    const report = await auditStore(store, { ...WINDOW, now: T0 + 60_001 });
    expect(pages).toEqual([MAX_SCHEDULE_PAGE, MAX_SCHEDULE_PAGE, MAX_SCHEDULE_PAGE]);
    expect(report.jobs).toEqual([]);
    expect(report.tasks).toEqual([
      { task: "digest", schedules: 2_500, due: 0, runs: 0, unexplainedMisses: 0, unchecked: 0 },
    ]);
    expect(report.ok).toBe(true);
  });
});

describe("auditStore and backfill runs", () => {
  it("counts a backfill run apart from the occurrence's scheduled run; two of one instant are a duplicate", async () => {
    const clock = new FakeClock(T0);
    const store = new MemoryStore({ clock });
    await fill(store, clock);
    const [run] = await store.history({ jobId: "tick", from: T0 + 30_000, limit: 1 });
    const backfill = (runId: string): RunRecord => ({
      ...(run as RunRecord),
      runId,
      trigger: "backfill",
      replicaId: "replica-b",
    });
    withExtraRows(store, [backfill("backfill-1")]);
    const beside = await auditStore(store, { ...WINDOW, now: clock.now() });
    expect(beside).toMatchObject({ ok: true, runs: 82, backfillRuns: 1, manualRuns: 0 });
    expect(beside.duplicates.count).toBe(0);
    expect(beside.unscheduled.count).toBe(0);
    withExtraRows(store, [backfill("backfill-2")]);
    const twice = await auditStore(store, { ...WINDOW, now: clock.now() });
    expect(twice.ok).toBe(false);
    expect(twice.duplicates.items).toHaveLength(1);
    const [duplicate] = twice.duplicates.items;
    expect(duplicate).toMatchObject({ jobId: "tick", scheduledAt: run?.scheduledAt });
    expect(duplicate?.runs.map((r) => r.runId).sort()).toEqual(["backfill-1", "backfill-2"]);
  });
});
