import { afterEach, describe, expect, it } from "vitest";
import { FakeClock } from "../../src/clock.js";
import { tokenMatches } from "../../src/dashboard/actions.js";
import { html, raw } from "../../src/dashboard/html.js";
import { createDashboard } from "../../src/dashboard/index.js";
import { isBelfryError } from "../../src/errors.js";
import { Scheduler } from "../../src/scheduler.js";
import { scheduleWrite } from "../../src/runtime/definition.js";
import { every } from "../../src/schedules/every.js";
import { MemoryStore } from "../../src/stores/memory/index.js";
import { postAction, seedHostileRows, serve, XSS } from "./fixture.js";

const TOKEN = "correct-horse-battery";
const T0 = Date.UTC(2026, 0, 1);
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function mounted(options: { token?: string; basePath?: string } = {}) {
  const store = new MemoryStore({ clock: new FakeClock(T0) });
  await store.init();
  await seedHostileRows(store);
  const server = await serve(createDashboard({ store, ...options }));
  closers.push(server.close);
  return { store, url: server.url + (options.basePath ?? "") };
}

describe("html template", () => {
  it("escapes every interpolated value and keeps trusted markup", () => {
    const escaped = "&lt;img src=x onerror=alert(1)&gt;";
    expect(html`<b title="${'"q'}">${XSS}</b>`.value).toBe(`<b title="&quot;q">${escaped}</b>`);
    expect(html`${raw("<br>")}${[XSS, 1, null, false]}`.value).toBe(`<br>${escaped}1`);
  });
});

describe("dashboard pages escape user data", () => {
  for (const page of [
    "/",
    "/history",
    `/history?job=${encodeURIComponent(XSS)}`,
    "/replicas",
    "/warnings",
    "/audit",
  ]) {
    it(`GET ${page} shows job ids, errors, hosts and warnings as text`, async () => {
      const { url } = await mounted({ token: TOKEN });
      const response = await fetch(url + page);
      const body = await response.text();
      expect(response.status).toBe(200);
      expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(body).not.toContain("<img");
      expect(body).toContain("&lt;img src=x onerror=alert(1)&gt;");
    });
  }

  it("draws the timeline of the filtered job with the error in the bar's title, escaped", async () => {
    const { url } = await mounted();
    const body = await (await fetch(`${url}/history?job=${encodeURIComponent(XSS)}`)).text();
    expect(body).toContain("<svg");
    expect(body).toMatch(/<rect[^>]*fill="#c62828"\s*><title>failed · [^<]*Error: &lt;img/);
  });

  it("rejects an unreadable filter with a message instead of a 500", async () => {
    const { url } = await mounted();
    const response = await fetch(`${url}/history?since=yesterday${encodeURIComponent(XSS)}`);
    const body = await response.text();
    expect(response.status).toBe(200);
    expect(body).toContain("since and until take an ISO 8601 instant or epoch ms");
    expect(body).not.toContain("<img");
  });
});

describe("dashboard audit page", () => {
  it("shows the audit of the last 24 h: a failure, nothing twice, nothing unexplained", async () => {
    const { url } = await mounted();
    const body = await (await fetch(`${url}/audit`)).text();
    expect(body).toContain("nothing ran twice, nothing owed is missing");
    expect(body).toMatch(/<b>1<\/b>failures/);
    expect(body).toMatch(/<b>0<\/b>duplicates/);
  });

  it("audits the scheduler's own store when only a scheduler was given", async () => {
    const scheduler = new Scheduler({ clock: new FakeClock(T0) });
    const server = await serve(createDashboard({ scheduler }));
    closers.push(server.close);
    expect(await (await fetch(`${server.url}/audit`)).text()).toContain(
      "nothing ran twice, nothing owed is missing",
    );
  });
});

