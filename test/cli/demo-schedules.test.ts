import { describe, expect, it } from "vitest";
import { DEMO_ZONES, offPlan, planSchedules } from "../../src/cli/demo-schedules.js";
import { dueInWindow } from "../../src/cli/summary.js";
import { scheduleFromSpec } from "../../src/schedules/spec.js";
import type { ScheduleSpec } from "../../src/schedules/schedule.js";
import { belfry } from "./run.js";

const window = {
  startAt: Date.UTC(2026, 0, 15, 23, 59, 56),
  stopAt: Date.UTC(2026, 0, 16, 0, 0, 4) - 1,
};

describe("belfry demo --schedules", () => {
  it("plans one schedule per user over the window's seconds and 8 zones, each due once at its instant", () => {
    const plan = planSchedules(32, window);
    expect(new Set(plan.map((p) => p.zone))).toEqual(new Set(DEMO_ZONES));
    expect(new Set(plan.map((p) => p.at)).size).toBe(8);
    // Four schedules a second from 23:59:56Z: local times across the date line and DST rules.
    expect(plan.slice(0, 8).map((p) => `${p.localTime} ${p.zone}`)).toEqual([
      "15:59:56 America/Los_Angeles",
      "18:59:56 America/New_York",
      "23:59:56 Europe/London",
      "00:59:56 Europe/Berlin",
      "05:29:57 Asia/Kolkata",
      "05:44:57 Asia/Kathmandu",
      "08:59:57 Asia/Tokyo",
      "10:59:57 Australia/Sydney",
    ]);
    const series = (zone: (p: (typeof plan)[number]) => string) =>
      plan.map((p) => ({
        id: p.jobId,
        schedule: scheduleFromSpec((p.input.schedule as { spec: ScheduleSpec }).spec),
        anchor: 0,
        timezone: zone(p),
        after: window.startAt - 60_000,
      }));
    expect(
      offPlan(
        plan,
        dueInWindow(
          series((p) => p.zone),
          window,
        ),
      ),
    ).toEqual([]);
    // Read in the wrong zone, every schedule but London's (UTC in January) is off plan.
    const wrong = offPlan(
      plan,
      dueInWindow(
        series(() => "UTC"),
        window,
      ),
    );
    expect(wrong.map((p) => p.zone)).not.toContain("Europe/London");
    expect(wrong).toHaveLength(28);
  });

  it("300 schedules over 8 s on the embedded SQLite store: each once, none missed, off plan or early, spread over the replicas", async () => {
    const result = await belfry("demo", "--schedules", "300", "--duration", "8");
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines).toContain(
      "schedules: 300 in 8 time zones, 300 due once at their planned instant, 0 off plan, 0 runs early by store time",
    );
    expect(lines.find((l) => l.startsWith("summary:"))).toMatch(
      /^summary: 300 occurrences due, 300 runs, 0 duplicates, 0 misses, /,
    );
    const perReplica = lines.find((l) => l.startsWith("runs per replica:")) ?? "";
    const shares = [...perReplica.matchAll(/replica-\d (\d+) \(\d+%\)/g)].map((m) => Number(m[1]));
    expect(shares.reduce((a, b) => a + b, 0)).toBe(300);
    expect(shares.filter((runs) => runs > 0).length).toBeGreaterThan(1);
    // Above 100 schedules the live output is a line per second, not a line per run.
    expect(lines.filter((l) => / \+\d+ runs {2}\d+ of 300 /.test(l)).length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.includes("demo-reminder:"))).toEqual([]);
  }, 120_000);

  it("--schedules needs a shared store: with --uncoordinated it is a usage error", async () => {
    const result = await belfry("demo", "--schedules", "10", "--uncoordinated");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("INVALID_OPTION");
  });
});
