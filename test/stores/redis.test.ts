import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { RedisStore, type RedisStoreOptions } from "../../src/stores/redis/index.js";
import { RedisKeys } from "../../src/stores/redis/keys.js";
import { jobsWithLiveRuns } from "../../src/stores/redis/live-jobs.js";
import { describeStore } from "../conformance/describe-store.js";
import type { ClaimedRun, ClaimRequest, ClaimResult } from "../../src/stores/store.js";
import {
  claimOne,
  claimWon,
  job,
  pastBase,
  rejectsWith,
  request,
  won,
} from "../conformance/harness.js";

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

async function keysOf(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await admin.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  return keys;
}

/** The part of `key` Redis Cluster hashes: the first `{…}` with something inside, else all. */
function hashTag(key: string): string {
  const open = key.indexOf("{");
  const close = open < 0 ? -1 : key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** A store on a fresh prefix (dropped after the file), closed after the file. */
async function openStore(options: RedisStoreOptions = {}): Promise<RedisStore> {
  const keyPrefix = options.keyPrefix ?? `rt_${randomBytes(4).toString("hex")}`;
  prefixes.push(keyPrefix);
  const store = new RedisStore({ url, ...options, keyPrefix });
  opened.push(store);
  await store.init();
  return store;
}

afterAll(async () => {
  await Promise.all(opened.map((store) => store.close()));
  for (const prefix of prefixes) await dropPrefix(prefix);
  await admin.quit();
});

describeStore("redis", async ({ prefix }) => new RedisStore({ url, keyPrefix: prefix }), {
  corrupt: async (_store, prefix, jobId) => {
    await admin.hset(`${prefix}:{${prefix}:${jobId}}:job`, "overlap", "bogus");
    return { column: "overlap", value: "bogus" };
  },
  cleanup: dropPrefix,
});

describe("RedisStore", () => {
  it("reports missing persistence as a settings warning and persists it for replica store", async () => {
    const persistence = await admin.config("GET", "appendonly");
    const save = await admin.config("GET", "save");
    const store = await openStore();
    if (persistence[1] !== "yes" && save[1] === "") {
      expect(store.settingsWarnings.join("\n")).toMatch(/persistence is off/);
    }
    const warnings = await store.listWarnings();
    expect(warnings.map((w) => w.message).sort()).toEqual([...store.settingsWarnings].sort());
    for (const warning of warnings) {
      expect(warning).toMatchObject({ replicaId: "store", kind: "store-settings" });
    }
  });

  it("warns that it could not check the settings when CONFIG is refused (managed Redis)", async () => {
    const user = `belfry_noconfig_${randomBytes(3).toString("hex")}`;
    await admin.call("ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all", "-config");
    try {
      const target = new URL(url);
      target.username = user;
      target.password = "pw";
      const store = await openStore({ url: target.toString() });
      expect(store.settingsWarnings).toHaveLength(1);
      expect(store.settingsWarnings[0]).toMatch(/could not be checked/);
    } finally {
      await admin.call("ACL", "DELUSER", user);
    }
  });

  it("init on a closed port fails fast with STORE_CONNECT naming host:port, not the password", async () => {
    const store = new RedisStore({ url: "redis://:s3cret@127.0.0.1:1", connectTimeoutMs: 1000 });
    const started = performance.now();
    const message = await rejectsWith(store.init(), "STORE_CONNECT");
    expect(performance.now() - started).toBeLessThan(3000);
    expect(message).toContain("127.0.0.1:1");
    expect(message).not.toContain("s3cret");
    await store.close();
  });

  it("rejects a bad key prefix with INVALID_PREFIX and a non-redis URL with INVALID_STORE_URL", async () => {
    for (const keyPrefix of ["", "has space", "{tag}", "a*b", "x".repeat(65)]) {
      await rejectsWith(
        Promise.resolve().then(() => new RedisStore({ url, keyPrefix })),
        "INVALID_PREFIX",
      );
    }
    await rejectsWith(
      Promise.resolve().then(() => new RedisStore({ url: "http://127.0.0.1:6379" })),
      "INVALID_STORE_URL",
    );
    await rejectsWith(
      Promise.resolve().then(() => new RedisStore({ url, historyLimit: 0 })),
      "INVALID_OPTION",
    );
  });

  it("keeps every key of one job under one hash tag, and store-wide keys under the prefix's", async () => {
    const store = await openStore();
    const prefix = prefixes[prefixes.length - 1] as string;
    const regs = [
      job({ overlap: "queueOne" }),
      job({ jobId: `odd{id}:${randomBytes(2).toString("hex")}` }),
    ];
    const t = await pastBase(store);
    for (const reg of regs) {
      await store.registerJob(reg);
      await store.recordMissed(reg.jobId, reg.hash, [t]);
      const run = await claimWon(store, request(reg, t + 1000));
      await claimOne(store, request(reg, t + 2000));
      await store.finishRun(run.runId, run.token, { state: "succeeded" }, 1000);
      await store.claimManual(reg.jobId, "r1", 1000);
    }
    await store.recoverExpired("r1", 1000, 10);
    const keys = await keysOf(prefix);
    const tags = new Set(keys.map(hashTag));
    expect(tags).toEqual(
      new Set([prefix, ...regs.map((r) => hashTag(`${prefix}:{${prefix}:${r.jobId}}:job`))]),
    );
    for (const reg of regs) {
      const own = keys.filter((key) => key.includes(reg.jobId));
      expect(own.length).toBeGreaterThan(5);
      expect(new Set(own.map(hashTag)).size).toBe(1);
    }
  });

  it("after its connection is killed, the next call works or fails with STORE_ERROR, the one after works", async () => {
    const store = await openStore();
    const reg = job();
    await store.registerJob(reg);
    const t = await pastBase(store);
    const clients = String(await admin.call("CLIENT", "LIST"));
    const prefix = prefixes[prefixes.length - 1] as string;
    const line = clients.split("\n").find((l) => l.includes(`name=belfry:${prefix} `));
    const id = /id=(\d+)/.exec(line ?? "")?.[1];
    expect(id, "the store's connection in CLIENT LIST").toBeDefined();
    expect(await admin.call("CLIENT", "KILL", "ID", id as string)).toBe(1);
    const next = await store.claim([request(reg, t)]).then(
      (results) => results[0]?.status,
      (error: unknown) => (error as { code?: string }).code,
    );
    expect(["won", "STORE_ERROR"]).toContain(next);
    expect((await store.claim([request(reg, t + 1000)]))[0]?.status).toBe("won");
  });

  it("leaves a client it was given open on close", async () => {
    const client = new Redis(url);
    const keyPrefix = `rt_${randomBytes(4).toString("hex")}`;
    prefixes.push(keyPrefix);
    const store = new RedisStore({ client, keyPrefix });
    await store.init();
    await store.registerJob(job());
    await store.close();
    expect(await client.ping()).toBe("PONG");
    await client.quit();
  });

  it("bounds history per job to historyLimit terminal runs, never trimming active ones", async () => {
    const store = await openStore({ historyLimit: 2 });
    const reg = job({ overlap: "queueOne" });
    await store.registerJob(reg);
    const t = await pastBase(store);
    const active = await claimWon(store, request(reg, t));
    expect((await claimOne(store, request(reg, t + 1000))).status).toBe("queued");
    await store.recordMissed(reg.jobId, reg.hash, [t + 2000, t + 3000, t + 4000, t + 5000]);
    const rows = await store.history({ jobId: reg.jobId });
    expect(rows.map((r) => [r.scheduledAt - t, r.state])).toEqual([
      [5000, "missed"],
      [4000, "missed"],
      [1000, "queued"],
      [0, "claimed"],
    ]);
    expect(rows[3]?.runId).toBe(active.runId);
    expect(await claimOne(store, request(reg, t + 2000))).toMatchObject({ status: "stale" });
  });

  it("deletes terminal runs older than historyRetentionMs as new ones are written", async () => {
    const store = await openStore({ historyRetentionMs: 60_000 });
    const reg = job();
    await store.registerJob(reg);
    const t = await pastBase(store);
    expect(await store.recordMissed(reg.jobId, reg.hash, [t, t + 1000])).toEqual([t, t + 1000]);
    expect(await store.history({ jobId: reg.jobId })).toEqual([]);
    expect((await store.getJob(reg.jobId))?.watermark).toBe(t + 1000);
  });

  it("falls back to EVAL when the script cache was flushed", async () => {
    const store = await openStore();
    const reg = job();
    await store.registerJob(reg);
    await admin.call("SCRIPT", "FLUSH");
    await claimWon(store, request(reg, await pastBase(store)));
  });

  it("indexes only the won claim of racing replicas, and re-indexes runs whose index entry was lost", async () => {
    const keyPrefix = `rt_${randomBytes(4).toString("hex")}`;
    const [a, b, c] = await Promise.all(
      [0, 1, 2].map(() => openStore({ keyPrefix, reconcileIntervalMs: 60_000 })),
    );
    const reg = job({ onAbandoned: "abandon" });
    await a!.registerJob(reg);
    const t = await pastBase(a!);
    const results = await Promise.all([a!, b!, c!].map((s) => s.claim([request(reg, t)])));
    const won = results.flat().find((r) => r.status === "won");
    const leases = `${keyPrefix}:{${keyPrefix}}:leases`;
    expect(await admin.zcard(leases)).toBe(1);
    await a!.recoverExpired("r1", 1000, 10);
    expect(await admin.zcard(leases)).toBe(1);
    expect(await admin.exists(`${keyPrefix}:{${keyPrefix}}:runjob`)).toBe(0);
    // Lose the index entirely: the reconcile pass (once per interval) re-indexes the run.
    await admin.del(leases, `${keyPrefix}:{${keyPrefix}}:reconcile`);
    const run = won?.status === "won" ? won.run : null;
    await a!.releaseRun(run!.runId, run!.token);
    await admin.del(leases);
    const first = await b!.recoverExpired("r2", 1000, 10);
    const second = first.length > 0 ? [] : await b!.recoverExpired("r2", 1000, 10);
    expect([...first, ...second]).toEqual([
      { action: "abandoned", runId: run!.runId, jobId: reg.jobId, scheduledAt: t },
    ]);
  });

  it("finds the jobs to reconcile by their active and queued keys, not one command per job", async () => {
    const keyPrefix = `rt_${randomBytes(4).toString("hex")}`;
    const store = await openStore({ keyPrefix });
    const context = {
      client: admin,
      keys: new RedisKeys(keyPrefix),
      historyLimit: 0,
      retentionMs: 0,
    };
    // An idle job, a job with a claimed run whose id ends like a live key, and a queueing job
    // with a run queued behind an active one.
    const idle = job();
    const tricky = job({ jobId: "x}:active" });
    const queueing = job({ overlap: "queueOne" });
    for (const reg of [idle, tricky, queueing]) await store.registerJob(reg);
    expect(await jobsWithLiveRuns(context)).toEqual([]);
    const t = await pastBase(store);
    await claimWon(store, request(tricky, t));
    await claimWon(store, request(queueing, t));
    expect((await store.claim([request(queueing, t + 1000)]))[0]?.status).toBe("queued");
    const active = `${keyPrefix}:{${keyPrefix}:${queueing.jobId}}:active`;
    await admin.del(active); // only the queued run is left: its key alone must name the job
    expect((await jobsWithLiveRuns(context)).sort()).toEqual([queueing.jobId, tricky.jobId].sort());
  });

  it("keeps lease-index entries only for active and queued runs: none is left after many cycles", async () => {
    const keyPrefix = `rt_${randomBytes(4).toString("hex")}`;
    const [a, b] = await Promise.all([0, 1].map(() => openStore({ keyPrefix })));
    const leases = `${keyPrefix}:{${keyPrefix}}:leases`;
    const entries = (): Promise<number> => admin.zcard(leases);
    const plain = job();
    const queueing = job({ overlap: "queueOne" });
    const dropped = job({ onAbandoned: "abandon" });
    for (const reg of [plain, queueing, dropped]) await a!.registerJob(reg);
    const t = await pastBase(a!);
    /** `a` claims, then `b` claims the same occurrences and loses every one. */
    const race = async (requests: ClaimRequest[]): Promise<ClaimResult[]> => {
      const results = await a!.claim(requests);
      const lost = await b!.claim(requests);
      expect(lost.map((r) => r.status)).toEqual(
        requests.map((_, i) => (i === 1 ? "stale" : "lost")),
      );
      return results;
    };
    const finish = (run: ClaimedRun) =>
      a!.finishRun(run.runId, run.token, { state: "succeeded" }, 30_000);
    for (let i = 0; i < 60; i++) {
      const at = t + i * 1000;
      // Won, started and finished; the loser wrote no entry.
      const [plainResult, firstResult, queuedResult, droppedResult] = await race([
        request(plain, at),
        request(queueing, at),
        request(queueing, at + 500),
        request(dropped, at),
      ]);
      expect(queuedResult?.status).toBe("queued");
      expect(await entries()).toBe(4);
      const run = won(plainResult);
      expect(await a!.startRun(run.runId, run.token, run.attempt)).toBe(true);
      expect((await finish(run)).ok).toBe(true);
      // The queued run is handed over by the finish and keeps its entry until it finishes.
      const handed = (await finish(won(firstResult))).next;
      expect(handed?.runId).toBe(queuedResult?.status === "queued" ? queuedResult.runId : null);
      expect(await entries()).toBe(2);
      expect((await finish(handed!)).ok).toBe(true);
      // Released, refused a late finish, then abandoned by recovery.
      const doomed = won(droppedResult);
      expect(await b!.releaseRun(doomed.runId, doomed.token)).toBe(true);
      expect((await finish(doomed)).ok).toBe(false); // its lease expired: the entry stays
      expect(await entries()).toBe(1);
      expect(await b!.recoverExpired("r2", 30_000, 10)).toHaveLength(1);
      expect(await entries()).toBe(0);
      // A manual run; a retried run whose old owner's finish is refused.
      const manual = await a!.claimManual(plain.jobId, "r1", 30_000);
      expect((await finish(manual!)).ok).toBe(true);
      const retried = await claimWon(a!, request(plain, at + 500));
      await a!.releaseRun(retried.runId, retried.token);
      const [taken] = await b!.recoverExpired("r2", 30_000, 10);
      expect(taken?.action).toBe("retried");
      expect((await finish(retried)).ok).toBe(false);
      expect(await entries()).toBe(1);
      expect((await finish(taken?.action === "retried" ? taken.run : retried)).ok).toBe(true);
      expect(await entries()).toBe(0);
    }
    expect(await admin.exists(`${keyPrefix}:{${keyPrefix}}:runjob`)).toBe(0);
    const active = await a!.history({ states: ["claimed", "running", "queued"], limit: 1000 });
    expect(active).toEqual([]);
  });
});
