import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../../src/stores/sqlite/index.js";
import { runProgram, type ChildProgram } from "./child.js";

const REPLICA = fileURLToPath(new URL("./fixtures/definition-replica.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

type Line = { type: "run"; at: number } | { type: "changed"; change: string } | { type: "started" };
const parsed = (program: ChildProgram): Line[] => program.lines().map((l) => JSON.parse(l) as Line);
const runs = (lines: Line[]) => lines.flatMap((l) => (l.type === "run" ? [l.at] : []));
const changes = (lines: Line[]) => lines.flatMap((l) => (l.type === "changed" ? [l.change] : []));

describe("definition changes across real processes (SQLite file)", () => {
  const children: ChildProgram[] = [];
  afterEach(() => children.splice(0).forEach((child) => child.kill("SIGKILL")));

  it("a crash-looping old replica re-registers the old definition and dies: the new one resumes", async () => {
    const db = join(mkdtempSync(join(tmpdir(), "belfry-definitions-")), "belfry.db");
    const start = (replica: string, version: string) => {
      const child = runProgram(REPLICA, ROOT, {
        BELFRY_DB: db,
        REPLICA: replica,
        VERSION: version,
      });
      children.push(child);
      return child;
    };
    const current = start("new", "new");
    await current.waitFor(() => runs(parsed(current)).length >= 2);
    const old = start("old", "old");
    await current.waitFor(() => changes(parsed(current)).includes("superseded"));
    await old.waitFor(() => runs(parsed(old)).length >= 1);
    old.kill("SIGKILL");
    await old.exited;
    const before = runs(parsed(current)).length;
    await current.waitFor(() => {
      const lines = parsed(current);
      return changes(lines).includes("replaced") && runs(lines).length >= before + 3;
    });
    current.kill("SIGTERM");
    expect((await current.exited).signal).toBe("SIGTERM");

    // Refused while the old definition was stored, then registered again (more flips only if the
    // old replica lived longer on a slow machine).
    const flips = changes(parsed(current));
    expect(flips[0]).toBe("superseded");
    expect(flips.at(-1)).toBe("replaced");
    const store = new SqliteStore({ path: db });
    await store.init();
    const rows = await store.history({ jobId: "report", limit: 1_000 });
    const warnings = await store.listWarnings();
    await store.close();
    const instants = rows.map((row) => row.scheduledAt);
    expect(new Set(instants).size).toBe(instants.length);
    // The old replica claimed occurrences (killed mid-run, its run is recovered), then the new
    // one ran the job again.
    const lastOld = Math.max(
      ...rows.filter((r) => r.replicaId === "old").map((r) => r.scheduledAt),
    );
    expect(lastOld).toBeGreaterThan(0);
    const resumed = rows.filter((r) => r.replicaId === "new" && r.scheduledAt > lastOld);
    expect(resumed.filter((r) => r.state === "succeeded").length).toBeGreaterThanOrEqual(3);
    expect(warnings.filter((w) => w.kind === "definition-changed").length).toBeGreaterThanOrEqual(
      3,
    );
  });
});
