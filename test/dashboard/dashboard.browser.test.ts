import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../../src/clock.js";
import { createDashboard } from "../../src/dashboard/index.js";
import { cron, daily, every } from "../../src/schedules/index.js";
import { cluster, T0 } from "../scheduler/harness.js";
import { seedHostileRows, serve, XSS } from "./fixture.js";

/**
 * The dashboard end to end in a real headless Chromium (Debian's `/usr/bin/chromium` driven by
 * playwright-core): two replicas of a real Scheduler share a MemoryStore on a fake clock (so
 * nothing runs unless the test says so); the first stops half way, the dashboard is mounted on
 * the second, and the browser clicks Trigger without and then with the token.
 *
 * `BELFRY_SCREENSHOT=1` also writes `docs/dashboard.png` (jobs), `docs/dashboard-history.png`
 * (history with the timeline) and `docs/dashboard-audit.png`.
 */

const TOKEN = "browser-test-token";
const CHROMIUM = process.env.BELFRY_CHROMIUM ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const WAIT = { timeout: 30_000 };

const world = cluster(T0 + 2 * 3_600_000);
const dialogs: string[] = [];
let profile: string;
let browser: BrowserContext;
let page: Page;
let server: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  const a = world.replica({ replicaId: "replica-a" });
  const b = world.replica({ replicaId: "replica-b" });
  for (const replica of [a, b]) {
    replica.job(
      "reports.nightly",
      cron("0 3 * * *", { timezone: "Europe/Berlin" }),
      async () => {},
    );
    replica.job("cache.refresh", every("5s"), async (run) => {
      await sleep(world.clock, 1_500 + (run.scheduledAt.getTime() % 3) * 500);
      if (run.scheduledAt.getTime() % 20_000 === 0) throw new Error("upstream answered 503");
    });
    replica.job("cleanup", daily(1, "04:30"), async () => {});
    replica.task("digest", async () => {});
    replica.task("feed", async () => {});
  }
  await Promise.all([a.start(), b.start()]);
  await b.schedules.createMany([
    ...["ana", "bo", "cy"].map((key) => ({ task: "digest", key, schedule: every("10s") })),
    { task: "feed", key: "all", schedule: cron("*/15 * * * * *", { timezone: "Asia/Tokyo" }) },
  ]);
  // replica-a claims first while it runs; once it stops, replica-b carries on.
  await world.clock.advance(32_000);
  await a.stop({ drain: true });
  await world.clock.advance(30_000);
  await seedHostileRows(world.store);
  server = await serve(createDashboard({ scheduler: b, store: world.store, token: TOKEN }));
  profile = mkdtempSync(join(tmpdir(), "belfry-chromium-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
});

afterAll(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await server?.close();
  expect(await world.stopAll()).toBe(0);
});

function lastRunCell(jobId: string) {
  return page.locator(`tr[data-job="${jobId}"] td.last-run`);
}

