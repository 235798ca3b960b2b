import { FakeClock, Scheduler, cron, every, type Store } from "../../src/index.js";
import { openSqliteDriver } from "../../src/stores/sqlite/driver.js";
import type { RunRecord } from "../../src/stores/store.js";

/** 2026-01-01T00:00:00Z. */
export const T0 = Date.UTC(2026, 0, 1);

/**
 * Runs a scheduler with a few jobs on `store` for `seconds` (and a half, so that the last retry
 * ends) of fake time, then stops it.
 */
export async function fill(store: Store, clock: FakeClock, seconds = 60): Promise<void> {
  const scheduler = new Scheduler({ store, clock, replicaId: "replica-a" });
  scheduler.job("tick", every("1s"), () => {}, { overlap: "skip" });
  scheduler.job("five", cron("*/5 * * * * *"), () => {});
  scheduler.job(
    "flaky",
    every("10s"),
    (run) => {
      if (run.attempt === 1) throw new Error("first attempt fails");
    },
    { retries: { max: 1, delay: "100ms" } },
  );
  scheduler.job(
    "broken",
    every("20s"),
    () => {
      throw new Error("always fails");
    },
    { overlap: "queueOne" },
  );
  await scheduler.start();
  await clock.advance(seconds * 1000 + 500);
  await scheduler.stop({ drain: true });
}

/**
 * Runs a scheduler with one code job and runtime schedules of two tasks on `store` for 60.5 s
 * of fake time from {@link T0}, then stops it. Owed in `[T0, T0 + 60 s]`: `slow` 2 (every 30 s);
 * `digest:kolkata` 6 (seconds 5, 15, … 55 of 05:30 in Asia/Kolkata, which is T0's first
 * minute: in UTC it would owe none), `digest:utc` 6 (every 10 s); `feed:x` 3 (every 20 s).
 */
export async function fillSchedules(store: Store, clock: FakeClock): Promise<void> {
  const scheduler = new Scheduler({ store, clock, replicaId: "replica-a" });
  scheduler.job("slow", every("30s"), () => {});
  scheduler.task("digest", () => {});
  scheduler.task("feed", () => {});
  await scheduler.start();
  await scheduler.schedules.create({
    task: "digest",
    key: "kolkata",
    schedule: cron("5,15,25,35,45,55 30 5 * * *"),
    timezone: "Asia/Kolkata",
  });
  await scheduler.schedules.create({ task: "digest", key: "utc", schedule: every("10s") });
  await scheduler.schedules.create({ task: "feed", key: "x", schedule: every("20s") });
  await clock.advance(60_500);
  await scheduler.stop({ drain: true });
}

/**
 * Copies the run table of a SQLite store without its unique key, then writes a second run row
 * of `run`'s occurrence behind the store's back (the unique key is what forbids it).
 */
export function sqliteDuplicate(path: string, prefix: string, run: RunRecord): void {
  const db = openSqliteDriver(path, 1_000);
  try {
    const runs = `${prefix}runs`;
    db.exec(`CREATE TABLE ${runs}_copy AS SELECT * FROM ${runs}`);
    db.exec(`DROP TABLE ${runs}`);
    db.exec(`ALTER TABLE ${runs}_copy RENAME TO ${runs}`);
    db.prepare(
      `INSERT INTO ${runs} SELECT 'intruder-' || run_id, job_id, scheduled_at, trigger_kind, state,
         attempt, token, 'replica-b', claimed_at, started_at, finished_at, lease_expires_at, error
       FROM ${runs} WHERE run_id = ?`,
    ).run(run.runId);
  } finally {
    db.close();
  }
}

/** Deletes one run row of a SQLite store behind its back. */
export function sqliteDelete(path: string, prefix: string, run: RunRecord): void {
  const db = openSqliteDriver(path, 1_000);
  try {
    db.prepare(`DELETE FROM ${prefix}runs WHERE run_id = ?`).run(run.runId);
  } finally {
    db.close();
  }
}

/**
 * Makes `store.history` also return `extra` rows, as if written behind its back: no store API
 * writes a second row of one occurrence (that is the point), and the memory store has no SQL.
 */
export function withExtraRows(store: Store, extra: readonly RunRecord[]): void {
  const history = store.history.bind(store);
  store.history = async (query = {}) => {
    const rows = [...(await history({ ...query, limit: Number.MAX_SAFE_INTEGER })), ...extra];
    return rows
      .filter((run) => query.jobId === undefined || run.jobId === query.jobId)
      .filter((run) => query.states === undefined || query.states.includes(run.state))
      .filter((run) => run.scheduledAt >= (query.from ?? -Infinity))
      .filter((run) => run.scheduledAt < (query.to ?? Infinity))
      .sort((a, b) => b.scheduledAt - a.scheduledAt || (a.runId < b.runId ? 1 : -1))
      .slice(0, query.limit ?? 100);
  };
}
