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

/** A minute before 09:00 in Berlin, three days after it moved to summer time (UTC+2). */
const T0 = Date.parse("2026-04-01T06:59:00Z");

describe("schedules.backfill (memory store, fake clock)", () => {
  const started: Scheduler[] = [];
  afterEach(async () => {
    await Promise.all(started.map((s) => s.stop()));
    started.length = 0;
  });

  function scheduler(
    clock: FakeClock,
    store = new MemoryStore({ clock }),
    id = "a",
    concurrency?: number,
  ): Scheduler {
    const s = new Scheduler({ store, clock, replicaId: id, unref: true, concurrency });
    started.push(s);
    return s;
  }

  /** Rejects with a BelfryError: its code and message. */
  async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
    const error = await promise.then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(BelfryError);
    return { code: (error as BelfryError).code, message: (error as BelfryError).message };
  }

  it("runs each occurrence of a past window of a cron schedule in its zone once, as a backfill run", async () => {
    const clock = new FakeClock(T0);
    const s = scheduler(clock);
    const runs: RunContext[] = [];
    s.task("report", (run) => void runs.push(run));
    await s.start();
    await s.schedules.create({
      task: "report",
      key: "berlin",
      schedule: cron("0 9 * * *"),
      timezone: "Europe/Berlin",
      data: { city: "Berlin" },
    });
    const before = await s.schedules.get("report", "berlin");

    const backfill = await s.schedules.backfill(
      "report",
      "berlin",
      "2026-03-26T00:00:00Z",
      new Date(T0),
    );
    expect(backfill.occurrences).toBe(6);
    expect(await backfill.finished).toEqual({ claimed: 6, alreadyClaimed: 0 });
    // 09:00 Berlin: 08:00 UTC before the change to summer time, 07:00 UTC from the 29th.
    expect(runs.map((run) => run.scheduledAt.toISOString()).sort()).toEqual([
      "2026-03-26T08:00:00.000Z",
      "2026-03-27T08:00:00.000Z",
      "2026-03-28T08:00:00.000Z",
      "2026-03-29T07:00:00.000Z",
      "2026-03-30T07:00:00.000Z",
      "2026-03-31T07:00:00.000Z",
    ]);
    expect(runs.every((run) => run.trigger === "backfill" && run.attempt === 1)).toBe(true);
    const first = runs.find((run) => run.scheduledAt.getTime() === Date.UTC(2026, 2, 26, 8));
    expect(first).toMatchObject({
      jobId: "report:berlin",
      task: "report",
      scheduleKey: "berlin",
      data: { city: "Berlin" },
      idempotencyKey: "report:berlin@2026-03-26T08:00:00.000Z#backfill",
    });
    const history = await s.history({ jobId: "report:berlin" });
    expect(history.map((run) => [run.trigger, run.state])).toEqual(
      Array.from({ length: 6 }, () => ["backfill", "succeeded"]),
    );
    // The series is untouched: no watermark, no run counted, the same next run.
    expect(await s.schedules.get("report", "berlin")).toEqual(before);

    // A second backfill of the window runs nothing; a wider one runs only what is new.
    const again = await s.schedules.backfill(
      "report",
      "berlin",
      Date.parse("2026-03-26T00:00:00Z"),
      T0,
    );
    expect(await again.finished).toEqual({ claimed: 0, alreadyClaimed: 6 });
    const wider = await s.schedules.backfill("report", "berlin", "2026-03-25T00:00:00Z", T0);
    expect(await wider.finished).toEqual({ claimed: 1, alreadyClaimed: 6 });
    expect(runs).toHaveLength(7);

    // The schedule's own occurrence still runs, as scheduled.
    await clock.advance(61_000);
    expect(runs.map((run) => run.trigger)).toEqual([...Array(7).fill("backfill"), "schedule"]);
    expect(runs[7]?.scheduledAt.toISOString()).toBe("2026-04-01T07:00:00.000Z");
    // The audit counts backfill runs apart: nothing ran twice, nothing owed is missing.
    const report = await s.audit({ since: Date.parse("2026-03-25T00:00:00Z") });
    expect(report).toMatchObject({ ok: true, backfillRuns: 7, manualRuns: 0, runs: 8 });
    expect(report.unscheduled.count).toBe(0);
  });

  it("bad windows, unknown schedules and tasks not defined here give their codes", async () => {
    const clock = new FakeClock(T0);
    const store = new MemoryStore({ clock });
    const s = scheduler(clock, store);
    s.task("t", () => {});
    await expect(s.schedules.backfill("t", "k", T0 - 1_000, T0)).rejects.toMatchObject({
      code: "NOT_STARTED",
    });
    await s.start();
    await s.schedules.create({ task: "t", key: "k", schedule: every("1m") });
    const day = 86_400_000;
    const cases: [Promise<unknown>, string, string][] = [
      [s.schedules.backfill("t", "k", T0, T0), "INVALID_RANGE", "must be before to"],
      [s.schedules.backfill("t", "k", T0, T0 - day), "INVALID_RANGE", "must be before to"],
      [s.schedules.backfill("t", "k", T0 - day, T0 + 60_000), "INVALID_RANGE", "after store now"],
      [s.schedules.backfill("t", "k", T0 - 8 * day, T0), "INVALID_RANGE", "more than 10,000"],
      [s.schedules.backfill("t", "k", "yesterday", T0), "INVALID_DATE", '"yesterday"'],
      [s.schedules.backfill("t", "k", T0 - day, NaN), "INVALID_DATE", "to NaN"],
      [s.schedules.backfill("t", "nope", T0 - day, T0), "UNKNOWN_SCHEDULE", '"nope"'],
      [s.schedules.backfill("t", "bad key", T0 - day, T0), "INVALID_OPTION", "a key is"],
    ];
    for (const [promise, code, text] of cases) {
      const { code: got, message } = await failure(promise);
      expect([got, message]).toEqual([code, expect.stringContaining(text)]);
    }
    // Where the first 10,000 occurrences end, so the caller can split the window there.
    const { message } = await failure(s.schedules.backfill("t", "k", T0 - 8 * day, T0));
    expect(message).toContain(`[${new Date(T0 - 8 * day).toISOString()}, `);
    expect(message).toContain(`${new Date(T0 - 8 * day + 10_000 * 60_000).toISOString()})`);

    // A replica that does not define the task cannot backfill it (the runs would be its own).
    const other = scheduler(clock, store, "b");
    await other.start();
    const unknown = await failure(other.schedules.backfill("t", "k", T0 - 60_000, T0));
    expect(unknown.code).toBe("UNKNOWN_JOB");
    expect(unknown.message).toContain('scheduler.task("t"');
    expect(await store.history({ jobId: "t:k" })).toEqual([]);
  });

  it("runs at most the replica's free run slots at a time", async () => {
    const clock = new FakeClock(T0);
    const s = scheduler(clock, undefined, "a", 2);
    let active = 0;
    let most = 0;
    s.task("t", async () => {
      active += 1;
      most = Math.max(most, active);
      await new Promise((resolve) => setTimeout(resolve, 5));
      active -= 1;
    });
    await s.start();
    await s.schedules.create({ task: "t", key: "k", schedule: every("1m") });
    const backfill = await s.schedules.backfill("t", "k", T0 - 10 * 60_000, T0);
    expect(await backfill.finished).toEqual({ claimed: 10, alreadyClaimed: 0 });
    expect(most).toBe(2);
  });

  it("a backfill run whose replica stops is recovered as a backfill run; the rest is claimed by backfilling again", async () => {
    const now = T0 + 60_000; // 07:00 UTC: the hourly schedule next fires at 08:00
    const clock = new FakeClock(now);
    const store = new MemoryStore({ clock });
    const a = scheduler(clock, store, "a", 1);
    const b = scheduler(clock, store, "b");
    const attempts: string[] = [];
    a.task("slow", (run) => {
      attempts.push(`${run.replicaId}#${run.attempt}`);
      return new Promise((resolve) => run.signal.addEventListener("abort", resolve));
    });
    b.task("slow", (run) => void attempts.push(`${run.replicaId}#${run.attempt}:${run.trigger}`));
    await a.start();
    await a.schedules.create({ task: "slow", key: "k", schedule: every("1h") });
    const backfill = await a.schedules.backfill("slow", "k", now - 3 * 3_600_000, now);
    expect(backfill.occurrences).toBe(3);
    await clock.advance(1);
    expect(attempts).toEqual(["a#1"]);
    await b.start();
    await a.stop({ drain: false });
    const stopped = await failure(backfill.finished);
    expect(stopped.code).toBe("ABORTED");
    expect(stopped.message).toContain("2 occurrence(s) not claimed");
    for (let i = 0; i < 10; i++) await clock.advance(10_000);
    expect(attempts).toEqual(["a#1", "b#2:backfill"]);
    const again = await b.schedules.backfill("slow", "k", now - 3 * 3_600_000, now);
    expect(await again.finished).toEqual({ claimed: 2, alreadyClaimed: 1 });
    const history = await b.history({ jobId: "slow:k" });
    expect(history.map((run) => [run.trigger, run.state, run.replicaId, run.attempt])).toEqual([
      ["backfill", "succeeded", "b", 1],
      ["backfill", "succeeded", "b", 1],
      ["backfill", "succeeded", "b", 2],
    ]);
    expect(await b.schedules.get("slow", "k")).toMatchObject({
      runCount: 0,
      lastScheduledAt: null,
    });
  });
});
