// Writes or removes runtime schedules for bench/schedules.mjs, as a separate process (an API
// server creating schedules; its counters are its own). Argument: one JSON object
//   { system: belfry | bullmq, store?, tag, sqlitePath?, task, op, … }
// op "background": keys bg-<from> … bg-<from + count − 1>, yearly crons at 09:00 on days 1–28
//   of the ten months that are not this one or the next, in five zones (so none is due while
//   the bench runs), data { user: i }; written with `createMany` calls of `chunk` schedules
//   (BullMQ: `upsertJobScheduler` calls, `inFlight` at a time).
// op "at": keys <prefix>-0 … <prefix>-<count − 1>, one 6-field cron `S M H * * *` (UTC) each,
//   naming the second at + floor(j × spreadMs / count), in one `createMany` call (BullMQ: as
//   above).
// op "remove": those keys again (`removeMany`; BullMQ: `removeJobScheduler`).
// stdout: one line {"t":"done","calls":[{ n, ms, cpuS, roundTrips, statements }…],…} or
// {"t":"done","error":…}. Round trips and statements are counted in this process's drivers
// (a Redis pipeline is one round trip) from after the scheduler's start to the end of each call.
import { performance } from "node:perf_hooks";
import { URL } from "node:url";
import { belfryDist, countDrivers, openBelfryStore } from "./drivers.mjs";
import { URLS } from "./lib.mjs";

const cfg = JSON.parse(process.argv[2]);
const count = { roundTrips: 0, statements: 0 };
countDrivers(count);

const ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney"];
const DAYS = 28;

/** The ten months (1–12) that are neither this month nor the next (UTC). */
function quietMonths() {
  const now = new Date().getUTCMonth();
  const skip = new Set([now, (now + 1) % 12]);
  return Array.from({ length: 12 }, (_, m) => m)
    .filter((m) => !skip.has(m))
    .map((m) => m + 1);
}

/**
 * The schedules of one op as `{ key, pattern (6 fields), zone, data }`, for any system. Keys are
 * unique within a task; a BullMQ scheduler id is `<task>:<key>`, a belfry job id the same.
 */
function schedulesOf(op) {
  if (op.op === "background" || (op.op === "remove" && op.kind === "background")) {
    const months = quietMonths();
    return Array.from({ length: op.count }, (_, j) => {
      const i = op.from + j;
      const day = 1 + (i % DAYS);
      const month = months[Math.floor(i / DAYS) % months.length];
      const zone = ZONES[Math.floor(i / (DAYS * months.length)) % ZONES.length];
      return { key: `bg-${i}`, pattern: `0 0 9 ${day} ${month} *`, zone, data: { user: i } };
    });
  }
  return Array.from({ length: op.count }, (_, j) => {
    const at = op.at + Math.floor((j * op.spreadMs) / op.count / 1000) * 1000;
    const d = new Date(at);
    const pattern = `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} * * *`;
    return { key: `${op.prefix}-${j}`, pattern, zone: "UTC", data: { j } };
  });
}

/** Runs `fn` over `items` in chunks of `size`; records each chunk's time, CPU and round trips. */
async function measured(items, size, fn) {
  const calls = [];
  for (let at = 0; at < items.length; at += size) {
    const chunk = items.slice(at, at + size);
    const before = { ...count, cpu: process.cpuUsage(), t: performance.now() };
    const result = await fn(chunk);
    const cpu = process.cpuUsage(before.cpu);
    calls.push({
      n: chunk.length,
      ms: performance.now() - before.t,
      cpuS: (cpu.user + cpu.system) / 1e6,
      roundTrips: count.roundTrips - before.roundTrips,
      statements: count.statements - before.statements,
      result,
    });
  }
  return calls;
}

const systems = {
  async belfry() {
    const dist = belfryDist(); // BENCH_BELFRY_DIST: another build to compare with
    const { Scheduler, cron } = await import(dist("index.js"));
    const store = await openBelfryStore(dist, cfg);
    const scheduler = new Scheduler({ store, replicaId: `loader-${process.pid}` });
    await scheduler.start();
    // One Schedule object per distinct pattern and zone, as an application defining "09:00 on
    // the user's day" builds once: the bench measures the writes, not croner's parser.
    const built = new Map();
    const scheduleOf = (pattern, zone) => {
      const id = `${zone} ${pattern}`;
      if (!built.has(id)) built.set(id, cron(pattern, { timezone: zone }));
      return built.get(id);
    };
    const input = (s) => ({
      task: cfg.task,
      key: s.key,
      schedule: scheduleOf(s.pattern, s.zone),
      data: s.data,
    });
    return {
      async write(schedules, size) {
        const inputs = schedules.map(input);
        return measured(inputs, size, async (chunk) => {
          const r = await scheduler.schedules.createMany(chunk);
          return { created: r.created, updated: r.updated, unchanged: r.unchanged };
        });
      },
      async remove(schedules, size) {
        const refs = schedules.map((s) => ({ task: cfg.task, key: s.key }));
        return measured(refs, size, async (chunk) => ({
          removed: await scheduler.schedules.removeMany(chunk),
        }));
      },
      async stop() {
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
    const inFlight = cfg.inFlight ?? 500;
    /** `fn` over `items`, `inFlight` calls at a time (BullMQ has no batch of schedulers). */
    const pooled = async (items, fn) => {
      let next = 0;
      let done = 0;
      const worker = async () => {
        while (next < items.length) {
          const item = items[next++];
          if (await fn(item)) done += 1;
        }
      };
      await Promise.all(Array.from({ length: Math.min(inFlight, items.length) }, worker));
      return done;
    };
    const id = (s) => `${cfg.task}:${s.key}`;
    return {
      async write(schedules, size) {
        return measured(schedules, size, async (chunk) => ({
          created: await pooled(chunk, async (s) => {
            const repeat = { pattern: s.pattern, tz: s.zone };
            await queue.upsertJobScheduler(id(s), repeat, { name: id(s), data: s.data });
            return true;
          }),
        }));
      },
      async remove(schedules, size) {
        return measured(schedules, size, async (chunk) => ({
          removed: await pooled(chunk, (s) => queue.removeJobScheduler(id(s))),
        }));
      },
      stop: () => queue.close(),
    };
  },
};

const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
try {
  const system = await systems[cfg.system]();
  const schedules = schedulesOf(cfg);
  const size = cfg.chunk ?? schedules.length;
  const calls =
    cfg.op === "remove"
      ? await system.remove(schedules, size)
      : await system.write(schedules, Math.max(1, size));
  await system.stop();
  send({ t: "done", calls, zones: ZONES.length, months: quietMonths() });
} catch (error) {
  send({ t: "done", error: String(error?.stack ?? error) });
}
process.exit(0);
