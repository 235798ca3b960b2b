import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { replicaSpread } from "../../src/stores/shared/schedules.js";
import { MIGRATIONS } from "../../src/stores/sql/migrations.js";
import { jobInsertSql, jobValues, ledgerDdl, renderSql } from "../../src/stores/sql/shared.js";
import { openSqliteDriver, type SqliteDriver } from "../../src/stores/sqlite/driver.js";
import { jobListSql } from "../../src/stores/sqlite/connection.js";
import { SqliteStore } from "../../src/stores/sqlite/index.js";
import { scheduleStatementsSql } from "../../src/stores/sqlite/schedule-statements.js";
import { prefixEnd } from "../../src/stores/sqlite/schedules.js";
import { schedule } from "../conformance/schedules.cases.js";
import { job, pastBase, request } from "../conformance/harness.js";

/**
 * What the conformance cases cannot see on SQLite: the due page against the plain
 * `ORDER BY due_at, (spread + offset) % 2^31` it replaces, the query plans of the due index,
 * the `due_at` column kept equal to its instants, listing bounds, and the upgrade of a file
 * migrated before runtime schedules existed.
 */

const dir = mkdtempSync(join(tmpdir(), "belfry-sqlite-schedules-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const handle of open.splice(0)) await handle.close();
});

let files = 0;
async function openStore(): Promise<{ store: SqliteStore; db: SqliteDriver }> {
  files += 1;
  const path = join(dir, `schedules-${files}.db`);
  const store = new SqliteStore({ path });
  await store.init();
  const db = openSqliteDriver(path, 1_000);
  open.push(store, db);
  return { store, db };
}

/** `due_at` as `dueAtOf(next_at, triggered_at)` in SQL. */
const DUE_OF_INSTANTS =
  "CASE WHEN next_at IS NULL THEN triggered_at WHEN triggered_at IS NULL THEN next_at ELSE min(next_at, triggered_at) END";

