import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteStore } from "../../src/stores/sqlite/index.js";
import { job, pastBase, pause, rejectsWith, request } from "../conformance/harness.js";
import { runSources } from "../integration/harness/sources.js";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "belfry-sqlite-busy-"));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** A child process running `fixture` with `args`; `line(text)` waits until it printed `text`. */
function start(name: string, args: readonly string[]) {
  const child = spawn(process.execPath, [...runSources(fixture(name)), ...args], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  children.push(child);
  let out = "";
  const waiters: (() => void)[] = [];
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    waiters.splice(0).forEach((wake) => wake());
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const line = async (text: string): Promise<string> => {
    for (;;) {
      const found = out.split("\n").find((l) => l.startsWith(text));
      if (found !== undefined) return found;
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${name} exited before printing ${text}: ${out}`);
      }
      await Promise.race([new Promise<void>((wake) => waiters.push(wake)), exited]);
    }
  };
  return { child, line, exited };
}

/** Records the longest gap between ticks of a 10 ms interval: how long the event loop froze. */
function gapMeter() {
  let last = performance.now();
  let max = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
  }, 10);
  return () => {
    clearInterval(timer);
    return Math.max(max, performance.now() - last);
  };
}

describe("SqliteStore while another process holds the write lock", () => {
  it.each(["SIGCONT", "SIGKILL"] as const)(
    "a replica SIGSTOPped inside BEGIN IMMEDIATE freezes no other event loop; the waiting claim wins once it is %s",
    async (signal) => {
      const path = join(dir, `paused-${signal}.db`);
      const store = new SqliteStore({ path, busyTimeoutMs: 60_000 });
      await store.init();
      const reg = job();
      await store.registerJob(reg);
      const t = await pastBase(store);

      const holder = start("sqlite-lock-holder.ts", [path, "belfry_"]);
      await holder.line("locked");
      holder.child.kill("SIGSTOP");
      const stopMeter = gapMeter();

      let settled = false;
      const claim = store.claim([request(reg, t)]).finally(() => void (settled = true));
      const touches = [1, 2, 3].map((i) =>
        store.touchReplica({
          replicaId: `r${i}`,
          host: "h",
          pid: i,
          startedAt: 0,
          clockOffsetMs: 0,
        }),
      );
      // Reads answer from the WAL snapshot while the lock is held.
      expect((await store.getJob(reg.jobId))?.hash).toBe(reg.hash);
      // A store with a short deadline opens (nothing to migrate) and gives up with STORE_ERROR.
      const impatient = new SqliteStore({ path, busyTimeoutMs: 300 });
      await impatient.init();
      const message = await rejectsWith(impatient.registerJob(job()), "STORE_ERROR");
      expect(message).toMatch(/locked|busy/i);
      await impatient.close();
      await pause(1_000);
      expect(settled).toBe(false);

      holder.child.kill(signal);
      if (signal === "SIGCONT") await holder.line("committed");
      const [result] = await claim;
      await Promise.all(touches);
      const maxGapMs = stopMeter();
      expect(result?.status).toBe("won");
      expect((await store.listReplicas(0)).map((r) => r.replicaId)).toEqual(["r1", "r2", "r3"]);
      // The old synchronous busy wait froze the loop for the whole busy timeout (seconds).
      expect(maxGapMs).toBeLessThan(500);
      await store.close();
      await holder.exited;
    },
    60_000,
  );

  it("three processes opening one fresh file at the same instant all start, five times over", async () => {
    for (let round = 0; round < 5; round++) {
      const path = join(dir, `fresh-${round}.db`);
      const openers = [1, 2, 3].map((i) => start("sqlite-opener.ts", [path, `p${i}`]));
      await Promise.all(openers.map((o) => o.line("ready")));
      for (const opener of openers) opener.child.stdin?.write("go\n");
      const reports = await Promise.all(openers.map(async (o) => JSON.parse(await o.line("{"))));
      expect(reports.filter((r) => !r.ok)).toEqual([]);
      expect(reports.filter((r) => r.outcome === "created")).toHaveLength(1);
      await Promise.all(openers.map((o) => o.exited));
    }
  }, 90_000);
});
