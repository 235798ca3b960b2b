import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { capabilities } from "../../src/stores/shared/capabilities.js";
import { MemoryStore } from "../../src/stores/memory/index.js";
import { MysqlStore, type MysqlTransaction } from "../../src/stores/mysql/index.js";
import { PostgresStore, type PgTransaction } from "../../src/stores/postgres/index.js";
import { openSqliteDriver } from "../../src/stores/sqlite/driver.js";
import { SqliteStore, type SqliteTransaction } from "../../src/stores/sqlite/index.js";
import type { Store, Transactions } from "../../src/stores/store.js";
import {
  claimWon,
  job,
  pastBase,
  rejectsWith,
  request,
  runRow,
  waitPast,
} from "../conformance/harness.js";

/**
 * `Transactions.transactional` on each SQL store, against the real servers: the callback's
 * writes and the run's outcome commit together, or neither does.
 */

type TxStore = Store & Transactions;

/** One SQL store under test: how to open it, write through its handle and read back. */
interface Target {
  readonly name: string;
  /** A store on `prefix` (not initialised); several calls share one database. */
  make(prefix: string): TxStore;
  /** Creates the effects table of `prefix` (one text primary key `k`). */
  createEffects(prefix: string): Promise<void>;
  /** Inserts `k` into the effects table through the transaction's handle. */
  insert(tx: unknown, prefix: string, k: string): unknown;
  /** The keys in the effects table, read outside any transaction. */
  keys(prefix: string): Promise<string[]>;
  /** True when the callback may await other store calls (the server stores). */
  readonly asyncCallback: boolean;
}

const pgUrl = process.env.BELFRY_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const pgSchema = `belfry_tx_${randomBytes(4).toString("hex")}`;
const pgAdmin = new pg.Pool({ connectionString: pgUrl, max: 2 });
const myUri = process.env.BELFRY_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const myAdmin = mysql.createPool({ uri: myUri, connectionLimit: 2 });
const sqliteDir = mkdtempSync(join(tmpdir(), "belfry-tx-"));
const sqliteFile = (prefix: string) => join(sqliteDir, `${prefix}.db`);
const myPrefixes: string[] = [];