describe("SqliteStore runtime schedules", () => {
  it("the due page is the plain ORDER BY due_at, (spread + offset) % 2^31 for every limit and replica", async () => {
    const { store, db } = await openStore();
    const writes = [
      ...Array.from({ length: 150 }, (_, i) => schedule({ key: `burst-a-${i}`, nextAt: 1_000 })),
      ...Array.from({ length: 40 }, (_, i) =>
        schedule({ task: "feed", key: `burst-f-${i}`, nextAt: 1_000 }),
      ),
      ...Array.from({ length: 60 }, (_, i) => schedule({ key: `single-${i}`, nextAt: 1_001 + i })),
      ...Array.from({ length: 80 }, (_, i) => schedule({ key: `burst-b-${i}`, nextAt: 3_000 })),
      ...Array.from({ length: 10 }, (_, i) => schedule({ key: `over-${i}`, nextAt: null })),
    ];
    await store.putSchedules(writes, "create");
    await store.triggerSchedule("digest:over-3");
    const plain = db.prepare(
      `SELECT job_id FROM belfry_jobs WHERE task IN ('digest', 'feed') AND due_at IS NOT NULL
       AND due_at <= ? ORDER BY due_at, (spread + ?) % 2147483648 LIMIT ?`,
    );
    const nextDue = db.prepare(
      "SELECT MIN(due_at) AS at FROM belfry_jobs WHERE task IN ('digest', 'feed') AND due_at > ?",
    );
    let compared = 0;
    for (const replicaId of ["r1", "r2", "replica-with-a-long-name", ""]) {
      for (const until of [999, 1_000, 1_030, 3_000, 1e15]) {
        for (const limit of [0, 1, 7, 189, 190, 191, 200, 250, 1_000]) {
          const page = await store.dueSchedules({
            tasks: ["digest", "feed", "digest"],
            until,
            limit,
            replicaId,
          });
          const expected = plain.all(until, replicaSpread(replicaId), limit) as {
            job_id: string;
          }[];
          expect(page.schedules.map((s) => s.jobId)).toEqual(expected.map((row) => row.job_id));
          expect(page.nextDueAt).toBe((nextDue.get(until) as { at: number | null }).at);
          compared += page.schedules.length;
        }
      }
    }
    expect(compared).toBeGreaterThan(5_000);
  });

  it("the due statements are seeks on the partial index jobs_due, never a scan or a sort", async () => {
    const { store, db } = await openStore();
    await store.putSchedules(
      Array.from({ length: 3_000 }, (_, i) => schedule({ key: `p-${i}`, nextAt: i % 7 })),
      "create",
    );
    const sql = scheduleStatementsSql("belfry_");
    const plan = (text: string, params: unknown[]) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${text}`).all(...params) as { detail: string }[])
        .map((row) => row.detail)
        .join(" | ");
    const index = /^SEARCH belfry_jobs USING COVERING INDEX belfry_jobs_due \(task=\? AND due_at/;
    const due: [string, unknown[]][] = [
      [sql.dueFirst, ["digest", 5, 100]],
      [sql.dueGroup, ["digest", 5, 0, 10, 100]],
      [sql.dueNext, ["digest", 5]],
    ];
    for (const [text, params] of due) {
      expect(plan(text, params)).toMatch(index);
      expect(plan(text, params)).not.toMatch(/SCAN|TEMP B-TREE/);
    }
    expect(plan(sql.dueRows, ["[1]"])).toMatch(/USING INTEGER PRIMARY KEY \(rowid=\?\)/);
  });

  it("listJobs and countSchedules read the index jobs_task, never the schedule rows", async () => {
    const { store, db } = await openStore();
    await store.putSchedules(
      Array.from({ length: 2_000 }, (_, i) => schedule({ key: `c-${i}` })),
      "create",
    );
    await store.registerJob(job({ jobId: "code" }));
    db.exec("ANALYZE");
    const plan = (text: string, params: unknown[] = []) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${text}`).all(...params) as { detail: string }[])
        .map((row) => row.detail)
        .join(" | ");
    expect(plan(jobListSql("belfry_jobs"))).toMatch(
      /^SEARCH belfry_jobs USING INDEX belfry_jobs_task \(task=\?\)$/,
    );
    const sql = scheduleStatementsSql("belfry_");
    expect(plan(sql.scheduleCountTask, ["digest"])).toMatch(
      /^SEARCH belfry_jobs USING COVERING INDEX belfry_jobs_task \(task=\?\)$/,
    );
    expect(plan(sql.scheduleCount)).toMatch(/COVERING INDEX belfry_jobs_(task|due)/);
    expect((await store.listJobs()).jobs.map((j) => j.jobId)).toEqual(["code"]);
    expect(await store.countSchedules({ task: "digest" })).toBe(2_000);
  });

  it("every write keeps due_at equal to the earlier of next_at and a pending trigger", async () => {
    const { store, db } = await openStore();
    const t = await pastBase(store);
    const write = schedule({ nextAt: t });
    const other = schedule({ nextAt: t + 10 });
    await store.putSchedules([write, other], "create");
    await store.triggerSchedule(write.jobId);
    const triggered = await store.getSchedule(write.jobId);
    // An upsert while a trigger is pending keeps it owed.
    const [upserted] = await store.putSchedules(
      [{ ...write, hash: "hash-2", nextAt: t + 1e9 }],
      "upsert",
    );
    expect(upserted?.schedule).toMatchObject({
      nextAt: t + 1e9,
      triggeredAt: triggered?.triggeredAt,
      dueAt: triggered?.triggeredAt,
    });
    await store.claim([request({ ...other }, t + 10, { nextAt: t + 20 })]);
    await store.advanceSchedules([{ jobId: other.jobId, hash: other.hash, nextAt: t + 30 }]);
    expect(await store.claimTriggered(write.jobId, "r1", 30_000)).not.toBeNull();
    expect(await store.getSchedule(write.jobId)).toMatchObject({ dueAt: t + 1e9 });
    expect(await store.getSchedule(other.jobId)).toMatchObject({ nextAt: t + 30, dueAt: t + 30 });
    const drift = db
      .prepare(
        `SELECT job_id FROM belfry_jobs WHERE task IS NOT NULL AND due_at IS NOT (${DUE_OF_INSTANTS})`,
      )
      .all();
    expect(drift).toEqual([]);
  });

  it("a claim without nextAt and a code job's claim leave the schedule columns alone", async () => {
    const { store, db } = await openStore();
    const t = await pastBase(store);
    const write = schedule({ nextAt: t + 500 });
    const code = job();
    await store.putSchedules([write], "create");
    await store.registerJob(code);
    expect((await store.claim([request(write, t)]))[0]?.status).toBe("won");
    expect((await store.claim([request(code, t, { nextAt: t + 1 })]))[0]?.status).toBe("won");
    expect(await store.getSchedule(write.jobId)).toMatchObject({ nextAt: t + 500, watermark: t });
    const codeRow = db
      .prepare("SELECT task, next_at, due_at FROM belfry_jobs WHERE job_id = ?")
      .get(code.jobId);
    expect(codeRow).toEqual({ task: null, next_at: null, due_at: null });
  });

  it("a key prefix is matched case-sensitively and literally, also past the last code point", async () => {
    const { store } = await openStore();
    const keys = ["Abc", "abc", "x\u{10FFFF}1", "x\u{10FFFF}\u{10FFFF}z", "y", "x"];
    await store.putSchedules(
      keys.map((key) => schedule({ key })),
      "create",
    );
    const list = async (keyPrefix: string) =>
      (await store.listSchedules({ task: "digest", keyPrefix })).schedules.map((s) => s.key);
    expect(await list("A")).toEqual(["Abc"]);
    expect(await list("a")).toEqual(["abc"]);
    expect(await list("x\u{10FFFF}")).toEqual(["x\u{10FFFF}1", "x\u{10FFFF}\u{10FFFF}z"]);
    expect(await list("x")).toEqual(["x", "x\u{10FFFF}1", "x\u{10FFFF}\u{10FFFF}z"]);
  });

  it("a key prefix pages from the greater of the prefix and the cursor", async () => {
    const { store } = await openStore();
    await store.putSchedules(
      ["a-1", "a-2", "a-3", "a-4", "b-1"].map((key) => schedule({ key })),
      "create",
    );
    const list = async (after: string, limit = 100) =>
      (await store.listSchedules({ task: "digest", keyPrefix: "a-", after, limit })).schedules.map(
        (s) => s.key,
      );
    expect(await list("digest:")).toEqual(["a-1", "a-2", "a-3", "a-4"]);
    expect(await list("digest:a-2")).toEqual(["a-3", "a-4"]);
    expect(await list("digest:a-4")).toEqual([]);
    expect(await list("digest:zz")).toEqual([]);
    const page = await store.listSchedules({ task: "digest", keyPrefix: "a-", limit: 2 });
    expect(page.next).toBe("digest:a-2");
    expect(await list(page.next!, 2)).toEqual(["a-3", "a-4"]);
  });

  it("prefixEnd is the least string above every string with the prefix", () => {
    expect(prefixEnd("digest:ab")).toBe("digest:ac");
    expect(prefixEnd("a\u{10FFFF}")).toBe("b");
    expect(prefixEnd("a\uD7FF")).toBe("a\uE000");
    expect(prefixEnd("a\u{1F600}")).toBe("a\u{1F601}");
    expect(prefixEnd("\u{10FFFF}")).toBeNull();
    expect(prefixEnd("")).toBeNull();
    expect(prefixEnd("a\uD800")).toBeNull();
  });

  it("a file migrated before runtime schedules keeps its jobs and gains the schedule columns", async () => {
    const path = join(dir, "upgrade.db");
    const old = openSqliteDriver(path, 1_000);
    const [init] = MIGRATIONS.sqlite ?? [];
    old.exec(ledgerDdl("belfry_", "test"));
    old.exec(renderSql(init!.sql, "belfry_", "test"));
    old
      .prepare("INSERT INTO belfry_migrations (version, name, applied_at) VALUES (1, ?, 0)")
      .run(init!.name);
    old.prepare(jobInsertSql("belfry_jobs")).run(...jobValues(job({ jobId: "code:job" }), 0));
    old.close();
    const store = new SqliteStore({ path });
    open.push(store);
    await store.init();
    expect(await store.getJob("code:job")).toMatchObject({ jobId: "code:job" });
    expect(await store.getSchedule("code:job")).toBeNull();
    expect((await store.listSchedules()).schedules).toEqual([]);
    const [created] = await store.putSchedules([schedule({ nextAt: 5 })], "create");
    expect(created?.outcome).toBe("created");
  });
});
