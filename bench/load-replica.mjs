// One replica of one scheduler holding many jobs, as a separate process, for the burst, lag and
// idle benchmarks (bench/cluster.mjs starts three of these per system). Argument: one JSON object
//   { system: belfry | bullmq | graphile, store?, sqlitePath?, tag, replica, jobs,
//     pattern?: cron expression (burst, idle) | every?: "1s" (lag),
//     skewMs?: this replica's clock offset (skew bench; peers get it through bench/skew-clock.mjs),
//     tasks?: task names (runtime schedules bench: belfry defines these tasks and no jobs, BullMQ
//       upserts nothing; the schedules are written by bench/schedules-loader.mjs) }
// stdout, JSON lines:
//   {"t":"ready"}                                   once every job is registered and started
//   {"t":"run","job":…,"at":nominal ms,"start":ms}  first thing in every handler call
//   {"t":"stats",…}                                 answer to "stats" on stdin (since "mark")
// stdin lines: "mark" starts the counters (store calls, wire queries, CPU, peak RSS); "stats"
// prints them. SIGTERM stops the scheduler and exits.
import { createInterface } from "node:readline";
import { clearInterval, setInterval, setTimeout } from "node:timers";
import { setTimeout as sleep } from "node:timers/promises";
import { URL } from "node:url";
import { belfryDist, openBelfryStore } from "./drivers.mjs";
import { URLS } from "./lib.mjs";

const cfg = JSON.parse(process.argv[2]);
const jobIds = Array.from({ length: cfg.jobs }, (_, j) => `job-${j}`);
const counts = { calls: 0, queries: 0 };
/** Redis commands by name (ioredis), for finding what an idle replica sends. */
const byCommand = new Map();
/** Store calls by method name (belfry), for finding what an idle replica keeps asking. */
const byMethod = new Map();

// The real time, also in a replica whose clock the skew bench moved (bench/skew-clock.mjs).
const realNow = globalThis[Symbol.for("belfry.bench.realNow")] ?? Date.now;

function report(job, at) {
  const start = realNow(); // stamped before anything else the handler does
  process.stdout.write(`{"t":"run","job":"${job}","at":${at},"start":${start}}\n`);
}

/** Counts every statement or command sent to a server, by patching the client libraries. */
async function countWireQueries() {
  const pg = (await import("pg")).default;
  const pgQuery = pg.Client.prototype.query;
  pg.Client.prototype.query = function (...args) {
    counts.queries++;
    return pgQuery.apply(this, args);
  };
  const { Redis } = await import("ioredis");
  const send = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function (...args) {
    counts.queries++;
    const name = args[0]?.name;
    if (name) byCommand.set(name, (byCommand.get(name) ?? 0) + 1);
    return send.apply(this, args);
  };
}

/** Claim results by status (won, lost, …), for seeing how much of a burst replicas contend for. */
const claims = new Map();

function countClaims(results) {
  for (const { status } of results) claims.set(status, (claims.get(status) ?? 0) + 1);
}

/** The store seen through a proxy that counts every method call (belfry's store round trips). */
function counted(store) {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args) => {
        counts.calls++;
        byMethod.set(property, (byMethod.get(property) ?? 0) + 1);
        const result = value.apply(target, args);
        if (property === "claim") void result.then(countClaims, () => {});
        return result;
      };
    },
  });
}

