import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { PostgresStore } from "../../src/stores/postgres/index.js";
import { scheduleChannel } from "../../src/stores/postgres/notify.js";
import { replicaSpread, spreadOf, spreadRank } from "../../src/stores/shared/schedules.js";
import { sqlTables } from "../../src/stores/sql/shared.js";
import { schedule } from "../conformance/schedules.cases.js";
import { job, pause, rejectsWith } from "../conformance/harness.js";

/**
 * `PostgresStore.onScheduleChange`: LISTEN/NOTIFY between two store instances (two replicas) on
 * one schema and prefix, on the listener's own connection, across a killed connection.
 */

const url = process.env.BELFRY_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const schema = `belfry_n_${randomBytes(4).toString("hex")}`;
const admin = new pg.Pool({ connectionString: url, max: 2 });
const opened: PostgresStore[] = [];

afterAll(async () => {
  await Promise.all(opened.map((store) => store.close()));
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

/** An initialised store on `prefix`, closed after the file. */
async function open(prefix: string, applicationName = "belfry"): Promise<PostgresStore> {
  const store = new PostgresStore({
    connectionString: url,
    schema,
    tablePrefix: prefix,
    maxConnections: 2,
    applicationName,
  });
  opened.push(store);
  await store.init();
  return store;
}

/** A listener that counts its calls. */
function counter(): { readonly listener: () => void; readonly calls: () => number } {
  let calls = 0;
  return { listener: () => void (calls += 1), calls: () => calls };
}

/** Waits (at most 5 s) until `done()` holds. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !done(); i++) await pause(20);
  expect(done()).toBe(true);
}

/** Backends of this server with `application_name` = `name`. */
async function backends(name: string): Promise<number> {
  const { rows } = await admin.query(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
    [name],
  );
  return rows[0].n as number;
}

function freshPrefix(): string {
  return `p_${randomBytes(4).toString("hex")}_`;
}

describe("PostgresStore.onScheduleChange", () => {
  it("wakes another replica's listener on create, trigger and resume; not for another prefix", async () => {
    // 41 characters: the channel name would pass PostgreSQL's 63-byte limit, so it is hashed.
    const prefix = freshPrefix().padEnd(41, "x");
    const writer = await open(prefix);
    const reader = await open(prefix);
    const stranger = await open(freshPrefix());
    const seen = counter();
    const unsubscribe = await reader.onScheduleChange(seen.listener);

    // Another prefix's channel: nothing arrives (on one host a notification takes milliseconds).
    await stranger.putSchedules([schedule()], "create");
    await pause(300);
    expect(seen.calls()).toBe(0);
    const write = schedule({ nextAt: 5_000 });
    await writer.putSchedules([write], "create");
    await until(() => seen.calls() >= 1);
    expect(seen.calls()).toBe(1);

    await writer.triggerSchedule(write.jobId);
    await until(() => seen.calls() >= 2);
    // Pausing (and a write that makes nothing due earlier) wakes nobody.
    await writer.setPaused(write.jobId, true);
    await writer.advanceSchedules([{ jobId: write.jobId, hash: write.hash, nextAt: 9_000 }]);
    await pause(300);
    expect(seen.calls()).toBe(2);
    await writer.setPaused(write.jobId, false);
    await until(() => seen.calls() >= 3);
    expect(seen.calls()).toBe(3);
    await unsubscribe();
  });

  it("uses one connection outside the pool, reopened after it is killed, ended by close()", async () => {
    const prefix = freshPrefix();
    const name = `belfry_l_${randomBytes(3).toString("hex")}`;
    const writer = await open(prefix);
    const reader = await open(prefix, name);
    const seen = counter();
    await reader.onScheduleChange(seen.listener);
    await reader.onScheduleChange(() => {
      throw new Error("a failing listener does not stop the others");
    });
    expect(await backends(`${name}:listen`)).toBe(1);

    // What a server restart does to the connection: the backend goes away.
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
      [`${name}:listen`],
    );
    // Once it listens again, every listener is called: changes meanwhile were announced to nobody.
    await until(() => seen.calls() >= 1);
    expect(await backends(`${name}:listen`)).toBe(1);
    await writer.putSchedules([schedule({ nextAt: 1_000 })], "create");
    await until(() => seen.calls() >= 2);

    await reader.close();
    expect(await backends(`${name}:listen`)).toBe(0);
  });

  it("the last unsubscribe ends the connection; a later subscribe opens it again", async () => {
    const prefix = freshPrefix();
    const name = `belfry_u_${randomBytes(3).toString("hex")}`;
    const writer = await open(prefix);
    const reader = await open(prefix, name);
    const first = await reader.onScheduleChange(() => undefined);
    const second = await reader.onScheduleChange(() => undefined);
    await first();
    expect(await backends(`${name}:listen`)).toBe(1);
    await second();
    expect(await backends(`${name}:listen`)).toBe(0);
    const seen = counter();
    await reader.onScheduleChange(seen.listener);
    await writer.putSchedules([schedule()], "create");
    await until(() => seen.calls() >= 1);
  });

  it("channel names stay within PostgreSQL's 63 bytes and differ per schema and prefix", () => {
    const long = "x".repeat(41);
    const a = scheduleChannel(sqlTables((t) => `${long}.${long}${t}`));
    const b = scheduleChannel(sqlTables((t) => `${long}.${long.slice(1)}y${t}`));
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).not.toBe(b);
    expect(scheduleChannel(sqlTables((t) => `public.belfry_${t}`))).toBe(
      "public.belfry_jobs:schedules",
    );
  });
});

