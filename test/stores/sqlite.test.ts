import { openSqliteDriver } from "../../src/stores/sqlite/driver.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { BelfryError } from "../../src/errors.js";
import { SqliteStore } from "../../src/stores/sqlite/index.js";
import { describeStore } from "../conformance/describe-store.js";
import { job, pastBase, rejectsWith, request } from "../conformance/harness.js";

const dir = mkdtempSync(join(tmpdir(), "belfry-sqlite-"));
const fileFor = (prefix: string) => join(dir, `${prefix}.db`);
let failures = 0;
beforeEach((context) => context.onTestFailed(() => void (failures += 1)));
afterAll(() => {
  // Keep the files of a failed run for debugging (pg-boss habit); remove them otherwise.
  if (failures === 0) rmSync(dir, { recursive: true, force: true });
});

/** Writes `overlap = 'bogus'` into the job row behind the store's back. */
async function corrupt(_store: unknown, prefix: string, jobId: string) {
  const db = openSqliteDriver(fileFor(prefix), 1_000);
  try {
    db.prepare(`UPDATE ${prefix}jobs SET overlap = 'bogus' WHERE job_id = ?`).run(jobId);
  } finally {
    db.close();
  }
  return { column: "overlap", value: "bogus" };
}

// One file per test prefix; every instance made for that prefix opens the same file, so the
// concurrency tests race separate connections.
describeStore(
  "sqlite",
  async ({ prefix }) => new SqliteStore({ path: fileFor(prefix), tablePrefix: prefix }),
  {
    corrupt,
    cleanup: async (prefix) => rmSync(fileFor(prefix), { force: true }),
  },
);

describe("SqliteStore", () => {
  it("two instances on one file see each other's writes and refuse each other's occurrence", async () => {
    const path = join(dir, "shared.db");
    const a = new SqliteStore({ path });
    const b = new SqliteStore({ path });
    await Promise.all([a.init(), b.init()]);
    try {
      const reg = job();
      await a.registerJob(reg);
      expect((await b.getJob(reg.jobId))?.hash).toBe(reg.hash);
      const t = await pastBase(a);
      expect((await a.claim([request(reg, t)]))[0]?.status).toBe("won");
      expect((await b.claim([request(reg, t)]))[0]?.status).toBe("lost");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("migrations run once per file and are recorded in the ledger", async () => {
    const path = join(dir, "ledger.db");
    const stores = [1, 2, 3].map(() => new SqliteStore({ path, tablePrefix: "app_" }));
    await Promise.all(stores.map((s) => s.init()));
    await Promise.all(stores.map((s) => s.close()));
    const db = openSqliteDriver(path, 1_000);
    const ledger = db.prepare("SELECT version, name FROM app_migrations").all();
    const mode = (db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;
    db.close();
    expect(ledger).toEqual([
      { version: 1, name: "0001_init" },
      { version: 2, name: "0002_schedules" },
      { version: 3, name: "0003_jobs_task" },
    ]);
    expect(mode).toBe("wal");
  });

  it("works on an in-memory database", async () => {
    const store = new SqliteStore({ path: ":memory:" });
    await store.init();
    const reg = job();
    expect((await store.registerJob(reg)).outcome).toBe("created");
    await store.close();
  });

  it("init rejects with STORE_CONNECT naming a path in a missing directory", async () => {
    const path = join(dir, "missing", "nested", "belfry.db");
    const message = await rejectsWith(new SqliteStore({ path }).init(), "STORE_CONNECT");
    expect(message).toContain(path);
  });

  it("the constructor throws INVALID_PREFIX for a prefix that is not an identifier", () => {
    for (const tablePrefix of ["bad-prefix", "x; DROP TABLE y", "", "1abc"]) {
      const make = () => new SqliteStore({ path: ":memory:", tablePrefix });
      expect(make).toThrow(BelfryError);
      expect(make).toThrow(/INVALID|not allowed/);
    }
  });

  it("methods before init reject with NOT_STARTED", async () => {
    await rejectsWith(new SqliteStore({ path: ":memory:" }).getJob("x"), "NOT_STARTED");
  });

  it("a run row with an unknown state makes history reject with CORRUPT_ROW", async () => {
    const path = join(dir, "corrupt-state.db");
    const store = new SqliteStore({ path });
    await store.init();
    const reg = job();
    await store.registerJob(reg);
    await store.claim([request(reg, await pastBase(store))]);
    const db = openSqliteDriver(path, 1_000);
    db.prepare("UPDATE belfry_runs SET state = 'exploded'").run();
    db.close();
    const message = await rejectsWith(store.history({ jobId: reg.jobId }), "CORRUPT_ROW");
    expect(message).toMatch(/belfry_runs.*run_id=.*column state has invalid value "exploded"/);
    await store.close();
  });

  it("the committed schema snapshot docs/schema/sqlite.sql matches the migrated schema", async () => {
    const path = join(dir, "snapshot.db");
    const store = new SqliteStore({ path });
    await store.init();
    await store.close();
    await expect(schemaSnapshot(path)).toMatchFileSnapshot("../../docs/schema/sqlite.sql");
  });
});

/** The DDL of a migrated database with the default prefix, as committed in docs/schema. */
function schemaSnapshot(path: string): string {
  const db = openSqliteDriver(path, 1_000);
  const rows = db
    .prepare(
      "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type DESC, name",
    )
    .all() as { sql: string }[];
  db.close();
  const header =
    "-- Generated from src/stores/sqlite/migrations by test/stores/sqlite.test.ts (vitest -u).\n";
  return header + rows.map((row) => `${row.sql};\n`).join("\n");
}
