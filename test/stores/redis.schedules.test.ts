import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { RedisStore } from "../../src/stores/redis/index.js";
import { RedisKeys } from "../../src/stores/redis/keys.js";
import {
  replicaSpread,
  scheduleJobId,
  spreadOf,
  spreadRank,
} from "../../src/stores/shared/schedules.js";
import { claimOne, job, pastBase, rejectsWith, request } from "../conformance/harness.js";
import { schedule } from "../conformance/schedules.cases.js";

const url = process.env.BELFRY_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const admin = new Redis(url);
const opened: RedisStore[] = [];
const prefixes: string[] = [];

/** Deletes every key of `prefix` (all of the store's keys start with `<prefix>:`). */
async function dropPrefix(prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    if (keys.length > 0) await admin.unlink(...keys);
    cursor = next;
  } while (cursor !== "0");
}

/** A new prefix, dropped after the file. */
function newPrefix(): string {
  const prefix = `rs_${randomBytes(4).toString("hex")}`;
  prefixes.push(prefix);
  return prefix;
}

/** An initialised store on `prefix`, closed after the file. */
async function openStore(prefix: string): Promise<RedisStore> {
  const store = new RedisStore({ url, keyPrefix: prefix });
  opened.push(store);
  await store.init();
  return store;
}

/** Subscribers of the store's change channel, by Redis's own count. */
async function subscribers(prefix: string): Promise<number> {
  const reply = (await admin.call("PUBSUB", "NUMSUB", new RedisKeys(prefix).scheduleChanges)) as [
    string,
    number,
  ];
  return Number(reply[1]);
}

/** Resolves with the number of calls once `listener` has been called `count` times. */
function calls(count: number): { listener: () => void; heard: Promise<void> } {
  let seen = 0;
  let done: () => void = () => undefined;
  const heard = new Promise<void>((resolve) => (done = resolve));
  const timeout = setTimeout(() => done(), 5_000);
  return {
    listener: () => {
      seen += 1;
      if (seen === count) {
        clearTimeout(timeout);
        done();
      }
    },
    heard: heard.then(() => expect(seen).toBe(count)),
  };
}

afterAll(async () => {
  await Promise.all(opened.map((store) => store.close()));
  for (const prefix of prefixes) await dropPrefix(prefix);
  await admin.quit();
});

