import { expect, it } from "vitest";
import { scheduleJobId } from "../../src/stores/shared/schedules.js";
import type { ScheduleWrite } from "../../src/stores/store.js";
import {
  claimOne,
  claimWon,
  job,
  pastBase,
  rejectsWith,
  request,
  waitPast,
  type Harness,
} from "./harness.js";

let scheduleCounter = 0;

/** A schedule write with test defaults: task `digest`, a fresh key, no data. */
export function schedule(overrides: Partial<ScheduleWrite> = {}): ScheduleWrite {
  scheduleCounter += 1;
  const task = overrides.task ?? "digest";
  const key = overrides.key ?? `user-${scheduleCounter}`;
  return {
    ...job({ jobId: scheduleJobId(task, key) }),
    task,
    key,
    data: null,
    nextAt: 1_000_000,
    ...overrides,
  };
}

/** Runtime schedules (`ScheduleRecords`): rows the store knows are due, claimed as jobs. */
export function scheduleCases(h: Harness): void {
  it("putSchedules creates a row that is a job row too, due at its next instant", async () => {
    const write = schedule({ data: '{"user":42}', nextAt: 5_000, overlap: "skip" });
    const [result] = await h.store.putSchedules([write], "create");
    expect(result?.outcome).toBe("created");
    expect(result?.schedule).toMatchObject({
      jobId: "digest:" + write.key,
      task: "digest",
      key: write.key,
      data: '{"user":42}',
      nextAt: 5_000,
      triggeredAt: null,
      dueAt: 5_000,
      watermark: null,
      paused: false,
      runCount: 0,
      version: 1,
      overlap: "skip",
    });
    expect(await h.store.getSchedule(write.jobId)).toEqual(result?.schedule);
    expect(await h.store.getJob(write.jobId)).toMatchObject({ jobId: write.jobId, hash: "hash-1" });
  });

  it("create of an existing key: unchanged when identical, conflict (untouched) when not", async () => {
    const write = schedule();
    await h.store.putSchedules([write], "create");
    const [same] = await h.store.putSchedules([write], "create");
    expect(same?.outcome).toBe("unchanged");
    const changed = { ...write, hash: "hash-2", nextAt: 9_000 };
    const [conflict] = await h.store.putSchedules([changed], "create");
    expect(conflict?.outcome).toBe("conflict");
    expect(conflict?.schedule).toMatchObject({ hash: "hash-1", nextAt: write.nextAt });
    const [otherData] = await h.store.putSchedules([{ ...write, data: "1" }], "create");
    expect(otherData?.outcome).toBe("conflict");
    expect(await h.store.getSchedule(write.jobId)).toMatchObject({ hash: "hash-1", data: null });
  });

  it("upsert replaces definition and next instant, keeps watermark and run count", async () => {
    const t = await pastBase(h.store);
    const write = schedule({ nextAt: t });
    await h.store.putSchedules([write], "upsert");
    expect((await claimOne(h.store, request(write, t, { nextAt: t + 1000 }))).status).toBe("won");
    const changed = { ...write, hash: "hash-2", definition: '{"v":2}', nextAt: t + 60_000 };
    const [result] = await h.store.putSchedules([changed], "upsert");
    expect(result?.outcome).toBe("updated");
    expect(result?.schedule).toMatchObject({
      hash: "hash-2",
      definition: '{"v":2}',
      version: 2,
      watermark: t,
      runCount: 1,
      nextAt: t + 60_000,
      dueAt: t + 60_000,
    });
    const [dataOnly] = await h.store.putSchedules([{ ...changed, data: '"x"' }], "upsert");
    expect(dataOnly?.outcome).toBe("updated");
    expect(dataOnly?.schedule).toMatchObject({ data: '"x"', version: 2 });
    const [same] = await h.store.putSchedules([{ ...changed, data: '"x"' }], "upsert");
    expect(same?.outcome).toBe("unchanged");
  });

  it("a batch naming a key twice: the second write sees the first", async () => {
    const write = schedule();
    const results = await h.store.putSchedules(
      [write, { ...write, hash: "hash-2" }, write],
      "upsert",
    );
    expect(results.map((r) => r.outcome)).toEqual(["created", "updated", "updated"]);
    expect(results[2]?.schedule.version).toBe(3);
    const creates = await h.store.putSchedules(
      [schedule({ key: "k" }), schedule({ key: "k" })],
      "create",
    );
    expect(creates.map((r) => r.outcome)).toEqual(["created", "unchanged"]);
  });

  it("a batch of 1,200 writes crosses chunks and keeps request order", async () => {
    const writes = Array.from({ length: 1_200 }, (_, i) =>
      schedule({ key: `bulk-${String(i).padStart(4, "0")}`, nextAt: 10_000 + i }),
    );
    const results = await h.store.putSchedules(writes, "create");
    expect(results).toHaveLength(1_200);
    expect(results.every((r) => r.outcome === "created")).toBe(true);
    expect(results.map((r) => r.schedule.key)).toEqual(writes.map((w) => w.key));
    expect(results[1_199]?.schedule.nextAt).toBe(11_199);
  });

  it("a batch mixing tasks, definitions and data writes each schedule as given", async () => {
    const shared = { definition: '{"shared":true}', hash: "hash-s" };
    const writes = [
      schedule({ task: "mix-a", ...shared, data: '"a"', nextAt: 1_000 }),
      schedule({ task: "mix-b", ...shared, maxRuns: 5, nextAt: 2_000 }),
      schedule({ task: "mix-a", ...shared, nextAt: null }),
      schedule({ task: "mix-a", overlap: "skip", maxAttempts: 1, nextAt: 3_000 }),
    ];
    const results = await h.store.putSchedules(writes, "create");
    expect(results.map((r) => r.outcome)).toEqual(["created", "created", "created", "created"]);
    for (const [i, w] of writes.entries()) {
      const row = await h.store.getSchedule(w.jobId);
      expect(row).toEqual(results[i]?.schedule);
      expect(row).toMatchObject({
        task: w.task,
        key: w.key,
        definition: w.definition,
        hash: w.hash,
        data: w.data,
        maxRuns: w.maxRuns,
        overlap: w.overlap,
        maxAttempts: w.maxAttempts,
        nextAt: w.nextAt,
        dueAt: w.nextAt,
      });
    }
    const due = async (task: string) =>
      (
        await h.store.dueSchedules({ tasks: [task], until: 10_000, limit: 10, replicaId: "r1" })
      ).schedules
        .map((row) => row.key)
        .sort();
    expect(await due("mix-a")).toEqual([writes[0]!.key, writes[3]!.key].sort());
    expect(await due("mix-b")).toEqual([writes[1]!.key]);
  });

  it("returning outcomes: each write's outcome only, in request order across chunks", async () => {
    const first = schedule({ key: "outcomes-0" });
    await h.store.putSchedules([first], "create");
    const writes = [
      first,
      { ...first, hash: "hash-2" },
      ...Array.from({ length: 1_100 }, (_, i) => schedule({ key: `outcomes-${i + 1}` })),
    ];
    const creates = await h.store.putSchedules(writes, "create", "outcomes");
    expect(creates.slice(0, 3)).toEqual([
      { outcome: "unchanged" },
      { outcome: "conflict" },
      { outcome: "created" },
    ]);
    expect(creates.filter((r) => r.outcome === "created")).toHaveLength(1_100);
    // The first key again after the chunk boundary: it sees the writes before it.
    const again = [...writes.slice(1), { ...first, hash: "hash-3" }];
    const upserts = await h.store.putSchedules(again, "upsert", "outcomes");
    expect(upserts[0]).toEqual({ outcome: "updated" });
    expect(upserts.slice(1, -1).every((r) => r.outcome === "unchanged")).toBe(true);
    expect(upserts[upserts.length - 1]).toEqual({ outcome: "updated" });
    expect(await h.store.getSchedule(first.jobId)).toMatchObject({ hash: "hash-3", version: 3 });
  });

  it("a write naming a code-defined job's id is DUPLICATE_JOB and leaves that job alone", async () => {
    await h.store.registerJob(job({ jobId: "digest:clash", hash: "code-hash" }));
    for (const mode of ["create", "upsert"] as const) {
      const message = await rejectsWith(
        h.store.putSchedules([schedule({ key: "clash" })], mode),
        "DUPLICATE_JOB",
      );
      expect(message).toContain('"digest:clash"');
    }
    await rejectsWith(
      h.store.putSchedules([schedule({ key: "clash" })], "upsert", "outcomes"),
      "DUPLICATE_JOB",
    );
    expect(await h.store.getJob("digest:clash")).toMatchObject({ hash: "code-hash", version: 1 });
    expect(await h.store.getSchedule("digest:clash")).toBeNull();
  });

  it("getSchedule is null for an unknown id and for a code-defined job", async () => {
    const code = job();
    await h.store.registerJob(code);
    expect(await h.store.getSchedule(code.jobId)).toBeNull();
    expect(await h.store.getSchedule("digest:nobody")).toBeNull();
  });

  it("listSchedules filters by task, key prefix and paused, pages by job id, skips code jobs", async () => {
    await h.store.registerJob(job({ jobId: "code-job" }));
    const keys = ["a-1", "a-2", "a-3", "b-1"];
    await h.store.putSchedules(
      [...keys.map((key) => schedule({ key })), schedule({ task: "feed", key: "a-9" })],
      "create",
    );
    await h.store.setPaused(scheduleJobId("digest", "a-2"), true);
    const all = await h.store.listSchedules();
    expect(all.schedules.map((s) => s.jobId)).toEqual([
      "digest:a-1",
      "digest:a-2",
      "digest:a-3",
      "digest:b-1",
      "feed:a-9",
    ]);
    expect(all.next).toBeNull();
    const prefixed = await h.store.listSchedules({ task: "digest", keyPrefix: "a-" });
    expect(prefixed.schedules.map((s) => s.key)).toEqual(["a-1", "a-2", "a-3"]);
    const paused = await h.store.listSchedules({ paused: true });
    expect(paused.schedules.map((s) => s.key)).toEqual(["a-2"]);
    const unpaused = await h.store.listSchedules({ task: "digest", paused: false });
    expect(unpaused.schedules.map((s) => s.key)).toEqual(["a-1", "a-3", "b-1"]);
    const first = await h.store.listSchedules({ limit: 2 });
    expect(first.schedules.map((s) => s.key)).toEqual(["a-1", "a-2"]);
    expect(first.next).toBe("digest:a-2");
    const second = await h.store.listSchedules({ limit: 2, after: first.next! });
    expect(second.schedules.map((s) => s.key)).toEqual(["a-3", "b-1"]);
    const last = await h.store.listSchedules({ limit: 2, after: second.next! });
    expect(last.schedules.map((s) => s.jobId)).toEqual(["feed:a-9"]);
    expect(last.next).toBeNull();
  });

  it("listJobs lists the code-defined jobs only: no schedule row, paused, finished or triggered", async () => {
    const code = job({ jobId: "code-job" });
    await h.store.registerJob(code);
    const writes = [
      schedule({ key: "plain" }),
      schedule({ key: "paused" }),
      schedule({ key: "over", nextAt: null }),
      schedule({ task: "feed", key: "x" }),
    ];
    await h.store.putSchedules(writes, "create");
    await h.store.setPaused(writes[1]!.jobId, true);
    await h.store.triggerSchedule(writes[0]!.jobId);
    const listing = await h.store.listJobs();
    expect(listing.jobs.map((j) => j.jobId)).toEqual([code.jobId]);
    expect(listing.unreadable).toEqual([]);
    // Registering a code job again after schedules exist changes nothing of that.
    await h.store.registerJobs([code, job({ jobId: "another" })]);
    expect((await h.store.listJobs()).jobs.map((j) => j.jobId)).toEqual(["another", "code-job"]);
  });

  it("countSchedules counts every schedule or one task's, finished series included, never code jobs", async () => {
    await h.store.registerJob(job({ jobId: "digest:code" }));
    const writes = [
      ...["a", "b", "c"].map((key) => schedule({ key })),
      schedule({ key: "over", nextAt: null }),
      schedule({ task: "dig", key: "x" }),
      schedule({ task: "digest.v2", key: "y" }),
    ];
    await h.store.putSchedules(writes, "create");
    await h.store.setPaused(writes[0]!.jobId, true);
    expect(await h.store.countSchedules()).toBe(6);
    expect(await h.store.countSchedules({ task: "digest" })).toBe(4);
    expect(await h.store.countSchedules({ task: "dig" })).toBe(1);
    expect(await h.store.countSchedules({ task: "digest.v2" })).toBe(1);
    expect(await h.store.countSchedules({ task: "nobody" })).toBe(0);
    await h.store.removeSchedules([writes[1]!.jobId]);
    expect(await h.store.countSchedules({ task: "digest" })).toBe(3);
    expect(await h.store.countSchedules()).toBe(5);
  });

  it("a key prefix holding LIKE wildcards matches them literally", async () => {
    await h.store.putSchedules(
      ["50%_off", "50x_off", "a_b", "a\\b", "axb"].map((key) => schedule({ key })),
      "create",
    );
    const percent = await h.store.listSchedules({ task: "digest", keyPrefix: "50%" });
    expect(percent.schedules.map((s) => s.key)).toEqual(["50%_off"]);
    const underscore = await h.store.listSchedules({ task: "digest", keyPrefix: "a_" });
    expect(underscore.schedules.map((s) => s.key)).toEqual(["a_b"]);
    const backslash = await h.store.listSchedules({ task: "digest", keyPrefix: "a\\" });
    expect(backslash.schedules.map((s) => s.key)).toEqual(["a\\b"]);
  });

  it("dueSchedules returns the tasks' rows due by `until`, by due instant, bounded, with the next due instant", async () => {
    await h.store.putSchedules(
      [
        schedule({ key: "late", nextAt: 3_000 }),
        schedule({ key: "early", nextAt: 1_000 }),
        schedule({ key: "mid", nextAt: 2_000 }),
        schedule({ key: "future", nextAt: 9_000 }),
        schedule({ key: "over", nextAt: null }),
        schedule({ task: "other", key: "x", nextAt: 500 }),
      ],
      "create",
    );
    const due = await h.store.dueSchedules({
      tasks: ["digest"],
      until: 5_000,
      limit: 10,
      replicaId: "r1",
    });
    expect(due.schedules.map((s) => s.key)).toEqual(["early", "mid", "late"]);
    expect(due.nextDueAt).toBe(9_000);
    const bounded = await h.store.dueSchedules({
      tasks: ["digest"],
      until: 5_000,
      limit: 2,
      replicaId: "r1",
    });
    expect(bounded.schedules.map((s) => s.key)).toEqual(["early", "mid"]);
    const both = await h.store.dueSchedules({
      tasks: ["digest", "other"],
      until: 1_000,
      limit: 10,
      replicaId: "r1",
    });
    expect(both.schedules.map((s) => s.key)).toEqual(["x", "early"]);
    expect(both.nextDueAt).toBe(2_000);
    const none = await h.store.dueSchedules({
      tasks: ["nobody"],
      until: 1e15,
      limit: 10,
      replicaId: "r1",
    });
    expect(none).toEqual({ schedules: [], unreadable: [], nextDueAt: null });
    expect(
      (await h.store.dueSchedules({ tasks: [], until: 1e15, limit: 10, replicaId: "r1" }))
        .schedules,
    ).toEqual([]);
  });

  it("rows due at one instant come in a different order per replica, each order complete", async () => {
    const writes = Array.from({ length: 60 }, (_, i) =>
      schedule({ key: `burst-${i}`, nextAt: 7_000 }),
    );
    await h.store.putSchedules(writes, "create");
    const query = { tasks: ["digest"], until: 7_000, limit: 60 };
    const a = (await h.store.dueSchedules({ ...query, replicaId: "replica-a" })).schedules.map(
      (s) => s.key,
    );
    const b = (await h.store.dueSchedules({ ...query, replicaId: "replica-b" })).schedules.map(
      (s) => s.key,
    );
    expect(new Set(a).size).toBe(60);
    expect([...a].sort()).toEqual([...b].sort());
    expect(a).not.toEqual(b);
    const firstTenA = (await h.store.dueSchedules({ ...query, limit: 10, replicaId: "replica-a" }))
      .schedules;
    expect(firstTenA.map((s) => s.key)).toEqual(a.slice(0, 10));
  });

  it("a claim with nextAt moves the row forward, never back; null ends it", async () => {
    const t = await pastBase(h.store);
    const write = schedule({ nextAt: t });
    await h.store.putSchedules([write], "create");
    expect((await claimOne(h.store, request(write, t, { nextAt: t + 5_000 }))).status).toBe("won");
    expect(await h.store.getSchedule(write.jobId)).toMatchObject({
      nextAt: t + 5_000,
      dueAt: t + 5_000,
      watermark: t,
    });
    // A claim that loses (the occurrence is taken) writes nothing.
    expect((await claimOne(h.store, request(write, t, { nextAt: t + 9_000 }))).status).toBe("lost");
    expect((await h.store.getSchedule(write.jobId))?.nextAt).toBe(t + 5_000);
    // A won claim asking for an earlier next instant leaves the later one.
    expect((await claimOne(h.store, request(write, t + 1_000, { nextAt: t + 2_000 }))).status).toBe(
      "won",
    );
    expect((await h.store.getSchedule(write.jobId))?.nextAt).toBe(t + 5_000);
    expect((await claimOne(h.store, request(write, t + 5_000, { nextAt: null }))).status).toBe(
      "won",
    );
    expect(await h.store.getSchedule(write.jobId)).toMatchObject({ nextAt: null, dueAt: null });
    const due = await h.store.dueSchedules({
      tasks: ["digest"],
      until: t + 1e9,
      limit: 10,
      replicaId: "r1",
    });
    expect(due.schedules).toEqual([]);
  });

  it("paused and late claims record their row and advance the next instant too", async () => {
    const t = await pastBase(h.store);
    const write = schedule({ nextAt: t });
    await h.store.putSchedules([write], "create");
    await h.store.setPaused(write.jobId, true);
    expect((await claimOne(h.store, request(write, t, { nextAt: t + 1_000 }))).status).toBe(
      "paused",
    );
    expect((await h.store.getSchedule(write.jobId))?.nextAt).toBe(t + 1_000);
    await h.store.setPaused(write.jobId, false);
    const late = await claimOne(
      h.store,
      request(write, t + 1_000, { nextAt: t + 2_000, lateAfter: t + 1_001 }),
    );
    expect(late.status).toBe("missed");
    expect((await h.store.getSchedule(write.jobId))?.nextAt).toBe(t + 2_000);
  });

  it("scheduleTasks lists the tasks with a schedule still due, sorted, not code jobs", async () => {
    expect(await h.store.scheduleTasks()).toEqual([]);
    await h.store.registerJob(job({ jobId: "code" }));
    const b = schedule({ task: "b" });
    await h.store.putSchedules(
      [b, schedule({ task: "a" }), schedule({ task: "a" }), schedule({ task: "a-b" })],
      "create",
    );
    await h.store.putSchedules([schedule({ task: "over", nextAt: null })], "create");
    expect(await h.store.scheduleTasks()).toEqual(["a", "a-b", "b"]);
    await h.store.removeSchedules([b.jobId]);
    expect(await h.store.scheduleTasks()).toEqual(["a", "a-b"]);
  });

  it("advanceSchedules moves nextAt forward only, only for the given hash", async () => {
    const a = schedule({ nextAt: 1_000 });
    const b = schedule({ nextAt: 1_000 });
    const c = schedule({ nextAt: 8_000 });
    await h.store.putSchedules([a, b, c], "create");
    await h.store.advanceSchedules([
      { jobId: a.jobId, hash: a.hash, nextAt: 4_000 },
      { jobId: b.jobId, hash: "other-hash", nextAt: 4_000 },
      { jobId: c.jobId, hash: c.hash, nextAt: 4_000 },
      { jobId: "digest:missing", hash: "hash-1", nextAt: 4_000 },
    ]);
    expect((await h.store.getSchedule(a.jobId))?.dueAt).toBe(4_000);
    expect((await h.store.getSchedule(b.jobId))?.nextAt).toBe(1_000);
    expect((await h.store.getSchedule(c.jobId))?.nextAt).toBe(8_000);
    await h.store.advanceSchedules([{ jobId: a.jobId, hash: a.hash, nextAt: null }]);
    expect(await h.store.getSchedule(a.jobId)).toMatchObject({ nextAt: null, dueAt: null });
    await h.store.advanceSchedules([]);
  });

  it("trigger owes one run now: claimTriggered takes it once and restores the due instant", async () => {
    const now = await h.store.now();
    const write = schedule({ nextAt: now + 3_600_000 });
    await h.store.putSchedules([write], "create");
    expect(await h.store.triggerSchedule(write.jobId)).toBe(true);
    expect(await h.store.triggerSchedule(write.jobId)).toBe(true);
    expect(await h.store.triggerSchedule("digest:missing")).toBe(false);
    const triggered = await h.store.getSchedule(write.jobId);
    expect(triggered?.triggeredAt).toBeGreaterThanOrEqual(now);
    expect(triggered?.dueAt).toBe(triggered?.triggeredAt);
    const due = await h.store.dueSchedules({
      tasks: ["digest"],
      until: await h.store.now(),
      limit: 10,
      replicaId: "r1",
    });
    expect(due.schedules.map((s) => s.jobId)).toEqual([write.jobId]);
    const replicas = await h.replicas(4);
    const runs = await Promise.all(
      replicas.map((store, i) => store.claimTriggered(write.jobId, `r${i}`, 30_000)),
    );
    const taken = runs.filter((run) => run !== null);
    expect(taken).toHaveLength(1);
    expect(taken[0]).toMatchObject({ jobId: write.jobId, trigger: "manual", attempt: 1, token: 1 });
    expect(await h.store.getSchedule(write.jobId)).toMatchObject({
      triggeredAt: null,
      dueAt: write.nextAt,
      watermark: null,
    });
    expect(await h.store.claimTriggered(write.jobId, "r1", 30_000)).toBeNull();
    const history = await h.store.history({ jobId: write.jobId });
    expect(history.map((run) => run.trigger)).toEqual(["manual"]);
  });

  it("claimBackfill claims past instants once as backfill runs, whatever ran there, and leaves the series alone", async () => {
    const t = await pastBase(h.store);
    const write = schedule({ nextAt: t });
    await h.store.putSchedules([write], "create");
    await claimWon(h.store, request(write, t, { nextAt: t + 60_000 }));
    const before = await h.store.getSchedule(write.jobId);
    const now = await h.store.now();
    const instants = [t + 2_000, t, t + 1_000, t + 1_000, now + 600_000];
    const runs = await h.store.claimBackfill(write.jobId, instants, "r7", 30_000);
    // The scheduled run at t does not count; the repeated and the future instants are skipped.
    expect(runs?.map((run) => run.scheduledAt)).toEqual([t, t + 1_000, t + 2_000]);
    for (const run of runs ?? []) {
      expect(run).toMatchObject({ jobId: write.jobId, trigger: "backfill", attempt: 1, token: 1 });
      expect(run.leaseExpiresAt).toBeGreaterThanOrEqual(now + 30_000);
      expect(run.leaseExpiresAt).toBeLessThanOrEqual((await h.store.now()) + 30_000);
    }
    expect(await h.store.getSchedule(write.jobId)).toEqual(before);
    // A second backfill of the window (and past it) claims only what was never backfilled.
    const again = await h.store.claimBackfill(write.jobId, [t, t + 2_000, t + 3_000], "r8", 30_000);
    expect(again?.map((run) => run.scheduledAt)).toEqual([t + 3_000]);
    expect(await h.store.claimBackfill(write.jobId, [], "r8", 30_000)).toEqual([]);
    const history = await h.store.history({ jobId: write.jobId });
    // Rows at one instant come by run id: compare them sorted.
    expect(history.map((run) => [run.scheduledAt - t, run.trigger, run.state]).sort()).toEqual([
      [0, "backfill", "claimed"],
      [0, "schedule", "claimed"],
      [1_000, "backfill", "claimed"],
      [2_000, "backfill", "claimed"],
      [3_000, "backfill", "claimed"],
    ]);
    expect(history.filter((run) => run.trigger === "backfill").map((r) => r.replicaId)).toEqual([
      "r8",
      "r7",
      "r7",
      "r7",
    ]);
    expect(await h.store.getSchedule(write.jobId)).toEqual(before);
    // The series goes on from its own watermark: the next scheduled claim is not refused.
    expect(
      (await claimOne(h.store, request(write, t + 1_000, { nextAt: t + 60_000 }))).status,
    ).toBe("won");
  });

  it("claimBackfill: null for no schedule or a code job; the instants are the caller's", async () => {
    const t = await pastBase(h.store);
    const code = job();
    await h.store.registerJob(code);
    expect(await h.store.claimBackfill(code.jobId, [t], "r1", 30_000)).toBeNull();
    expect(await h.store.claimBackfill("digest:nobody", [t], "r1", 30_000)).toBeNull();
    expect(await h.store.history({ jobId: code.jobId })).toEqual([]);
    // The store cannot compute a series: an instant off the schedule's grid is claimed as asked.
    const write = schedule({ nextAt: null });
    await h.store.putSchedules([write], "create");
    const runs = await h.store.claimBackfill(write.jobId, [t + 123], "r1", 30_000);
    expect(runs?.map((run) => run.scheduledAt)).toEqual([t + 123]);
  });

  it("claimBackfill ignores paused and the overlap policy; a finished backfill run is never claimed again", async () => {
    const t = await pastBase(h.store);
    const write = schedule({ nextAt: t, overlap: "skip" });
    await h.store.putSchedules([write], "create");
    await claimWon(h.store, request(write, t, { nextAt: t + 60_000 }));
    await h.store.setPaused(write.jobId, true);
    const [run] = (await h.store.claimBackfill(write.jobId, [t - 1_000], "r1", 30_000)) ?? [];
    expect(run?.scheduledAt).toBe(t - 1_000);
    expect(await h.store.getSchedule(write.jobId)).toMatchObject({ paused: true, watermark: t });
    expect(await h.store.startRun(run!.runId, run!.token, run!.attempt)).toBe(true);
    const finished = await h.store.finishRun(run!.runId, run!.token, { state: "failed" }, 30_000);
    expect(finished.ok).toBe(true);
    expect(await h.store.claimBackfill(write.jobId, [t - 1_000], "r1", 30_000)).toEqual([]);
  });

  it("replicas backfilling one window at once claim each instant once", async () => {
    const t = await pastBase(h.store);
    const write = schedule({ nextAt: null });
    await h.store.putSchedules([write], "create");
    const instants = Array.from({ length: 50 }, (_, i) => t + i * 1_000);
    const replicas = await h.replicas(4);
    const claimed = await Promise.all(
      replicas.map((store, i) => store.claimBackfill(write.jobId, instants, `r${i}`, 30_000)),
    );
    const all = claimed.flatMap((runs) => runs ?? []).map((run) => run.scheduledAt);
    expect(all.sort((a, b) => a - b)).toEqual(instants);
  });

  it("an expired backfill run is recovered as a backfill run", async () => {
    const t = await pastBase(h.store);
    const write = schedule({ nextAt: null, onAbandoned: "retry", maxAttempts: 3 });
    await h.store.putSchedules([write], "create");
    const [run] = (await h.store.claimBackfill(write.jobId, [t], "r1", 50)) ?? [];
    expect(run).toBeDefined();
    await h.store.startRun(run!.runId, run!.token, run!.attempt);
    await waitPast(h.store, run!.leaseExpiresAt);
    const recovered = await h.store.recoverExpired("r2", 30_000, 10);
    expect(recovered).toHaveLength(1);
    expect(recovered[0]).toMatchObject({
      action: "retried",
      run: { runId: run!.runId, scheduledAt: t, trigger: "backfill", attempt: 2, token: 2 },
    });
    const [row] = await h.store.history({ jobId: write.jobId });
    expect(row).toMatchObject({ trigger: "backfill", state: "claimed", replicaId: "r2" });
    expect(await h.store.getSchedule(write.jobId)).toMatchObject({ watermark: null, runCount: 0 });
  });

  it("removeSchedules deletes the row at once (claims are unknownJob) and keeps its runs", async () => {
    const t = await pastBase(h.store);
    const write = schedule({ nextAt: t });
    const code = job();
    await h.store.registerJob(code);
    await h.store.putSchedules([write], "create");
    expect((await claimOne(h.store, request(write, t, { nextAt: t + 1_000 }))).status).toBe("won");
    expect(await h.store.removeSchedules([write.jobId, code.jobId, "digest:missing"])).toEqual([
      true,
      false,
      false,
    ]);
    expect(await h.store.getSchedule(write.jobId)).toBeNull();
    expect(await h.store.getJob(code.jobId)).not.toBeNull();
    expect(await claimOne(h.store, request(write, t + 1_000, { nextAt: t + 2_000 }))).toEqual({
      status: "unknownJob",
    });
    expect(await h.store.triggerSchedule(write.jobId)).toBe(false);
    const due = await h.store.dueSchedules({
      tasks: ["digest"],
      until: t + 1e9,
      limit: 10,
      replicaId: "r1",
    });
    expect(due.schedules).toEqual([]);
    expect((await h.store.history({ jobId: write.jobId })).map((r) => r.scheduledAt)).toEqual([t]);
    // History across jobs lists them too, as any run row.
    expect((await h.store.history()).filter((r) => r.jobId === write.jobId)).toHaveLength(1);
    expect((await h.store.listSchedules()).schedules).toEqual([]);
    expect((await h.store.listJobs()).jobs.map((j) => j.jobId)).toEqual([code.jobId]);
  });

  it("replicas creating one key at once end with one row, one created", async () => {
    const replicas = await h.replicas(h.instanceCount);
    const write = schedule();
    const results = await Promise.all(
      replicas.map((store) => store.putSchedules([write], "create")),
    );
    const outcomes = results.map(([result]) => result?.outcome).sort();
    expect(outcomes.filter((o) => o === "created")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "unchanged")).toHaveLength(replicas.length - 1);
    expect((await h.store.listSchedules()).schedules).toHaveLength(1);
  });

  it("racing replicas claim each due occurrence of a burst once and move every row on", async () => {
    const t = await pastBase(h.store);
    const writes = Array.from({ length: 40 }, (_, i) => schedule({ key: `race-${i}`, nextAt: t }));
    await h.store.putSchedules(writes, "create");
    const replicas = await h.replicas(4);
    const won = await Promise.all(
      replicas.map(async (store, i) => {
        const due = await store.dueSchedules({
          tasks: ["digest"],
          until: t,
          limit: 40,
          replicaId: `r${i}`,
        });
        const results = await store.claim(
          due.schedules.map((row) => ({
            ...request(row, t, { replicaId: `r${i}`, nextAt: t + 60_000 }),
          })),
        );
        return results.filter((r) => r.status === "won").length;
      }),
    );
    expect(won.reduce((a, b) => a + b, 0)).toBe(40);
    const after = await h.store.dueSchedules({
      tasks: ["digest"],
      until: t + 59_999,
      limit: 100,
      replicaId: "r1",
    });
    expect(after.schedules).toEqual([]);
    expect(after.nextDueAt).toBe(t + 60_000);
  });
}
