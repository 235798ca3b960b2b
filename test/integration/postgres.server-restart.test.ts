import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPrivateServer, type PrivateServer } from "../../chaos/servers.js";
import { sleep, systemClock } from "../../src/clock.js";
import { every, Scheduler } from "../../src/index.js";
import { PostgresStore, type PgTransaction } from "../../src/stores/postgres/index.js";

// A private PostgreSQL server (its own port and folder): this test restarts and kills it.
let server: PrivateServer;

beforeAll(async () => {
  server = await startPrivateServer("postgres");
}, 120_000);

afterAll(async () => {
  await server?.destroy();
});

describe("PostgresStore when its server restarts or dies", () => {
  it("the process survives a fast shutdown and a kill -9 of the server mid-run, then runs again", async () => {
    const store = new PostgresStore({ connectionString: server.url });
    const scheduler = new Scheduler({ store, replicaId: "survivor", storeTimeout: "2s" });
    const ran: number[] = [];
    // Handlers hold checked-out connections (run.transaction) while the server goes away.
    for (const id of ["a", "b", "c", "d"]) {
      scheduler.job(id, every("200ms"), async (run) => {
        await run.transaction(
          async (tx: PgTransaction) => void (await tx.query("SELECT pg_sleep(0.05)")),
        );
        ran.push(systemClock.now());
      });
    }
    await scheduler.start();
    await sleep(systemClock, 1_000);
    await server.restart(500);
    await sleep(systemClock, 3_000);
    await server.kill9(500);
    const backAt = systemClock.now();
    await sleep(systemClock, 5_000);
    await scheduler.stop();
    const history = await store.history({ limit: 1_000 });
    await store.close();
    // Vitest fails the file on an uncaught `error` event, so reaching here is the first check.
    expect(ran.filter((at) => at > backAt + 2_000).length).toBeGreaterThan(0);
    const keys = history.map((row) => `${row.jobId}@${row.scheduledAt}#${row.trigger}`);
    expect(new Set(keys).size).toBe(keys.length);
  }, 120_000);
});