describe("dashboard in a browser", () => {
  it("lists the running scheduler's jobs with their schedule in words, escaping user data", async () => {
    await page.goto(server.url + "/");
    await page.locator("#jobs").waitFor(WAIT);
    const rows = page.locator("#jobs tbody tr");
    expect(await rows.count()).toBe(4);
    const nightly = page.locator('tr[data-job="reports.nightly"]');
    expect(await nightly.innerText()).toContain("cron 0 3 * * * (Europe/Berlin)");
    expect(await page.locator('tr[data-job="cache.refresh"]').innerText()).toContain("every 5 s");
    expect(await page.locator(`tr[data-job="${XSS}"] a`).innerText()).toBe(XSS);
    expect(await page.locator("img").count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it("counts the runtime schedules per task below the jobs, never listing them as jobs", async () => {
    await page.goto(server.url + "/");
    await page.locator("#schedule-tasks").waitFor(WAIT);
    const rows = await page.locator("#schedule-tasks tbody tr").allInnerTexts();
    expect(rows.map((row) => row.split("\t").map((cell) => cell.trim()))).toEqual([
      ["digest", "3", "belfry schedules list --task digest"],
      ["feed", "1", "belfry schedules list --task feed"],
    ]);
    expect(await page.locator('#jobs tr[data-job^="digest:"]').count()).toBe(0);
  });

  it("refuses Trigger without the token (403) and no run appears", async () => {
    await page.locator('tr[data-job="reports.nightly"] button[data-action="trigger"]').click();
    await page.locator("#status.error", { hasText: "refused (403)" }).waitFor(WAIT);
    expect(await world.store.history({ jobId: "reports.nightly" })).toEqual([]);
    expect(await lastRunCell("reports.nightly").innerText()).toContain("never");
  });

  it("triggers a run with the token and the new run appears on the page", async () => {
    await page.locator("#token").fill(TOKEN);
    await page.locator('tr[data-job="reports.nightly"] button[data-action="trigger"]').click();
    await page.locator("#status.done", { hasText: "trigger reports.nightly: done" }).waitFor(WAIT);
    await lastRunCell("reports.nightly").filter({ hasText: "succeeded" }).waitFor(WAIT);
    expect(await lastRunCell("reports.nightly").innerText()).toContain("manual");
    const runs = await world.store.history({ jobId: "reports.nightly" });
    expect(runs.map((run) => [run.trigger, run.state, run.replicaId])).toEqual([
      ["manual", "succeeded", "replica-b"],
    ]);
    if (process.env.BELFRY_SCREENSHOT === "1") {
      await page.screenshot({ path: "docs/dashboard.png", fullPage: true });
    }
  });

  it("shows the history with a timeline of runs by replica", async () => {
    await page.goto(`${server.url}/history?job=cache.refresh`);
    const chart = page.locator("figure.timeline svg");
    await chart.waitFor(WAIT);
    const bars = await chart.locator("rect").count();
    expect(bars).toBe(await page.locator("#runs tbody tr").count());
    expect(bars).toBeGreaterThanOrEqual(12);
    const ran = await world.store.history({ jobId: "cache.refresh" });
    const replicas = [...new Set(ran.map((run) => run.replicaId))].sort();
    expect(replicas).toEqual(["replica-a", "replica-b"]);
    const labels = await chart.locator("text").allTextContents();
    expect(labels.slice(0, 2).map((label) => label.trim())).toEqual(replicas);
    expect(await page.locator("#runs").innerText()).toContain("upstream answered 503");
    if (process.env.BELFRY_SCREENSHOT === "1") {
      await page.screenshot({ path: "docs/dashboard-history.png", fullPage: true });
    }
    expect(dialogs).toEqual([]);
  });

  it("shows the latest audit: nothing ran twice, the failures counted", async () => {
    await page.goto(`${server.url}/audit`);
    await page.locator("#audit-jobs").waitFor(WAIT);
    const text = await page.locator("main").innerText();
    expect(text).toContain("nothing ran twice, nothing owed is missing");
    const failed = await world.store.history({ states: ["failed"], limit: 1000 });
    expect(await page.locator(".cards div", { hasText: "failures" }).innerText()).toContain(
      String(failed.length),
    );
    const tasks = await page.locator("#audit-tasks tbody tr").allInnerTexts();
    expect(tasks.map((row) => row.split("\t")[0]?.trim())).toEqual(["digest", "feed"]);
    const digest = tasks[0]!.split("\t").map((cell) => Number(cell.trim()));
    // Schedules, due, run rows, unexplained misses, not checked: every 10 s for about a minute.
    expect(digest[1]).toBe(3);
    expect(digest[2]).toBeGreaterThanOrEqual(15);
    expect(digest[3]).toBe(digest[2]);
    expect(digest.slice(4)).toEqual([0, 0]);
    if (process.env.BELFRY_SCREENSHOT === "1") {
      await page.screenshot({ path: "docs/dashboard-audit.png", fullPage: true });
    }
    expect(dialogs).toEqual([]);
  });
});