describe("RedisStore runtime schedules", () => {
  it("onScheduleChange hears creates, triggers and resumes written by another store", async () => {
    const prefix = newPrefix();
    const listening = await openStore(prefix);
    const writer = await openStore(prefix);
    const created = calls(1);
    const stop = await listening.onScheduleChange(created.listener);
    expect(await subscribers(prefix)).toBe(1);
    const write = schedule({ nextAt: (await writer.now()) + 3_600_000 });
    await writer.putSchedules([write], "create");
    await created.heard;
    await stop();
    expect(await subscribers(prefix)).toBe(0);

    const later = calls(2);
    const stopLater = await listening.onScheduleChange(later.listener);
    await writer.triggerSchedule(write.jobId);
    await writer.setPaused(write.jobId, true);
    await writer.setPaused(write.jobId, false);
    await later.heard;
    await stopLater();
  });

  it("close() closes the subscriber connection", async () => {
    const prefix = newPrefix();
    const store = await openStore(prefix);
    await store.onScheduleChange(() => undefined);
    await store.onScheduleChange(() => undefined);
    expect(await subscribers(prefix)).toBe(1);
    await store.close();
    expect(await subscribers(prefix)).toBe(0);
  });

  it("every write keeps the schedule list and the due index in step with the rows", async () => {
    const prefix = newPrefix();
    const store = await openStore(prefix);
    const keys = new RedisKeys(prefix);
    const t = await pastBase(store);
    const [a, b, c, d] = ["a", "b", "c", "d"].map((key) => schedule({ key, nextAt: t }));
    await store.putSchedules([a!, b!, c!, d!, schedule({ task: "feed", key: "x" })], "create");
    await store.putSchedules([{ ...a!, hash: "hash-2", nextAt: t + 5_000 }], "upsert");
    expect((await claimOne(store, request(b!, t, { nextAt: t + 1_000 }))).status).toBe("won");
    expect((await claimOne(store, request(c!, t, { nextAt: null }))).status).toBe("won");
    await store.triggerSchedule(c!.jobId);
    await store.triggerSchedule(d!.jobId);
    await store.claimTriggered(d!.jobId, "r1", 30_000);
    await store.advanceSchedules([{ jobId: d!.jobId, hash: d!.hash, nextAt: t + 9_000 }]);
    await store.removeSchedules([b!.jobId]);

    const rows = (await store.listSchedules()).schedules;
    expect(rows.map((row) => row.key)).toEqual(["a", "c", "d", "x"]);
    expect(await admin.zrange(keys.schedules, "0", "-1")).toEqual(rows.map((row) => row.jobId));
    for (const task of ["digest", "feed"]) {
      const members = await admin.zrange(keys.due(task), "0", "-1");
      const indexed = members.map((member) => member.slice(29)).sort();
      const due = rows.filter((row) => row.task === task && row.dueAt !== null);
      expect(indexed).toEqual(due.map((row) => row.jobId).sort());
    }
    expect(await store.getSchedule(c!.jobId)).toMatchObject({ nextAt: null });
    expect((await store.getSchedule(c!.jobId))?.dueAt).toBeGreaterThan(0);
    expect(await store.getSchedule(d!.jobId)).toMatchObject({
      nextAt: t + 9_000,
      dueAt: t + 9_000,
    });
    // The removed `b` has a run: its id stays in the job list, where history finds its runs.
    expect(await admin.sismember(keys.jobs, b!.jobId)).toBe(1);
    expect(await admin.sismember(keys.jobs, a!.jobId)).toBe(1);
  });

  it("a removed schedule stays in the job list while it has runs: history lists them, prune forgets it", async () => {
    const prefix = newPrefix();
    const store = await openStore(prefix);
    const keys = new RedisKeys(prefix);
    const t = await pastBase(store);
    const [ran, idle] = ["ran", "idle"].map((key) => schedule({ key, nextAt: t }));
    await store.putSchedules([ran!, idle!], "create");
    const claimed = await claimOne(store, request(ran!, t, { nextAt: t + 1_000 }));
    if (claimed.status !== "won") throw new Error(`claim: ${claimed.status}`);
    await store.finishRun(claimed.run.runId, claimed.run.token, { state: "succeeded" }, 30_000);
    await store.removeSchedules([ran!.jobId, idle!.jobId]);
    expect(await admin.sismember(keys.jobs, idle!.jobId)).toBe(0);
    expect(await admin.sismember(keys.jobs, ran!.jobId)).toBe(1);
    expect((await store.history()).map((run) => run.jobId)).toEqual([ran!.jobId]);
    expect((await store.listJobs()).jobs).toEqual([]);
    expect(await store.prune(t + 1)).toBe(1);
    expect(await admin.sismember(keys.jobs, ran!.jobId)).toBe(0);
    expect(await store.history()).toEqual([]);
    // Created again under the same key, it is listed as any new schedule.
    await store.putSchedules([ran!], "create");
    expect(await admin.sismember(keys.jobs, ran!.jobId)).toBe(1);
  });

  it("lists code jobs from the code job list, which holds no schedule; layout 1 is migrated into it", async () => {
    const prefix = newPrefix();
    const store = await openStore(prefix);
    const keys = new RedisKeys(prefix);
    const t = await pastBase(store);
    await store.registerJob(job({ jobId: "nightly" }));
    const [ran, idle] = ["ran", "idle"].map((key) => schedule({ key, nextAt: t }));
    await store.putSchedules([ran!, idle!], "create");
    expect(await admin.smembers(keys.codeJobs)).toEqual(["nightly"]);
    const claimed = await claimOne(store, request(ran!, t, { nextAt: t + 1_000 }));
    if (claimed.status !== "won") throw new Error(`claim: ${claimed.status}`);
    await store.removeSchedules([ran!.jobId]);
    // As a store written by a release before the code job list (layout 1, or no layout key).
    for (const layout of ["1", null]) {
      await admin.del(keys.codeJobs);
      if (layout === null) await admin.del(keys.schema);
      else await admin.set(keys.schema, layout);
      const readOnly = new RedisStore({ url, keyPrefix: prefix, autoMigrate: false });
      opened.push(readOnly);
      const message = await rejectsWith(readOnly.init(), "SCHEMA_MISSING");
      expect(message).toContain("holds key layout 1, this release needs 2");
      const migrated = await openStore(prefix);
      expect(await admin.get(keys.schema)).toBe("2");
      // The removed schedule kept in the job list for its run is no code job either.
      expect(await admin.smembers(keys.codeJobs)).toEqual(["nightly"]);
      expect((await migrated.listJobs()).jobs.map((j) => j.jobId)).toEqual(["nightly"]);
    }
  });

  it("reads a burst due at one instant in each replica's spreadRank order, page after page", async () => {
    const prefix = newPrefix();
    const store = await openStore(prefix);
    const burst = Array.from({ length: 2_000 }, (_, i) => schedule({ key: `b-${i}`, nextAt: 50 }));
    const before = [schedule({ key: "early", nextAt: 10 }), schedule({ key: "neg", nextAt: -20 })];
    const after = schedule({ key: "after", nextAt: 60 });
    await store.putSchedules([...burst, ...before, after], "create");
    for (const replicaId of ["replica-a", "replica-b", "replica-c"]) {
      const offset = replicaSpread(replicaId);
      const expected = [...burst]
        .sort(
          (x, y) => spreadRank(spreadOf(x.jobId), offset) - spreadRank(spreadOf(y.jobId), offset),
        )
        .map((row) => row.key);
      const due = await store.dueSchedules({ tasks: ["digest"], until: 50, limit: 100, replicaId });
      expect(due.schedules.map((row) => row.key)).toEqual([
        "neg",
        "early",
        ...expected.slice(0, 98),
      ]);
      expect(due.nextDueAt).toBe(60);
      const all = await store.dueSchedules({
        tasks: ["digest"],
        until: 59,
        limit: 5_000,
        replicaId,
      });
      expect(all.schedules.map((row) => row.key)).toEqual(["neg", "early", ...expected]);
    }
  });

  it("putSchedules after a script cache flush: every write applied once, in request order", async () => {
    const prefix = newPrefix();
    const store = await openStore(prefix);
    const writes = Array.from({ length: 1_200 }, (_, i) => schedule({ key: `flushed-${i}` }));
    // The first key again, in the second pipeline: it sees the first write (sent again by EVAL).
    const again = { ...writes[0]!, hash: "hash-2" };
    await admin.call("SCRIPT", "FLUSH");
    const results = await store.putSchedules(
      [...writes.slice(0, 600), again, ...writes.slice(600)],
      "upsert",
      "outcomes",
    );
    expect(results.filter((r) => r.outcome === "created")).toHaveLength(1_200);
    expect(results[600]).toEqual({ outcome: "updated" });
    expect(await store.getSchedule(again.jobId)).toMatchObject({ hash: "hash-2", version: 2 });
    expect(await admin.zcard(new RedisKeys(prefix).schedules)).toBe(1_200);
  });

  it("refuses schedule writes on a Cluster client with UNSUPPORTED", async () => {
    const client = {
      call: (command: string, ...args: (string | number)[]) => admin.call(command, ...args),
      pipeline: () => admin.pipeline(),
      isCluster: true,
    };
    const store = new RedisStore({ client, keyPrefix: newPrefix() });
    await rejectsWith(store.putSchedules([schedule()], "create"), "UNSUPPORTED");
    await rejectsWith(store.triggerSchedule(scheduleJobId("digest", "k")), "UNSUPPORTED");
  });
});
