import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { PostgresStore } from "../../src/stores/postgres/index.js";
import type { Store } from "../../src/stores/store.js";
import { describeStore } from "../conformance/describe-store.js";
import { job, pastBase, rejectsWith, request } from "../conformance/harness.js";

const url = process.env.BELFRY_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
// One schema per test file run; each test gets its own table prefix inside it.
const schema = `belfry_t_${randomBytes(4).toString("hex")}`;
const admin = new pg.Pool({ connectionString: url, max: 2 });
const make = (
  prefix: string,
  extra: Partial<ConstructorParameters<typeof PostgresStore>[0]> = {},
) =>
  new PostgresStore({
    connectionString: url,
    schema,
    tablePrefix: prefix,
    maxConnections: 4,
    ...extra,
  });

let failures = 0;
beforeEach((context) => context.onTestFailed(() => void (failures += 1)));
afterAll(async () => {
  // Keep the schema of a failed run for debugging; drop it otherwise.
  if (failures === 0) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

async function dropPrefix(prefix: string): Promise<void> {
  for (const table of ["jobs", "runs", "replicas", "warnings", "migrations"]) {
    await admin.query(`DROP TABLE IF EXISTS ${schema}.${prefix}${table}`);
  }
}

describeStore("postgres", async ({ prefix }) => make(prefix), {
  corrupt: async (_store, prefix, jobId) => {
    await admin.query(`UPDATE ${schema}.${prefix}jobs SET overlap = 'bogus' WHERE job_id = $1`, [
      jobId,
    ]);
    return { column: "overlap", value: "bogus" };
  },
  cleanup: dropPrefix,
});

/** A fresh prefix, dropped after the test (kept when it failed). */
function freshPrefix(): string {
  return `s_${randomBytes(4).toString("hex")}_`;
}

async function withStores<T>(stores: Store[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
}

describe("PostgresStore", () => {
  it("rejects a schema or prefix that is not a plain identifier with INVALID_PREFIX", async () => {
    await rejectsWith(
      Promise.resolve().then(() => make("bad-prefix")),
      "INVALID_PREFIX",
    );
    const badSchema = () => new PostgresStore({ connectionString: url, schema: "x; DROP" });
    await rejectsWith(Promise.resolve().then(badSchema), "INVALID_PREFIX");
  });

  it("init on a closed port fails fast with STORE_CONNECT naming host:port/db, not the password", async () => {
    const store = new PostgresStore({
      connectionString: "postgres://someone:s3cret-pw@127.0.0.1:1/belfry_nowhere",
      connectTimeoutMs: 2000,
    });
    const message = await rejectsWith(store.init(), "STORE_CONNECT");
    expect(message).toContain("127.0.0.1:1/belfry_nowhere");
    expect(message).toMatch(/check/);
    expect(message).not.toContain("s3cret-pw");
    await store.close();
  });

  it("init against a missing database fails with STORE_CONNECT", async () => {
    const missing = new URL(url);
    missing.pathname = "/belfry_no_such_db";
    const store = new PostgresStore({ connectionString: missing.toString() });
    expect(await rejectsWith(store.init(), "STORE_CONNECT")).toContain("belfry_no_such_db");
    await store.close();
  });

  it("accepts an existing pool and leaves it open on close", async () => {
    const prefix = freshPrefix();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const store = new PostgresStore({ pool, schema, tablePrefix: prefix });
    await store.init();
    const reg = job();
    await store.registerJob(reg);
    expect((await store.claim([request(reg, await pastBase(store))]))[0]?.status).toBe("won");
    await store.close();
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${schema}.${prefix}runs`);
    expect(rows[0].n).toBe(1);
    await pool.end();
    await dropPrefix(prefix);
  });

  it("reports settings that can lose claims as settingsWarnings and persisted warnings", async () => {
    const prefix = freshPrefix();
    const pool = new pg.Pool({
      connectionString: url,
      max: 1,
      options: "-c synchronous_commit=off",
    });
    const store = new PostgresStore({ pool, schema, tablePrefix: prefix });
    await store.init();
    expect(store.settingsWarnings.join("\n")).toContain("synchronous_commit is off");
    const persisted = (await store.listWarnings()).filter((w) => w.kind === "store-settings");
    expect(persisted.map((w) => w.replicaId)).toContain("store");
    await store.close();
    await pool.end();
    const healthy = make(prefix);
    await withStores([healthy], () => healthy.init());
    expect(healthy.settingsWarnings).toEqual([]);
    await dropPrefix(prefix);
  });

  it("five instances initialising at once migrate once (one ledger row per migration)", async () => {
    const prefix = freshPrefix();
    const stores = Array.from({ length: 5 }, () => make(prefix, { maxConnections: 1 }));
    await withStores(stores, () => Promise.all(stores.map((s) => s.init())));
    const { rows } = await admin.query(
      `SELECT version, count(*)::int AS n FROM ${schema}.${prefix}migrations GROUP BY version
       ORDER BY version`,
    );
    expect(rows).toEqual([
      { version: 1, n: 1 },
      { version: 2, n: 1 },
      { version: 3, n: 1 },
    ]);
    await dropPrefix(prefix);
  });

  it("after its connections are killed, the next call works or fails with STORE_ERROR, the one after works", async () => {
    const prefix = freshPrefix();
    const applicationName = `belfry_kill_${randomBytes(3).toString("hex")}`;
    const store = make(prefix, { applicationName, maxConnections: 2 });
    await withStores([store], async () => {
      await store.init();
      const reg = job();
      await store.registerJob(reg);
      const t = await pastBase(store);
      await store.claim([request(reg, t)]);
      const killed = await admin.query(
        "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1",
        [applicationName],
      );
      expect(killed.rows.length).toBeGreaterThan(0);
      const next = await store.claim([request(reg, t + 1000)]).then(
        (results) => results[0]?.status,
        (error: unknown) => (error as { code?: string }).code,
      );
      expect(["won", "STORE_ERROR"]).toContain(next);
      const after = await store.claim([request(reg, t + 2000)]);
      expect(after[0]?.status).toBe("won");
    });
    await dropPrefix(prefix);
  });

  it("one batch of 200 jobs is claimed in one statement and results keep request order", async () => {
    const prefix = freshPrefix();
    const store = make(prefix);
    await withStores([store], async () => {
      await store.init();
      const regs = Array.from({ length: 200 }, () => job());
      for (const reg of regs) await store.registerJob(reg);
      const t = await pastBase(store);
      const results = await store.claim(regs.map((reg) => request(reg, t)));
      expect(results.map((r) => (r.status === "won" ? r.run.jobId : r.status))).toEqual(
        regs.map((r) => r.jobId),
      );
    });
    await dropPrefix(prefix);
  });
});
