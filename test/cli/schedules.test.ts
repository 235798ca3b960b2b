import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cron, daily, every, MemoryStore, weekly } from "../../src/index.js";
import { storeSchedules } from "../../src/runtime/schedules.js";
import { openStore } from "../../src/stores/open.js";
import type { Store } from "../../src/stores/store.js";
import { belfry } from "./run.js";

const dir = mkdtempSync(join(tmpdir(), "belfry-cli-schedules-"));
const url = `sqlite:${join(dir, "store.db")}`;

/** Rows of a text table (columns are separated by two or more spaces). */
function cells(stdout: string): string[][] {
  return stdout
    .trim()
    .split("\n")
    .map((line) => line.split(/ {2,}/));
}

interface ListJson {
  schedules: { task: string; key: string; paused: boolean; nextRun: number; timezone: string }[];
  unreadable: unknown[];
  next: string | null;
}

async function listJson(...args: string[]): Promise<ListJson> {
  const result = await belfry("schedules", "list", "--store", url, "--json", ...args);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as ListJson;
}

const keys = (list: ListJson) => list.schedules.map((s) => `${s.task}/${s.key}`);

beforeAll(async () => {
  // Created the way a tool (or a service) would: Schedules on an opened store, no scheduler.
  const store = await openStore(url);
  await store.init();
  const schedules = await storeSchedules(store);
  await schedules.createMany([
    {
      task: "digest",
      key: "user-1",
      schedule: daily(1, ["09:00"]),
      timezone: "Europe/Berlin",
      data: { userId: 1 },
    },
    {
      task: "digest",
      key: "user-2",
      schedule: daily(1, ["09:00"]),
      timezone: "America/New_York",
    },
    { task: "digest", key: "user-3", schedule: cron("0 8 * * MON"), timezone: "Asia/Tokyo" },
    { task: "digest", key: "admin-1", schedule: every("1h") },
    {
      task: "report",
      key: "weekly",
      schedule: weekly(1, ["Mon"], ["07:30"]),
      timezone: "Australia/Sydney",
    },
  ]);
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("belfry schedules on a SQLite store", () => {
  it("list: a table of task, key, schedule, zone, next run, paused, runs, by task and key", async () => {
    const result = await belfry("schedules", "list", "--store", url);
    expect(result.code, result.stderr).toBe(0);
    const [header, ...rows] = cells(result.stdout);
    expect(header).toEqual(["task", "key", "schedule", "zone", "next run", "paused", "runs"]);
    expect(rows.map((row) => [row[0], row[1], row[2], row[3], row[5], row[6]])).toEqual([
      ["digest", "admin-1", "every 1 h", "UTC", "no", "0"],
      ["digest", "user-1", "daily at 09:00", "Europe/Berlin", "no", "0"],
      ["digest", "user-2", "daily at 09:00", "America/New_York", "no", "0"],
      ["digest", "user-3", "cron 0 8 * * MON", "Asia/Tokyo", "no", "0"],
      ["report", "weekly", "weekly on Mon at 07:30", "Australia/Sydney", "no", "0"],
    ]);
    for (const row of rows) expect(row[4]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/);
  });

  it("list pages with --limit and --cursor, printing the next cursor while there is a next page", async () => {
    const first = await belfry("schedules", "list", "--store", url, "--limit", "2");
    const lines = first.stdout.trim().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe("next page: --cursor digest:user-1");
    const second = await listJson("--limit", "2", "--cursor", "digest:user-1");
    expect(keys(second)).toEqual(["digest/user-2", "digest/user-3"]);
    expect(second.next).toBe("digest:user-3");
    const last = await belfry("schedules", "list", "--store", url, "--cursor", "digest:user-3");
    expect(last.stdout).not.toContain("next page");
    expect(
      cells(last.stdout)
        .slice(1)
        .map((row) => row[1]),
    ).toEqual(["weekly"]);
  });

  it("list --json, filtered by --task and --prefix; --prefix without --task is a usage error", async () => {
    const all = await listJson();
    expect(all.unreadable).toEqual([]);
    expect(all.next).toBeNull();
    expect(all.schedules[1]).toMatchObject({ task: "digest", key: "user-1", paused: false });
    expect(typeof all.schedules[1]?.nextRun).toBe("number");
    expect(keys(await listJson("--task", "digest", "--prefix", "user-"))).toEqual([
      "digest/user-1",
      "digest/user-2",
      "digest/user-3",
    ]);
    const bad = await belfry("schedules", "list", "--store", url, "--prefix", "user-");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--prefix needs --task");
  });

  it("get: the definition, data and state of one schedule, as text and JSON", async () => {
    const text = await belfry("schedules", "get", "digest", "user-1", "--store", url);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("digest/user-1\n  job id     digest:user-1\n");
    expect(text.stdout).toContain("  schedule   daily at 09:00 (Europe/Berlin)\n");
    expect(text.stdout).toContain('  data       {"userId":1}\n');
    const json = await belfry("schedules", "get", "digest", "user-1", "--store", url, "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({
      jobId: "digest:user-1",
      timezone: "Europe/Berlin",
      schedule: { kind: "daily", atTimes: ["09:00:00"] },
      data: { userId: 1 },
      paused: false,
      triggeredAt: null,
      runCount: 0,
      version: 1,
    });
  });

  it("pause and resume: --paused and --active list each side", async () => {
    const paused = await belfry("schedules", "pause", "digest", "user-2", "--store", url);
    expect(paused.stdout).toBe("paused digest/user-2\n");
    expect(keys(await listJson("--paused"))).toEqual(["digest/user-2"]);
    expect(keys(await listJson("--active"))).not.toContain("digest/user-2");
    const shown = await belfry("schedules", "get", "digest", "user-2", "--store", url);
    expect(shown.stdout.split("\n")[0]).toBe("digest/user-2  (paused)");
    const resumed = await belfry(
      "schedules",
      "resume",
      "digest",
      "user-2",
      "--store",
      url,
      "--json",
    );
    expect(JSON.parse(resumed.stdout)).toEqual({ task: "digest", key: "user-2", resumed: true });
    expect(keys(await listJson("--paused"))).toEqual([]);
    const both = await belfry("schedules", "list", "--store", url, "--paused", "--active");
    expect(both.code).toBe(2);
  });

  it("trigger: the schedule owes one run now, shown by get and list", async () => {
    const result = await belfry("schedules", "trigger", "report", "weekly", "--store", url);
    expect(result.stdout).toBe("triggered report/weekly\n");
    const json = await belfry("schedules", "get", "report", "weekly", "--store", url, "--json");
    expect(typeof (JSON.parse(json.stdout) as { triggeredAt: unknown }).triggeredAt).toBe("number");
    const list = await belfry("schedules", "list", "--store", url, "--task", "report");
    expect(list.stdout).toContain("(triggered)");
  });

  it("remove: gone from list and get; a second remove is UNKNOWN_SCHEDULE", async () => {
    const removed = await belfry("schedules", "remove", "digest", "admin-1", "--store", url);
    expect(removed.stdout).toBe("removed digest/admin-1\n");
    expect(keys(await listJson())).not.toContain("digest/admin-1");
    const again = await belfry("schedules", "remove", "digest", "admin-1", "--store", url);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("UNKNOWN_SCHEDULE");
  });

  it("an unknown schedule exits 2 with UNKNOWN_SCHEDULE for get, pause, resume and trigger", async () => {
    for (const command of ["get", "pause", "resume", "trigger"]) {
      const result = await belfry("schedules", command, "digest", "nobody", "--store", url);
      expect(result.code, command).toBe(2);
      expect(result.stderr, command).toBe(
        `belfry: UNKNOWN_SCHEDULE: schedules.${command}(): no schedule "digest"/"nobody" in the store\n`,
      );
    }
  });

  it("a typo'd subcommand exits 2 naming the command it meant", async () => {
    const result = await belfry("schedules", "lsit", "--store", url);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'lsit'");
    expect(result.stderr).toContain("Did you mean list?");
  });

  it("a store URL's password never appears in the output of a failing command", async () => {
    const secret = "s3cret-pw";
    const result = await belfry(
      "schedules",
      "list",
      "--store",
      `postgres://belfry:${secret}@127.0.0.1:1/test`,
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("STORE_CONNECT");
    expect(result.stdout + result.stderr).not.toContain(secret);
  });

  it("a store without runtime schedules answers UNSUPPORTED", async () => {
    const memory = new MemoryStore();
    const without = new Proxy(memory, {
      get: (target, name) => (name === "putSchedules" ? undefined : Reflect.get(target, name)),
    }) as Store;
    const schedules = await storeSchedules(without);
    await expect(schedules.list()).rejects.toMatchObject({ code: "UNSUPPORTED" });
  });
});
