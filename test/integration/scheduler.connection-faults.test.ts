import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import { sleep, systemClock } from "../../src/clock.js";
import { every, Scheduler } from "../../src/index.js";
import { PostgresStore } from "../../src/stores/postgres/index.js";

const POSTGRES = process.env.BELFRY_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const prefix = `cf${randomBytes(3).toString("hex")}_`;
const applicationName = `belfry-${prefix}`;

afterAll(async () => {
  const client = new pg.Client({ connectionString: POSTGRES });
  await client.connect();
  const tables = await client.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE $1",
    [`${prefix}%`],
  );
  for (const { tablename } of tables.rows) await client.query(`DROP TABLE "${tablename}" CASCADE`);
  await client.end();
});

describe("Scheduler on PostgreSQL when the server drops its connections", () => {
  it("keeps running: later occurrences run once each after pg_terminate_backend", async () => {
    const store = new PostgresStore({
      connectionString: POSTGRES,
      tablePrefix: prefix,
      applicationName,
    });
    const scheduler = new Scheduler({ store, replicaId: "faulty" });
    const ran: number[] = [];
    scheduler.job("tick", every("500ms"), (run) => void ran.push(run.scheduledAt.getTime()));
    await scheduler.start();
    await sleep(systemClock, 1_500);
    const admin = new pg.Client({ connectionString: POSTGRES });
    await admin.connect();
    const killed = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
      [applicationName],
    );
    await admin.end();
    const killedAt = systemClock.now();
    await sleep(systemClock, 2_500);
    await scheduler.stop();
    const history = await store.history({ jobId: "tick", limit: 100 });
    await store.close();
    expect(killed.rowCount).toBeGreaterThan(0);
    expect(ran.filter((at) => at > killedAt + 1_000).length).toBeGreaterThanOrEqual(2);
    expect(new Set(ran).size).toBe(ran.length);
    expect(history.every((row) => row.state === "succeeded" || row.state === "missed")).toBe(true);
  });
});
