// One replica of one system for the start-up benchmark (bench/startup.mjs starts 1 or 3 of these
// at once). It defines the jobs, prints {"t":"ready"}, waits for a "go" line on stdin, then
// starts the system (registering every job) and prints
//   {"t":"done","startMs":…,"defineMs":…,"roundTrips":…,"statements":…,"rssMiB":…}
// or {"t":"done","error":…}, and exits. Round trips and statements are counted in the drivers
// of this process: every pg query, every mysql2 query/execute, every ioredis command (a pipeline
// is one round trip), every SQLite statement (a transaction is one "round trip": one write lock).
// Argument: one JSON object { system, store?, jobs, tag, sqlitePath?, schedule? }
// system: belfry (store: postgres | mysql | redis | sqlite) | bullmq | pgboss | graphile
import { performance } from "node:perf_hooks";
import { setTimeout } from "node:timers";
import { URL } from "node:url";
import { belfryDist, countDrivers, openBelfryStore } from "./drivers.mjs";
import { URLS } from "./lib.mjs";

const cfg = JSON.parse(process.argv[2]);
const jobIds = Array.from({ length: cfg.jobs }, (_, j) => `job-${j}`);
const count = { roundTrips: 0, statements: 0 };

/** Each system: define its jobs; resolve to { start, stop }. */
const systems = {
  async belfry() {
    const dist = belfryDist(); // BENCH_BELFRY_DIST: another build to compare with
    const { Scheduler, every, cron } = await import(dist("index.js"));
    const store = await openBelfryStore(dist, cfg, { pool: 3, sqliteBusyMs: 60_000 });
    const scheduler = new Scheduler({ store });
    // A yearly occurrence: nothing is due while the bench runs.
    const schedule = () => (cfg.schedule === "every" ? every("365d") : cron("0 0 1 1 *"));
    for (const id of jobIds) scheduler.job(id, schedule(), () => {});
    return {
      start: () => scheduler.start(),
      stop: async () => {
        await scheduler.stop();
        await store.close();
      },
    };
  },

  async bullmq() {
    const { Queue } = await import("bullmq");
    const { hostname: host, port } = new URL(URLS.redis);
    const connection = { host, port: Number(port || 6379), maxRetriesPerRequest: null };
    const queue = new Queue("bench", { connection, prefix: `bull-${cfg.tag}` });
    await queue.waitUntilReady();
    return {
      // Every replica upserts its schedulers at boot, as a replicated service does.
      start: async () => {
        for (const id of jobIds) {
          await queue.upsertJobScheduler(id, { pattern: "0 0 0 1 1 *" }, { name: id });
        }
      },
      stop: () => queue.close(),
    };
  },

  async pgboss() {
    const { default: PgBoss } = await import("pg-boss");
    const boss = new PgBoss({
      connectionString: URLS.postgres,
      schema: `pgboss_${cfg.tag}`,
      max: 3,
    });
    boss.on("error", (error) => process.stderr.write(`pg-boss: ${error.message}\n`));
    return {
      // pg-boss 10: a schedule names a queue, so each job is a queue and a schedule.
      start: async () => {
        await boss.start();
        for (const id of jobIds) {
          await boss.createQueue(id);
          await boss.schedule(id, "0 0 1 1 *");
        }
      },
      stop: () => boss.stop({ graceful: false, wait: true, timeout: 5_000 }),
    };
  },

  async graphile() {
    const { run, Logger } = await import("graphile-worker");
    let runner = null;
    const crontab = jobIds.map((id) => `0 0 1 1 * tick ?id=${id} {job:"${id}"}`).join("\n");
    return {
      start: async () => {
        runner = await run({
          connectionString: URLS.postgres,
          schema: `gw_${cfg.tag}`,
          concurrency: 1,
          maxPoolSize: 3,
          noHandleSignals: true,
          logger: new Logger(() => () => {}),
          crontab,
          taskList: { tick: async () => {} },
        });
      },
      stop: () => runner?.stop(),
    };
  },
};

const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
countDrivers(count);
const defineStarted = performance.now();
const system = await systems[cfg.system]();
const defineMs = performance.now() - defineStarted;
send({ t: "ready" });
await new Promise((resolve) => process.stdin.once("data", resolve));
count.roundTrips = 0;
count.statements = 0;
const started = performance.now();
try {
  await system.start();
  const startMs = performance.now() - started;
  const rssMiB = process.memoryUsage().rss / 2 ** 20;
  send({ t: "done", startMs, defineMs, ...count, rssMiB });
} catch (error) {
  send({ t: "done", error: String(error?.message ?? error) });
}
await Promise.race([system.stop(), new Promise((resolve) => setTimeout(resolve, 10_000))]);
process.exit(0);
