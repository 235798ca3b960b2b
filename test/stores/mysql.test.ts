import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { MysqlStore, type MysqlStoreOptions } from "../../src/stores/mysql/index.js";
import type { Store } from "../../src/stores/store.js";
import { describeStore } from "../conformance/describe-store.js";
import { job, pastBase, rejectsWith, request } from "../conformance/harness.js";
import { schedule } from "../conformance/schedules.cases.js";

const uri = process.env.BELFRY_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const admin = mysql.createPool({ uri, connectionLimit: 2 });
const make = (prefix: string, extra: Partial<MysqlStoreOptions> = {}) =>
  new MysqlStore({ uri, tablePrefix: prefix, maxConnections: 4, ...extra });

let failures = 0;
beforeEach((context) => context.onTestFailed(() => void (failures += 1)));
afterAll(async () => {
  if (failures === 0) {
    // Every prefix of this file starts with m_; a failed run keeps its tables for debugging.
    const [rows] = await admin.query(
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'm\\_%'",
    );
    for (const row of rows as { t: string }[])
      await admin.query(`DROP TABLE IF EXISTS \`${row.t}\``);
  }
  await admin.end();
});

async function dropPrefix(prefix: string): Promise<void> {
  for (const table of ["jobs", "runs", "replicas", "warnings", "migrations"]) {
    await admin.query(`DROP TABLE IF EXISTS ${prefix}${table}`);
  }
}

// The conformance prefixes are t_<hex>_; map them to m_<hex>_ so the afterAll sweep finds them.
const mine = (prefix: string) => prefix.replace(/^t_/, "m_");

describeStore("mysql", async ({ prefix }) => make(mine(prefix)), {
  corrupt: async (_store, prefix, jobId) => {
    await admin.query(`UPDATE ${mine(prefix)}jobs SET overlap = 'bogus' WHERE job_id = ?`, [jobId]);
    return { column: "overlap", value: "bogus" };
  },
  cleanup: (prefix) => dropPrefix(mine(prefix)),
});

type CountedMethod = (...args: unknown[]) => unknown;

function freshPrefix(): string {
  return `m_s${randomBytes(4).toString("hex")}_`;
}