describe("PostgresStore.dueSchedules order", () => {
  it("matches spreadRank for every replica and page size, across instants and a burst at the cut", async () => {
    const store = await open(freshPrefix());
    // 3 instants before a burst of 40 at 5,000, then 2 later rows; another task in between.
    const writes = [
      ...[1_000, 2_000, 2_000].map((nextAt, i) => schedule({ key: `early-${i}`, nextAt })),
      ...Array.from({ length: 40 }, (_, i) => schedule({ key: `burst-${i}`, nextAt: 5_000 })),
      ...[6_000, 7_000].map((nextAt, i) => schedule({ key: `late-${i}`, nextAt })),
      schedule({ task: "feed", key: "f", nextAt: 3_000 }),
    ];
    await store.putSchedules(writes, "create");
    for (const replicaId of ["r1", "r2", "replica-with-a-long-name"]) {
      const offset = replicaSpread(replicaId);
      const expected = writes
        .filter((w) => w.nextAt !== null && w.nextAt <= 6_000)
        .sort(
          (a, b) =>
            a.nextAt! - b.nextAt! ||
            spreadRank(spreadOf(a.jobId), offset) - spreadRank(spreadOf(b.jobId), offset),
        )
        .map((w) => w.jobId);
      for (const limit of [1, 3, 4, 10, 43, 44, 100]) {
        const due = await store.dueSchedules({
          tasks: ["digest", "feed"],
          until: 6_000,
          limit,
          replicaId,
        });
        expect(due.schedules.map((s) => s.jobId)).toEqual(expected.slice(0, limit));
        expect(due.nextDueAt).toBe(7_000);
      }
    }
  });
});

describe("PostgresStore.putSchedules", () => {
  it("refuses a schedule whose job id is a code-defined job's, leaving that job untouched", async () => {
    const store = await open(freshPrefix());
    await store.registerJob(job({ jobId: "digest:clash", hash: "code-hash" }));
    const message = await rejectsWith(
      store.putSchedules([schedule({ key: "clash" })], "upsert"),
      "DUPLICATE_JOB",
    );
    expect(message).toContain('"digest:clash"');
    expect(await store.getJob("digest:clash")).toMatchObject({ hash: "code-hash", version: 1 });
    expect(await store.getSchedule("digest:clash")).toBeNull();
  });
});