const systems = {
  async belfry() {
    const dist = belfryDist(); // BENCH_BELFRY_DIST: another build to compare with
    const { Scheduler, every, cron, systemClock } = await import(dist("index.js"));
    const store = await openBelfryStore(dist, cfg);
    // The skew bench: this replica's own clock reads `skewMs` off (belfry's store time is measured
    // against it, as on a host whose clock is off).
    const clock = cfg.skewMs
      ? { ...systemClock, now: () => systemClock.now() + cfg.skewMs }
      : systemClock;
    const scheduler = new Scheduler({ store: counted(store), replicaId: cfg.replica, clock });
    for (const task of cfg.tasks ?? []) {
      scheduler.task(task, (run) => report(run.jobId, run.scheduledAt.getTime()));
    }
    if (jobIds.length > 0) {
      const schedule = cfg.every ? every(cfg.every) : cron(cfg.pattern, { timezone: "UTC" });
      for (const id of jobIds) {
        scheduler.job(id, schedule, (run) => report(id, run.scheduledAt.getTime()));
      }
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
    const repeat = cfg.every ? { pattern: "* * * * * *" } : { pattern: cfg.pattern, tz: "UTC" };
    // Every replica upserts the schedulers at boot, as a replicated service does.
    for (const id of jobIds) await queue.upsertJobScheduler(id, repeat, { name: id });
    const worker = new Worker(
      "bench",
      // Job ids of a job scheduler are `repeat:<schedulerId>:<nominal ms>`.
      async (job) => report(job.name, Number(job.id.slice(job.id.lastIndexOf(":") + 1))),
      { connection, prefix, concurrency: 1_000 },
    );
    await worker.waitUntilReady();
    return async () => {
      await worker.close();
      await queue.close();
    };
  },

  async graphile() {
    const { run, Logger } = await import("graphile-worker");
    // graphile-worker's crontab has 5 fields (minutes); a 6-field pattern drops its seconds.
    const fields = cfg.pattern.split(" ");
    const minutePattern = (fields.length === 6 ? fields.slice(1) : fields).join(" ");
    const runner = await run({
      connectionString: URLS.postgres,
      schema: `gw_${cfg.tag}`,
      concurrency: 100,
      maxPoolSize: 10,
      noHandleSignals: true,
      logger: new Logger(() => () => {}),
      crontab: jobIds.map((id) => `${minutePattern} tick ?id=${id} {job:"${id}"}`).join("\n"),
      taskList: { tick: async (payload) => report(payload.job, Date.parse(payload._cron.ts)) },
    });
    return () => runner.stop();
  },
};

let mark = {
  cpu: process.cpuUsage(),
  calls: 0,
  queries: 0,
  byMethod: new Map(),
  byCommand: new Map(),
  claims: new Map(),
};
let peakRss = 0;
/** Peak RSS since the process started (never reset by "mark"). */
let lifetimePeakRss = 0;
const sampler = setInterval(() => {
  const rss = process.memoryUsage().rss;
  peakRss = Math.max(peakRss, rss);
  lifetimePeakRss = Math.max(lifetimePeakRss, rss);
}, 250);

createInterface({ input: process.stdin }).on("line", (line) => {
  if (line === "mark") {
    mark = {
      cpu: process.cpuUsage(),
      calls: counts.calls,
      queries: counts.queries,
      byMethod: new Map(byMethod),
      byCommand: new Map(byCommand),
      claims: new Map(claims),
    };
    peakRss = process.memoryUsage().rss;
  } else if (line === "stats") {
    const cpu = process.cpuUsage(mark.cpu);
    const rss = process.memoryUsage().rss;
    const stats = {
      t: "stats",
      cpuS: (cpu.user + cpu.system) / 1e6,
      rssMiB: rss / 2 ** 20,
      peakRssMiB: Math.max(peakRss, rss) / 2 ** 20,
      lifetimePeakRssMiB: Math.max(lifetimePeakRss, rss) / 2 ** 20,
      calls: counts.calls - mark.calls,
      queries: counts.queries - mark.queries,
      callsByMethod: Object.fromEntries(
        [...byMethod].map(([m, n]) => [m, n - (mark.byMethod.get(m) ?? 0)]).filter(([, n]) => n),
      ),
      claims: Object.fromEntries(
        [...claims].map(([c, n]) => [c, n - (mark.claims.get(c) ?? 0)]).filter(([, n]) => n),
      ),
      queriesByCommand: Object.fromEntries(
        [...byCommand].map(([c, n]) => [c, n - (mark.byCommand.get(c) ?? 0)]).filter(([, n]) => n),
      ),
    };
    process.stdout.write(`${JSON.stringify(stats)}\n`);
  }
});

await countWireQueries();
const stop = await systems[cfg.system]();
process.stdout.write(`${JSON.stringify({ t: "ready" })}\n`);
await new Promise((resolve) => process.once("SIGTERM", resolve));
setTimeout(() => process.exit(3), 15_000).unref(); // a stop that hangs must not hang the bench
await Promise.race([stop(), sleep(14_000)]);
clearInterval(sampler);
process.exit(0);
