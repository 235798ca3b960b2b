import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { belfry } from "./run.js";

describe("belfry preview", () => {
  it("prints the next instants of a cron expression with seconds", async () => {
    const result = await belfry("preview", "*/15 * * * * *", "--count", "3");
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    const instants = lines.map((line) => Date.parse(line));
    expect(instants.every((at) => at % 15_000 === 0)).toBe(true);
    expect(instants[1]! - instants[0]!).toBe(15_000);
  });

  it("reads the expression in --tz from --from, and prints JSON", async () => {
    const text = await belfry(
      "preview",
      "0 9 * * MON",
      "--tz",
      "Europe/Berlin",
      "--count",
      "2",
      "--from",
      "2026-01-01",
    );
    expect(text.stdout.split("\n")[0]).toBe(
      "2026-01-05T08:00:00.000Z  2026-01-05T09:00:00+01:00 Europe/Berlin",
    );
    const json = await belfry(
      "preview",
      "@daily",
      "--count",
      "2",
      "--from",
      "2026-01-01T12:00:00Z",
      "--json",
    );
    expect(JSON.parse(json.stdout)).toEqual({
      schedule: { kind: "cron", expr: "@daily", timezone: null, seconds: false },
      words: "every day at 00:00",
      instants: ["2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z"],
    });
  });

  it("exits 2 on a usage error: a bad expression, a missing seconds field, an unknown option", async () => {
    const bad = await belfry("preview", "61 * * * *");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("INVALID_CRON");
    expect((await belfry("preview", "0 9 * * *", "--seconds")).code).toBe(2);
    expect((await belfry("preview", "0 9 * * *", "--bogus")).code).toBe(2);
    expect((await belfry("preview", "0 9 * * *", "--count", "0")).code).toBe(2);
    expect((await belfry("nothing")).code).toBe(2);
  });

  it("prints the package version", async () => {
    const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    const result = await belfry("--version");
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });
});
