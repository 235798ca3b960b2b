import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { MIGRATIONS } from "../../src/stores/sql/migrations.js";
import { openSqliteDriver } from "../../src/stores/sqlite/driver.js";
import { runSources } from "../integration/harness/sources.js";

const run = promisify(execFile);
// Each replica process runs the claimer from sources: no build needed.
const claimer = runSources(fileURLToPath(new URL("./fixtures/sqlite-claimer.ts", import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), "belfry-sqlite-procs-"));

interface ClaimerReport {
  readonly replicaId: string;
  readonly outcome: string;
  readonly won: number[];
  readonly refused: Record<string, number>;
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("SqliteStore across processes", () => {
  it("replica processes racing on one file: migrations once, one created, each occurrence won once", async () => {
    const processes = 4;
    const count = 300;
    const path = join(dir, "race.db");
    const base = systemClock.now() - count * 1000 - 60_000;
    const startAt = systemClock.now() + 3_000;
    const reports = await Promise.all(
      Array.from({ length: processes }, async (_, i) => {
        const args = [...claimer, path, "p_", "race-job", base, count, `proc-${i}`, startAt];
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
    // Each bundled migration recorded once, however many processes raced to apply it.
    expect(ledger.n).toBe(MIGRATIONS.sqlite?.length);
    expect(runs.n).toBe(count);
  }, 90_000);
});
