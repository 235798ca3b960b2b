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

const options = { onAbandoned: "retry" } as const;

describe("run.transaction through the scheduler (SQLite)", () => {
  it("runs the effect once and records one succeeded run, even when the replica dies right after its commit", async () => {
    const path = freshFile();
    const clock = new FakeClock(T0);
    const executions: string[] = [];
    const a = new Scheduler({
      store: new SqliteStore({ path, clock }),
      clock,
      replicaId: "a",
      leaseDuration: "6s",
    });
    a.job(
      "pay",
      once(T0 + 1_000),
      async (run) => {
        executions.push(`a#${run.attempt}`);
        await pay(run, "a");
        await new Promise(() => {}); // the process dies after the commit, before returning
      },
      options,
    );
    await a.start();
    await clock.advance(1_000);
    expect(executions).toEqual(["a#1"]);
    await a.stop({ drain: false });

    const b = new Scheduler({
      store: new SqliteStore({ path, clock }),
      clock,
      replicaId: "b",
      leaseDuration: "6s",
    });
    b.job(
      "pay",
      once(T0 + 1_000),
      async (run) => {
        executions.push(`b#${run.attempt}`);
        await pay(run, "b");
      },
      options,
    );
    await b.start();
    await clock.advance(60_000); // ten leases: recovery has looked many times
    const history = await b.history({ jobId: "pay" });
    await b.stop();
    expect(executions).toEqual(["a#1"]);
    expect(history.map((r) => [r.state, r.attempt, r.replicaId])).toEqual([["succeeded", 1, "a"]]);
    expect(effects(path)).toEqual([{ k: "pay@2026-01-01T00:00:01.000Z", replica: "a" }]);
  });

  it("a replica paused past its lease cannot commit beside its retry: its effect is refused with LEASE_LOST", async () => {
    const path = freshFile();
    const clock = new FakeClock(T0);
    const executions: string[] = [];
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
    let refused: unknown = null;
    const a = new Scheduler({ store: frozen, clock, replicaId: "a", leaseDuration: "6s" });
    a.job(
      "pay",
      once(T0 + 1_000),
      async (run) => {
        executions.push(`a#${run.attempt}`);
        paused = true;
        await resume.promise; // the pause; the handler ignores its signal
        try {
          await pay(run, "a");
        } catch (error) {
          refused = error;
          throw error;
        }
      },
      options,
    );
    const b = new Scheduler({
      store: new SqliteStore({ path, clock }),
      clock,
      replicaId: "b",
      leaseDuration: "6s",
    });
    b.job(
      "pay",
      once(T0 + 1_000),
      async (run) => {
        executions.push(`b#${run.attempt}`);
        await pay(run, "b");
      },
      options,
    );
    await a.start();
    await clock.advance(1_000);
    expect(executions).toEqual(["a#1"]);
    await b.start();
    await clock.advance(20_000);
    expect(executions).toEqual(["a#1", "b#2"]);
    resume.resolve();
    await clock.advance(1_000);
    const history = await b.history({ jobId: "pay" });
    await Promise.all([a.stop(), b.stop()]);
    expect((refused as BelfryError | null)?.code).toBe("LEASE_LOST");
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
