import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  FakeClock,
  once,
  Scheduler,
  type BelfryError,
  type RunContext,
  type Store,
} from "../../src/index.js";
import { openSqliteDriver } from "../../src/stores/sqlite/driver.js";
import { SqliteStore, type SqliteTransaction } from "../../src/stores/sqlite/index.js";
import { cluster, deferred, T0 } from "../scheduler/harness.js";

/**
 * `run.transaction` through the scheduler on SQLite (two replicas on one file, simulated time):
 * the effect written in the run's transaction happens once, whatever happens to the replica
 * around its commit.
 */

const dir = mkdtempSync(join(tmpdir(), "belfry-tx-lifecycle-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A fresh SQLite file with the application's own `effects` table. */
function freshFile(): string {
  const path = join(dir, `tx-${++files}.db`);
  const db = openSqliteDriver(path, 1_000);
  db.exec("CREATE TABLE effects (k TEXT PRIMARY KEY, replica TEXT NOT NULL)");
  db.close();
  return path;
}

function effects(path: string): { k: string; replica: string }[] {
  const db = openSqliteDriver(path, 1_000);
  try {
    return db.prepare("SELECT k, replica FROM effects ORDER BY k").all() as {
      k: string;
      replica: string;
    }[];
  } finally {
    db.close();
  }
}

/** Records the effect of `run` in its own transaction, as a handler following the docs does. */
function pay(run: RunContext, replica: string): Promise<void> {
  return run.transaction((tx: SqliteTransaction) => {
    tx.run("INSERT INTO effects (k, replica) VALUES (?, ?)", run.idempotencyKey, replica);
  });
}

/** What the replicas of one test record: executions (`a#1`) and refused transactions. */
interface Seen {
  readonly executions: string[];
  readonly refusals: unknown[];
}

/**
 * A replica on `store` whose `pay` job records its execution, awaits `before`, pays in a
 * transaction (recording a refusal) and then awaits `after`.
 */
function replica(
  replicaId: string,
  store: Store,
  clock: FakeClock,
  seen: Seen,
  hooks: { before?: () => Promise<void>; after?: () => Promise<void> } = {},
): Scheduler {
  const scheduler = new Scheduler({ store, clock, replicaId, leaseDuration: "6s" });
  const handler = async (run: RunContext) => {
    seen.executions.push(`${replicaId}#${run.attempt}`);
    await hooks.before?.();
    await pay(run, replicaId).catch((error: unknown) => {
      seen.refusals.push(error);
      throw error;
    });
    await hooks.after?.();
  };
  scheduler.job("pay", once(T0 + 1_000), handler, { onAbandoned: "retry" });
  return scheduler;
}

describe("run.transaction through the scheduler (SQLite)", () => {
  it("runs the effect once and records one succeeded run, even when the replica dies right after its commit", async () => {
    const path = freshFile();
    const clock = new FakeClock(T0);
    const seen: Seen = { executions: [], refusals: [] };
    // The process dies after the commit, before the handler returns.
    const a = replica("a", new SqliteStore({ path, clock }), clock, seen, {
      after: () => new Promise(() => {}),
    });
    await a.start();
    await clock.advance(1_000);
    expect(seen.executions).toEqual(["a#1"]);
    await a.stop({ drain: false });

    const b = replica("b", new SqliteStore({ path, clock }), clock, seen);
    await b.start();
    await clock.advance(60_000); // ten leases: recovery has looked many times
    const history = await b.history({ jobId: "pay" });
    await b.stop();
    expect(seen.executions).toEqual(["a#1"]);
    expect(history.map((r) => [r.state, r.attempt, r.replicaId])).toEqual([["succeeded", 1, "a"]]);
    expect(effects(path)).toEqual([{ k: "pay@2026-01-01T00:00:01.000Z", replica: "a" }]);
  });

  it("a replica paused past its lease cannot commit beside its retry: its effect is refused with LEASE_LOST", async () => {
    const path = freshFile();
    const clock = new FakeClock(T0);
    const seen: Seen = { executions: [], refusals: [] };
    // Replica a's store stops answering heartbeats while it is "paused" (as a SIGSTOPped
    // process does), so its lease expires in store time and replica b retries the run.
    const storeA = new SqliteStore({ path, clock });
    let paused = false;
    const frozen: Store = new Proxy(storeA, {
      get(target, property, receiver) {
        if (property === "heartbeat" && paused) return () => new Promise(() => {});
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const resume = deferred();
    // The pause: the handler ignores its signal and pays only once it resumes.
    const a = replica("a", frozen, clock, seen, {
      before: () => {
        paused = true;
        return resume.promise;
      },
    });
    const b = replica("b", new SqliteStore({ path, clock }), clock, seen);
    await a.start();
    await clock.advance(1_000);
    expect(seen.executions).toEqual(["a#1"]);
    await b.start();
    await clock.advance(20_000);
    expect(seen.executions).toEqual(["a#1", "b#2"]);
    resume.resolve();
    await clock.advance(1_000);
    const history = await b.history({ jobId: "pay" });
    await Promise.all([a.stop(), b.stop()]);
    expect(seen.refusals.map((e) => (e as BelfryError).code)).toEqual(["LEASE_LOST"]);
    expect(history.map((r) => [r.state, r.attempt, r.replicaId])).toEqual([["succeeded", 2, "b"]]);
    expect(effects(path)).toEqual([{ k: "pay@2026-01-01T00:00:01.000Z", replica: "b" }]);
  });

  it("on the memory store run.transaction fails with UNSUPPORTED naming the stores that have it", async () => {
    const c = cluster();
    const scheduler = c.replica();
    let error: BelfryError | null = null;
    scheduler.job("pay", once(T0 + 1_000), async (run) => {
      try {
        await run.transaction(() => 1);
      } catch (caught) {
        error = caught as BelfryError;
        throw caught;
      }
    });
    await scheduler.start();
    await c.clock.advance(2_000);
    const [row] = await scheduler.history({ jobId: "pay" });
    expect(await c.stopAll()).toBe(0);
    expect(error).toMatchObject({ code: "UNSUPPORTED" });
    expect((error as BelfryError | null)?.message).toContain(
      "PostgreSQL, MySQL/MariaDB and SQLite",
    );
    expect(row?.state).toBe("failed");
  });
});
