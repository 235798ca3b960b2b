import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../../src/index.js";
import { SqliteStore } from "../../src/stores/sqlite/index.js";
import type { RunRecord } from "../../src/stores/store.js";
import { fill, fillSchedules, sqliteDuplicate, T0 } from "../observe/fill.js";
import { belfry } from "./run.js";

const dir = mkdtempSync(join(tmpdir(), "belfry-cli-"));
const path = join(dir, "store.db");
const url = `sqlite:${path}`;
const window = ["--since", "2026-01-01", "--until", "2026-01-01T00:01:00.001Z"];

beforeAll(async () => {
  const clock = new FakeClock(T0);
  const store = new SqliteStore({ path, clock });
  await fill(store, clock);
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("belfry commands on a SQLite store a scheduler filled", () => {
  it("jobs: schedule in words, next runs, watermark, paused", async () => {
    const result = await belfry("jobs", "--store", url, "--json");
    expect(result.code).toBe(0);
    const { jobs, unreadable } = JSON.parse(result.stdout) as {
      jobs: {
        jobId: string;
        schedule: string;
        nextRuns: string[];
        watermark: string;
        paused: boolean;
      }[];
      unreadable: unknown[];
    };
    expect(unreadable).toEqual([]);
    const tick = jobs.find((job) => job.jobId === "tick");
    expect(tick).toMatchObject({
      schedule: "every 1 s",
      paused: false,
      watermark: "2026-01-01T00:01:00.000Z",
    });
    expect(tick?.nextRuns).toHaveLength(3);
    expect(jobs.find((job) => job.jobId === "five")?.schedule).toBe("cron */5 * * * * *");
    const text = await belfry("jobs", "--store", url);
    expect(text.stdout).toContain(
      "  last run   failed 2026-01-01T00:01:00.000Z attempt 1 on replica-a: attempt 1: Error: always fails",
    );
  });

  it("history: filters by job, state and window, and shows each run's error", async () => {
    const result = await belfry(
      "history",
      "--store",
      url,
      "--json",
      "--state",
      "failed",
      ...window,
    );
    const runs = JSON.parse(result.stdout) as RunRecord[];
    expect(runs.map((run) => [run.jobId, run.error])).toEqual(
      Array(3).fill(["broken", "attempt 1: Error: always fails"]),
    );
    const text = await belfry("history", "--store", url, "--job", "flaky", "--limit", "2");
    expect(text.stdout.trim().split("\n")).toHaveLength(2);
    expect(text.stdout).toContain("attempt 2");
    expect((await belfry("history", "--store", url, "--state", "done")).code).toBe(2);
  });

  it("replicas, pause and resume", async () => {
    const replicas = await belfry("replicas", "--store", url, "--json", "--since", "2025-12-31");
    expect(
      (JSON.parse(replicas.stdout) as { replicaId: string }[]).map((r) => r.replicaId),
    ).toEqual(["replica-a"]);
    expect((await belfry("pause", "tick", "--store", url)).stdout).toBe("paused tick\n");
    expect((await belfry("resume", "tick", "--store", url, "--json")).stdout).toContain(
      '"paused": false',
    );
    const unknown = await belfry("pause", "nope", "--store", url);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("UNKNOWN_JOB");
  });

  it("audit: 0 duplicates and exit 0 on the clean store, exit 1 after a duplicate is injected", async () => {
    const clean = await belfry("audit", "--store", url, "--json", ...window);
    expect(clean.code).toBe(0);
    const report = JSON.parse(clean.stdout) as {
      ok: boolean;
      duplicates: { count: number };
      due: number;
    };
    expect(report).toMatchObject({ ok: true, duplicates: { count: 0 }, due: 81 });
    const text = await belfry("audit", "--store", url, ...window);
    expect(text.stdout).toContain("OK: no duplicates, no unexplained misses");

    const store = new SqliteStore({ path });
    await store.init();
    const [run] = await store.history({ jobId: "five", limit: 1 });
    await store.close();
    sqliteDuplicate(path, "belfry_", run as RunRecord);
    const dirty = await belfry("audit", "--store", url, ...window);
    expect(dirty.code).toBe(1);
    expect(dirty.stdout).toContain("FAILED: 1 duplicates, 0 unexplained misses");
    expect(dirty.stdout).toContain(`five@${new Date(run!.scheduledAt).toISOString()} ran 2×`);
  });

  it("prune: deletes finished rows before an instant, and audit then names the gap", async () => {
    const result = await belfry(
      "prune",
      "--store",
      url,
      "--before",
      "2026-01-01T00:00:10Z",
      "--json",
    );
    expect(JSON.parse(result.stdout)).toEqual({ before: T0 + 10_000, deleted: 10 });
    const audit = await belfry("audit", "--store", url, "--json", ...window);
    const report = JSON.parse(audit.stdout) as { unexplainedMisses: { count: number } };
    expect(report.unexplainedMisses.count).toBe(10);
  });
});

describe("belfry commands on a SQLite store with runtime schedules", () => {
  const schedulesUrl = `sqlite:${join(dir, "schedules.db")}`;

  beforeAll(async () => {
    const clock = new FakeClock(T0);
    const store = new SqliteStore({ path: join(dir, "schedules.db"), clock });
    await fillSchedules(store, clock);
    await store.close();
  });

  it("jobs: the code jobs, then one count per task of runtime schedules", async () => {
    const text = await belfry("jobs", "--store", schedulesUrl);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("slow");
    expect(lines.slice(-2)).toEqual([
      "digest: 2 runtime schedules (belfry schedules list --task digest)",
      "feed: 1 runtime schedules (belfry schedules list --task feed)",
    ]);
    const json = await belfry("jobs", "--store", schedulesUrl, "--json");
    const listing = JSON.parse(json.stdout) as { jobs: { jobId: string }[]; schedules: unknown };
    expect(listing.jobs.map((job) => job.jobId)).toEqual(["slow"]);
    expect(listing.schedules).toEqual([
      { task: "digest", count: 2 },
      { task: "feed", count: 1 },
    ]);
  });

  it("audit: one line per task of runtime schedules, beside the code jobs", async () => {
    const result = await belfry("audit", "--store", schedulesUrl, ...window);
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[1]).toMatch(/^jobs 1 · runtime schedules 3 in 2 tasks · occurrences due 17 ·/);
    expect(lines).toContain("runtime schedules     3 in 2 tasks");
    expect(lines).toContain("  digest: 2 schedules · due 12 · run rows 12 · unexplained misses 0");
    expect(lines).toContain("  feed: 1 schedules · due 3 · run rows 3 · unexplained misses 0");
    const json = await belfry("audit", "--store", schedulesUrl, "--json", ...window);
    const report = JSON.parse(json.stdout) as { jobs: { jobId: string }[]; tasks: unknown[] };
    expect(report.jobs.map((job) => job.jobId)).toEqual(["slow"]);
    expect(report.tasks).toHaveLength(2);
  });
});
