import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { belfry } from "./run.js";

const dir = mkdtempSync(join(tmpdir(), "belfry-cli-ro-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("belfry store commands never create a schema; belfry migrate does", () => {
  it("history, jobs, audit and replicas on a missing SQLite file say so, exit non-zero and create nothing", async () => {
    const path = join(dir, "absent.db");
    for (const command of ["history", "jobs", "audit", "replicas"]) {
      const result = await belfry(command, "--store", `sqlite:${path}`);
      expect(result.code, command).toBe(3);
      expect(result.stderr, command).toContain("SCHEMA_MISSING");
      expect(existsSync(path), command).toBe(false);
    }
  });

  it("migrate creates the schema, after which history reads it", async () => {
    const url = `sqlite:${join(dir, "migrated.db")}`;
    const migrated = await belfry("migrate", "--store", url);
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toContain("migrated sqlite store");
    const history = await belfry("history", "--store", url, "--json");
    expect(history.code).toBe(0);
    expect(JSON.parse(history.stdout)).toEqual([]);
  });

  it("demo stops at once with STORE_CONNECT when its store cannot be reached", async () => {
    const result = await belfry("demo", "--store", "postgres://postgres@127.0.0.1:1/test");
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("STORE_CONNECT");
    expect(result.stdout).not.toContain("summary");
  });
});