async function withStores<T>(stores: Store[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
}

describe("MysqlStore", () => {
  it("rejects a prefix that is not a plain identifier with INVALID_PREFIX", async () => {
    await rejectsWith(
      Promise.resolve().then(() => make("bad-prefix")),
      "INVALID_PREFIX",
    );
  });

  it("init on a closed port fails fast with STORE_CONNECT naming host:port/db, not the password", async () => {
    const store = new MysqlStore({
      uri: "mysql://someone:s3cret-pw@127.0.0.1:1/belfry_nowhere",
      connectTimeoutMs: 2000,
    });
    const message = await rejectsWith(store.init(), "STORE_CONNECT");
    expect(message).toContain("127.0.0.1:1/belfry_nowhere");
    expect(message).toMatch(/check/);
    expect(message).not.toContain("s3cret-pw");
    await store.close();
  });

  it("init against a missing database fails with STORE_CONNECT", async () => {
    const missing = new URL(uri);
    missing.pathname = "/belfry_no_such_db";
    const store = new MysqlStore({ uri: missing.toString() });
    expect(await rejectsWith(store.init(), "STORE_CONNECT")).toContain("belfry_no_such_db");
    await store.close();
  });

  it("accepts an existing pool and leaves it open on close", async () => {
    const prefix = freshPrefix();
    const pool = mysql.createPool({ uri, connectionLimit: 2, supportBigNumbers: true });
    const store = new MysqlStore({ pool, tablePrefix: prefix });
    await store.init();
    const reg = job();
    await store.registerJob(reg);
    expect((await store.claim([request(reg, await pastBase(store))]))[0]?.status).toBe("won");
    await store.close();
    const [rows] = await pool.query(`SELECT COUNT(*) AS n FROM ${prefix}runs`);
    expect((rows as { n: number }[])[0]?.n).toBe(1);
    await pool.end();
    await dropPrefix(prefix);
  });

  it("finds no risky settings on the test server (flush at commit, binlog format)", async () => {
    const prefix = freshPrefix();
    const store = make(prefix);
    await withStores([store], () => store.init());
    expect(store.settingsWarnings).toEqual([]);
    await dropPrefix(prefix);
  });

  it("five instances initialising at once migrate once (one ledger row per migration)", async () => {
    const prefix = freshPrefix();
    const stores = Array.from({ length: 5 }, () => make(prefix, { maxConnections: 1 }));
    await withStores(stores, () => Promise.all(stores.map((s) => s.init())));
    const [rows] = await admin.query(
      `SELECT version, COUNT(*) AS n FROM ${prefix}migrations GROUP BY version ORDER BY version`,
    );
    expect(rows).toEqual([
      { version: 1, n: 1 },
      { version: 2, n: 1 },
    ]);
    await dropPrefix(prefix);
  });

  it("a schedules migration cut short (no ledger row, some columns added) is completed by the next init", async () => {
    const prefix = freshPrefix();
    const code = job();
    const first = make(prefix);
    await withStores([first], async () => {
      await first.init();
      await first.registerJob(code);
    });
    // As if the server had stopped after the first ALTERs of 0002, before its ledger row.
    await admin.query(`ALTER TABLE ${prefix}jobs DROP INDEX jobs_due`);
    await admin.query(`ALTER TABLE ${prefix}jobs DROP COLUMN due_at, DROP COLUMN spread`);
    await admin.query(`DELETE FROM ${prefix}migrations WHERE version = 2`);
    const store = make(prefix);
    await withStores([store], async () => {
      await store.init();
      const [ledger] = await admin.query(
        `SELECT version FROM ${prefix}migrations ORDER BY version`,
      );
      expect(ledger).toEqual([{ version: 1 }, { version: 2 }]);
      const [index] = await admin.query(
        `SHOW INDEX FROM ${prefix}jobs WHERE Key_name = 'jobs_due'`,
      );
      expect((index as { Column_name: string }[]).map((row) => row.Column_name)).toEqual([
        "task",
        "due_at",
        "spread",
      ]);
      expect(await store.getJob(code.jobId)).toMatchObject({ jobId: code.jobId });
      const [created] = await store.putSchedules([schedule({ nextAt: 5_000 })], "create");
      expect(created?.outcome).toBe("created");
      expect(created?.schedule).toMatchObject({ nextAt: 5_000, dueAt: 5_000 });
    });
    await dropPrefix(prefix);
  });

  it("after its connections are killed, the next call works or fails with STORE_ERROR, the one after works", async () => {
    const prefix = freshPrefix();
    // A pool of our own, so that exactly the store's connections are known (and killed).
    const pool = mysql.createPool({ uri, connectionLimit: 2, supportBigNumbers: true });
    const ids = new Set<number>();
    pool.on("connection", (connection) => void ids.add(connection.threadId));
    const store = new MysqlStore({ pool, tablePrefix: prefix });
    await withStores([store], async () => {
      await store.init();
      const reg = job();
      await store.registerJob(reg);
      const t = await pastBase(store);
      await store.claim([request(reg, t)]);
      expect(ids.size).toBeGreaterThan(0);
      for (const id of ids) await admin.query(`KILL ${id}`).catch(() => undefined);
      const next = await store.claim([request(reg, t + 1000)]).then(
        (results) => results[0]?.status,
        (error: unknown) => (error as { code?: string }).code,
      );
      expect(["won", "STORE_ERROR"]).toContain(next);
      const after = await store.claim([request(reg, t + 2000)]);
      expect(after[0]?.status).toBe("won");
    });
    await pool.end();
    await dropPrefix(prefix);
  });

  it("claim → start → finish of N occurrences sends at most 3 statements per occurrence", async () => {
    const prefix = freshPrefix();
    // Every statement of every connection of this pool is counted (the real server answers).
    const pool = mysql.createPool({ uri, connectionLimit: 4, supportBigNumbers: true });
    let statements = 0;
    pool.on("connection", (connection) => {
      const counted = connection as unknown as Record<"query" | "execute", CountedMethod>;
      for (const method of ["query", "execute"] as const) {
        const original = counted[method].bind(connection);
        counted[method] = (...args) => {
          statements += 1;
          return original(...args);
        };
      }
    });
    const store = new MysqlStore({ pool, tablePrefix: prefix });
    const n = 20;
    await withStores([store], async () => {
      await store.init();
      const jobs = Array.from({ length: n }, () => job());
      for (const reg of jobs) await store.registerJob(reg);
      const t = await pastBase(store);
      statements = 0;
      const results = await store.claim(jobs.map((reg) => request(reg, t)));
      const won = results.flatMap((result) => (result.status === "won" ? [result.run] : []));
      expect(won).toHaveLength(n);
      await Promise.all(
        won.map(async (run) => {
          expect(await store.startRun(run.runId, run.token, run.attempt)).toBe(true);
          const done = await store.finishRun(run.runId, run.token, { state: "succeeded" }, 1000);
          expect(done).toEqual({ ok: true, next: null });
        }),
      );
      expect(statements / n).toBeLessThanOrEqual(3);
    });
    await pool.end();
    await dropPrefix(prefix);
  });

  it("64-bit values come back as numbers and an out-of-range one is a CORRUPT_ROW", async () => {
    const prefix = freshPrefix();
    const store = make(prefix);
    await withStores([store], async () => {
      await store.init();
      const reg = job({ anchor: 2 ** 52 });
      await store.registerJob(reg);
      expect((await store.getJob(reg.jobId))?.anchor).toBe(2 ** 52);
      await admin.query(`UPDATE ${prefix}jobs SET anchor = 9007199254740993 WHERE job_id = ?`, [
        reg.jobId,
      ]);
      expect(await rejectsWith(store.getJob(reg.jobId), "CORRUPT_ROW")).toContain("anchor");
    });
    await dropPrefix(prefix);
  });
});
