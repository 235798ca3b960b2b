import { openSqliteDriver } from "../../src/stores/sqlite/driver.js";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileSqliteStore } from "./fixtures/compile-sqlite.js";

const run = promisify(execFile);
const claimer = fileURLToPath(new URL("./fixtures/sqlite-claimer.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "belfry-sqlite-procs-"));
let compiled: Awaited<ReturnType<typeof compileSqliteStore>>;

interface ClaimerReport {
  readonly replicaId: string;
  readonly outcome: string;
  readonly won: number[];
  readonly refused: Record<string, number>;
}

// Child processes run the store's sources compiled to plain JavaScript.
beforeAll(async () => void (compiled = await compileSqliteStore()), 60_000);
afterAll(() => {
  compiled?.remove();
  rmSync(dir, { recursive: true, force: true });
});

describe("SqliteStore across processes", () => {
  it("replica processes racing on one file: migrations once, one created, each occurrence won once", async () => {
    const processes = 4;
    const count = 300;
    const path = join(dir, "race.db");
    const base = Date.now() - count * 1000 - 60_000;
    const startAt = Date.now() + 1500;
    const reports = await Promise.all(
      Array.from({ length: processes }, async (_, i) => {
        const args = [
          claimer,
          compiled.distDir,
          path,
          "p_",
          "race-job",
          base,
          count,
          `proc-${i}`,
          startAt,
        ];
        const { stdout } = await run(process.execPath, args.map(String), { timeout: 60_000 });
        return JSON.parse(stdout) as ClaimerReport;
      }),
    );
    expect(reports.filter((r) => r.outcome === "created")).toHaveLength(1);
    const won = reports.flatMap((r) => r.won).sort((a, b) => a - b);
    expect(won).toEqual(Array.from({ length: count }, (_, k) => k));
    for (const report of reports) {
      expect(Object.keys(report.refused).filter((s) => s !== "lost" && s !== "stale")).toEqual([]);
    }
    const db = openSqliteDriver(path, 1_000);
    const ledger = db.prepare("SELECT COUNT(*) AS n FROM p_migrations").get() as { n: number };
    const runs = db.prepare("SELECT COUNT(*) AS n FROM p_runs").get() as { n: number };
    db.close();
    expect(ledger.n).toBe(1);
    expect(runs.n).toBe(count);
  }, 90_000);
});
