// One replica of one scheduler, as a separate process, for the precision benchmark
// (bench/precision.mjs starts three of these per system). It prints JSON lines on stdout:
//   {"t":"ready"}                                     once the scheduler has started
//   {"t":"run","job":…,"at":nominal ms,"start":ms}    first thing in every handler call
// and stops cleanly on SIGTERM. Argument: one JSON object
//   { system, replica, tag, mode: "second" | "minute", jobs, store?, tuned? }
// system: belfry (store: sqlite | postgres | mysql | redis) | bullmq | pgboss | graphile | nodecron
import { URL } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { clearInterval, setInterval, setTimeout } from "node:timers";
import { URLS } from "./lib.mjs";

const cfg = JSON.parse(process.argv[2]);
const jobIds = Array.from({ length: cfg.jobs }, (_, j) => `job-${j}`);
const SECOND = cfg.mode === "second";

function report(job, at) {
  const start = Date.now(); // stamped before anything else the handler does
  process.stdout.write(`${JSON.stringify({ t: "run", job, at, start, r: cfg.replica })}\n`);
}

/** Each system: start it, resolve to a stop function. */
const systems = {
  async belfry() {
    const dist = (file) => new URL(`../dist/${file}`, import.meta.url).href;
    const { Scheduler, every, cron } = await import(dist("index.js"));
    let store;
    if (cfg.store === "sqlite") {
      const { SqliteStore } = await import(dist("stores/sqlite/index.js"));
      store = new SqliteStore({ path: cfg.sqlitePath });
    } else if (cfg.store === "postgres") {
      const { PostgresStore } = await import(dist("stores/postgres/index.js"));
      store = new PostgresStore({
        connectionString: URLS.postgres,
        schema: `belfry_${cfg.tag}`,
        maxConnections: 3,
      });
    } else if (cfg.store === "mysql") {
      const { MysqlStore } = await import(dist("stores/mysql/index.js"));
      store = new MysqlStore({
        uri: URLS.mysql,
        tablePrefix: `belfry_${cfg.tag}_`,
        maxConnections: 3,
      });
    } else if (cfg.store === "redis") {
      const { RedisStore } = await import(dist("stores/redis/index.js"));
      store = new RedisStore({ url: URLS.redis, keyPrefix: `belfry-${cfg.tag}` });
    } else throw new Error(`unknown store ${cfg.store}`);
    const scheduler = new Scheduler({ store, replicaId: cfg.replica });
    for (const id of jobIds) {
      const schedule = SECOND ? every("1s") : cron("* * * * *");
      scheduler.job(id, schedule, (run) => report(id, run.scheduledAt.getTime()));
    }
    await scheduler.start();
    return async () => {
      await scheduler.stop({ drain: true });
      await store.close();
    };
  },

  async bullmq() {
    const { Queue, Worker } = await import("bullmq");
    const { hostname: host, port } = new URL(URLS.redis);
    const connection = { host, port: Number(port || 6379), maxRetriesPerRequest: null };
    const prefix = `bull-${cfg.tag}`;
    const queue = new Queue("bench", { connection, prefix });
    // Every replica upserts the schedulers at boot, as a replicated service does.
    for (const id of jobIds) {
      await queue.upsertJobScheduler(id, SECOND ? { every: 1000 } : { pattern: "0 * * * * *" }, {
        name: id,
      });
    }
    const worker = new Worker(
      "bench",
      async (job) => {
        // Job ids of a job scheduler are `repeat:<schedulerId>:<nominal ms>`.
        report(job.name, Number(job.id.slice(job.id.lastIndexOf(":") + 1)));
      },
      { connection, prefix, concurrency: cfg.jobs },
    );
    await worker.waitUntilReady();
    return async () => {
      await worker.close();
      await queue.close();
    };
  },

  async pgboss() {
    const { default: PgBoss } = await import("pg-boss");
    const tuned = cfg.tuned
      ? { cronMonitorIntervalSeconds: 1, cronWorkerIntervalSeconds: 1 } // the minimums
      : {};
    const boss = new PgBoss({
      connectionString: URLS.postgres,
      schema: `pgboss_${cfg.tag}`,
      max: 3,
      ...tuned,
    });
    boss.on("error", (error) => process.stderr.write(`pg-boss: ${error.message}\n`));
    await boss.start();
    for (const id of jobIds) {
      // Every replica creates its queues and schedules at boot, as a replicated service does.
      await boss.createQueue(id);
      await boss.schedule(id, "* * * * *");
      const polling = { pollingIntervalSeconds: cfg.tuned ? 0.5 : 2 }; // 0.5 is the minimum
      await boss.work(id, polling, async ([job]) => {
        // pg-boss keeps no nominal instant on the job: it is the minute the job belongs to
        // (the lag is under a minute, see RESULTS.md).
        const now = Date.now();
        report(job.name, Math.floor(now / 60_000) * 60_000);
      });
    }
    return () => boss.stop({ graceful: true, wait: true, timeout: 5_000 });
  },

  async graphile() {
    const { run, Logger } = await import("graphile-worker");
    const runner = await run({
      connectionString: URLS.postgres,
      schema: `gw_${cfg.tag}`,
      concurrency: cfg.jobs,
      maxPoolSize: 3,
      noHandleSignals: true,
      logger: new Logger(() => () => {}),
      crontab: jobIds.map((id) => `* * * * * tick ?id=${id} {job:"${id}"}`).join("\n"),
      taskList: {
        tick: async (payload) => report(payload.job, Date.parse(payload._cron.ts)),
      },
    });
    return () => runner.stop();
  },

  async nodecron() {
    const cron = (await import("node-cron")).default;
    const tasks = jobIds.map((id) =>
      cron.schedule(SECOND ? "* * * * * *" : "0 * * * * *", (ctx) =>
        report(id, Math.floor(ctx.date.getTime() / 1000) * 1000),
      ),
    );
    return async () => {
      for (const task of tasks) await task.destroy();
    };
  },
};

const keepAlive = setInterval(() => {}, 60_000); // some schedulers unref their timers
const stop = await systems[cfg.system]();
process.stdout.write(`${JSON.stringify({ t: "ready", r: cfg.replica })}\n`);
await new Promise((resolve) => process.once("SIGTERM", resolve));
setTimeout(() => process.exit(3), 10_000).unref(); // a stop that hangs must not hang the bench
await Promise.race([stop(), sleep(9_000)]);
clearInterval(keepAlive);
process.exit(0);
