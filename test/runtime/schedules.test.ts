import { afterEach, describe, expect, it } from "vitest";
import {
  BelfryError,
  cron,
  every,
  FakeClock,
  MemoryStore,
  Scheduler,
  type RunContext,
} from "../../src/index.js";
import { READ_AHEAD_MS } from "../../src/runtime/poller.js";

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0); // a Monday, 08:00 UTC

describe("runtime schedules (memory store, fake clock)", () => {
  const started: Scheduler[] = [];
  afterEach(async () => {
    await Promise.all(started.map((s) => s.stop()));
    started.length = 0;
  });

  async function scheduler(clock: FakeClock, store = new MemoryStore({ clock }), id = "a") {
    const s = new Scheduler({ store, clock, replicaId: id, unref: true });
    started.push(s);
    return s;
  }

  it("a schedule created at run time runs its task with data, key and task, each occurrence once", async () => {
    const clock = new FakeClock(T0);
    const s = await scheduler(clock);
    const runs: RunContext[] = [];
    s.task("digest", (run) => void runs.push(run));
    await s.start();
    const info = await s.schedules.create({
      task: "digest",
      key: "user-1",
      schedule: every("1m"),
      data: { userId: 1 },
    });
    expect(info).toMatchObject({
      task: "digest",
      key: "user-1",
      jobId: "digest:user-1",
      paused: false,
    });
    expect(info.nextRun?.getTime()).toBe(T0 + 60_000);
    for (let i = 0; i < 3; i++) await clock.advance(60_000);
    expect(runs.map((r) => r.scheduledAt.getTime())).toEqual([
      T0 + 60_000,
      T0 + 120_000,
      T0 + 180_000,
    ]);
    expect(runs[0]).toMatchObject({
      task: "digest",
      scheduleKey: "user-1",
      data: { userId: 1 },
      jobId: "digest:user-1",
    });
    const stored = await s.schedules.get("digest", "user-1");
    expect(stored?.nextRun?.getTime()).toBe(T0 + 240_000);
    expect(stored?.runCount).toBe(3);
  });

  it("a schedule's time zone is its own", async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 5, 23, 30));
    const s = await scheduler(clock);
    const runs: number[] = [];
    s.task("wake", (run) => void runs.push(run.scheduledAt.getTime()));
    await s.start();
    await s.schedules.create({
      task: "wake",
      key: "tokyo",
      schedule: cron("0 9 * * *"),
      timezone: "Asia/Tokyo",
    });
    await s.schedules.create({
      task: "wake",
      key: "berlin",
      schedule: cron("0 9 * * *"),
      timezone: "Europe/Berlin",
    });
    // 09:00 Berlin (UTC+1 in January) is 08:00 UTC; 09:00 Tokyo is 00:00 UTC.
    const tokyo = await s.schedules.get("wake", "tokyo");
    const berlin = await s.schedules.get("wake", "berlin");
    expect(berlin?.nextRun?.toISOString()).toBe("2026-01-06T08:00:00.000Z");
    expect(tokyo?.nextRun?.toISOString()).toBe("2026-01-06T00:00:00.000Z");
    await clock.advance(8.5 * 3_600_000);
    expect(runs).toEqual([Date.UTC(2026, 0, 6, 0), Date.UTC(2026, 0, 6, 8)]);
  });

  it("create twice is a no-op; another definition is SCHEDULE_EXISTS; upsert and update replace", async () => {
    const clock = new FakeClock(T0);
    const s = await scheduler(clock);
    await s.start();
    const input = { task: "t", key: "k", schedule: every("1h") };
    await s.schedules.create(input);
    await s.schedules.create(input);
    await expect(s.schedules.create({ ...input, schedule: every("2h") })).rejects.toMatchObject({
      code: "SCHEDULE_EXISTS",
    });
    const up = await s.schedules.upsert({ ...input, schedule: every("2h") });
    expect(up.version).toBe(2);
    const changed = await s.schedules.update("t", "k", { data: [1, 2] });
    expect(changed).toMatchObject({ data: [1, 2], version: 2, schedule: { kind: "every" } });
    await expect(s.schedules.update("t", "nope", { data: 1 })).rejects.toMatchObject({
      code: "UNKNOWN_SCHEDULE",
    });
  });

  it("bad input is a typed error naming what to fix", async () => {
    const clock = new FakeClock(T0);
    const s = await scheduler(clock);
    await expect(
      s.schedules.create({ task: "t", key: "k", schedule: every("1h") }),
    ).rejects.toMatchObject({
      code: "NOT_STARTED",
    });
    await s.start();
    const cases: [unknown, string][] = [
      [{ task: "a:b", key: "k", schedule: every("1h") }, "INVALID_OPTION"],
      [{ task: "t", key: "has space", schedule: every("1h") }, "INVALID_OPTION"],
      [{ task: "t", key: "k", schedule: { kind: "hourly-v9" } }, "INVALID_SCHEDULE"],
      [
        { task: "t", key: "k", schedule: every("1h"), timezone: "Mars/Olympus" },
        "INVALID_TIMEZONE",
      ],
      [{ task: "t", key: "k", schedule: every("1h"), data: 1n }, "INVALID_OPTION"],
      [
        { task: "t", key: "k", schedule: every("1h"), options: { overlpa: "skip" } },
        "UNKNOWN_OPTION",
      ],
      [
        { task: "t", key: "k", schedule: every("1h"), options: { beforeRun: () => true } },
        "INVALID_OPTION",
      ],
      [{ task: "t", key: "k", schedule: every("1h"), shedule: 1 }, "UNKNOWN_OPTION"],
      [{ task: "t", key: "k", shedule: every("1h") }, "UNKNOWN_OPTION"],
      [{ task: "t", key: "k" }, "INVALID_SCHEDULE"],
    ];
    for (const [input, code] of cases) {
      const error = await s.schedules.create(input as never).catch((e: unknown) => e);
      expect(
        error,
        JSON.stringify(input, (_k, v) => (typeof v === "bigint" ? "1n" : v)),
      ).toBeInstanceOf(BelfryError);
      expect((error as BelfryError).code).toBe(code);
    }
    const typo = await s.schedules
      .create({ task: "t", key: "k", shedule: every("1h") } as never)
      .catch((e: unknown) => e);
    expect((typo as Error).message).toContain('did you mean "schedule"');
    expect(() => s.task("t", "not a function" as never)).toThrow(BelfryError);
    s.task("dup", () => {});
    expect(() => s.task("dup", () => {})).toThrow(
      expect.objectContaining({ code: "DUPLICATE_TASK" }),
    );
    expect(() => s.task("x", () => {}, { overlap: "skip" } as never)).toThrow(
      expect.objectContaining({ code: "UNKNOWN_OPTION" }),
    );
  });

  it("pause records skipped rows, resume goes on, remove stops it at once, trigger runs it once now", async () => {
    const clock = new FakeClock(T0);
    const s = await scheduler(clock);
    const runs: { at: number; trigger: string }[] = [];
    s.task("t", (run) => void runs.push({ at: run.scheduledAt.getTime(), trigger: run.trigger }));
    await s.start();
    await s.schedules.create({ task: "t", key: "k", schedule: every("1m") });
    await s.schedules.pause("t", "k");
    await clock.advance(60_000);
    expect(runs).toEqual([]);
    const skipped = await s.history({ jobId: "t:k" });
    expect(skipped.map((r) => [r.state, r.error])).toEqual([["skipped", "paused"]]);
    await s.schedules.resume("t", "k");
    await clock.advance(60_000);
    expect(runs.map((r) => r.at)).toEqual([T0 + 120_000]);
    await s.schedules.trigger("t", "k");
    await s.schedules.trigger("t", "k");
    for (let i = 0; i < 3; i++) await clock.advance(1);
    expect(runs.filter((r) => r.trigger === "manual")).toHaveLength(1);
    expect(await s.schedules.remove("t", "k")).toBe(true);
    expect(await s.schedules.remove("t", "k")).toBe(false);
    await clock.advance(180_000);
    expect(runs.filter((r) => r.trigger === "schedule")).toHaveLength(1);
    await expect(s.schedules.trigger("t", "k")).rejects.toMatchObject({ code: "UNKNOWN_SCHEDULE" });
  });

  it("a replica without the task leaves its schedules to one that defines it", async () => {
    const clock = new FakeClock(T0);
    const store = new MemoryStore({ clock });
    const old = await scheduler(clock, store, "old");
    const fresh = await scheduler(clock, store, "new");
    const ranOn: string[] = [];
    fresh.task("new-task", (run) => void ranOn.push(run.replicaId));
    await old.start();
    await fresh.start();
    await old.schedules.create({ task: "new-task", key: "k", schedule: every("1m") });
    for (let i = 0; i < 5; i++) await clock.advance(60_000);
    expect(ranOn).toEqual(["new", "new", "new", "new", "new"]);
  });

  it("createMany writes 5,000 schedules, list pages through them, removeMany removes them", async () => {
    const clock = new FakeClock(T0);
    const s = await scheduler(clock);
    await s.start();
    const inputs = Array.from({ length: 5_000 }, (_, i) => ({
      task: "bulk",
      key: `u-${String(i).padStart(5, "0")}`,
      schedule: every("1h"),
    }));
    expect(await s.schedules.createMany(inputs)).toEqual({
      created: 5_000,
      updated: 0,
      unchanged: 0,
      conflicts: [],
    });
    const again = await s.schedules.createMany([{ ...inputs[0]!, data: 1 }, inputs[1]!]);
    expect(again).toEqual({
      created: 0,
      updated: 0,
      unchanged: 1,
      conflicts: [{ task: "bulk", key: "u-00000" }],
    });
    let seen = 0;
    let cursor: string | undefined;
    do {
      const page = await s.schedules.list({ task: "bulk", limit: 1_000, cursor });
      seen += page.schedules.length;
      cursor = page.next ?? undefined;
    } while (cursor);
    expect(seen).toBe(5_000);
    expect(await s.schedules.removeMany(inputs.slice(0, 2_500))).toBe(2_500);
    expect((await s.schedules.list({ task: "bulk", limit: 1_000 })).schedules[0]?.key).toBe(
      "u-02500",
    );
  });

  it("a burst of 2,000 schedules due at one instant runs each once over two replicas", async () => {
    const clock = new FakeClock(T0);
    const store = new MemoryStore({ clock });
    const a = await scheduler(clock, store, "a");
    const b = await scheduler(clock, store, "b");
    const ran = new Map<string, number>();
    const count = (run: RunContext) => void ran.set(run.jobId, (ran.get(run.jobId) ?? 0) + 1);
    a.task("burst", count);
    b.task("burst", count);
    await a.start();
    await b.start();
    await a.schedules.createMany(
      Array.from({ length: 2_000 }, (_, i) => ({
        task: "burst",
        key: `k${i}`,
        schedule: cron("0 9 * * *"),
      })),
    );
    await clock.advance(3_600_000);
    for (let i = 0; i < 20; i++) await clock.advance(10);
    expect(ran.size).toBe(2_000);
    expect([...ran.values()].every((n) => n === 1)).toBe(true);
  });

  it("a run whose replica stops mid-run is recovered by a replica that defines the task", async () => {
    const clock = new FakeClock(T0);
    const store = new MemoryStore({ clock });
    const a = await scheduler(clock, store, "a");
    const b = await scheduler(clock, store, "b");
    const attempts: string[] = [];
    a.task("slow", (run) => {
      attempts.push(`${run.replicaId}#${run.attempt}`);
      return new Promise((resolve) => run.signal.addEventListener("abort", resolve));
    });
    b.task("slow", (run) => void attempts.push(`${run.replicaId}#${run.attempt}`));
    await a.start();
    await a.schedules.create({ task: "slow", key: "k", schedule: every("1h") });
    await clock.advance(3_600_000);
    expect(attempts).toEqual(["a#1"]);
    await b.start();
    await a.stop({ drain: false });
    for (let i = 0; i < 10; i++) await clock.advance(10_000);
    expect(attempts).toEqual(["a#1", "b#2"]);
    const [run] = await b.history({ jobId: "slow:k" });
    expect(run).toMatchObject({ state: "succeeded", attempt: 2, replicaId: "b" });
  });

  it("schedules of a task no replica defines are reported as stalled, every ten minutes", async () => {
    const clock = new FakeClock(T0);
    const s = await scheduler(clock);
    const stalled: { task: string; key: string; dueSince: Date }[] = [];
    s.on("schedule:stalled", (e) => void stalled.push(e));
    s.task("known", () => {});
    await s.start();
    await s.schedules.create({ task: "typo-task", key: "k1", schedule: every("1m") });
    await s.schedules.create({ task: "known", key: "k1", schedule: every("1m") });
    for (let i = 0; i < 4; i++) await clock.advance(60_000);
    expect(stalled).toEqual([
      { replicaId: "a", task: "typo-task", key: "k1", dueSince: new Date(T0 + 60_000) },
    ]);
    const warnings = await s.store.listWarnings!(10);
    expect(warnings.map((w) => w.kind)).toEqual(["schedule-stalled"]);
    expect(warnings[0]?.message).toContain('scheduler.task("typo-task"');
    for (let i = 0; i < 10; i++) await clock.advance(60_000);
    expect(stalled).toHaveLength(2);
  });

  it("a claim the store finds not yet due (the replica's clock ran ahead) is retried when due, not a poll later", async () => {
    const replicaClock = new FakeClock(T0);
    const storeClock = new FakeClock(T0);
    const s = await scheduler(replicaClock, new MemoryStore({ clock: storeClock }));
    const startedAt: number[] = [];
    s.task("t", () => void startedAt.push(storeClock.now()));
    await s.start();
    await s.schedules.create({ task: "t", key: "k", schedule: every("1m") });
    // The store's clock steps 3 s back; the replica's estimate of it is 3 s ahead until it
    // measures again.
    storeClock.set(T0 - 3_000);
    for (let i = 0; i < 70; i++) {
      await replicaClock.advance(1_000);
      await storeClock.advance(1_000);
    }
    expect(startedAt).toHaveLength(1);
    expect(startedAt[0]! - (T0 + 60_000)).toBeLessThan(5_000);
  });

  it("a row due soon is read ahead and claimed at its instant, not before, with no read in between", async () => {
    const clock = new FakeClock(T0);
    const store = new MemoryStore({ clock });
    const reads: number[] = [];
    const claims: number[] = [];
    const dueSchedules = store.dueSchedules.bind(store);
    store.dueSchedules = (query) => {
      reads.push(clock.now());
      return dueSchedules(query);
    };
    const claim = store.claim.bind(store);
    store.claim = (requests) => {
      claims.push(clock.now());
      return claim(requests);
    };
    const s = await scheduler(clock, store);
    const started: number[] = [];
    s.task("t", () => void started.push(clock.now()));
    await s.start();
    await s.schedules.create({ task: "t", key: "k", schedule: every("1m") });
    const instant = T0 + 60_000;
    await clock.advanceTo(instant - 1);
    expect(reads.at(-1)).toBe(instant - READ_AHEAD_MS);
    expect(claims).toEqual([]);
    await clock.advanceTo(instant);
    expect(claims).toEqual([instant]);
    expect(started).toEqual([instant]);
    expect(reads.filter((at) => at > instant - READ_AHEAD_MS)).toEqual([]);
  });

  it("a schedule another process removes or changes unannounced after it was read ahead is refused by the claim", async () => {
    const clock = new FakeClock(T0);
    const store = new MemoryStore({ clock });
    const claimed: string[] = [];
    const claim = store.claim.bind(store);
    store.claim = (requests) => {
      claimed.push(...requests.map((request) => request.jobId));
      return claim(requests);
    };
    const writer = await scheduler(clock, store, "writer");
    // A replica the store does not wake on changes (as on MySQL or SQLite): what it read ahead
    // stays held until the instant.
    const unannounced = new Proxy(store, {
      get: (target, property, receiver) =>
        property === "onScheduleChange" ? undefined : Reflect.get(target, property, receiver),
    });
    const s = await scheduler(clock, unannounced, "a");
    const runs: string[] = [];
    s.task("t", (run) => void runs.push(`${run.scheduleKey}@${run.scheduledAt.getTime() - T0}`));
    const changes: unknown[] = [];
    s.on("job:definitionChanged", (change) => void changes.push(change));
    await writer.start();
    await s.start();
    for (const key of ["gone", "moved", "kept"]) {
      await writer.schedules.create({ task: "t", key, schedule: every("1m") });
    }
    const instant = T0 + 60_000;
    await clock.advanceTo(instant - READ_AHEAD_MS + 1);
    await writer.schedules.remove("t", "gone");
    const moved = await writer.schedules.update("t", "moved", { schedule: every("2m") });
    await clock.advanceTo(instant);
    // All three were claimed as read before the writes; the store refused the two changed rows.
    expect(claimed.sort()).toEqual(["t:gone", "t:kept", "t:moved"]);
    expect(runs).toEqual(["kept@60000"]);
    // The row changed after it was read: no other definition to report.
    expect(changes).toEqual([]);
    const movedAt = moved.nextRun!.getTime();
    await clock.advanceTo(movedAt);
    expect(runs).toContain(`moved@${movedAt - T0}`);
    expect(runs.filter((run) => run.startsWith("gone@"))).toEqual([]);
  });

  it("a write made here after the read-ahead drops it: the run gets the data written", async () => {
    const clock = new FakeClock(T0);
    const s = await scheduler(clock);
    const data: unknown[] = [];
    s.task("t", (run) => void data.push(run.data));
    await s.start();
    await s.schedules.create({ task: "t", key: "k", schedule: every("1m"), data: { v: 1 } });
    await clock.advanceTo(T0 + 60_000 - READ_AHEAD_MS + 1);
    await s.schedules.update("t", "k", { data: { v: 2 } });
    await clock.advanceTo(T0 + 60_000);
    expect(data).toEqual([{ v: 2 }]);
  });

  it("a trigger the store's clock set ahead of the replica's reading is taken at its time, not a poll later", async () => {
    const replicaClock = new FakeClock(T0);
    const storeClock = new FakeClock(T0);
    const s = await scheduler(replicaClock, new MemoryStore({ clock: storeClock }));
    const manual: number[] = [];
    s.task("t", (run) => {
      if (run.trigger === "manual") manual.push(replicaClock.now());
    });
    await s.start();
    await s.schedules.create({ task: "t", key: "k", schedule: every("1h") });
    // The store's clock steps 100 ms ahead of the replica's estimate of it: the trigger's row
    // comes back within the read-ahead, due 100 ms after what the replica reads as now.
    storeClock.set(T0 + 100);
    await s.schedules.trigger("t", "k");
    for (let i = 0; i < 20; i++) {
      await replicaClock.advance(10);
      await storeClock.advance(10);
    }
    expect(manual).toEqual([T0 + 100]);
  });

  it("a replica that only writes schedules takes no run over, so none loses its retry", async () => {
    const clock = new FakeClock(T0);
    const store = new MemoryStore({ clock });
    // The writer's recovery runs before `b` starts: were it to take the run over and hand it
    // back, that would spend the run's one retry and `b` would abandon it.
    const writer = new Scheduler({ store, clock, replicaId: "writer", recoveryInterval: 100 });
    started.push(writer);
    const a = await scheduler(clock, store, "a");
    const b = await scheduler(clock, store, "b");
    a.task(
      "slow",
      (run) => new Promise((resolve) => run.signal.addEventListener("abort", resolve)),
    );
    b.task("slow", () => {});
    await writer.start();
    await a.start();
    await writer.schedules.create({ task: "slow", key: "k", schedule: every("1h") });
    await clock.advance(3_600_000);
    await a.stop({ drain: false });
    for (let i = 0; i < 5; i++) await clock.advance(100);
    await b.start();
    for (let i = 0; i < 10; i++) await clock.advance(10_000);
    const [run] = await b.history({ jobId: "slow:k" });
    expect(run).toMatchObject({ state: "succeeded", attempt: 2, replicaId: "b" });
  });
});