describe("dashboard actions", () => {
  it("refuses every action with 403 when no token was configured", async () => {
    const { store, url } = await mounted();
    for (const action of ["pause", "resume", "trigger"]) {
      const response = await postAction(url, XSS, action, TOKEN);
      expect(response.status).toBe(403);
      expect(((await response.json()) as { error: string }).error).toContain("disabled");
    }
    expect((await store.getJob(XSS))?.paused).toBe(false);
  });

  it("refuses a missing or wrong token with 403 and pauses nothing", async () => {
    const { store, url } = await mounted({ token: TOKEN });
    expect((await postAction(url, XSS, "pause", null)).status).toBe(403);
    expect((await postAction(url, XSS, "pause", "")).status).toBe(403);
    expect((await postAction(url, XSS, "pause", `${TOKEN}x`)).status).toBe(403);
    expect((await store.getJob(XSS))?.paused).toBe(false);
  });

  it("refuses a form post (no JSON content type) and a GET, even with the token", async () => {
    const { store, url } = await mounted({ token: TOKEN });
    const form = await postAction(url, XSS, "pause", TOKEN, "application/x-www-form-urlencoded");
    expect(form.status).toBe(415);
    const get = await fetch(`${url}/api/jobs/${encodeURIComponent(XSS)}/pause`);
    expect(get.status).toBe(405);
    expect((await store.getJob(XSS))?.paused).toBe(false);
  });

  it("pauses and resumes with the token; 404 for an unknown job; 409 to trigger without a scheduler", async () => {
    const { store, url } = await mounted({ token: TOKEN });
    expect((await postAction(url, XSS, "pause", TOKEN)).status).toBe(200);
    expect((await store.getJob(XSS))?.paused).toBe(true);
    expect((await postAction(url, XSS, "resume", TOKEN)).status).toBe(200);
    expect((await store.getJob(XSS))?.paused).toBe(false);
    expect((await postAction(url, "nope", "pause", TOKEN)).status).toBe(404);
    expect((await postAction(url, XSS, "trigger", TOKEN)).status).toBe(409);
  });

  it("compares tokens by value", () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(TOKEN, TOKEN.slice(1))).toBe(false);
    expect(tokenMatches(TOKEN, undefined)).toBe(false);
    expect(tokenMatches(TOKEN, "")).toBe(false);
  });
});

describe("dashboard mounting and health", () => {
  it("serves under a base path, with links under it, and 404 elsewhere", async () => {
    const { url } = await mounted({ basePath: "/ops/belfry" });
    const body = await (await fetch(`${url}/history`)).text();
    expect(body).toContain('href="/ops/belfry/replicas"');
    expect(body).toContain('src="/ops/belfry/assets/dashboard.js"');
    expect((await fetch(`${url}/assets/dashboard.js`)).headers.get("content-type")).toBe(
      "text/javascript",
    );
    expect((await fetch(`${url}/nothing-here`)).status).toBe(404);
  });

  it("serves a request whose prefix the framework stripped (Express app.use), links kept", async () => {
    const store = new MemoryStore();
    const handler = createDashboard({ store, basePath: "/belfry" });
    const server = await serve((req, res) => {
      req.url = (req.url ?? "/").slice("/belfry".length) || "/"; // what Express does
      handler(req, res, () => res.writeHead(418).end());
    });
    closers.push(server.close);
    const body = await (await fetch(`${server.url}/belfry/warnings`)).text();
    expect(body).toContain("<h1>Warnings</h1>");
    expect(body).toContain('href="/belfry/history"');
    expect((await fetch(`${server.url}/belfry/other`)).status).toBe(418);
  });

  it("answers /health with the store's state", async () => {
    const { url } = await mounted();
    const response = await fetch(`${url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, storeReachable: true, jobs: 1, running: 0 });
  });

  it("counts runtime schedules per task on the jobs page; /health counts the code jobs only", async () => {
    const { store, url } = await mounted();
    const shared = new Map();
    const writes = ["a", "b"].map((key) =>
      scheduleWrite({ task: "digest", key, schedule: every("1h") }, "UTC", T0, shared),
    );
    await store.putSchedules(writes, "create");
    const body = await (await fetch(url)).text();
    expect(body).toMatch(
      /<tr data-task="digest">\s*<td class="mono">digest<\/td>\s*<td class="num">2<\/td>/,
    );
    expect(body).not.toContain('data-job="digest:a"');
    expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ ok: true, jobs: 1 });
  });

  it("answers /health 503 when the store does not answer", async () => {
    const store = new MemoryStore();
    store.listJobs = () => Promise.reject(new Error("down at postgres://app:hunter2@db/x"));
    const server = await serve(createDashboard({ store }));
    closers.push(server.close);
    const response = await fetch(`${server.url}/health`);
    const body = (await response.json()) as { ok: boolean; error: string };
    expect(response.status).toBe(503);
    expect(body.ok).toBe(false);
    expect(body.error).not.toContain("hunter2");
  });

  it("throws INVALID_OPTION for bad options", () => {
    const bad = [
      {},
      { store: new MemoryStore(), token: "short" },
      { store: new MemoryStore(), basePath: "belfry/" },
      { store: new MemoryStore(), colour: "red" },
    ];
    for (const options of bad) {
      expect(() => createDashboard(options as never)).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION" }),
      );
    }
    expect(isBelfryError(new Error("x"))).toBe(false);
  });
});
