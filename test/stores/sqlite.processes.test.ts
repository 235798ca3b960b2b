import { openSqliteDriver } from "../../src/stores/sqlite/driver.js";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
// Under the repository so that the compiled files resolve better-sqlite3 from node_modules.
const distDir = join(root, "node_modules", ".cache", "belfry-sqlite-processes");
const claimer = fileURLToPath(new URL("./fixtures/sqlite-claimer.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "belfry-sqlite-procs-"));

interface ClaimerReport {
  readonly replicaId: string;
  readonly outcome: string;
  readonly won: number[];
  readonly refused: Record<string, number>;
}

beforeAll(async () => {
  // Compile only the SQLite store's import graph, so child processes run plain JavaScript.
  rmSync(distDir, { recursive: true, force: true });
  mkdirSync(distDir, { recursive: true });
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  await run(process.execPath, [
    ...[tsc, join(root, "src", "stores", "sqlite", "index.ts"), "--outDir", distDir, "--rootDir"],
    ...[join(root, "src"), "--module", "nodenext", "--moduleResolution", "nodenext"],
    ...["--target", "es2022", "--skipLibCheck", "--types", "node"],
  ]);
  // node_modules is a package-scope boundary: mark the output as ESM explicitly.
  writeFileSync(join(distDir, "package.json"), '{ "type": "module" }\n');
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("SqliteStore across processes", () => {
  it("replica processes racing on one file: migrations once, one created, each occurrence won once", async () => {
    const processes = 4;
    const count = 300;
    const path = join(dir, "race.db");
    const base = Date.now() - count * 1000 - 60_000;
    const startAt = Date.now() + 1500;
    const reports = await Promise.all(
      Array.from({ length: processes }, async (_, i) => {
        const args = [claimer, distDir, path, "p_", "race-job", base, count, `proc-${i}`, startAt];
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