afterAll(async () => {
  await pgAdmin.query(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
  await pgAdmin.end();
  for (const prefix of myPrefixes) {
    for (const table of ["jobs", "runs", "replicas", "warnings", "migrations", "effects"]) {
      await myAdmin.query(`DROP TABLE IF EXISTS ${prefix}${table}`);
    }
  }
  await myAdmin.end();
  rmSync(sqliteDir, { recursive: true, force: true });
});

const postgres: Target = {
  name: "postgres",
  make: (prefix) =>
    new PostgresStore({
      connectionString: pgUrl,
      schema: pgSchema,
      tablePrefix: prefix,
      maxConnections: 4,
    }),
  createEffects: async (prefix) => {
    await pgAdmin.query(`CREATE TABLE ${pgSchema}.${prefix}effects (k text PRIMARY KEY)`);
  },
  insert: (tx, prefix, k) =>
    (tx as PgTransaction).query(`INSERT INTO ${pgSchema}.${prefix}effects (k) VALUES ($1)`, [k]),
  keys: async (prefix) =>
    (await pgAdmin.query(`SELECT k FROM ${pgSchema}.${prefix}effects ORDER BY k`)).rows.map(
      (row: { k: string }) => row.k,
    ),
  asyncCallback: true,
};

const mysqlTarget: Target = {
  name: "mysql",
  make: (prefix) => {
    myPrefixes.push(prefix);
    return new MysqlStore({ uri: myUri, tablePrefix: prefix, maxConnections: 4 });
  },
  createEffects: async (prefix) => {
    await myAdmin.query(`CREATE TABLE ${prefix}effects (k VARCHAR(100) PRIMARY KEY)`);
  },
  insert: (tx, prefix, k) =>
    (tx as MysqlTransaction).query(`INSERT INTO ${prefix}effects (k) VALUES (?)`, [k]),
  keys: async (prefix) => {
    const [rows] = await myAdmin.query(`SELECT k FROM ${prefix}effects ORDER BY k`);
    return (rows as { k: string }[]).map((row) => row.k);
  },
  asyncCallback: true,
};

const sqlite: Target = {
  name: "sqlite",
  make: (prefix) => new SqliteStore({ path: sqliteFile(prefix), tablePrefix: prefix }),
  createEffects: async (prefix) => withSqlite(prefix, (db) => db.exec(effectsDdl(prefix))),
  insert: (tx, prefix, k) =>
    (tx as SqliteTransaction).run(`INSERT INTO ${prefix}effects (k) VALUES (?)`, k),
  keys: async (prefix) =>
    withSqlite(prefix, (db) =>
      (db.prepare(`SELECT k FROM ${prefix}effects ORDER BY k`).all() as { k: string }[]).map(
        (row) => row.k,
      ),
    ),
  asyncCallback: false,
};

const effectsDdl = (prefix: string) => `CREATE TABLE ${prefix}effects (k TEXT PRIMARY KEY)`;

function withSqlite<T>(prefix: string, body: (db: ReturnType<typeof openSqliteDriver>) => T): T {
  const db = openSqliteDriver(sqliteFile(prefix), 1_000);
  try {
    return body(db);
  } finally {
    db.close();
  }
}

/** `after(value, f)`: `f()` once `value` settled, synchronously when it is not a promise. */
function after<T>(value: unknown, f: () => T): T | Promise<T> {
  return value instanceof Promise ? value.then(f) : f();
}

/** Two stores on a fresh prefix (two replicas), the effects table, a registered job. */
async function setup(target: Target) {
  const prefix = `x_${randomBytes(4).toString("hex")}_`;
  const [a, b] = [target.make(prefix), target.make(prefix)];
  await a.init();
  await b.init();
  await target.createEffects(prefix);
  const reg = job();
  await a.registerJob(reg);
  const t = await pastBase(a);
  const close = async () => Promise.all([a.close(), b.close()]);
  return { prefix, a, b, reg, t, close };
}

const succeeded = { state: "succeeded" } as const;

describe.each([postgres, mysqlTarget, sqlite])("$name transactional", (target) => {
  it("commits the callback's writes and the succeeded outcome together", async () => {
    const { prefix, a, reg, t, close } = await setup(target);
    try {
      const run = await claimWon(a, request(reg, t));
      const result = await a.transactional(run.runId, run.token, succeeded, 30_000, (tx) =>
        after(target.insert(tx, prefix, "effect-1"), () => "value"),
      );
      expect(result).toEqual({ value: "value", next: null });
      expect(await target.keys(prefix)).toEqual(["effect-1"]);
      const row = await runRow(a, reg.jobId, run.runId);
      expect(row.state).toBe("succeeded");
      expect(row.finishedAt).not.toBeNull();
      // The run is finished: the owner's own later writes are refused.
      expect((await a.finishRun(run.runId, run.token, succeeded, 30_000)).ok).toBe(false);
    } finally {
      await close();
    }
  });

  it("refuses a stale token with LEASE_LOST before calling back, writing nothing", async () => {
    const { prefix, a, b, reg, t, close } = await setup(target);
    try {
      const run = await claimWon(a, request(reg, t));
      expect(await a.releaseRun(run.runId, run.token)).toBe(true);
      const [taken] = await b.recoverExpired("r2", 30_000, 10);
      expect(taken?.action).toBe("retried");
      let called = false;
      const message = await rejectsWith(
        a.transactional(run.runId, run.token, succeeded, 30_000, (tx) => {
          called = true;
          return target.insert(tx, prefix, "stale");
        }),
        "LEASE_LOST",
      );
      expect(message).toContain(run.runId);
      expect(called).toBe(false);
      expect(await target.keys(prefix)).toEqual([]);
      const row = await runRow(a, reg.jobId, run.runId);
      expect(row).toMatchObject({ state: "claimed", attempt: 2, token: run.token + 1 });
    } finally {
      await close();
    }
  });

  it("rolls back the callback's writes when it throws, and hands back its error", async () => {
    const { prefix, a, reg, t, close } = await setup(target);
    try {
      const run = await claimWon(a, request(reg, t));
      const boom = new Error("boom");
      const error = await a
        .transactional(run.runId, run.token, succeeded, 30_000, (tx) =>
          after(target.insert(tx, prefix, "thrown"), () => {
            throw boom;
          }),
        )
        .catch((caught: unknown) => caught);
      expect(error).toBe(boom);
      expect(await target.keys(prefix)).toEqual([]);
      expect((await runRow(a, reg.jobId, run.runId)).state).toBe("claimed");
      // The owner still holds the run and can finish it normally.
      expect((await a.finishRun(run.runId, run.token, succeeded, 30_000)).ok).toBe(true);
    } finally {
      await close();
    }
  });

  it("after a commit and a crash (no finishRun), recovery never retries the occurrence", async () => {
    const { prefix, a, b, reg, t, close } = await setup(target);
    try {
      const run = await claimWon(a, request(reg, t, { leaseMs: 300 }));
      await a.transactional(run.runId, run.token, succeeded, 300, (tx) =>
        target.insert(tx, prefix, "once"),
      );
      // The process "dies" here; another replica looks for expired leases after this one's.
      await waitPast(b, run.leaseExpiresAt);
      expect(await b.recoverExpired("r2", 30_000, 100)).toEqual([]);
      expect((await b.claim([request(reg, t, { replicaId: "r2" })]))[0]?.status).not.toBe("won");
      const rows = await b.history({ jobId: reg.jobId });
      expect(rows.map((r) => [r.runId, r.state, r.attempt])).toEqual([[run.runId, "succeeded", 1]]);
      expect(await target.keys(prefix)).toEqual(["once"]);
    } finally {
      await close();
    }
  });

  it("hands the job's queued run to the caller in the same commit", async () => {
    const { a, t, close } = await setup(target);
    try {
      const queueing = job({ overlap: "queueOne" });
      await a.registerJob(queueing);
      const run = await claimWon(a, request(queueing, t));
      expect((await a.claim([request(queueing, t + 1000)]))[0]?.status).toBe("queued");
      const { next } = await a.transactional(run.runId, run.token, succeeded, 30_000, () => 1);
      expect(next).toMatchObject({ jobId: queueing.jobId, scheduledAt: t + 1000, token: 1 });
    } finally {
      await close();
    }
  });

  if (target.asyncCallback)
    it("rolls back with LEASE_LOST when the lease is taken while the callback runs", async () => {
      const { prefix, a, b, reg, t, close } = await setup(target);
      try {
        const run = await claimWon(a, request(reg, t));
        await rejectsWith(
          a.transactional(run.runId, run.token, succeeded, 30_000, async (tx) => {
            await target.insert(tx, prefix, "late");
            // Another replica takes the run over before this transaction commits.
            expect(await b.releaseRun(run.runId, run.token)).toBe(true);
            expect((await b.recoverExpired("r2", 30_000, 10))[0]?.action).toBe("retried");
          }),
          "LEASE_LOST",
        );
        expect(await target.keys(prefix)).toEqual([]);
        const row = await runRow(a, reg.jobId, run.runId);
        expect(row).toMatchObject({ state: "claimed", attempt: 2, replicaId: "r2" });
      } finally {
        await close();
      }
    });

  if (!target.asyncCallback)
    it("refuses an async callback (a transaction must not span an await) and rolls it back", async () => {
      const { prefix, a, reg, t, close } = await setup(target);
      try {
        const run = await claimWon(a, request(reg, t));
        const message = await rejectsWith(
          a.transactional(run.runId, run.token, succeeded, 30_000, async (tx) => {
            target.insert(tx, prefix, "sync-part");
            await Promise.resolve();
            target.insert(tx, prefix, "after-await");
          }),
          "INVALID_HANDLER",
        );
        expect(message).toContain("synchronous");
        expect(await target.keys(prefix)).toEqual([]);
        expect((await runRow(a, reg.jobId, run.runId)).state).toBe("claimed");
      } finally {
        await close();
      }
    });
});

describe("stores without transactions", () => {
  it("memory has no Transactions capability", () => {
    const store = new MemoryStore();
    expect(capabilities(store).transactions).toBeNull();
  });
});
